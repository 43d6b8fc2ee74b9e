"""A swarm service as it settles: its tasks, waited for within a bound.

A service is a wish (``replicas: 2``) the swarm works towards: right after ``docker service
create`` its tasks are still being scheduled, pulled, started. Grading a service means waiting
for it to converge, but never without end: :func:`settle` asks the engine for the service's
tasks every ``interval_s`` until as many run as it wants, or until ``deadline_s`` has passed,
and returns what it saw (whether it converged, how long it waited, the tasks that failed on
the way). A check then says which it was: converged, still converging after the bound, or
restarting tasks (a student's service whose containers exit).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from grader import defaults
from grader.engine.base import Engine
from grader.engine.facts import ServiceFacts, TaskFacts

#: Task states the swarm reaches when a task will never run again (its container exited, the
#: node refused it...): the service replaces it with a new task.
ENDED_BADLY = frozenset({"failed", "rejected", "orphaned"})


@dataclass(frozen=True)
class ServiceState:
    """What :func:`settle` saw of a service, at the end of its wait."""

    service: ServiceFacts
    running: tuple[TaskFacts, ...]
    """Tasks running now (desired and actual state ``running``), by slot."""
    converged: bool
    """As many tasks run as the service wants (a global service: at least one)."""
    waited_s: float
    failed: tuple[TaskFacts, ...] = ()
    """Tasks of the service that ended badly (the swarm keeps a few of them as history)."""
    pending: tuple[TaskFacts, ...] = ()
    """Tasks meant to run that do not run yet (their state says where they are)."""

    @property
    def wanted(self) -> int:
        return self.service.replicas if self.service.replicas is not None else 1

    @property
    def restarting(self) -> bool:
        """Not converged, and tasks ended badly: the service's containers exit, and the swarm
        starts new ones (history of a service that converged since is not held against it)."""
        return not self.converged and bool(self.failed)


def service_state(service: ServiceFacts, tasks: list[TaskFacts], waited_s: float) -> ServiceState:
    """The state of ``service`` from its ``tasks`` (pure: what :func:`settle` judges by).

    >>> from grader.engine.facts import TaskFacts as T
    >>> s = ServiceFacts("s1", "web", replicas=2)
    >>> up = T("t1", "s1", 1, "running", "running", container_id="c1")
    >>> service_state(s, [up], 1.0).converged
    False
    >>> two = [up, T("t2", "s1", 2, "running", "running", container_id="c2")]
    >>> service_state(s, two, 1.0).converged
    True
    """
    up = (t for t in tasks if t.running and t.container_id)
    running = tuple(sorted(up, key=lambda t: (t.slot, t.id)))
    pending = tuple(t for t in tasks if t.desired_state == "running" and not t.running)
    failed = tuple(t for t in tasks if t.state in ENDED_BADLY)
    wanted = service.replicas if service.replicas is not None else 1
    converged = len(running) >= wanted if service.replicas is None else len(running) == wanted
    return ServiceState(service, running, converged and not pending, waited_s, failed, pending)


def settle(
    engine: Engine,
    service: ServiceFacts,
    *,
    deadline_s: float = defaults.SERVICE_CONVERGE_S,
    interval_s: float = defaults.RETRY_PAUSE_S,
    clock: Callable[[], float] = time.monotonic,
    pause: Callable[[float], None] = time.sleep,
) -> ServiceState:
    """``service``'s state once it has converged, or as it is after ``deadline_s``."""
    started = clock()
    while True:
        state = service_state(service, engine.tasks(service.id), clock() - started)
        if state.converged or state.waited_s >= deadline_s:
            return state
        pause(interval_s)
