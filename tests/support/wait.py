"""Waiting for a condition with a deadline: tests never sleep to synchronise."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def wait_for(
    condition: Callable[[], T], *, timeout_s: float = 30.0, interval_s: float = 0.1, what: str = ""
) -> T:
    """Call ``condition`` until it returns a truthy value; fail the test at the deadline."""
    __tracebackhide__ = True
    deadline = time.monotonic() + timeout_s
    last: T = condition()
    while not last:
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s:g} s waiting for {what or condition}")
        time.sleep(interval_s)
        last = condition()
    return last
