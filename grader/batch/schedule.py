"""Which submission runs next, on which engine, with which host ports.

Each engine runs up to ``jobs`` submissions at once, taken in order. Every port a submission
publishes is rewritten to a port of the batch's pool (:mod:`grader.batch.rewrite`), so the
scheduler hands each run as many free pool ports as it publishes, and takes them back when the
run is torn down. A run that needs more ports than the pool has free waits for a release.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass

from grader import defaults
from grader.batch.prepare import Prepared
from grader.batch.rewrite import published_ports


@dataclass(frozen=True)
class Assignment:
    prepared: Prepared
    ports: list[int]


class Scheduler:
    def __init__(
        self,
        pending: Sequence[Prepared],
        *,
        engines: int,
        port_range: tuple[int, int] = defaults.BATCH_PORT_RANGE,
    ) -> None:
        self._pending = list(pending)
        low, high = port_range
        self._free = [list(range(low, high + 1)) for _ in range(engines)]
        self._changed = threading.Condition()
        self._stopped = False

    def take(self, engine: int) -> Assignment | None:
        """The next submission for ``engine`` and its ports; ``None`` when nothing is left (or
        the batch stops). Blocks while the pool cannot serve the next one."""
        with self._changed:
            while True:
                if self._stopped or not self._pending:
                    return None
                needed = len(published_ports(self._pending[0].model or {}))
                free = self._free[engine]
                if needed <= len(free):
                    prepared = self._pending.pop(0)
                    ports, free[:] = free[:needed], free[needed:]
                    return Assignment(prepared, ports)
                self._changed.wait()

    def release(self, engine: int, assignment: Assignment) -> None:
        with self._changed:
            self._free[engine] = sorted(self._free[engine] + assignment.ports)
            self._changed.notify_all()

    def stop(self) -> None:
        """No more submissions are handed out; running ones finish (and are torn down)."""
        with self._changed:
            self._stopped = True
            self._changed.notify_all()
