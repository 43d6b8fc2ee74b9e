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

import contextlib
import dataclasses
import shutil
import tempfile
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from grader import defaults
from grader.batch.copies import copied_variants, names_held
from grader.batch.gate.confined import sandbox_image
from grader.batch.gate.prepare import Gate, Prepared, prepare
from grader.batch.gate.stage import staging_root
from grader.batch.outputs import BatchOutputs
from grader.batch.replay import Deadlines, EngineTarget, Replayed, replay
from grader.batch.schedule import Scheduler
from grader.batch.submissions import StudentEngine, Submission
from grader.batch.verdicts import (
    INTERRUPTED,
    NO_SUBMISSION,
    failed,
    refused,
    timed_out,
    unexpected,
)
from grader.errors import GraderError, UsageError
from grader.exercise.model import Exercise
from grader.exercise.variants import Variant
from grader.harness.request import GradeRequest
from grader.harness.workers import (
    DeadlineWorkers,
    GradingFailed,
    GradingJob,
    GradingTimedOut,
    GradingWorkers,
)
from grader.i18n import Lang, Text
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
    """Per student, seconds per replay phase (build, up, ready, grade, down)."""
    not_graded: tuple[str, ...] = ()
    """Students this run did not get to (interrupted): ``--resume`` grades them."""
    problems: tuple[Text, ...] = ()
    """What went wrong with the batch itself (an engine that stopped answering, files that
    could not be written), for the teacher."""
    written_to: Path | None = None
    """Where the class files are, when they could not be written in the output folder."""

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
        self.problems: list[Text] = []
        self._lock = threading.Lock()

    def add(
        self, result: GradeResult, log: str | None, timings: Mapping[str, float] | None = None
    ) -> None:
        """Keep ``result`` and write its files; a file that cannot be written is a problem
        of the batch's, said at the end: the row stays."""
        try:
            self.outputs.write_student(result, log)
        except OSError as exc:
            self.problem(
                Text(
                    fr=f"fichiers de {result.student} non écrits : {exc.strerror or exc}",
                    en=f"files of {result.student} not written: {exc.strerror or exc}",
                )
            )
        with self._lock:
            self.results[result.student] = result
            if timings:
                self.timings[result.student] = timings
        if self.observer is not None:
            self.observer.finished(result)

    def problem(self, text: Text) -> None:
        with self._lock:
            self.problems.append(text)

    def finish(
        self,
        exercise: Exercise,
        earlier: Mapping[str, GradeResult],
        interrupted: bool,
        *,
        id_column: str,
        lang: Lang,
        not_graded: Sequence[str] = (),
    ) -> BatchReport:
        """Write the class files over this run's students and the ones graded before; when the
        output folder refuses them, in a folder of their own, said in the report."""
        results = {**earlier, **self.results}
        written_to: Path | None = None
        try:
            self.outputs.write_class(exercise, results.values(), id_column=id_column, lang=lang)
        except OSError as exc:
            written_to = Path(tempfile.mkdtemp(prefix="tp-grader-class-"))
            BatchOutputs(written_to).write_class(
                exercise, results.values(), id_column=id_column, lang=lang
            )
            self.problem(
                Text(
                    fr=f"fichiers de la classe non écrits dans {self.outputs.root} "
                    f"({exc.strerror or exc}) : écrits dans {written_to}",
                    en=f"class files not written in {self.outputs.root} "
                    f"({exc.strerror or exc}): written in {written_to}",
                )
            )
        return BatchReport(
            tuple(results.values()),
            interrupted,
            self.timings,
            tuple(not_graded),
            tuple(self.problems),
            written_to,
        )


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


def ensure_replayable(exercise: Exercise) -> None:
    """Raise :class:`~grader.errors.UsageError` for a lab that cannot be replayed: a swarm
    lab (a stack solution) is graded in place only (``--hosts``). Its objects are swarm
    services, which a manager publishes on every node's ingress and names swarm-wide: a
    submission replayed on a shared engine would share the swarm, its ports and its names with
    every other, outside the per-submission isolation and policy batch replay gives Compose
    projects."""
    if exercise.solution is not None and exercise.solution.stack:
        raise UsageError(
            Text(
                fr=f"{exercise.id} se corrige sur place seulement (--hosts) : un lab sur swarm "
                "ne se rejoue pas (voir le README, « Correction d'une classe »)",
                en=f"{exercise.id} is graded in place only (--hosts): a swarm lab is not "
                "replayed (see the README, 'Grading a class')",
            )
        )


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
    registries: Sequence[str] = defaults.BATCH_REGISTRIES,
    deadlines: Deadlines | None = None,
    observer: BatchObserver | None = None,
    stop: threading.Event | None = None,
    variants: Mapping[str, Variant] | None = None,
    exam: bool = False,
) -> BatchReport:
    """Replay every submission on ``targets`` (``jobs`` at once on each), grade it, tear it
    down. Each submission is replayed as soon as it is prepared. Setting ``stop`` (Ctrl-C)
    hands out no more submissions, ends the gradings under way and tears down the running
    ones; the report then says ``interrupted`` and who was not graded.

    ``variants`` (student -> exam variant, the whole roster's) grade each student against
    their own and flag a setup that holds another's names; ``exam`` hides hints. An engine
    that stops answering is handed nothing more; what it could not grade becomes error rows
    (graded again by ``resume``). Raises only before any student is touched (an output
    folder that cannot be written, a probe image or sandbox that cannot be had)."""
    ensure_replayable(exercise)
    variants = dict(variants or {})
    stop = stop or threading.Event()
    outputs = BatchOutputs(out_dir)
    outputs.check_writable()
    stored, done = _already_graded(
        outputs, exercise, [s.student for s in submissions], resume, observer
    )
    todo = [s for s in submissions if s.student not in done]
    batch_id = new_run_id()[:6]
    # One clear environment error before any student is touched; then every probe and reader
    # of the batch is created from that image's id, whatever a tag points at later.
    probe_ids = [_pinned(target, probe_image) for target in targets]
    sandbox = sandbox_image(targets[0].engine)
    outputs.write_batch(
        exercise,
        {"mode": "replay", "batch_id": batch_id, "lang": lang, "id_column": id_column,
         "engines": [t.url for t in targets]},
    )  # fmt: skip
    collector = _Collector(outputs, observer)
    staging = staging_root()
    graders = GradingWorkers(max(jobs, 1) * len(targets))
    readers = DeadlineWorkers(max(jobs, 2), name="tp-grader-prescan")
    scheduler = Scheduler(engines=len(targets))
    gate = Gate(
        exercise, batch_id, staging, targets[0].engine, sandbox, readers, max_services,
        tuple(registries),
    )  # fmt: skip
    replayer = _Replayer(
        exercise, batch_id, staging, lang, probe_ids, graders, scheduler, collector, stop,
        deadlines, variants, exam,
    )  # fmt: skip
    try:
        preparing = threading.Thread(
            target=_prepare_all,
            args=(todo, gate, scheduler, collector, variants, max(jobs, 2), stop, lang),
            name="batch-prepare",
        )
        workers = [
            threading.Thread(
                target=replayer.work, args=(index, target), name=f"batch-{index}-{slot}"
            )
            for index, target in enumerate(targets)
            for slot in range(max(jobs, 1))
        ]

        def on_stop() -> None:
            scheduler.stop()
            graders.close()
            readers.close()

        interrupted = _run_workers([preparing, *workers], stop, on_stop) or stop.is_set()
    finally:
        graders.close()
        readers.close()
        shutil.rmtree(staging, ignore_errors=True)
        _sweep_batch(targets, batch_id)
    left = [prepared.submission.student for prepared in scheduler.drain()]
    if left and not interrupted:  # every engine stopped answering: say so, row by row
        for student in left:
            collector.add(failed(student, exercise, lang, _not_replayed()), None)
        left = []
    not_graded = [s.student for s in todo if s.student not in collector.results]
    return collector.finish(
        exercise, stored, interrupted, id_column=id_column, lang=lang,
        not_graded=sorted(set(left) | set(not_graded)),
    )  # fmt: skip


@dataclass
class _Replayer:
    """What every replaying thread of a batch shares."""

    exercise: Exercise
    batch_id: str
    staging: Path
    lang: Lang
    probe_ids: Sequence[str]
    graders: GradingWorkers
    scheduler: Scheduler
    collector: _Collector
    stop: threading.Event
    deadlines: Deadlines | None
    variants: Mapping[str, Variant]
    exam: bool

    def work(self, index: int, target: EngineTarget) -> None:
        """Replay what the scheduler hands engine ``index`` until nothing is left; an engine
        that stops answering is retired (what it would have graded waits for another)."""
        while (assignment := self.scheduler.take(index)) is not None:
            prepared = assignment.prepared
            student = prepared.submission.student
            try:
                replayed = replay(
                    prepared, exercise=self.exercise, target=target, batch_id=self.batch_id,
                    ports=assignment.ports, staging=self.staging, lang=self.lang,
                    probe_image=self.probe_ids[index], graders=self.graders, stop=self.stop,
                    deadlines=self.deadlines, variant=self.variants.get(student),
                    exam=self.exam,
                )  # fmt: skip
                replayed = _with_copy_flags(replayed, prepared, self.exercise, self.variants)
            except Exception as exc:  # one student's trouble never ends the batch
                why = unexpected(exc)
                replayed = Replayed(failed(student, self.exercise, self.lang, why), "")
            finally:
                self.scheduler.release(index, assignment)
            self.collector.add(replayed.result, replayed.log, replayed.timings)
            if replayed.result.status is RunStatus.ERROR and not target.engine.ping():
                self.scheduler.retire(index)
                self.collector.problem(_engine_gone(target.url))


def _engine_gone(url: str) -> Text:
    return Text(
        fr=f"le moteur {url} ne répond plus : plus aucune copie ne lui est confiée",
        en=f"engine {url} stopped answering: no more submissions are given to it",
    )


def _not_replayed() -> Text:
    return Text(
        fr="non corrigée : aucun moteur ne répondait plus (relancez avec --resume)",
        en="not graded: no engine answered any more (run again with --resume)",
    )


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
    todo: Sequence[Submission],
    gate: Gate,
    scheduler: Scheduler,
    collector: _Collector,
    variants: Mapping[str, Variant],
    parallel: int,
    stop: threading.Event,
    lang: Lang,
) -> None:
    """Stage and review every submission, ``parallel`` at once, and hand each runnable one to
    the scheduler as soon as it is ready; refusals and errors are written at once."""
    exercise = gate.exercise

    def one(submission: Submission) -> None:
        if stop.is_set():
            return
        student = submission.student
        try:
            variant = variants.get(student)
            params = exercise.params.with_overrides(variant.overrides()) if variant else None
            prepared = prepare(submission, gate, params)
        except Exception as exc:  # one student's trouble is that student's row
            collector.add(failed(student, exercise, lang, unexpected(exc)), None)
            return
        if prepared.refusals:
            collector.add(refused(student, exercise, lang, prepared.refusals), prepared.log)
        elif prepared.error is not None:
            collector.add(failed(student, exercise, lang, prepared.error), prepared.log)
        else:
            scheduler.add(prepared)

    try:
        present = []
        for submission in todo:
            if _present(submission.folder):
                present.append(submission)
            else:
                collector.add(failed(submission.student, exercise, lang, NO_SUBMISSION), None)
        with ThreadPoolExecutor(max_workers=parallel, thread_name_prefix="prepare") as pool:
            list(pool.map(one, present))
    finally:
        scheduler.complete()


def _present(folder: Path) -> bool:
    """Whether there is something at ``folder`` (a name the system cannot even look up is
    something: staging says what is wrong with it)."""
    try:
        return folder.exists() or folder.is_symlink()
    except OSError:
        return True


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
            try:
                result = grade_one(student)
            except Exception as exc:  # one student's trouble never ends the class
                result = failed(student.student, exercise, lang, unexpected(exc))
            collector.add(result, None)

    def grade_one(student: StudentEngine) -> GradeResult:
        variant = variants.get(student.student) or Variant(student.student)
        request = GradeRequest(
            exercise, student=student.student, run_id=new_run_id(), lang=lang,
            probe_image=probe_image, probe_deadline_s=defaults.BATCH_GRADE_PROBE_DEADLINE_S,
            param_overrides=variant.overrides(), variant=variant.fingerprint, exam=exam,
        )  # fmt: skip
        job = GradingJob(request, student.host)
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


def _sweep_batch(targets: Sequence[EngineTarget], batch_id: str) -> None:
    """Remove whatever still carries the batch's label on each engine that answers: every
    project is swept as it ends, but a removal a busy engine failed must not outlive the batch
    either."""
    for target in targets:
        if target.engine.ping():
            with contextlib.suppress(GraderError):
                target.engine.remove_labelled({defaults.LABEL_RUN: batch_id})


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
