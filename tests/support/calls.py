"""Functions worker-process tests send to a :class:`~grader.harness.workers.DeadlineWorkers`
pool (they must be importable by name in a spawned process)."""

from __future__ import annotations

import os
import time

from grader.errors import UsageError
from grader.i18n import Text


def pid() -> int:
    return os.getpid()


def busy_for(seconds: float) -> str:
    """A call that takes ``seconds`` of work (the workload itself, not a synchronisation)."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        pass
    return "done"


def refuses() -> None:
    raise UsageError(Text(fr="non", en="no"))


def breaks() -> None:
    raise ValueError("a bug")
