"""Work in worker processes, each call killable at its deadline.

A batch grades many students at once, and one grading can hang in ways no single timeout
covers: a student's engine that answers every call just before the client's timeout, a check
stuck on a hostile container. pytest, which runs the checks, is not thread-safe either. Reading
a student's compose files is bounded in size but not, in Python, in time. So such work runs in a
worker process of a :class:`DeadlineWorkers` pool: a worker takes one call at a time and sends
back its result. A call still running at its deadline is ended by killing its worker (the pool
starts a fresh one in its place): the caller gets :class:`CallTimedOut`, the batch goes on.

:class:`GradingWorkers` is that pool for gradings: a worker takes one :class:`GradingJob`,
connects to the job's engine itself, and sends back the :class:`~grader.result.GradeResult`; a
killed grading's probes are then removed, found by the job's run id.

Workers are started with ``spawn`` (never ``fork``: the batch's threads hold locks) and ignore
Ctrl-C, which the parent handles: it kills them all on :meth:`DeadlineWorkers.close`.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import queue
import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any, TypeVar

from grader import defaults
from grader.harness.request import GradeRequest
from grader.i18n import Text
from grader.result import GradeResult

T = TypeVar("T")


@dataclass(frozen=True)
class GradingJob:
    """One grading for a worker process: the request, and the engine it grades (by URL: the
    worker connects itself). Everything pickles."""

    request: GradeRequest
    host: str | None
    """The engine's URL (``None``: the default one, as :func:`grader.engine.connect` finds)."""

    def __post_init__(self) -> None:
        if not self.request.run_id:
            # What a killed worker left is found by the run id: there must be one.
            raise ValueError("a grading job needs a run id")

    @property
    def run_id(self) -> str:
        return self.request.run_id or ""

    @property
    def student(self) -> str:
        return self.request.student


class CallTimedOut(Exception):
    """The call did not finish by its deadline; its worker was killed."""


class CallFailed(Exception):
    """The call reported a failure (its text is kept), or its worker died."""

    def __init__(self, text: Text) -> None:
        super().__init__(text.en)
        self.text = text


#: The names batch code has always used for a grading's two ways of failing.
GradingTimedOut = CallTimedOut
GradingFailed = CallFailed


class _Worker:
    def __init__(self, context: Any, name: str) -> None:
        self.connection, child = context.Pipe()
        self.process: BaseProcess = context.Process(
            target=_serve, args=(child,), name=name, daemon=True
        )
        self.process.start()
        child.close()

    def kill(self) -> None:
        with contextlib.suppress(OSError, ValueError):
            self.connection.close()
        if self.process.is_alive():
            self.process.kill()
        self.process.join(10)


class DeadlineWorkers:
    """A pool of ``size`` worker processes (started on first use) running module-level
    functions, each call within its deadline."""

    def __init__(self, size: int, name: str = "tp-grader-worker") -> None:
        self._context = multiprocessing.get_context("spawn")
        self._name = name
        self._idle: queue.SimpleQueue[_Worker] = queue.SimpleQueue()
        self._all: set[_Worker] = set()
        self._slots = threading.BoundedSemaphore(max(size, 1))
        self._lock = threading.Lock()
        self._closed = False

    def call(
        self,
        function: Callable[..., T],
        *args: Any,
        deadline_s: float,
        on_lost: Callable[[], None] | None = None,
    ) -> T:
        """``function(*args)`` in a worker; :class:`CallTimedOut` past ``deadline_s``,
        :class:`CallFailed` for a :class:`~grader.errors.GraderError` it raised (its text),
        another exception (its type and text) or a worker that died. ``on_lost`` runs when the
        worker was killed at the deadline or died: to clean up what the call left."""
        with self._slots:
            worker = self._take()
            try:
                worker.connection.send((function, args))
                # The deadline is the call's own: a worker's start (a new interpreter, the
                # function's imports) is the grader's time, long on a loaded machine, and is
                # bounded apart.
                if not worker.connection.poll(defaults.WORKER_START_TIMEOUT_S):
                    raise CallTimedOut(getattr(function, "__name__", "call"))
                worker.connection.recv()  # "started"
                if not worker.connection.poll(deadline_s):
                    raise CallTimedOut(getattr(function, "__name__", "call"))
                kind, payload = worker.connection.recv()
            except CallTimedOut:
                self._discard(worker)
                if on_lost is not None:
                    on_lost()
                raise
            except (EOFError, OSError) as exc:  # the worker died (OOM killer, close())
                self._discard(worker)
                if on_lost is not None:
                    on_lost()
                raise CallFailed(_worker_died(exc)) from exc
            self._idle.put(worker)
        if kind == "result":
            result: T = payload
            return result
        raise CallFailed(payload)

    def close(self) -> None:
        """Kill every worker (calls in progress end with :class:`CallFailed`)."""
        with self._lock:
            self._closed = True
            workers = list(self._all)
        for worker in workers:
            worker.kill()

    def __enter__(self) -> DeadlineWorkers:
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
                raise CallFailed(Text(fr="travail arrêté", en="work stopped"))
            worker = _Worker(self._context, self._name)
            self._all.add(worker)
        return worker

    def _discard(self, worker: _Worker) -> None:
        worker.kill()
        with self._lock:
            self._all.discard(worker)


class GradingWorkers(DeadlineWorkers):
    """The pool gradings run in."""

    def __init__(self, size: int) -> None:
        super().__init__(size, name="tp-grader-grading")

    def grade(self, job: GradingJob, deadline_s: float) -> GradeResult:
        """Run ``job`` in a worker; raise :class:`GradingTimedOut` past ``deadline_s``,
        :class:`GradingFailed` for what the grading itself reports."""
        return self.call(grade_job, job, deadline_s=deadline_s, on_lost=lambda: _remove_probes(job))


def _worker_died(exc: BaseException) -> Text:
    return Text(
        fr=f"le processus de travail s'est arrêté ({type(exc).__name__})",
        en=f"the worker process stopped ({type(exc).__name__})",
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
            function, args = connection.recv()  # imports the function's module
            connection.send(("started", None))
        except (EOFError, OSError):
            return
        connection.send(_run(function, args))


def _run(function: Callable[..., Any], args: tuple[Any, ...]) -> tuple[str, Any]:
    from grader.errors import GraderError

    try:
        return "result", function(*args)
    except GraderError as exc:
        return "failed", exc.text
    except Exception as exc:  # a worker never dies of one call
        detail = f"{type(exc).__name__}: {exc}"[:300]
        return "failed", Text(fr=f"erreur du correcteur ({detail})", en=f"grader error ({detail})")


def grade_job(job: GradingJob) -> GradeResult:
    """One grading, in a worker: connect to the job's engine, grade, disconnect."""
    from grader.engine.connection import connect
    from grader.harness.run import grade

    engine = connect(job.host)
    try:
        return grade(job.request, engine=engine)
    finally:
        engine.close()
