"""Which submission runs next, on which engine, with which host ports.

Submissions arrive as they are prepared (:meth:`Scheduler.add`): the first replay starts as
soon as the first submission is ready, not once the whole class is. Each engine runs up to
``jobs`` submissions at once, taken in the order they arrived. Every port a submission publishes
is rewritten to a port of the batch's pool (:mod:`grader.batch.rewrite`), so the scheduler hands
each run as many free pool ports as it publishes, and takes them back when the run is torn down.
A run that needs more ports than the pool has free waits for a release. An engine that stops
answering is retired (:meth:`Scheduler.retire`): it is handed nothing more.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from grader import defaults
from grader.batch.gate.prepare import Prepared
from grader.batch.rewrite import published_ports


@dataclass(frozen=True)
class Assignment:
    prepared: Prepared
    ports: list[int]


class Scheduler:
    def __init__(
        self,
        *,
        engines: int,
        port_range: tuple[int, int] = defaults.BATCH_PORT_RANGE,
    ) -> None:
        self._pending: list[Prepared] = []
        low, high = port_range
        self._free = [list(range(low, high + 1)) for _ in range(engines)]
        self._retired: set[int] = set()
        self._changed = threading.Condition()
        self._stopped = False
        self._complete = False

    def add(self, prepared: Prepared) -> None:
        """A submission ready to run."""
        with self._changed:
            self._pending.append(prepared)
            self._changed.notify_all()

    def complete(self) -> None:
        """Every submission has been added: once they are taken, :meth:`take` returns None."""
        with self._changed:
            self._complete = True
            self._changed.notify_all()

    def take(self, engine: int) -> Assignment | None:
        """The next submission for ``engine`` and its ports; ``None`` when nothing is left (or
        the batch stops, or ``engine`` is retired). Blocks while none is ready, or while the
        pool cannot serve the next one."""
        with self._changed:
            while True:
                if self._stopped or engine in self._retired:
                    return None
                if not self._pending:
                    if self._complete:
                        return None
                    self._changed.wait()
                    continue
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

    def retire(self, engine: int) -> None:
        """``engine`` takes nothing more (it stopped answering)."""
        with self._changed:
            self._retired.add(engine)
            self._changed.notify_all()

    def all_retired(self, engines: int) -> bool:
        with self._changed:
            return len(self._retired) >= engines

    def drain(self) -> list[Prepared]:
        """What was never taken (the batch stopped, or every engine was retired)."""
        with self._changed:
            left, self._pending = self._pending, []
            return left

    def stop(self) -> None:
        """No more submissions are handed out; running ones finish (and are torn down)."""
        with self._changed:
            self._stopped = True
            self._changed.notify_all()
