"""Grading a class: :func:`replay_batch` (submission folders, replayed with Compose) and
:func:`grade_in_place` (each student's own engine, as it is).

Both write each student's files as soon as they are graded and the class files at the end,
skip students already graded with ``resume``, and survive any one student going wrong: an
exception while grading one becomes that student's ``error``, the batch goes on. Grading runs
pytest in-process, which is not thread-safe: gradings take turns (they are the short part;
``compose up`` and ``down`` run in parallel).
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from grader import defaults
from grader.batch.outputs import BatchOutputs
from grader.batch.replay import Deadlines, Prepared, Replayed, failed, prepare, refused, replay
from grader.batch.schedule import Scheduler
from grader.batch.submissions import StudentEngine, Submission
from grader.engine.base import Engine
from grader.errors import GraderError
from grader.exercise.model import Exercise
from grader.harness.run import grade
from grader.i18n import Lang, Text
from grader.observe.prober import Prober
from grader.result import GradeResult


class BatchObserver(Protocol):
    """Told how the batch goes (the terminal's progress bar)."""

    def planned(self, total: int, skipped: int) -> None: ...

    def finished(self, result: GradeResult) -> None: ...


@dataclass(frozen=True)
class EngineTarget:
    """An engine to replay submissions on, and the URL Compose reaches it by."""

    engine: Engine
    host: str | None = None


@dataclass(frozen=True)
class BatchReport:
    results: tuple[GradeResult, ...]
    interrupted: bool = False
    timings: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    """Per student, seconds per replay phase (up, ready, grade, down)."""


def _unexpected(exc: BaseException) -> Text:
    detail = f"{type(exc).__name__}: {exc}"[:300]
    return Text(
        fr=f"erreur du correcteur pendant cette copie ({detail})",
        en=f"grader error on this submission ({detail})",
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
) -> dict[str, GradeResult]:
    """With ``resume``, the students whose report is already written (they are skipped)."""
    done = outputs.graded(exercise.rubric) if resume else {}
    if observer is not None:
        observer.planned(len(students), sum(1 for student in students if student in done))
    return done


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
) -> BatchReport:
    """Replay every submission on ``targets`` (``jobs`` at once on each), grade it, tear it
    down. Setting ``stop`` (Ctrl-C) hands out no more submissions and tears down the running
    ones; the report then says ``interrupted``."""
    stop = stop or threading.Event()
    outputs = BatchOutputs(out_dir)
    done = _already_graded(outputs, exercise, [s.student for s in submissions], resume, observer)
    todo = [s for s in submissions if s.student not in done]
    batch_id = secrets.token_hex(3)
    for target in targets:  # one clear environment error before any student is touched
        Prober(target.engine, image=probe_image).ensure_image()
    outputs.write_batch(
        exercise,
        {"mode": "replay", "batch_id": batch_id, "lang": lang, "id_column": id_column,
         "engines": [t.host or t.engine.info.endpoint for t in targets]},
    )  # fmt: skip
    collector = _Collector(outputs, observer)
    runnable: list[Prepared] = []
    with ThreadPoolExecutor(max_workers=max(jobs * len(targets), 1)) as pool:
        prepared_all = pool.map(
            lambda s: prepare(s, exercise=exercise, batch_id=batch_id, max_services=max_services),
            todo,
        )
        for prepared in prepared_all:
            if prepared.error is not None:
                collector.add(
                    failed(prepared.submission.student, exercise, lang, prepared.error),
                    prepared.log,
                )
            elif prepared.refusals:
                collector.add(refused(prepared, exercise, lang), prepared.log)
            else:
                runnable.append(prepared)
    scheduler = Scheduler(runnable, engines=len(targets), declared=exercise.host_ports)
    grading = threading.Lock()

    def work(index: int, target: EngineTarget) -> None:
        while (taken := scheduler.take(index)) is not None:
            prepared, ports = taken
            try:
                replayed = replay(
                    prepared, exercise=exercise, engine=target.engine, host=target.host,
                    batch_id=batch_id, ports=ports, lang=lang, probe_image=probe_image,
                    grading=grading, stop=stop, deadlines=deadlines,
                )  # fmt: skip
            except Exception as exc:  # one student's trouble never ends the batch
                student = prepared.submission.student
                replayed = Replayed(failed(student, exercise, lang, _unexpected(exc)), "")
            finally:
                scheduler.release(index, prepared, ports)
            collector.add(replayed.result, replayed.log, replayed.timings)

    workers = [
        threading.Thread(target=work, args=(index, target), name=f"batch-{index}-{slot}")
        for index, target in enumerate(targets)
        for slot in range(max(jobs, 1))
    ]
    interrupted = _run_workers(workers, stop, scheduler.stop) or stop.is_set()
    return collector.finish(exercise, done, interrupted, id_column=id_column, lang=lang)


def grade_in_place(
    exercise: Exercise,
    students: Sequence[StudentEngine],
    *,
    out_dir: Path,
    connect: Callable[[str], Engine],
    jobs: int = 1,
    resume: bool = False,
    lang: Lang = defaults.DEFAULT_LANG,
    probe_image: str = defaults.PROBE_IMAGE,
    id_column: str = defaults.GRADEBOOK_ID_COLUMN,
    observer: BatchObserver | None = None,
    stop: threading.Event | None = None,
) -> BatchReport:
    """Grade each student's own engine as it is: nothing set up, nothing torn down."""
    stop = stop or threading.Event()
    outputs = BatchOutputs(out_dir)
    done = _already_graded(outputs, exercise, [s.student for s in students], resume, observer)
    todo = [s for s in students if s.student not in done]
    outputs.write_batch(
        exercise, {"mode": "in-place", "lang": lang, "id_column": id_column,
                   "engines": [s.host for s in students]},
    )  # fmt: skip
    collector = _Collector(outputs, observer)
    grading = threading.Lock()
    pending = list(todo)
    taking = threading.Lock()

    def work() -> None:
        while not stop.is_set():
            with taking:
                if not pending:
                    return
                student = pending.pop(0)
            collector.add(_grade_one(student), None)

    def _grade_one(student: StudentEngine) -> GradeResult:
        try:
            engine = connect(student.host)
        except GraderError as exc:
            return failed(student.student, exercise, lang, exc.text)
        try:
            with grading:
                return grade(
                    exercise, engine=engine, student=student.student, lang=lang,
                    probe_image=probe_image, probe_deadline_s=defaults.BATCH_GRADE_PROBE_DEADLINE_S,
                )  # fmt: skip
        except GraderError as exc:
            return failed(student.student, exercise, lang, exc.text)
        except Exception as exc:  # one student's trouble never ends the batch
            return failed(student.student, exercise, lang, _unexpected(exc))
        finally:
            engine.close()

    workers = [threading.Thread(target=work, name=f"in-place-{n}") for n in range(max(jobs, 1))]
    interrupted = _run_workers(workers, stop, lambda: None) or stop.is_set()
    return collector.finish(exercise, done, interrupted, id_column=id_column, lang=lang)


def _run_workers(
    workers: list[threading.Thread], stop: threading.Event, on_stop: Callable[[], None]
) -> bool:
    """Start and join ``workers``; on Ctrl-C, set ``stop`` and keep joining (running
    submissions are torn down, within their deadlines). Returns whether it was interrupted."""
    for worker in workers:
        worker.start()
    interrupted = False
    while any(worker.is_alive() for worker in workers):
        try:
            for worker in workers:
                worker.join(0.2)
        except KeyboardInterrupt:
            interrupted = True
            stop.set()
            on_stop()
    return interrupted
