"""Fixtures for tests against the real Docker Engine of this machine.

The engine fixtures themselves are in tests/support/fixtures.py. Every test here leaves the
engine as it found it: no probe, container, network or volume of ours.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import docker
import pytest
import requests

from grader import defaults
from tests.support.lab import LabBuilder, lab_builder
from tests.support.wait import wait_for


@pytest.fixture(scope="session", autouse=True)
def _compose_sandbox_for_the_session(compose_sandbox: str) -> str:
    """Built before any test compares the engine's images, gone after the last one."""
    return compose_sandbox


@pytest.fixture
def lab(docker_client: docker.DockerClient) -> Iterator[LabBuilder]:
    with lab_builder(docker_client) as builder:
        yield builder


#: How long an engine may not answer a ping before the run stops: a busy engine (a teardown
#: under load, on a machine running other work) can drop one ping without being gone.
ENGINE_GONE_AFTER_S = 60.0


def _stop_if_the_engine_is_gone(docker_client: docker.DockerClient, when: str) -> None:
    """Once the engine stops answering, every later test fails for that reason alone: stop the
    run there, naming the test around which it stopped, the one worth reading."""
    deadline = time.monotonic() + ENGINE_GONE_AFTER_S
    while True:
        try:
            docker_client.ping()
            return
        except (docker.errors.DockerException, requests.exceptions.RequestException) as exc:
            if time.monotonic() > deadline:
                pytest.exit(f"the Docker Engine stopped answering {when}: {exc}", returncode=1)
        time.sleep(1)


@pytest.fixture(autouse=True)
def _no_probe_left(
    request: pytest.FixtureRequest, docker_client: docker.DockerClient
) -> Iterator[None]:
    _stop_if_the_engine_is_gone(docker_client, f"before {request.node.nodeid}")
    yield
    _stop_if_the_engine_is_gone(docker_client, f"during {request.node.nodeid}")

    def gone() -> bool:
        return not docker_client.api.containers(
            all=True, filters={"label": f"{defaults.LABEL_ROLE}=probe"}
        )

    wait_for(gone, timeout_s=20, what="probe containers to be removed")
