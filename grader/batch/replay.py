"""Replaying one submission: prepare (read and review its Compose model, nothing started),
then on an engine: isolate, ``compose up``, wait until ready, grade, and always tear down.

Every phase has a deadline. Compose runs with a minimal environment (the batch machine's
variables are not the submission's to interpolate) and in its own process group, killed on
timeout. Teardown is ``compose down --volumes`` then a sweep of everything labelled with the
batch and the project, so a crashed Compose CLI leaves nothing either.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import yaml

from grader import defaults
from grader.batch.review import prescan, review
from grader.batch.rewrite import declared_defaults, isolate, published_host_ports
from grader.batch.submissions import Submission
from grader.compose import CommandResult, Compose, find_compose
from grader.engine.base import Engine
from grader.engine.facts import COMPOSE_PROJECT
from grader.exercise.model import Exercise
from grader.harness.run import grade
from grader.i18n import Lang, Text
from grader.judge.outcome import CheckOutcome, CheckStatus
from grader.judge.scoring import score
from grader.result import GradeResult, RunStatus
from grader.solution import remove_scratch, scratch_folder


@dataclass(frozen=True)
class Prepared:
    """A submission read and reviewed; nothing of it has run."""

    submission: Submission
    project: str
    model: dict[str, Any] | None = None
    refusals: tuple[Text, ...] = ()
    error: Text | None = None
    host_ports: frozenset[int] = frozenset()
    """Fixed host ports it publishes besides the exercise's declared ones."""
    log: str = ""

    @property
    def runnable(self) -> bool:
        return self.model is not None and not self.refusals and self.error is None


@dataclass(frozen=True)
class Deadlines:
    """Seconds each phase of a replay may take."""

    up: float = defaults.BATCH_UP_TIMEOUT_S
    ready: float = defaults.BATCH_READY_TIMEOUT_S
    probe: float = defaults.BATCH_GRADE_PROBE_DEADLINE_S
    down: float = defaults.BATCH_DOWN_TIMEOUT_S


@dataclass(frozen=True)
class Replayed:
    result: GradeResult
    log: str
    timings: Mapping[str, float] = field(default_factory=dict)
    """Seconds per phase (up, ready, grade, down), and the wall-clock ``start`` and ``end``
    of the whole replay (epoch seconds)."""


def project_name(batch_id: str, student: str) -> str:
    """A Compose project name of the batch's own for ``student`` (distinct ids never collide:
    a digest of the id follows its readable part)."""
    readable = re.sub(r"[^a-z0-9]+", "-", student.lower()).strip("-")[:24] or "s"
    digest = hashlib.sha256(student.encode()).hexdigest()[:6]
    return f"tpg{batch_id}-{readable}-{digest}"


def compose_environment(host: str | None) -> dict[str, str]:
    """What Compose sees of the batch machine's environment: enough to run, nothing to leak."""
    keep = (
        "PATH",
        "HOME",
        "DOCKER_CONFIG",
        "DOCKER_TLS_VERIFY",
        "DOCKER_CERT_PATH",
        "SSH_AUTH_SOCK",
    )
    env = {key: os.environ[key] for key in keep if key in os.environ}
    env["LANG"] = "C.UTF-8"
    if host:
        env["DOCKER_HOST"] = host
    return env


def prepare(
    submission: Submission, *, exercise: Exercise, batch_id: str, max_services: int
) -> Prepared:
    project = project_name(batch_id, submission.student)
    if submission.compose_file is None:
        names = ", ".join(defaults.COMPOSE_FILE_NAMES)
        return Prepared(
            submission,
            project,
            error=Text(fr=f"aucun fichier compose ({names})", en=f"no compose file ({names})"),
        )
    try:
        raw = yaml.safe_load(submission.compose_file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        return Prepared(submission, project, error=_unreadable(exc))
    refusals = prescan(raw, submission.folder)
    if refusals:
        return Prepared(submission, project, refusals=tuple(refusals))
    compose = Compose(
        project,
        (submission.compose_file,),
        workdir=submission.folder,
        command=tuple(find_compose()),
        environment=compose_environment(None),
    )
    config = compose.run("config", "--format", "json", "--no-env-resolution", timeout_s=60)
    if not config.ok:
        return Prepared(
            submission, project, error=_compose_failed("config", config), log=_log(config)
        )
    try:
        model = json.loads(config.output[config.output.index("{") :])
    except ValueError as exc:
        return Prepared(submission, project, error=_unreadable(exc), log=_log(config))
    refusals = review(
        model,
        folder=submission.folder,
        allowed_host_paths=[str(exercise.params[name]) for name in exercise.host_paths],
        max_services=max_services,
    )
    declared = set(declared_defaults(exercise))
    return Prepared(
        submission,
        project,
        model=model,
        refusals=tuple(refusals),
        host_ports=frozenset(published_host_ports(model) - declared),
    )


def replay(
    prepared: Prepared,
    *,
    exercise: Exercise,
    engine: Engine,
    host: str | None,
    batch_id: str,
    ports: Mapping[str, int],
    lang: Lang,
    probe_image: str,
    grading: threading.Lock,
    stop: threading.Event,
    deadlines: Deadlines | None = None,
) -> Replayed:
    """Run, grade and remove ``prepared`` on ``engine`` (reached by Compose at ``host``)."""
    assert prepared.model is not None
    deadlines = deadlines or Deadlines()
    project = prepared.project
    labels = {defaults.LABEL_ROLE: "batch", defaults.LABEL_RUN: batch_id}
    isolated = isolate(
        prepared.model,
        exercise=exercise,
        project=project,
        scratch=scratch_folder(project),
        ports=ports,
        labels=labels,
    )
    log: list[str] = []
    timings: dict[str, float] = {"start": time.time()}
    with tempfile.TemporaryDirectory(prefix="tp-grader-batch-") as folder:
        model_file = Path(folder) / "compose.json"
        model_file.write_text(json.dumps(isolated.model), encoding="utf-8")
        compose = Compose(
            project,
            (model_file,),
            host=host,
            workdir=prepared.submission.folder,
            environment=compose_environment(host),
        )

        def ended(why: Text) -> Replayed:
            return Replayed(
                failed(prepared.submission.student, exercise, lang, why), "\n".join(log), timings
            )

        try:
            started = time.monotonic()
            up = compose.run("up", "--detach", "--quiet-pull", timeout_s=deadlines.up, cancel=stop)
            timings["up"] = time.monotonic() - started
            log.append(_log(up))
            if stop.is_set():
                return ended(_INTERRUPTED)
            if not up.ok:
                return ended(_timeout("up", up) if up.timed_out else _compose_failed("up", up))
            started = time.monotonic()
            ready = wait_until_ready(engine, project, deadlines.ready, stop)
            timings["ready"] = time.monotonic() - started
            if stop.is_set():
                return ended(_INTERRUPTED)
            started = time.monotonic()
            with grading:
                result = grade(
                    exercise,
                    engine=engine,
                    student=prepared.submission.student,
                    lang=lang,
                    project=project,
                    strict_project=True,
                    probe_image=probe_image,
                    probe_deadline_s=deadlines.probe,
                    param_overrides=isolated.param_overrides,
                    notes=isolated.notes + (() if ready else (_not_ready(deadlines.ready),)),
                )
            timings["grade"] = time.monotonic() - started
            return Replayed(result, "\n".join(log), timings)
        finally:
            started = time.monotonic()
            down = compose.down(timeout_s=deadlines.down)
            log.append(_log(down))
            sweep(engine, batch_id, project)
            if exercise.host_paths:
                remove_scratch(engine, probe_image, project)
            timings["down"] = time.monotonic() - started
            timings["end"] = time.time()


def sweep(engine: Engine, batch_id: str, project: str) -> None:
    """Remove whatever of ``project`` the batch labelled and Compose left (a crashed CLI)."""
    selector = {defaults.LABEL_RUN: batch_id, COMPOSE_PROJECT: project}
    engine.remove_labelled(selector)
    engine.remove_images(selector)


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


# -- results that are not a grading -----------------------------------------------------------
_INTERRUPTED = Text(fr="correction groupée interrompue", en="batch interrupted")


def refused(prepared: Prepared, exercise: Exercise, lang: Lang) -> GradeResult:
    reasons = Text(fr="soumission refusée : ", en="submission refused: ") + Text(
        fr="; ".join(r.fr for r in prepared.refusals), en="; ".join(r.en for r in prepared.refusals)
    )
    return _result(
        prepared.submission.student, exercise, lang, RunStatus.REFUSED, CheckStatus.SKIPPED, reasons
    )


def failed(student: str, exercise: Exercise, lang: Lang, why: Text) -> GradeResult:
    return _result(student, exercise, lang, RunStatus.ERROR, CheckStatus.ERROR, why)


def _result(
    student: str, exercise: Exercise, lang: Lang, status: RunStatus, each: CheckStatus, why: Text
) -> GradeResult:
    outcomes = [CheckOutcome(check_id, each, why) for check_id in exercise.rubric.check_ids]
    return GradeResult(
        exercise_id=exercise.id,
        exercise_title=exercise.title,
        student=student,
        sheet=score(exercise.rubric, outcomes),
        started_at=datetime.now(timezone.utc),
        duration_s=0.0,
        lang=lang,
        status=status,
        notes=(why,),
    )


def _log(result: CommandResult) -> str:
    status = "timeout" if result.timed_out else f"exit {result.returncode}"
    heading = f"$ {result.shown}  [{status}, {result.duration_s:.1f} s]"
    return f"{heading}\n{result.output.rstrip()}\n"


def _compose_failed(phase: str, result: CommandResult) -> Text:
    tail = " ".join(result.output.strip().splitlines()[-3:])[-400:]
    return Text(
        fr=f"docker compose {phase} a échoué (code {result.returncode}) : {tail}",
        en=f"docker compose {phase} failed (exit {result.returncode}): {tail}",
    )


def _timeout(phase: str, result: CommandResult) -> Text:
    seconds = f"{result.duration_s:.0f}"
    return Text(
        fr=f"error: timeout — docker compose {phase} n'a pas fini en {seconds} s",
        en=f"error: timeout — docker compose {phase} did not finish within {seconds} s",
    )


def _not_ready(seconds: float) -> Text:
    return Text(
        fr=f"services pas prêts (en marche, sains) après {seconds:g} s : corrigés tels quels",
        en=f"services not ready (running, healthy) after {seconds:g} s: graded as they were",
    )


def _unreadable(exc: Exception) -> Text:
    return Text(fr=f"fichier compose illisible : {exc}", en=f"unreadable compose file: {exc}")
