"""Observations that miss are tried again, within a bounded window, before a miss is declared.

A correct setup on a busy machine can miss once: a server still binding its port, a resolver
slow to answer, a connection that times out while both cores are taken. Declaring a miss then
takes points a student earned. So a step whose result is a *transient* miss (the step says
which: no DNS reply, no TCP connection, no HTTP answer; never a wrong answer) is run again, in a
new probe at the same place, every :data:`~grader.defaults.RETRY_PAUSE_S`, until it no longer
misses or :data:`~grader.defaults.RETRY_WINDOW_S` (the request's window) has passed, and at
least :data:`~grader.defaults.RETRY_MIN_ATTEMPTS` times. A probe that fails to run at all (it
could not start, or missed its deadline on a loaded engine) is tried again the same way. A setup
that is wrong misses every time and pays the window once per probe, not once per step.

How many times each step ran is kept with its result; the checks that read it say so in the
report (their ``retries``), through :func:`reading_for_a_check`.
"""

from __future__ import annotations

import contextlib
import contextvars
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from grader import defaults
from grader.errors import ObservationError
from grader.observe.steps import ProbeStep


def transient(step: ProbeStep[Any], result: Any) -> bool:
    """Whether ``result`` of ``step`` is a miss worth trying again (steps without an opinion:
    never)."""
    judge = getattr(step, "transient", None)
    return bool(judge(result)) if judge is not None else False


def run_with_retries(
    run: Callable[[Sequence[ProbeStep[Any]]], list[Any]],
    steps: Sequence[ProbeStep[Any]],
    window_s: float,
    pause_s: float = defaults.RETRY_PAUSE_S,
    min_attempts: int = defaults.RETRY_MIN_ATTEMPTS,
) -> tuple[list[Any], list[int]]:
    """``run(steps)``, then again for the steps whose results are transient misses, until none
    is, or ``window_s`` has passed since the first run ended and each had ``min_attempts``
    runs (on a machine so busy that one probe takes the whole window, a miss is still seen
    more than once). Returns the last result of each step and how many times it ran.

    A run that raises :class:`~grader.errors.ObservationError` (a probe that could not start,
    or did not finish by its deadline) is a miss of the grader's, tried again the same way:
    the steps keep what they saw before it; only when a step never got a result does the last
    error leave here."""
    results: list[Any] = [None] * len(steps)
    attempts = [0] * len(steps)
    pending = list(range(len(steps)))
    deadline: float | None = None
    rounds = 0
    failure: ObservationError | None = None
    while True:
        try:
            again = run([steps[i] for i in pending])
        except ObservationError as exc:
            failure = exc
        else:
            for index, result in zip(pending, again, strict=True):
                results[index] = result
                attempts[index] += 1
        rounds += 1
        deadline = deadline if deadline is not None else time.monotonic() + window_s
        pending = [
            i for i, step in enumerate(steps) if attempts[i] == 0 or transient(step, results[i])
        ]
        out_of_time = time.monotonic() + pause_s > deadline
        if not pending or (out_of_time and rounds >= min_attempts):
            break
        # A pause between attempts of the grader's own, not a test's synchronisation.
        time.sleep(pause_s)
    if failure is not None and any(count == 0 for count in attempts):
        raise failure
    return results, attempts


_READ: contextvars.ContextVar[list[int] | None] = contextvars.ContextVar(
    "tp_grader_attempts_read", default=None
)


def note_read(attempts: int) -> None:
    """Record that the check running now read a step that ran ``attempts`` times."""
    read = _READ.get()
    if read is not None:
        read.append(attempts)


@contextlib.contextmanager
def reading_for_a_check() -> Iterator[list[int]]:
    """Collect the attempts of every step the code inside reads: a check's retries are
    ``sum(a - 1 for a in collected)``."""
    collected: list[int] = []
    token = _READ.set(collected)
    try:
        yield collected
    finally:
        _READ.reset(token)
