"""Image deletes wait for the builds beside them (pure logic, real threads): the race it
prevents, against a real engine, is in ``tests/engine/test_builds.py``."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from grader.engine.cache_guard import BuildsBeforeDeletes
from tests.support.wait import wait_for


def in_thread(target: Callable[[], None]) -> threading.Thread:
    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    return thread


def test_a_delete_waits_for_the_builds_running() -> None:
    guard = BuildsBeforeDeletes()
    events: list[str] = []
    build_may_end, deleted = threading.Event(), threading.Event()

    def build() -> None:
        with guard.building(deadline_s=60):
            events.append("build started")
            build_may_end.wait(30)
            events.append("build ended")

    def delete() -> None:
        with guard.deleting():
            events.append("deleted")
        deleted.set()

    builder = in_thread(build)
    wait_for(lambda: events == ["build started"], what="the build to start")
    deleter = in_thread(delete)
    wait_for(lambda: guard.waiting == (0, 1), what="the delete to wait")

    assert not deleted.is_set()
    build_may_end.set()
    builder.join(30)
    deleter.join(30)
    assert events == ["build started", "build ended", "deleted"]


def test_a_build_that_arrives_after_a_waiting_delete_goes_after_it() -> None:
    """Deletes first: a stream of builds does not hold a class's teardown back for ever."""
    guard = BuildsBeforeDeletes()
    events: list[str] = []
    first_may_end = threading.Event()

    def first_build() -> None:
        with guard.building(deadline_s=60):
            events.append("first build")
            first_may_end.wait(30)

    def delete() -> None:
        with guard.deleting():
            events.append("deleted")

    def second_build() -> None:
        with guard.building(deadline_s=60):
            events.append("second build")

    threads = [in_thread(first_build)]
    wait_for(lambda: events == ["first build"], what="the first build")
    threads.append(in_thread(delete))
    wait_for(lambda: guard.waiting == (0, 1), what="the delete to wait")
    threads.append(in_thread(second_build))
    wait_for(lambda: guard.waiting == (1, 1), what="the second build to wait")
    first_may_end.set()
    for thread in threads:
        thread.join(30)

    assert events == ["first build", "deleted", "second build"]


def test_a_delete_interrupted_while_waiting_lets_the_builds_go() -> None:
    """Ctrl-C in the thread of a waiting delete: the builds waiting behind it start."""
    guard = BuildsBeforeDeletes()
    first_may_end, second_built = threading.Event(), threading.Event()
    interrupt_now, interrupted = threading.Event(), threading.Event()

    def first_build() -> None:
        with guard.building(deadline_s=600):
            first_may_end.wait(120)

    def second_build() -> None:
        with guard.building(deadline_s=600):
            second_built.set()

    def delete() -> None:
        try:
            with guard.deleting():
                pass
        except KeyboardInterrupt:
            interrupted.set()

    original_wait = guard._changed.wait

    def wait_until_interrupted(timeout: float | None = None) -> bool:
        if threading.current_thread().name != "deleter":
            return original_wait(timeout)
        while not interrupt_now.is_set():
            original_wait(0.05)
        raise KeyboardInterrupt

    guard._changed.wait = wait_until_interrupted  # type: ignore[method-assign]
    in_thread(first_build)
    wait_for(lambda: guard._builds, what="the first build")
    threading.Thread(target=delete, name="deleter", daemon=True).start()
    wait_for(lambda: guard.waiting == (0, 1), what="the delete to wait")
    in_thread(second_build)
    wait_for(lambda: guard.waiting == (1, 1), what="the second build to wait")
    interrupt_now.set()

    assert interrupted.wait(30)
    assert second_built.wait(20)  # the first build still runs: only the delete held it back
    first_may_end.set()


def test_a_delete_goes_on_once_the_builds_deadline_passed() -> None:
    """A build past its deadline is being cancelled: the delete waits no longer for it."""
    guard = BuildsBeforeDeletes()
    never = threading.Event()
    build_started = threading.Event()

    def build() -> None:
        with guard.building(deadline_s=0.3):
            build_started.set()
            never.wait(30)

    earliest_end = time.monotonic() + 0.3
    in_thread(build)
    assert build_started.wait(30)
    with guard.deleting():
        deleted_at = time.monotonic()
    never.set()

    assert earliest_end <= deleted_at < earliest_end + 10
