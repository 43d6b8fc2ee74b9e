"""xdist's group scheduling, with one worker for the tests that need the machine's engine
(:mod:`tests.support.workers` says why). Imported by the xdist controller only."""

from __future__ import annotations

from xdist.scheduler import LoadGroupScheduling
from xdist.workermanage import WorkerController

from tests.support.workers import MACHINE_GROUP, MACHINE_WORKER


def _for_machine(scope: str) -> bool:
    return MACHINE_GROUP in scope.split("_")


class EngineAwareScheduling(LoadGroupScheduling):
    """Work units go to whichever worker is free, as xdist's ``loadgroup`` does, except the
    ``machine-engine`` group: only the machine's worker takes it. A worker with nothing it may
    take waits, and is shut down once nothing is left."""

    def _assign_work_unit(self, node: WorkerController) -> None:
        mine = node.gateway.id == MACHINE_WORKER
        scope = next((s for s in self.workqueue if mine or not _for_machine(s)), None)
        if scope is None:
            return  # only the machine's tests are left: another worker takes them
        work_unit = self.workqueue.pop(scope)
        self.assigned_work.setdefault(node, {})[scope] = work_unit
        collection = self.registered_collections[node]
        node.send_runtest_some(
            [collection.index(nodeid) for nodeid, done in work_unit.items() if not done]
        )

    def _reschedule(self, node: WorkerController) -> None:
        super()._reschedule(node)
        if not self.workqueue:
            # A worker left idle, waiting for work it could take, has none coming.
            for other in self.nodes:
                if not other.shutting_down and not self._pending_of(self.assigned_work[other]):
                    other.shutdown()
