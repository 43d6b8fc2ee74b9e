"""Replaying one prepared submission on one engine: isolate, build, ``compose up``, wait until
ready, grade, and always tear down.

Every phase has a deadline. Images are built by :mod:`grader.batch.build` (bounded); Compose
runs on the staged copy with the fixed environment of
:func:`~grader.compose.untrusted_environment`, reads the rewritten model (never the student's
file again: ``up`` would re-read it, ``.env`` and ``env_file`` included), no ``.env``, and builds
nothing. Grading starts when the setup is ready (:func:`wait_until_ready`: every container
running and healthy, every port it publishes or exposes answering), and runs in a worker process
(:mod:`grader.harness.workers`), killed at its deadline. Teardown is ``compose down --volumes``
then a sweep of everything labelled with the batch and the project (containers with their
anonymous volumes, networks, volumes, and the tags of the images the submission built), so a
crashed Compose CLI leaves nothing either.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from grader import defaults
from grader.batch.build import build_images
from grader.batch.gate.prepare import Prepared, compose_failed, home_of
from grader.batch.rewrite import isolate
from grader.batch.verdicts import INTERRUPTED, failed, timed_out
from grader.compose import CommandResult, Compose, find_compose, untrusted_environment
from grader.engine.base import Engine
from grader.engine.facts import COMPOSE_PROJECT, ContainerFacts
from grader.errors import ObservationError
from grader.exercise.model import Exercise
from grader.exercise.variants import Variant
from grader.harness.request import GradeRequest
from grader.harness.workers import GradingFailed, GradingJob, GradingTimedOut, GradingWorkers
from grader.i18n import Lang, Text
from grader.judge.outcome import CheckStatus
from grader.observe.prober import Prober
from grader.observe.steps import ProbeSite
from grader.observe.tcp import PortsAnswering
from grader.result import GradeResult, RunStatus
from grader.setup.scratch import remove_scratch, scratch_folder


@dataclass(frozen=True)
class Deadlines:
    """Seconds each phase of a replay may take."""

    build: float = defaults.BATCH_BUILD_TIMEOUT_S
    up: float = defaults.BATCH_UP_TIMEOUT_S
    ready: float = defaults.BATCH_READY_TIMEOUT_S
    probe: float = defaults.BATCH_GRADE_PROBE_DEADLINE_S
    retry: float = defaults.BATCH_RETRY_WINDOW_S
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
    """Seconds per phase (build, up, ready, grade, down), and the wall-clock ``start`` and
    ``end`` of the whole replay (epoch seconds)."""


class _Ended(Exception):
    """The replay stops here; the submission is an ``error`` for this reason."""

    def __init__(self, why: Text) -> None:
        super().__init__(why.en)
        self.why = why


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
    if prepared.model is None or prepared.folder is None:
        raise ValueError("only a runnable submission can be replayed")
    variant = variant or Variant(prepared.submission.student)
    deadlines = deadlines or Deadlines()
    project, student = prepared.project, prepared.submission.student
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
    compose = _compose(project, model_file, prepared.folder, staging, target.url)
    log: list[str] = []
    timings: dict[str, float] = {"start": time.time()}

    def phase(name: str, started: float) -> None:
        timings[name] = time.monotonic() - started
        if stop.is_set():
            raise _Ended(INTERRUPTED)

    try:
        started = time.monotonic()
        built = build_images(target.engine, isolated.model, deadline_s=deadlines.build)
        log += [built.log] if built.log else []
        phase("build", started)
        if built.problem is not None:
            raise _Ended(built.problem)
        model_file.write_text(json.dumps(built.model), encoding="utf-8")
        started = time.monotonic()
        up = compose.run("up", "--detach", "--quiet-pull", timeout_s=deadlines.up, cancel=stop)
        log.append(_log(up))
        phase("up", started)
        if not up.ok:
            raise _Ended(compose_failed("up", up))
        started = time.monotonic()
        readiness = wait_until_ready(
            target.engine, project, deadlines.ready, stop, probe_image=probe_image
        )
        phase("ready", started)
        request = GradeRequest(
            exercise, student=student, run_id=project, lang=lang, project=project,
            strict_project=True, probe_image=probe_image, probe_deadline_s=deadlines.probe,
            retry_window_s=deadlines.retry,
            param_overrides={**variant.overrides(), **isolated.param_overrides},
            shown_overrides=variant.overrides(),
            notes=isolated.notes + readiness.notes(deadlines.ready),
            variant=variant.fingerprint, exam=exam,
        )  # fmt: skip
        started = time.monotonic()
        try:
            result = _grade(graders, GradingJob(request, target.url), deadlines.grade, stop, log)
        finally:
            timings["grade"] = time.monotonic() - started
        return Replayed(result, "\n".join(log), timings)
    except _Ended as ended:
        return Replayed(failed(student, exercise, lang, ended.why), "\n".join(log), timings)
    finally:
        started = time.monotonic()
        quiesce(target.engine, batch_id, project)
        log.append(_log(compose.down(timeout_s=deadlines.down)))
        sweep(target.engine, batch_id, project)
        if exercise.host_paths:
            remove_scratch(target.engine, probe_image, project)
        model_file.unlink(missing_ok=True)
        timings |= {"down": time.monotonic() - started, "end": time.time()}


def _grade(
    graders: GradingWorkers,
    job: GradingJob,
    deadline_s: float,
    stop: threading.Event,
    log: list[str],
) -> GradeResult:
    """Grade ``job``; while checks end in error, up to :data:`~grader.defaults.
    BATCH_GRADE_ATTEMPTS` times. A check in error is the grader's miss (a probe the loaded
    engine did not run in time), never the student's, and the setup is still up: graded
    again, the grading with the fewest checks in error stands."""
    result = _grade_once(graders, job, deadline_s, stop)
    for _ in range(defaults.BATCH_GRADE_ATTEMPTS - 1):
        errors = result.sheet.count(CheckStatus.ERROR)
        if result.status is not RunStatus.GRADED or errors == 0 or stop.is_set():
            break
        log.append(f"graded again: {errors} checks in error\n")
        again = _grade_once(graders, job, deadline_s, stop)
        if again.sheet.count(CheckStatus.ERROR) <= errors:
            result = again
    return result


def _grade_once(
    graders: GradingWorkers, job: GradingJob, deadline_s: float, stop: threading.Event
) -> GradeResult:
    try:
        return graders.grade(job, deadline_s)
    except GradingTimedOut:
        raise _Ended(timed_out(deadline_s)) from None
    except GradingFailed as exc:
        raise _Ended(INTERRUPTED if stop.is_set() else exc.text) from None


def _compose(project: str, model_file: Path, folder: Path, staging: Path, url: str) -> Compose:
    """Compose on the rewritten model only: no ``.env``, the fixed environment."""
    return Compose(
        project,
        (model_file,),
        workdir=folder,
        command=tuple(find_compose()),
        environment=untrusted_environment(home_of(staging), url),
        env_file=Path("/dev/null"),
    )


def quiesce(engine: Engine, batch_id: str, project: str) -> None:
    """Stop ``project``'s health-checked containers before Compose removes them
    (:meth:`~grader.engine.base.Engine.stop_health_checked` says why); an engine that does
    not answer is said by ``down`` and :func:`sweep`."""
    with contextlib.suppress(ObservationError):
        engine.stop_health_checked({defaults.LABEL_RUN: batch_id, COMPOSE_PROJECT: project})


def sweep(engine: Engine, batch_id: str, project: str) -> None:
    """Remove whatever of ``project`` the batch labelled and Compose left (a crashed CLI),
    and the batch's tags of the images it built (an image that carries another tag stays)."""
    selector = {defaults.LABEL_RUN: batch_id, COMPOSE_PROJECT: project}
    engine.remove_labelled(selector)
    engine.untag_images(selector, f"{project}/")


@dataclass(frozen=True)
class Readiness:
    """Whether a replayed setup was ready to be graded, and if not, what was not."""

    containers_ready: bool
    silent_ports: tuple[str, ...] = ()
    """``service:port`` that never answered a TCP connection."""

    @property
    def ready(self) -> bool:
        return self.containers_ready and not self.silent_ports

    def notes(self, seconds: float) -> tuple[Text, ...]:
        if not self.containers_ready:
            return (
                Text(
                    fr=f"services pas prêts (en marche, sains) après {seconds:g} s : "
                    "corrigés tels quels",
                    en=f"services not ready (running, healthy) after {seconds:g} s: "
                    "graded as they were",
                ),
            )
        if self.silent_ports:
            ports = ", ".join(self.silent_ports)
            return (
                Text(
                    fr=f"ports qui ne répondaient pas encore après {seconds:g} s : {ports} "
                    "(corrigés tels quels)",
                    en=f"ports still not answering after {seconds:g} s: {ports} "
                    "(graded as they were)",
                ),
            )
        return ()


def wait_until_ready(
    engine: Engine,
    project: str,
    timeout_s: float,
    stop: threading.Event,
    *,
    probe_image: str | None = None,
) -> Readiness:
    """Wait, within ``timeout_s`` in all, until every container of ``project`` runs (and is
    healthy where it has a health check) or has exited for good, then, with ``probe_image``,
    until every TCP port a running container publishes or exposes accepts a connection (from
    the engine host, at the container's address). A setup that is right is then graded once
    it can answer, however busy the machine; one that never gets ready is graded as it is, and
    its report says what was not ready. An exited container is the student's to fix: the
    checks say so, the batch does not wait for it."""
    deadline = time.monotonic() + timeout_s
    containers: list[ContainerFacts] = []
    while not stop.is_set():
        containers = engine.containers({COMPOSE_PROJECT: project})
        if all(
            c.status in ("exited", "dead") or (c.running and c.health in (None, "healthy"))
            for c in containers
        ):
            break
        if time.monotonic() > deadline:
            return Readiness(containers_ready=False)
        stop.wait(0.25)
    else:
        return Readiness(containers_ready=False)
    targets = _listening_targets(containers)
    left = int(deadline - time.monotonic())
    if probe_image is None or not targets or left < 1:
        return Readiness(containers_ready=True)
    prober = Prober(engine, image=probe_image, run_id=project, deadline_s=left + 10)
    step = PortsAnswering(tuple(targets), within_s=left)
    try:
        (silent,) = prober.run(ProbeSite("host", description="readiness"), [step])
    except ObservationError:
        return Readiness(containers_ready=True)  # the checks will tell what they see
    finally:
        prober.close()
    return Readiness(True, tuple(f"{targets[key]}" for key in silent if key in targets))


def _listening_targets(containers: list[ContainerFacts]) -> dict[tuple[str, int], str]:
    """Each running container's TCP ports (published or exposed), at its first address, with
    how a report names them (``service:port``)."""
    found: dict[tuple[str, int], str] = {}
    for container in containers:
        address = next((e.ip_address for e in container.endpoints if e.ip_address), "")
        if not container.running or not address:
            continue  # stopped, or in another container's namespace (checked through it)
        service = container.labels.get("com.docker.compose.service", container.name)
        ports = {b.container_port for b in container.ports if b.protocol == "tcp"}
        ports |= {port for port, protocol in container.exposed if protocol == "tcp"}
        for port in sorted(ports):
            found[(address, port)] = f"{service}:{port}"
    return found


def _log(result: CommandResult) -> str:
    status = "timeout" if result.timed_out else f"exit {result.returncode}"
    heading = f"$ {result.shown}  [{status}, {result.duration_s:.1f} s]"
    return f"{heading}\n{result.output.rstrip()}\n"
