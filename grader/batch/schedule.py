"""Which submission runs next, on which engine, with which host ports.

Each engine runs up to ``jobs`` submissions at once. Two submissions that publish the same
host port are never on the same engine at the same time: a worker takes the first pending
submission whose fixed host ports are all free on its engine, and waits for a release when
none fits (the student is scheduled later, never failed). The host ports an exercise declares
(``host_ports``) are not fixed: each run gets free ones from a range of the batch's own.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field

from grader import defaults
from grader.batch.replay import Prepared


@dataclass
class _EnginePorts:
    busy: set[int] = field(default_factory=set)


class Scheduler:
    def __init__(
        self,
        pending: Sequence[Prepared],
        *,
        engines: int,
        declared: Sequence[str],
        port_range: tuple[int, int] = defaults.BATCH_PORT_RANGE,
    ) -> None:
        self._pending = list(pending)
        self._engines = [_EnginePorts() for _ in range(engines)]
        self._declared = list(declared)
        self._range = port_range
        self._changed = threading.Condition()
        self._stopped = False

    def take(self, engine: int) -> tuple[Prepared, dict[str, int]] | None:
        """The next submission for ``engine`` and the declared ports it gets; ``None`` when
        nothing is left (or the batch stops). Blocks while every pending one conflicts."""
        with self._changed:
            while True:
                if self._stopped or not self._pending:
                    return None
                ports = self._engines[engine]
                for index, prepared in enumerate(self._pending):
                    if prepared.host_ports.isdisjoint(ports.busy):
                        del self._pending[index]
                        given = self._allocate(ports, prepared.host_ports)
                        ports.busy |= prepared.host_ports | set(given.values())
                        return prepared, given
                self._changed.wait()

    def release(self, engine: int, prepared: Prepared, given: dict[str, int]) -> None:
        with self._changed:
            self._engines[engine].busy -= prepared.host_ports | set(given.values())
            self._changed.notify_all()

    def stop(self) -> None:
        """No more submissions are handed out; running ones finish (and are torn down)."""
        with self._changed:
            self._stopped = True
            self._changed.notify_all()

    def _allocate(self, ports: _EnginePorts, fixed: frozenset[int]) -> dict[str, int]:
        low, high = self._range
        free = (p for p in range(low, high + 1) if p not in ports.busy and p not in fixed)
        return {name: next(free) for name in self._declared}
