"""Fixtures for tests against the real Docker Engine of this machine.

The engine fixtures themselves are in tests/support/fixtures.py. Every test here leaves the
engine as it found it: no probe, container, network or volume of ours.
"""

from __future__ import annotations

from collections.abc import Iterator

import docker
import pytest

from grader import defaults
from tests.support.lab import LabBuilder, lab_builder
from tests.support.wait import wait_for


@pytest.fixture
def lab(docker_client: docker.DockerClient) -> Iterator[LabBuilder]:
    with lab_builder(docker_client) as builder:
        yield builder


@pytest.fixture(autouse=True)
def _no_probe_left(docker_client: docker.DockerClient) -> Iterator[None]:
    yield

    def gone() -> bool:
        return not docker_client.api.containers(
            all=True, filters={"label": f"{defaults.LABEL_ROLE}=probe"}
        )

    wait_for(gone, timeout_s=20, what="probe containers to be removed")
