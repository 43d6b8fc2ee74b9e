"""Fixtures that reach the machine's Docker Engine, shared by the engine and packaging tests.

Registered from the root conftest; none runs unless a test asks for it. There is no skipping:
without an engine, a test asking for one fails, so CI cannot pass by accident.
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
