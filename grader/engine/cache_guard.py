"""Image deletes wait for the builds running on the same engine.

Deleting a tag also deletes the untagged parent images that no other image holds: the
classic builder's layers. A build running beside it may have just taken one of those layers
from its cache (``---> Using cache``) and be running its next step on it; the layer goes, and
the build fails with ``failed to get digest sha256:…: no such file or directory``, a correct
submission graded ``error`` because its neighbour in the batch was torn down at that moment.
Once the build has committed its own layers on top, the shared ones are its image's parents and
no delete takes them.

So builds share a :class:`BuildsBeforeDeletes` and image deletes take it alone, ahead of any
build that arrives after them. Every build has a deadline, and so has the wait: a delete goes
on once the deadline of every build it waits for has passed (such a build is being cancelled).
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator


class BuildsBeforeDeletes:
    """Builds together or deletes together, never both: a reader-writer lock where a waiting
    delete goes before the builds that arrive after it (builds before deletes: the deletes
    wait for the builds running)."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._builds: list[float] = []
        """When each running build is over at the latest (its deadline, on the monotonic
        clock)."""
        self._deleting = 0
        self._deletes_waiting = 0
        self._builds_waiting = 0

    @property
    def waiting(self) -> tuple[int, int]:
        """How many builds, and how many deletes, wait for their turn."""
        with self._changed:
            return self._builds_waiting, self._deletes_waiting

    @contextlib.contextmanager
    def building(self, deadline_s: float) -> Iterator[None]:
        """Build (for at most ``deadline_s`` once started) when no delete runs or waits; a
        delete that holds the engine longer than ``deadline_s`` (every removal past the
        client's timeout) is not waited for any longer."""
        with self._changed:
            self._builds_waiting += 1
            try:
                self._changed.wait_for(
                    lambda: not self._deleting and not self._deletes_waiting, timeout=deadline_s
                )
            finally:
                self._builds_waiting -= 1
            ends_by = time.monotonic() + deadline_s
            self._builds.append(ends_by)
        try:
            yield
        finally:
            with self._changed:
                self._builds.remove(ends_by)
                self._changed.notify_all()

    @contextlib.contextmanager
    def deleting(self) -> Iterator[None]:
        """Delete images once no build runs, or once every running build's deadline passed."""
        with self._changed:
            self._deletes_waiting += 1
            try:
                # No build starts while this waits: the running ones' deadlines bound the wait.
                deadline = max(self._builds, default=0.0)
                self._changed.wait_for(
                    lambda: not self._builds, timeout=max(deadline - time.monotonic(), 0.0)
                )
                self._deleting += 1  # deletes may overlap: only a build's cached layers matter
            finally:
                self._deletes_waiting -= 1
                self._changed.notify_all()  # interrupted while waiting: builds go on
        try:
            yield
        finally:
            with self._changed:
                self._deleting -= 1
                self._changed.notify_all()
