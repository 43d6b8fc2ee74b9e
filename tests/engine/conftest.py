"""Fixtures for tests against the real Docker Engine of this machine.

There is no skipping here: without an engine these tests fail, so CI cannot pass by accident.
Every test leaves the engine as it found it: no probe, container, network or volume of ours.
"""

from __future__ import annotations

from collections.abc import Iterator

import docker
import pytest

from grader import defaults
from grader.engine.connection import connect
from grader.engine.docker_engine import DockerEngine
from grader.exercise.model import Exercise
from grader.solution import build_stand_ins
from tests.support.images import build_busybox
from tests.support.lab import LabBuilder, lab_builder
from tests.support.wait import wait_for


@pytest.fixture(scope="session")
def docker_client() -> Iterator[docker.DockerClient]:
    try:
        client = docker.from_env(version="auto")
        client.ping()
    except docker.errors.DockerException as exc:
        pytest.fail(f"these tests need a running Docker Engine: {exc}", pytrace=False)
    yield client
    client.close()


@pytest.fixture(scope="session")
def engine(docker_client: docker.DockerClient) -> Iterator[DockerEngine]:
    engine = connect()
    yield engine
    engine.close()


@pytest.fixture(scope="session")
def busybox(docker_client: docker.DockerClient) -> str:
    return build_busybox(docker_client)


@pytest.fixture(scope="session")
def reseau_images(reseau: Exercise, engine: DockerEngine, busybox: str) -> dict[str, str]:
    """tp-reseau's stand-in images, built by the grader's own stand-in builder."""
    return build_stand_ins(reseau, engine, defaults.PROBE_IMAGE)


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
