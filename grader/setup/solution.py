"""Setting up an exercise's reference solution (``grade demo``, and the test suite).

The solution's Compose template is rendered with the run's parameters and images, labelled,
brought up under a project of its own, followed by its steps (``docker compose exec/run``
commands), and taken down with its volumes whatever happens.
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import yaml

from grader import defaults
from grader.compose import CommandResult, Compose, add_labels
from grader.engine.base import Engine
from grader.errors import ParameterError, SetupFailed, UsageError
from grader.exercise.model import Exercise
from grader.i18n import Text
from grader.setup.scratch import host_path_overrides, remove_scratch


@dataclass(frozen=True)
class RunningSolution:
    project: str
    param_overrides: Mapping[str, str]
    """The overrides to grade it with: the caller's, and the run's own host folders."""
    images: Mapping[str, str]
    compose: Compose


def choose_images(exercise: Exercise, overrides: Mapping[str, str]) -> dict[str, str]:
    """The exercise's images with ``--image NAME=REF`` substitutions."""
    unknown = sorted(set(overrides) - set(exercise.images))
    if unknown:
        known = ", ".join(sorted(exercise.images))
        raise ParameterError(
            Text(
                fr=f"image inconnue « {unknown[0]} » (images de l'exercice : {known})",
                en=f"unknown image '{unknown[0]}' (the exercise's images: {known})",
            )
        )
    return {**exercise.images, **overrides}


@contextlib.contextmanager
def reference_solution(
    exercise: Exercise,
    *,
    engine: Engine,
    project: str,
    images: Mapping[str, str],
    param_overrides: Mapping[str, str] | None = None,
    host: str | None = None,
    labels: Mapping[str, str] | None = None,
    timeout_s: float = 300.0,
    probe_image: str = defaults.PROBE_IMAGE,
) -> Iterator[RunningSolution]:
    """Bring the reference solution up under Compose project ``project``; take it down after.

    The exercise's host paths are folders of the run's own (see :func:`scratch_folder`), so a
    demo never touches a student's ``/tmp/data``; they are removed with the rest."""
    if exercise.solution is None:
        raise UsageError(
            Text(
                fr=f"l'exercice {exercise.id} n'a pas de solution de référence",
                en=f"exercise {exercise.id} has no reference solution",
            )
        )
    overrides = {**(param_overrides or {}), **host_path_overrides(exercise, project)}
    params = exercise.params.with_overrides(overrides)
    solution = exercise.solution
    model = yaml.safe_load(exercise.render(solution.compose, params, images))
    add_labels(model, {defaults.LABEL_ROLE: "solution", **(labels or {})})
    with tempfile.TemporaryDirectory(prefix="tp-grader-solution-") as folder:
        compose_file = Path(folder) / "compose.yaml"
        compose_file.write_text(yaml.safe_dump(model, sort_keys=False), encoding="utf-8")
        compose = Compose(project, (compose_file,), host=host, workdir=solution.compose.parent)
        try:
            _must(
                compose.run(
                    "up", "--detach", "--wait", "--wait-timeout", "120", timeout_s=timeout_s
                )
            )
            for step in solution.steps:
                args = [exercise.render(arg, params, images) for arg in step]
                _must(compose.run(*args, timeout_s=timeout_s))
            yield RunningSolution(project, overrides, images, compose)
        finally:
            compose.down()
            engine.remove_labelled({"com.docker.compose.project": project})
            if exercise.host_paths:
                remove_scratch(engine, probe_image, project)


def _must(result: CommandResult) -> None:
    if result.ok:
        return
    tail = result.output.strip()[-800:]
    what = " ".join(result.argv[-3:])
    reason = "timeout" if result.timed_out else f"exit {result.returncode}"
    raise SetupFailed(
        Text(
            fr=f"la solution de référence n'a pas démarré ({what} : {reason}) :\n{tail}",
            en=f"the reference solution did not come up ({what}: {reason}):\n{tail}",
        )
    )
