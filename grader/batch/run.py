"""Grading a class: :func:`replay_batch` (submission folders, replayed with Compose) and
:func:`grade_in_place` (each student's own engine, as it is).

Both write each student's files as soon as they are graded and the class files at the end,
skip students already graded with ``resume`` (students in error are graded again), and
survive any one student going wrong: an exception while grading one becomes that student's
``error``, the batch goes on. Gradings run in worker processes, each killed at its deadline
(:mod:`grader.harness.workers`), so ``jobs`` and several engines grade in parallel and no
student can hold the others up.
"""

from __future__ import annotations

import dataclasses
import shutil
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from grader import defaults
from grader.batch.copies import copied_variants, names_held
from grader.batch.outputs import BatchOutputs
from grader.batch.prepare import Prepared, prepare
from grader.batch.replay import Deadlines, EngineTarget, Replayed, replay
from grader.batch.schedule import Scheduler
from grader.batch.stage import staging_root
from grader.batch.submissions import StudentEngine, Submission
from grader.batch.verdicts import (
    INTERRUPTED,
    NO_SUBMISSION,
    failed,
    refused,
    timed_out,
    unexpected,
)
from grader.exercise.model import Exercise
from grader.exercise.variants import Variant
from grader.harness.workers import GradingFailed, GradingJob, GradingTimedOut, GradingWorkers
from grader.i18n import Lang
from grader.judge.outcome import CheckStatus
from grader.observe.prober import Prober, new_run_id
from grader.result import GradeResult, RunStatus


class BatchObserver(Protocol):
    """Told how the batch goes (the terminal's progress bar)."""

    def planned(self, total: int, skipped: int) -> None: ...

    def finished(self, result: GradeResult) -> None: ...


@dataclass(frozen=True)
class BatchReport:
    results: tuple[GradeResult, ...]
    interrupted: bool = False
    timings: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    """Per student, seconds per replay phase (up, ready, grade, down)."""

    @property
    def to_look_at(self) -> tuple[GradeResult, ...]:
        """Students a teacher should look at: not graded, or graded with checks in error
        (each such check cost points that were not the student's to lose)."""
        return tuple(result for result in self.results if needs_a_look(result))


def needs_a_look(result: GradeResult) -> bool:
    return result.status is RunStatus.ERROR or (
        result.status is RunStatus.GRADED and result.sheet.count(CheckStatus.ERROR) > 0
    )


class _Collector:
    """Results as they come: written at once, counted, told to the observer."""

    def __init__(self, outputs: BatchOutputs, observer: BatchObserver | None) -> None:
        self.outputs = outputs
        self.observer = observer
        self.results: dict[str, GradeResult] = {}
        self.timings: dict[str, Mapping[str, float]] = {}
        self._lock = threading.Lock()

    def add(
        self, result: GradeResult, log: str | None, timings: Mapping[str, float] | None = None
    ) -> None:
        self.outputs.write_student(result, log)
        with self._lock:
            self.results[result.student] = result
            if timings:
                self.timings[result.student] = timings
        if self.observer is not None:
            self.observer.finished(result)

    def finish(
        self,
        exercise: Exercise,
        earlier: Mapping[str, GradeResult],
        interrupted: bool,
        *,
        id_column: str,
        lang: Lang,
    ) -> BatchReport:
        """Write the class files over this run's students and the ones graded before."""
        results = {**earlier, **self.results}
        self.outputs.write_class(exercise, results.values(), id_column=id_column, lang=lang)
        return BatchReport(tuple(results.values()), interrupted, self.timings)


def _already_graded(
    outputs: BatchOutputs,
    exercise: Exercise,
    students: Sequence[str],
    resume: bool,
    observer: BatchObserver | None,
) -> tuple[dict[str, GradeResult], set[str]]:
    """With ``resume``: every stored result (the class files cover them all), and the students
    to skip: those graded (students in error, or with a check in error, are graded again)."""
    stored = outputs.graded(exercise) if resume else {}
    done = {student for student, result in stored.items() if not needs_a_look(result)}
    if observer is not None:
        observer.planned(len(students), sum(1 for student in students if student in done))
    return stored, done


def replay_batch(
    exercise: Exercise,
    submissions: Sequence[Submission],
    *,
    targets: Sequence[EngineTarget],
    out_dir: Path,
    jobs: int = 1,
    resume: bool = False,
    lang: Lang = defaults.DEFAULT_LANG,
    probe_image: str = defaults.PROBE_IMAGE,
    id_column: str = defaults.GRADEBOOK_ID_COLUMN,
    max_services: int = defaults.BATCH_MAX_SERVICES,
    deadlines: Deadlines | None = None,
    observer: BatchObserver | None = None,
    stop: threading.Event | None = None,
    variants: Mapping[str, Variant] | None = None,
    exam: bool = False,
) -> BatchReport:
    """Replay every submission on ``targets`` (``jobs`` at once on each), grade it, tear it
    down. Setting ``stop`` (Ctrl-C) hands out no more submissions, ends the gradings under way
    and tears down the running ones; the report then says ``interrupted``.

    ``variants`` (student -> exam variant, the whole roster's) grade each student against
    their own and flag a setup that holds another's names; ``exam`` hides hints."""
    variants = dict(variants or {})
    stop = stop or threading.Event()
    outputs = BatchOutputs(out_dir)
    stored, done = _already_graded(
        outputs, exercise, [s.student for s in submissions], resume, observer
    )
    todo = [s for s in submissions if s.student not in done]
    batch_id = new_run_id()[:6]
    # One clear environment error before any student is touched; then every probe and reader
    # of the batch is created from that image's id, whatever a tag points at later.
    probe_ids = [_pinned(target, probe_image) for target in targets]
    outputs.write_batch(
        exercise,
        {"mode": "replay", "batch_id": batch_id, "lang": lang, "id_column": id_column,
         "engines": [t.url for t in targets]},
    )  # fmt: skip
    collector = _Collector(outputs, observer)
    staging = staging_root()
    graders = GradingWorkers(max(jobs, 1) * len(targets))
    try:
        runnable = _prepare_all(
            todo, exercise, batch_id, staging, max_services, jobs, collector, lang, variants
        )
        scheduler = Scheduler(runnable, engines=len(targets))

        def work(index: int, target: EngineTarget) -> None:
            while (assignment := scheduler.take(index)) is not None:
                prepared = assignment.prepared
                student = prepared.submission.student
                try:
                    replayed = replay(
                        prepared, exercise=exercise, target=target, batch_id=batch_id,
                        ports=assignment.ports, staging=staging, lang=lang,
                        probe_image=probe_ids[index], graders=graders, stop=stop,
                        deadlines=deadlines, variant=variants.get(student), exam=exam,
                    )  # fmt: skip
                    replayed = _with_copy_flags(replayed, prepared, exercise, variants)
                except Exception as exc:  # one student's trouble never ends the batch
                    replayed = Replayed(failed(student, exercise, lang, unexpected(exc)), "")
                finally:
                    scheduler.release(index, assignment)
                collector.add(replayed.result, replayed.log, replayed.timings)

        workers = [
            threading.Thread(target=work, args=(index, target), name=f"batch-{index}-{slot}")
            for index, target in enumerate(targets)
            for slot in range(max(jobs, 1))
        ]

        def on_stop() -> None:
            scheduler.stop()
            graders.close()

        interrupted = _run_workers(workers, stop, on_stop) or stop.is_set()
    finally:
        graders.close()
        shutil.rmtree(staging, ignore_errors=True)
    return collector.finish(exercise, stored, interrupted, id_column=id_column, lang=lang)


def _with_copy_flags(
    replayed: Replayed, prepared: Prepared, exercise: Exercise, variants: Mapping[str, Variant]
) -> Replayed:
    """The result flagged when the submission holds another roster student's names."""
    if not variants or prepared.model is None:
        return replayed
    result = replayed.result
    found = copied_variants(
        result.student, names_held(prepared.model), variants, exercise.variations
    )
    if not found:
        return replayed
    flagged = dataclasses.replace(
        result,
        flags=(*result.flags, *(flag.flag for flag in found)),
        notes=(*result.notes, *(flag.note() for flag in found)),
    )
    return dataclasses.replace(replayed, result=flagged)


def _pinned(target: EngineTarget, probe_image: str) -> str:
    prober = Prober(target.engine, image=probe_image)
    prober.ensure_image()
    found = target.engine.image(probe_image)
    return found.id if found is not None else probe_image


def _prepare_all(
    todo: Iterable[Submission],
    exercise: Exercise,
    batch_id: str,
    staging: Path,
    max_services: int,
    jobs: int,
    collector: _Collector,
    lang: Lang,
    variants: Mapping[str, Variant],
) -> list[Prepared]:
    """Stage and review every submission (no engine involved); refusals and errors are
    written at once, the runnable ones returned in order."""
    runnable: list[Prepared] = []

    def one(submission: Submission) -> Prepared:
        variant = variants.get(submission.student)
        params = exercise.params.with_overrides(variant.overrides()) if variant else None
        return prepare(
            submission, exercise=exercise, batch_id=batch_id, staging=staging,
            max_services=max_services, params=params,
        )  # fmt: skip

    present = []
    for submission in todo:
        if submission.folder.exists() or submission.folder.is_symlink():
            present.append(submission)
        else:
            collector.add(failed(submission.student, exercise, lang, NO_SUBMISSION), None)
    with ThreadPoolExecutor(max_workers=max(jobs, 2)) as pool:
        for prepared in pool.map(one, present):
            student = prepared.submission.student
            if prepared.refusals:
                collector.add(refused(student, exercise, lang, prepared.refusals), prepared.log)
            elif prepared.error is not None:
                collector.add(failed(student, exercise, lang, prepared.error), prepared.log)
            else:
                runnable.append(prepared)
    return runnable


def grade_in_place(
    exercise: Exercise,
    students: Sequence[StudentEngine],
    *,
    out_dir: Path,
    jobs: int = 1,
    resume: bool = False,
    lang: Lang = defaults.DEFAULT_LANG,
    probe_image: str = defaults.PROBE_IMAGE,
    id_column: str = defaults.GRADEBOOK_ID_COLUMN,
    deadline_s: float = defaults.BATCH_GRADE_TIMEOUT_S,
    observer: BatchObserver | None = None,
    stop: threading.Event | None = None,
    variants: Mapping[str, Variant] | None = None,
    exam: bool = False,
) -> BatchReport:
    """Grade each student's own engine as it is: nothing set up, nothing torn down. Each
    grading runs in a worker process, killed at ``deadline_s``: a student's engine is
    theirs, and may answer slowly or not at all. ``variants`` and ``exam`` as for
    :func:`replay_batch` (no copy detection here: it reads a submission's compose model)."""
    variants = dict(variants or {})
    stop = stop or threading.Event()
    outputs = BatchOutputs(out_dir)
    stored, done = _already_graded(
        outputs, exercise, [s.student for s in students], resume, observer
    )
    pending = [s for s in students if s.student not in done]
    outputs.write_batch(
        exercise, {"mode": "in-place", "lang": lang, "id_column": id_column,
                   "engines": [s.host for s in students]},
    )  # fmt: skip
    collector = _Collector(outputs, observer)
    taking = threading.Lock()
    graders = GradingWorkers(max(jobs, 1))

    def work() -> None:
        while not stop.is_set():
            with taking:
                if not pending:
                    return
                student = pending.pop(0)
            collector.add(grade_one(student), None)

    def grade_one(student: StudentEngine) -> GradeResult:
        variant = variants.get(student.student) or Variant(student.student)
        job = GradingJob(
            exercise=exercise, student=student.student, host=student.host, run_id=new_run_id(),
            lang=lang, probe_image=probe_image,
            probe_deadline_s=defaults.BATCH_GRADE_PROBE_DEADLINE_S,
            param_overrides=variant.overrides(), variant=variant.fingerprint, exam=exam,
        )  # fmt: skip
        try:
            return graders.grade(job, deadline_s)
        except GradingTimedOut:
            return failed(student.student, exercise, lang, timed_out(deadline_s))
        except GradingFailed as exc:
            why = INTERRUPTED if stop.is_set() else exc.text
            return failed(student.student, exercise, lang, why)

    workers = [threading.Thread(target=work, name=f"in-place-{n}") for n in range(max(jobs, 1))]
    try:
        interrupted = _run_workers(workers, stop, graders.close) or stop.is_set()
    finally:
        graders.close()
    return collector.finish(exercise, stored, interrupted, id_column=id_column, lang=lang)


def _run_workers(
    workers: list[threading.Thread], stop: threading.Event, on_stop: Callable[[], None]
) -> bool:
    """Start and join ``workers``; on Ctrl-C, set ``stop`` and keep joining (running
    submissions are torn down, within their deadlines). Returns whether it was interrupted."""
    for worker in workers:
        worker.start()
    interrupted = stopping = False
    while any(worker.is_alive() for worker in workers):
        try:
            if stop.is_set() and not stopping:
                stopping = True
                on_stop()
            for worker in workers:
                worker.join(0.2)
        except KeyboardInterrupt:
            interrupted = True
            stop.set()
    return interrupted
