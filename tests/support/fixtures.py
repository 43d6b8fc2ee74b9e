"""Fixtures that reach the machine's Docker Engine, shared by the engine and packaging tests.

Registered from the root conftest; none runs unless a test asks for it. There is no skipping:
without an engine, a test asking for one fails, so CI cannot pass by accident.

Images the suite builds carry tags of its own and are removed when the session ends (set
``TPG_KEEP_TEST_IMAGES=1`` to keep them between local runs); the default probe image is never
tagged, so a machine that ran the tests has no test double where a real image is expected.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

import docker
import pytest

from grader.engine.connection import connect
from grader.engine.docker_engine import DockerEngine
from grader.exercise.model import Exercise
from grader.setup.stand_ins import build_stand_ins
from tests.support.images import build_busybox, remove_test_images


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
def busybox(docker_client: docker.DockerClient) -> Iterator[str]:
    """The suite's probe image (never the default one's tag); every test image goes with it."""
    yield build_busybox(docker_client)
    if os.environ.get("TPG_KEEP_TEST_IMAGES") != "1":
        remove_test_images(docker_client)


@pytest.fixture(scope="session")
def reseau_images(reseau: Exercise, engine: DockerEngine, busybox: str) -> dict[str, str]:
    """tp-reseau's stand-in images, built by the grader's own stand-in builder."""
    return build_stand_ins(reseau, engine, busybox)


@pytest.fixture(scope="session")
def compose_sandbox(engine: DockerEngine, docker_client: docker.DockerClient) -> Iterator[str]:
    """The batch's Compose sandbox image, built once for the session (tests that compare the
    engine before and after a batch take it as part of the engine), removed at its end."""
    from grader.batch.gate.confined import sandbox_image

    image = sandbox_image(engine)
    yield image
    if os.environ.get("TPG_KEEP_TEST_IMAGES") != "1":
        with contextlib.suppress(docker.errors.DockerException):
            docker_client.api.remove_image(image, force=True)
