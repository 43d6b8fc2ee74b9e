"""Setting up an exercise's reference solution (``grade demo``, and the test suite).

The solution's Compose template is rendered with the run's parameters and images, labelled,
brought up under a project of its own, followed by its steps (``docker compose exec/run``
commands), and taken down with its volumes whatever happens.
"""

from __future__ import annotations

import contextlib
import json
import re
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from grader import defaults
from grader.compose import CommandResult, Compose, add_labels, own_built_images
from grader.engine.base import Engine
from grader.engine.facts import COMPOSE_PROJECT
from grader.errors import ObservationError, ParameterError, SetupFailed, UsageError
from grader.exercise.model import Exercise, Params
from grader.i18n import Text
from grader.setup.scratch import host_path_overrides, remove_scratch
from grader.setup.stack import deploy, take_down


@dataclass(frozen=True)
class RunningSolution:
    project: str
    param_overrides: Mapping[str, str]
    """The overrides to grade it with: the caller's, and the run's own host folders."""
    images: Mapping[str, str]
    compose: Compose | None
    """``None`` for a stack solution (:mod:`grader.setup.stack`): no Compose project there."""
    problems: tuple[str, ...] = ()
    """What did not go through (a step that failed...), when failures are tolerated."""


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


def solution_model(exercise: Exercise, params: Params, images: Mapping[str, str]) -> dict[str, Any]:
    """The reference solution's Compose model, rendered with ``params`` and ``images``."""
    if exercise.solution is None:
        raise UsageError(
            Text(
                fr=f"l'exercice {exercise.id} n'a pas de solution de référence",
                en=f"exercise {exercise.id} has no reference solution",
            )
        )
    model: dict[str, Any] = yaml.safe_load(
        exercise.render(exercise.solution.compose, params, images)
    )
    return model


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
    change: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
    steps: Sequence[Sequence[str]] | None = None,
    tolerate_failures: bool = False,
    wait_s: float = defaults.SOLUTION_WAIT_S,
    timeout_s: float = 300.0,
    probe_image: str = defaults.PROBE_IMAGE,
) -> Iterator[RunningSolution]:
    """Bring the reference solution up under Compose project ``project``; take it down after.

    The exercise's host paths are folders of the run's own (see :func:`scratch_folder`), so a
    demo never touches a student's ``/tmp/data``; images the solution builds get tags of the
    project's own; all of it is removed with the rest. ``change`` edits the model before it
    runs (a mutant of the solution), as ``docker compose config`` normalises it (long syntax,
    every profile's services); ``steps`` replace the solution's. With ``tolerate_failures``,
    an ``up`` or a step that fails is recorded in :attr:`RunningSolution.problems` instead of
    raising (a mutant may well not come up: it is graded as it is)."""
    overrides = {**(param_overrides or {}), **host_path_overrides(exercise, project)}
    params = exercise.params.with_overrides(overrides)
    model = solution_model(exercise, params, images)
    solution = exercise.solution
    if solution is not None and solution.stack:
        # A stack file is written in the long syntax already: mutants edit it as it is.
        if change is not None:
            model = change(model)
        run_labels = {defaults.LABEL_ROLE: "solution", **(labels or {})}
        problems: list[str] = []
        try:
            deploy(
                engine, model, project=project, labels=run_labels,
                problems=problems if tolerate_failures else None,
            )  # fmt: skip
            yield RunningSolution(project, overrides, images, None, tuple(problems))
        finally:
            take_down(engine, project)
        return
    workdir = solution.compose.parent if solution is not None else exercise.directory
    if change is not None:
        model = change(normalised(model, project, workdir, host))
    run_labels = {defaults.LABEL_ROLE: "solution", **(labels or {})}
    own_built_images(model, project, run_labels)
    add_labels(model, run_labels)
    problems = []

    def must(result: CommandResult) -> None:
        if result.ok:
            return
        if not tolerate_failures:
            raise _failed(result)
        problems.append(f"{' '.join(result.argv[-3:])}: exit {result.returncode}")

    with tempfile.TemporaryDirectory(prefix="tp-grader-solution-") as folder:
        compose_file = Path(folder) / "compose.yaml"
        compose_file.write_text(yaml.safe_dump(model, sort_keys=False), encoding="utf-8")
        compose = Compose(project, (compose_file,), host=host, workdir=workdir)
        try:
            wait = ("--wait", "--wait-timeout", f"{wait_s:.0f}")
            must(compose.run("up", "--detach", *wait, timeout_s=timeout_s))
            services = set(model.get("services") or {})
            chosen = steps if steps is not None else solution.steps if solution else ()
            for step in chosen:
                args = [exercise.render(arg, params, images) for arg in step]
                if tolerate_failures and not services.intersection(args):
                    problems.append(f"{' '.join(args)}: its service is not in this model")
                    continue
                must(compose.run(*args, timeout_s=timeout_s))
            yield RunningSolution(project, overrides, images, compose, tuple(problems))
        finally:
            _compose_down(engine, compose, project)
            if exercise.host_paths:
                remove_scratch(engine, probe_image, project)


def _compose_down(engine: Engine, compose: Compose, project: str) -> None:
    """Everything of ``project`` removed, its health-checked containers stopped first
    (:meth:`~grader.engine.base.Engine.stop_health_checked` says why)."""
    with contextlib.suppress(ObservationError):  # an engine gone: down says so
        engine.stop_health_checked({COMPOSE_PROJECT: project})
    compose.down()
    engine.remove_labelled({COMPOSE_PROJECT: project})
    engine.untag_images({COMPOSE_PROJECT: project}, f"{project}/")


def normalised(
    model: dict[str, Any], project: str, workdir: Path, host: str | None = None
) -> dict[str, Any]:
    """``model`` as ``docker compose config`` normalises it (every profile's services kept)."""
    with tempfile.TemporaryDirectory(prefix="tp-grader-normalise-") as folder:
        given, output = Path(folder) / "compose.yaml", Path(folder) / "normalised.json"
        given.write_text(yaml.safe_dump(model, sort_keys=False), encoding="utf-8")
        compose = Compose(project, (given,), host=host, workdir=workdir)
        result = compose.run(
            "--profile", "*", "config", "--format", "json", "--output", str(output),
            timeout_s=60,
        )  # fmt: skip
        if not result.ok:
            raise _failed(result)
        normal: dict[str, Any] = json.loads(output.read_text(encoding="utf-8"))
    normal.pop("name", None)
    return normal


#: What a failed pull says, whichever registry and engine (offline, or Docker Hub out of reach).
_PULL_FAILED = re.compile(
    r"pull access denied|failed to resolve|no such host|dial tcp|i/o timeout|"
    r"TLS handshake timeout|connection refused|manifest unknown|not found: manifest|"
    r"toomanyrequests|Get \"https?://",
    re.IGNORECASE,
)


def _failed(result: CommandResult) -> SetupFailed:
    tail = result.output.strip()[-800:]
    what = " ".join(result.argv[-3:])
    reason = "timeout" if result.timed_out else f"exit {result.returncode}"
    text = Text(
        fr=f"la solution de référence n'a pas démarré ({what} : {reason}) :\n{tail}",
        en=f"the reference solution did not come up ({what}: {reason}):\n{tail}",
    )
    if _PULL_FAILED.search(result.output):
        text += Text(
            fr="\n→ une image n'a pas pu être téléchargée. Hors ligne, ou sans Docker Hub : "
            "ajoutez --stand-ins (de petites images de remplacement construites sur place).",
            en="\n→ an image could not be pulled. Offline, or without Docker Hub: "
            "add --stand-ins (small stand-in images built locally).",
        )
    return SetupFailed(text)
