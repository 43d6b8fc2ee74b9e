"""The suite on several workers (``pytest -n N``), each worker on a Docker Engine of its own.

Most of the suite's time is spent waiting on an engine (containers starting, health checks,
probes), not computing; and the engine tests compare an engine's state before and after,
so two of them must never share one. So worker ``gw0`` uses the machine's engine and every
other worker starts a private one (:func:`~tests.support.second_engine.private_engine`, in a
network namespace of its own) and points ``DOCKER_HOST`` at it before anything reads it: the
suite's fixtures, the ``grade`` and ``docker`` commands it runs, all follow.

A private engine reaches nothing outside its namespace. Tests that need the machine's network
(an image build that installs from PyPI) are marked ``machine_engine``: the scheduler gives
them to ``gw0`` only. Tests sharing a module fixture stay on one worker (``xdist_group``), and
the slow tests are handed out first, so the workers end together.
"""

from __future__ import annotations

import contextlib
import os
from typing import Any

import pytest

#: The worker that grades on the machine's own engine.
MACHINE_WORKER = "gw0"
#: The xdist group of the tests that need the machine's engine.
MACHINE_GROUP = "machine-engine"
#: In a worker on a private engine: the network namespace its published ports listen in.
ENGINE_NETNS_ENV = "TPG_TEST_ENGINE_NETNS"

_engines = contextlib.ExitStack()


def worker_id(config: pytest.Config) -> str | None:
    workerinput: dict[str, Any] | None = getattr(config, "workerinput", None)
    return workerinput["workerid"] if workerinput else None


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "machine_engine: runs on the machine's engine (its worker, gw0, only)"
    )
    worker = worker_id(config)
    if worker is None or worker == MACHINE_WORKER:
        return
    import docker

    from tests.support.second_engine import private_engine

    machine = docker.from_env(version="auto")
    driver = machine.info().get("Driver") or "overlay2"
    machine.close()
    engine = _engines.enter_context(private_engine(driver))
    os.environ["DOCKER_HOST"] = engine.url
    os.environ[ENGINE_NETNS_ENV] = engine.namespace


def pytest_unconfigure(config: pytest.Config) -> None:
    _engines.close()


@pytest.hookimpl(tryfirst=True)  # before xdist names each item's group
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Slow tests first (what is left at the end is short), machine-engine tests in one group."""
    for item in items:
        if item.get_closest_marker("machine_engine"):
            item.add_marker(pytest.mark.xdist_group(MACHINE_GROUP))
    if worker_id(config) is not None:
        items.sort(key=lambda item: item.get_closest_marker("slow") is None)


@pytest.hookimpl(trylast=True)  # after xdist has named each item's group
def pytest_collection_finish(session: pytest.Session) -> None:
    """Stop at once if xdist's groups did not reach the node ids: the machine's tests would
    then land on private engines and fail for that reason alone (pytest 9.2 with xdist 3.8)."""
    config = session.config
    if worker_id(config) is None or not config.getvalue("loadgroup"):
        return
    ungrouped = [
        item.nodeid
        for item in session.items
        if item.get_closest_marker("xdist_group") and "@" not in item.nodeid
    ]
    if ungrouped:
        pytest.exit(f"xdist groups are not applied (e.g. {ungrouped[0]}): see pyproject.toml", 2)


def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    from tests.support.scheduling import EngineAwareScheduling

    return EngineAwareScheduling(config, log)
