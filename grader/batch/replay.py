"""Replaying one prepared submission on one engine: isolate, ``compose up``, wait until ready,
grade, and always tear down.

Every phase has a deadline. Compose runs on the staged copy with the fixed environment of
:func:`~grader.compose.untrusted_environment`, reads the rewritten model (never the student's
file again: ``up`` would re-read it, ``.env`` and ``env_file`` included) and no ``.env``.
Grading runs in a worker process (:mod:`grader.harness.workers`), killed at its deadline.
Teardown is ``compose down --volumes`` then a sweep of everything labelled with the batch and
the project (containers with their anonymous volumes, networks, volumes, and the tags of the
images the submission built), so a crashed Compose CLI leaves nothing either.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from grader import defaults
from grader.batch.prepare import Prepared, compose_failed, home_of
from grader.batch.rewrite import isolate
from grader.batch.verdicts import INTERRUPTED, failed, timed_out
from grader.compose import CommandResult, Compose, find_compose, untrusted_environment
from grader.engine.base import Engine
from grader.engine.facts import COMPOSE_PROJECT
from grader.exercise.model import Exercise
from grader.exercise.variants import Variant
from grader.harness.workers import GradingFailed, GradingJob, GradingTimedOut, GradingWorkers
from grader.i18n import Lang, Text
from grader.result import GradeResult
from grader.setup.scratch import remove_scratch, scratch_folder


@dataclass(frozen=True)
class Deadlines:
    """Seconds each phase of a replay may take."""

    up: float = defaults.BATCH_UP_TIMEOUT_S
    ready: float = defaults.BATCH_READY_TIMEOUT_S
    probe: float = defaults.BATCH_GRADE_PROBE_DEADLINE_S
    grade: float = defaults.BATCH_GRADE_TIMEOUT_S
    down: float = defaults.BATCH_DOWN_TIMEOUT_S


@dataclass(frozen=True)
class EngineTarget:
    """An engine to replay submissions on, and the URL Compose and grading workers reach it
    by (always explicit: a child process must not guess it from its own environment)."""

    engine: Engine
    url: str


@dataclass(frozen=True)
class Replayed:
    result: GradeResult
    log: str
    timings: Mapping[str, float] = field(default_factory=dict)
    """Seconds per phase (up, ready, grade, down), and the wall-clock ``start`` and ``end``
    of the whole replay (epoch seconds)."""


def replay(
    prepared: Prepared,
    *,
    exercise: Exercise,
    target: EngineTarget,
    batch_id: str,
    ports: list[int],
    staging: Path,
    lang: Lang,
    probe_image: str,
    graders: GradingWorkers,
    stop: threading.Event,
    deadlines: Deadlines | None = None,
    variant: Variant | None = None,
    exam: bool = False,
) -> Replayed:
    """Run, grade and remove ``prepared`` on ``target``; ``probe_image`` is an image id.
    ``variant`` is the student's exam variant (graded against it), ``exam`` the exam rules."""
    variant = variant or Variant(prepared.submission.student)
    if prepared.model is None or prepared.folder is None:
        raise ValueError("only a runnable submission can be replayed")
    deadlines = deadlines or Deadlines()
    project = prepared.project
    student = prepared.submission.student
    isolated = isolate(
        prepared.model,
        exercise=exercise,
        project=project,
        scratch=scratch_folder(project),
        ports=ports,
        labels={defaults.LABEL_ROLE: "batch", defaults.LABEL_RUN: batch_id},
        params=prepared.params,
    )
    model_file = staging / f"{project}.run.json"
    model_file.write_text(json.dumps(isolated.model), encoding="utf-8")
    compose = Compose(
        project,
        (model_file,),
        workdir=prepared.folder,
        command=tuple(find_compose()),
        environment=untrusted_environment(home_of(staging), target.url),
        env_file=Path("/dev/null"),
    )
    log: list[str] = []
    timings: dict[str, float] = {"start": time.time()}

    def ended(why: Text) -> Replayed:
        return Replayed(failed(student, exercise, lang, why), "\n".join(log), timings)

    try:
        started = time.monotonic()
        up = compose.run("up", "--detach", "--quiet-pull", timeout_s=deadlines.up, cancel=stop)
        timings["up"] = time.monotonic() - started
        log.append(_log(up))
        if stop.is_set():
            return ended(INTERRUPTED)
        if not up.ok:
            return ended(compose_failed("up", up))
        started = time.monotonic()
        ready = wait_until_ready(target.engine, project, deadlines.ready, stop)
        timings["ready"] = time.monotonic() - started
        if stop.is_set():
            return ended(INTERRUPTED)
        started = time.monotonic()
        job = GradingJob(
            exercise=exercise,
            student=student,
            host=target.url,
            run_id=project,
            lang=lang,
            project=project,
            strict_project=True,
            probe_image=probe_image,
            probe_deadline_s=deadlines.probe,
            param_overrides={**variant.overrides(), **isolated.param_overrides},
            shown_overrides=variant.overrides(),
            notes=isolated.notes + (() if ready else (_not_ready(deadlines.ready),)),
            variant=variant.fingerprint,
            exam=exam,
        )
        try:
            result = graders.grade(job, deadlines.grade)
        except GradingTimedOut:
            return ended(timed_out(deadlines.grade))
        except GradingFailed as exc:
            return ended(INTERRUPTED if stop.is_set() else exc.text)
        finally:
            timings["grade"] = time.monotonic() - started
        return Replayed(result, "\n".join(log), timings)
    finally:
        started = time.monotonic()
        down = compose.down(timeout_s=deadlines.down)
        log.append(_log(down))
        sweep(target.engine, batch_id, project)
        if exercise.host_paths:
            remove_scratch(target.engine, probe_image, project)
        model_file.unlink(missing_ok=True)
        timings["down"] = time.monotonic() - started
        timings["end"] = time.time()


def sweep(engine: Engine, batch_id: str, project: str) -> None:
    """Remove whatever of ``project`` the batch labelled and Compose left (a crashed CLI),
    and the batch's tags of the images it built (an image that carries another tag stays)."""
    selector = {defaults.LABEL_RUN: batch_id, COMPOSE_PROJECT: project}
    engine.remove_labelled(selector)
    engine.untag_images(selector, f"{project}/")


def wait_until_ready(engine: Engine, project: str, timeout_s: float, stop: threading.Event) -> bool:
    """Every container of ``project`` running (and healthy where it has a healthcheck) or
    exited for good; ``False`` at the deadline. An exited container is the student's to fix:
    the checks say so, the batch does not wait for it."""
    deadline = time.monotonic() + timeout_s
    while not stop.is_set():
        containers = engine.containers({COMPOSE_PROJECT: project})
        if all(
            c.status in ("exited", "dead") or (c.running and c.health in (None, "healthy"))
            for c in containers
        ):
            return True
        if time.monotonic() > deadline:
            return False
        stop.wait(0.25)
    return False


def _log(result: CommandResult) -> str:
    status = "timeout" if result.timed_out else f"exit {result.returncode}"
    heading = f"$ {result.shown}  [{status}, {result.duration_s:.1f} s]"
    return f"{heading}\n{result.output.rstrip()}\n"


def _not_ready(seconds: float) -> Text:
    return Text(
        fr=f"services pas prêts (en marche, sains) après {seconds:g} s : corrigés tels quels",
        en=f"services not ready (running, healthy) after {seconds:g} s: graded as they were",
    )
