"""Gradings in worker processes, each one killable at its deadline.

A batch grades many students at once, and one grading can hang in ways no single timeout
covers: a student's engine that answers every call just before the client's timeout, a check
stuck on a hostile container. pytest, which runs the checks, is not thread-safe either. So each
grading runs in a worker process of a :class:`GradingWorkers` pool: a worker takes one
:class:`GradingJob` at a time, connects to the job's engine itself, and sends back the
:class:`~grader.result.GradeResult`. A job still running at its deadline is ended by killing
its worker (the pool starts a fresh one in its place), then removing the probes it left, found
by the job's run id: the caller gets :class:`GradingTimedOut`, the batch goes on.

Workers are started with ``spawn`` (never ``fork``: the batch's threads hold locks) and ignore
Ctrl-C, which the parent handles: it kills them all on :meth:`GradingWorkers.close`.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import queue
import signal
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any

from grader import defaults
from grader.exercise.model import Exercise
from grader.i18n import Lang, Text
from grader.result import GradeResult


@dataclass(frozen=True)
class GradingJob:
    """Everything one grading needs; sent to a worker process, so every field pickles."""

    exercise: Exercise
    student: str
    host: str | None
    """The engine's URL (``None``: the default one, as :func:`grader.engine.connect` finds)."""
    run_id: str
    """Labels the grading's probes: what to remove if the worker has to be killed."""
    lang: Lang = defaults.DEFAULT_LANG
    project: str | None = None
    strict_project: bool = False
    probe_image: str = defaults.PROBE_IMAGE
    probe_deadline_s: float = defaults.PROBE_DEADLINE_S
    param_overrides: Mapping[str, str] = field(default_factory=dict)
    shown_overrides: Mapping[str, str] | None = None
    notes: tuple[Text, ...] = ()
    variant: str | None = None
    exam: bool = False


class GradingTimedOut(Exception):
    """The grading did not finish by its deadline; its worker was killed."""


class GradingFailed(Exception):
    """The grading raised a :class:`~grader.errors.GraderError` (its text is kept)."""

    def __init__(self, text: Text) -> None:
        super().__init__(text.en)
        self.text = text


class _Worker:
    def __init__(self, context: Any) -> None:
        self.connection, child = context.Pipe()
        self.process: BaseProcess = context.Process(
            target=_serve, args=(child,), name="tp-grader-grading", daemon=True
        )
        self.process.start()
        child.close()

    def kill(self) -> None:
        with contextlib.suppress(OSError, ValueError):
            self.connection.close()
        if self.process.is_alive():
            self.process.kill()
        self.process.join(10)


class GradingWorkers:
    """A pool of ``size`` worker processes (started on first use)."""

    def __init__(self, size: int) -> None:
        self._context = multiprocessing.get_context("spawn")
        self._idle: queue.SimpleQueue[_Worker] = queue.SimpleQueue()
        self._all: set[_Worker] = set()
        self._slots = threading.BoundedSemaphore(max(size, 1))
        self._lock = threading.Lock()
        self._closed = False

    def grade(self, job: GradingJob, deadline_s: float) -> GradeResult:
        """Run ``job`` in a worker; raise :class:`GradingTimedOut` past ``deadline_s``,
        :class:`GradingFailed` for what the grading itself reports."""
        with self._slots:
            worker = self._take()
            try:
                worker.connection.send(job)
                if not worker.connection.poll(deadline_s):
                    raise GradingTimedOut(job.student)
                kind, payload = worker.connection.recv()
            except GradingTimedOut:
                self._discard(worker)
                _remove_probes(job)
                raise
            except (EOFError, OSError) as exc:  # the worker died (OOM killer, close())
                self._discard(worker)
                _remove_probes(job)
                raise GradingFailed(_worker_died(exc)) from exc
            self._idle.put(worker)
        if kind == "result":
            result: GradeResult = payload
            return result
        raise GradingFailed(payload)

    def close(self) -> None:
        """Kill every worker (gradings in progress end with :class:`GradingFailed`)."""
        with self._lock:
            self._closed = True
            workers = list(self._all)
        for worker in workers:
            worker.kill()

    def __enter__(self) -> GradingWorkers:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _take(self) -> _Worker:
        while True:
            try:
                worker = self._idle.get_nowait()
            except queue.Empty:
                break
            if worker.process.is_alive():
                return worker
            self._discard(worker)
        with self._lock:
            if self._closed:
                raise GradingFailed(Text(fr="correction arrêtée", en="grading stopped"))
            worker = _Worker(self._context)
            self._all.add(worker)
        return worker

    def _discard(self, worker: _Worker) -> None:
        worker.kill()
        with self._lock:
            self._all.discard(worker)


def _worker_died(exc: BaseException) -> Text:
    return Text(
        fr=f"le processus de correction s'est arrêté ({type(exc).__name__})",
        en=f"the grading process stopped ({type(exc).__name__})",
    )


def _remove_probes(job: GradingJob) -> None:
    """Remove what a killed grading left on its engine: its probes and readers. Bounded: the
    engine may be the reason the grading hung."""
    from grader.engine.connection import connect
    from grader.errors import GraderError

    def remove() -> None:
        with contextlib.suppress(GraderError):
            engine = connect(job.host, timeout_s=defaults.CLEANUP_TIMEOUT_S)
            try:
                engine.remove_containers({defaults.LABEL_RUN: job.run_id})
            finally:
                engine.close()

    remover = threading.Thread(target=remove, name="remove-probes", daemon=True)
    remover.start()
    remover.join(defaults.CLEANUP_TIMEOUT_S)


# -- in the worker process ----------------------------------------------------------------------
def _serve(connection: Connection) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides what Ctrl-C ends
    # Checks may print; the batch's terminal is the parent's.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.close(devnull)
    while True:
        try:
            job = connection.recv()
        except (EOFError, OSError):
            return
        connection.send(_run(job))


def _run(job: GradingJob) -> tuple[str, Any]:
    from grader.engine.connection import connect
    from grader.errors import GraderError
    from grader.harness.run import grade

    try:
        engine = connect(job.host)
    except GraderError as exc:
        return "error", exc.text
    try:
        return "result", grade(
            job.exercise,
            engine=engine,
            student=job.student,
            lang=job.lang,
            project=job.project,
            strict_project=job.strict_project,
            probe_image=job.probe_image,
            probe_deadline_s=job.probe_deadline_s,
            param_overrides=job.param_overrides,
            notes=job.notes,
            run_id=job.run_id,
            variant=job.variant,
            exam=job.exam,
            shown_overrides=job.shown_overrides,
        )
    except GraderError as exc:
        return "error", exc.text
    except Exception as exc:  # a worker never dies of one grading
        detail = f"{type(exc).__name__}: {exc}"[:300]
        return "error", Text(fr=f"erreur du correcteur ({detail})", en=f"grader error ({detail})")
    finally:
        engine.close()
