"""The page's live stream: Server-Sent Events, one queue per open page.

When a report is stored, the server publishes an event to every page open on that class.
A page whose queue is full (it stopped reading) is dropped: its browser reconnects and asks
for the whole class again, so it misses nothing. The first event of every stream is
``hello``, on which the page reloads the class: after a server restart, the browser's
``EventSource`` reconnects by itself (the ``retry`` field) and the page catches up.
"""

from __future__ import annotations

import asyncio
import json
from collections import defaultdict
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

from grader import defaults


@dataclass(frozen=True)
class Event:
    kind: str
    data: dict[str, Any]
    id: int | None = None

    def encode(self) -> str:
        head = f"id: {self.id}\n" if self.id is not None else ""
        # json.dumps never writes a raw newline: one data line per event.
        return f"{head}event: {self.kind}\ndata: {json.dumps(self.data, ensure_ascii=False)}\n\n"


class Hub:
    """Open pages, per class."""

    def __init__(self) -> None:
        self._pages: dict[int, set[asyncio.Queue[Event | None]]] = defaultdict(set)

    def publish(self, class_id: int, event: Event) -> None:
        for queue in list(self._pages.get(class_id, ())):
            try:
                queue.put_nowait(event)
            except asyncio.QueueFull:
                self._pages[class_id].discard(queue)
                queue.get_nowait()  # room for the end marker
                queue.put_nowait(None)

    def close(self) -> None:
        """End every stream (the server is stopping)."""
        for queues in self._pages.values():
            for queue in queues:
                while queue.full():
                    queue.get_nowait()
                queue.put_nowait(None)
        self._pages.clear()

    def pages(self, class_id: int) -> int:
        return len(self._pages.get(class_id, ()))

    async def stream(self, class_id: int, stopping: Callable[[], bool]) -> AsyncIterator[str]:
        """One page's stream: ``hello``, then the class's events, with a comment when idle."""
        queue: asyncio.Queue[Event | None] = asyncio.Queue(defaults.SERVE_PAGE_QUEUE)
        self._pages[class_id].add(queue)
        try:
            yield f"retry: {defaults.SERVE_RECONNECT_MS}\n\n"
            yield Event("hello", {}).encode()
            idle = 0.0
            while not stopping():
                try:
                    event = await asyncio.wait_for(queue.get(), timeout=1.0)
                except asyncio.TimeoutError:
                    idle += 1.0
                    if idle >= defaults.SERVE_HEARTBEAT_S:
                        idle = 0.0
                        yield ": still here\n\n"
                    continue
                if event is None:
                    return
                idle = 0.0
                yield event.encode()
        finally:
            self._pages[class_id].discard(queue)
