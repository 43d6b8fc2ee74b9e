"""A FIFO the test reads with a deadline, for reports written into a pipe (``/dev/stdout``'s
stand-in): the reader is opened first and non-blocking, so the writer's ``open`` never waits
and a writer that never comes fails the test instead of hanging it."""

from __future__ import annotations

import os
import select
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


class FifoReader:
    def __init__(self, descriptor: int) -> None:
        self.descriptor = descriptor

    def read_all(self, *, timeout_s: float = 30.0) -> bytes:
        """Everything written until the (first) writer closes its end."""
        __tracebackhide__ = True
        deadline = time.monotonic() + timeout_s
        chunks: list[bytes] = []
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"timed out after {timeout_s:g} s reading the FIFO")
            # Linux reports no hang-up before a writer has come, so this waits for one.
            ready, _, _ = select.select([self.descriptor], [], [], remaining)
            if not ready:
                continue
            try:
                chunk = os.read(self.descriptor, 65536)
            except BlockingIOError:
                continue
            if not chunk:
                return b"".join(chunks)
            chunks.append(chunk)


@contextmanager
def fifo_reader(path: Path) -> Iterator[FifoReader]:
    """Make a FIFO at ``path`` and open it for reading; closed (and the FIFO kept) after."""
    os.mkfifo(path)
    descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    try:
        yield FifoReader(descriptor)
    finally:
        os.close(descriptor)
