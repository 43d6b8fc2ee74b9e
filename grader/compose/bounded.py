"""Running a command bounded in time and output: Compose, and ``compose version``.

The command runs in its own process group, killed whole at its deadline, on Ctrl-C or when
cancelled, so no child of it outlives the call.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class CommandResult:
    argv: tuple[str, ...]
    returncode: int
    output: str
    """stdout and stderr interleaved, head and tail kept when long (the cut is marked)."""
    timed_out: bool
    duration_s: float
    shown: str = ""
    """The command as a person would type it (``docker compose up --detach``)."""

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and not self.timed_out


def run_bounded(
    argv: Sequence[str],
    *,
    timeout_s: float,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    output_limit: int = 64 << 10,
    cancel: threading.Event | None = None,
) -> CommandResult:
    """Run ``argv`` in its own process group; kill the group at ``timeout_s``, on Ctrl-C, or
    when ``cancel`` is set (the result then counts as timed out).

    ``env`` replaces the environment when given (``None``: inherit it)."""
    started = time.monotonic()
    process = subprocess.Popen(
        list(argv),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        env=dict(env) if env is not None else None,
        cwd=cwd,
        start_new_session=True,
    )
    collected = _Collector(output_limit)
    reader = threading.Thread(target=collected.drain, args=(process.stdout,), daemon=True)
    reader.start()
    timed_out = False
    deadline = started + timeout_s
    try:
        while process.poll() is None:
            if time.monotonic() > deadline or (cancel is not None and cancel.is_set()):
                timed_out = True
                _kill_group(process)
                break
            try:
                process.wait(timeout=0.2)
            except subprocess.TimeoutExpired:
                continue
    except BaseException:
        _kill_group(process)
        raise
    # A command that died (or was killed) may leave children working on: stop them too, so
    # what follows (a teardown) never races a straggler.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    reader.join(5)
    return CommandResult(
        tuple(argv),
        process.returncode if process.returncode is not None else -1,
        collected.text(),
        timed_out,
        time.monotonic() - started,
    )


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(10)


class _Collector:
    """Keeps the first and the last ``limit / 2`` bytes of a stream."""

    def __init__(self, limit: int) -> None:
        self._half = max(limit // 2, 1)
        self._head = bytearray()
        self._tail = bytearray()
        self._dropped = 0

    def drain(self, stream: Any) -> None:
        for chunk in iter(lambda: stream.read1(8192), b""):
            room = max(self._half - len(self._head), 0)
            self._head += chunk[:room]
            self._tail += chunk[room:]
            if len(self._tail) > self._half:
                self._dropped += len(self._tail) - self._half
                del self._tail[: len(self._tail) - self._half]

    def text(self) -> str:
        middle = f"\n[… {self._dropped} bytes cut …]\n".encode() if self._dropped else b""
        return bytes(self._head + middle + self._tail).decode("utf-8", "replace")
