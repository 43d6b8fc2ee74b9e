"""Observed, not only reported: ``grade serve --hosts hosts.csv --every 60`` grades each
student's own engine in place, on a schedule, and stores the results beside the reported
ones, marked ``observed``.

Each round grades every student of ``hosts.csv`` who is on the class's roster, for each of the
class's labs, ``jobs`` at once, each grading in a worker process killed at its deadline
(:mod:`grader.harness.workers`): a student's engine is theirs and may answer slowly or not at
all. A grading that could not be made (engine unreachable, timed out) is logged and stored as
nothing: it would hide what the student reported. With a course key each student is graded
against their own variant. Results go through the same checks and storage as a pushed report.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass

from starlette.concurrency import run_in_threadpool

from grader import defaults
from grader.batch.submissions import StudentEngine
from grader.classroom.server.app import ClassServer
from grader.classroom.server.reports import Refused, accept, parse
from grader.classroom.store import queries
from grader.classroom.store.queries import StudentIdentity
from grader.exercise.model import Exercise
from grader.harness.request import GradeRequest
from grader.harness.workers import GradingFailed, GradingJob, GradingTimedOut, GradingWorkers
from grader.i18n import Lang
from grader.observe.prober import new_run_id
from grader.result import GradeResult

log = logging.getLogger("grader.classroom")


@dataclass(frozen=True)
class ObservePlan:
    """What ``--hosts`` asks for."""

    class_name: str
    hosts: tuple[StudentEngine, ...]
    every_s: float = defaults.SERVE_OBSERVE_EVERY_S
    jobs: int = defaults.SERVE_OBSERVE_JOBS
    lang: Lang = defaults.DEFAULT_LANG
    probe_image: str = defaults.PROBE_IMAGE
    key: bytes | None = None
    deadline_s: float = defaults.BATCH_GRADE_TIMEOUT_S


def grade_their_engine(
    workers: GradingWorkers,
    exercise: Exercise,
    *,
    student: str,
    host: str,
    lang: Lang,
    probe_image: str,
    overrides: Mapping[str, str],
    fingerprint: str | None,
    deadline_s: float,
) -> GradeResult:
    """Grade ``student``'s engine at ``host`` as it is, in a worker process killed at
    ``deadline_s``. The one place the class view calls the grading harness."""
    request = GradeRequest(
        exercise,
        student=student,
        run_id=new_run_id(),
        lang=lang,
        probe_image=probe_image,
        probe_deadline_s=defaults.BATCH_GRADE_PROBE_DEADLINE_S,
        param_overrides=dict(overrides),
        variant=fingerprint,
    )
    return workers.grade(GradingJob(request, host), deadline_s)


def observer(
    plan: ObservePlan, exercises: Callable[[str], Exercise | None]
) -> Callable[[ClassServer], contextlib.AbstractAsyncContextManager[None]]:
    """The server's background task for ``plan``: rounds of in-place gradings until the server
    stops."""

    @contextlib.asynccontextmanager
    async def running(server: ClassServer) -> AsyncIterator[None]:
        workers = GradingWorkers(plan.jobs)
        task = asyncio.create_task(_rounds(server, plan, exercises, workers))
        try:
            yield
        finally:
            task.cancel()
            workers.close()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    return running


async def _rounds(
    server: ClassServer,
    plan: ObservePlan,
    exercises: Callable[[str], Exercise | None],
    workers: GradingWorkers,
) -> None:
    room = await run_in_threadpool(queries.class_by_name, server.db, plan.class_name)
    if room is None:
        log.error("observed grading: no class %s", plan.class_name)
        return
    students = [h for h in plan.hosts if h.student in room.students]
    for absent in sorted({h.student for h in plan.hosts} - set(room.students)):
        log.warning("observed grading: %s is not on class %s's roster", absent, room.name)
    labs = [lab for lab in (exercises(name) for name in room.labs) if lab is not None]
    slots = asyncio.Semaphore(max(plan.jobs, 1))
    while True:
        identities = await run_in_threadpool(_identities, server, room.id)

        async def one(
            target: StudentEngine, exercise: Exercise, known: Mapping[str, StudentIdentity]
        ) -> None:
            async with slots:
                await _observe(server, plan, workers, exercise, target, known)

        await asyncio.gather(*(one(t, lab, identities) for t in students for lab in labs))
        await asyncio.sleep(plan.every_s)


def _identities(server: ClassServer, class_id: int) -> dict[str, StudentIdentity]:
    info = queries.class_info(server.db, class_id)
    if info is None:
        return {}
    pks = queries.student_pks(server.db, class_id)
    expected = queries.expected_variants(server.db, class_id)
    return {
        student: StudentIdentity(
            student_pk=pks[student],
            student=student,
            class_id=class_id,
            class_name=info.name,
            labs=info.labs,
            expected_variants={lab: fp for (who, lab), fp in expected.items() if who == student},
        )
        for student in info.students
    }


async def _observe(
    server: ClassServer,
    plan: ObservePlan,
    workers: GradingWorkers,
    exercise: Exercise,
    target: StudentEngine,
    identities: Mapping[str, StudentIdentity],
) -> None:
    from grader.report.json_report import to_dict

    variant = exercise.variant(target.student, plan.key)
    try:
        result = await run_in_threadpool(
            grade_their_engine, workers, exercise, student=target.student, host=target.host,
            lang=plan.lang, probe_image=plan.probe_image, overrides=variant.overrides(),
            fingerprint=variant.fingerprint, deadline_s=plan.deadline_s,
        )  # fmt: skip
    except GradingTimedOut:
        log.warning("observed grading: %s (%s) timed out", target.student, exercise.id)
        return
    except GradingFailed as exc:
        log.warning("observed grading: %s (%s): %s", target.student, exercise.id, exc.text.en)
        return
    identity = identities.get(target.student)
    if identity is None:
        return
    body = json.dumps(to_dict(result), ensure_ascii=False).encode()
    try:
        accepted = accept(parse(body), identity, server.rubrics_of(identity), source="observed")
    except Refused as refused:
        log.warning("observed grading: %s (%s) not stored: %s", target.student, exercise.id,
                    refused.reason)  # fmt: skip
        return
    await server.store(accepted.attempt)
