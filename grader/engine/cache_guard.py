"""Image deletes wait for the builds running on the same engine.

Deleting a tag also deletes the untagged parent images that no other image holds: the
classic builder's layers. A build running beside it may have just taken one of those layers
from its cache (``---> Using cache``) and be running its next step on it; the layer goes, and
the build fails with ``failed to get digest sha256:…: no such file or directory``, a correct
submission graded ``error`` because its neighbour in the batch was torn down at that moment.
Once the build has committed its own layers on top, the shared ones are its image's parents and
no delete takes them.

So builds share a :class:`BuildsBeforeDeletes` and image deletes take it alone, ahead of any
build that arrives after them. Builds are bounded, so is the wait: past ``wait_s`` a delete
goes on (a build that slow is failing for its own reasons).
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator


class BuildsBeforeDeletes:
    """Many builds at once, or one image delete: a reader-writer lock, writers first."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._builds = 0
        self._deleting = 0
        self._deletes_waiting = 0

    @contextlib.contextmanager
    def building(self) -> Iterator[None]:
        with self._changed:
            self._changed.wait_for(lambda: not self._deleting and not self._deletes_waiting)
            self._builds += 1
        try:
            yield
        finally:
            with self._changed:
                self._builds -= 1
                self._changed.notify_all()

    @contextlib.contextmanager
    def deleting(self, wait_s: float) -> Iterator[None]:
        """Delete images once no build runs, or after ``wait_s`` in any case."""
        deadline = time.monotonic() + wait_s
        with self._changed:
            self._deletes_waiting += 1
            try:
                self._changed.wait_for(
                    lambda: not self._builds and not self._deleting,
                    timeout=max(deadline - time.monotonic(), 0.0),
                )
                # Past the deadline, deletes may overlap each other: the engine orders them.
                self._deleting += 1
            finally:
                self._deletes_waiting -= 1
        try:
            yield
        finally:
            with self._changed:
                self._deleting -= 1
                self._changed.notify_all()
