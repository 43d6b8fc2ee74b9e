"""Builds and image deletes side by side on the real engine, as a batch does them: one
student's teardown untags the image it built while the next student's build runs on layers
taken from the same cache.

Deleting a tag prunes the untagged parent layers no other image holds; a build that took one
of them from the cache and has not committed on top of it yet then fails (``failed to get
digest``): a correct setup graded ``error``. The engine runs that race in a window of
milliseconds, too rarely to catch in a test; what is tested is what closes it: the delete waits
for the build, and both images come out right.
"""

from __future__ import annotations

import io
import secrets
import tarfile
import threading
from collections.abc import Iterator

import docker
import pytest

from grader.engine.docker_engine import DockerEngine
from grader.engine.sandbox import BuildOutcome, BuildSpec
from tests.support.images import TEST_LABEL
from tests.support.wait import wait_for


def context(dockerfile: str) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        data = dockerfile.encode()
        info = tarfile.TarInfo("Dockerfile")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


@pytest.fixture
def repository(docker_client: docker.DockerClient) -> Iterator[str]:
    """A repository of the test's own; every tag in it is removed afterwards."""
    name = f"tpg-test-builds-{secrets.token_hex(4)}"
    yield name
    for image in docker_client.api.images(name=name):
        for tag in image.get("RepoTags") or ():
            docker_client.api.remove_image(tag)


def test_a_delete_waits_for_the_build_on_its_cached_layers(
    engine: DockerEngine, docker_client: docker.DockerClient, busybox: str, repository: str
) -> None:
    token = secrets.token_hex(4)
    shared = f"FROM {busybox}\nRUN echo {token} > /shared\n"
    labels = {**TEST_LABEL, "io.tp-grader.test.builds": token}
    first = engine.build_bounded(
        BuildSpec(
            context(shared + "LABEL student=ada\n"), "Dockerfile", f"{repository}/ada", labels
        )
    )
    assert first.image_id, first.problem
    # The next student's build: the shared step from the cache, then a step long enough to be
    # seen running on it.
    slow = f"sleep 10 # {token}"
    second: list[BuildOutcome] = []

    def build_next() -> None:
        spec = BuildSpec(context(shared + f"RUN {slow}\n"), "Dockerfile", f"{repository}/bob")
        second.append(engine.build_bounded(spec))

    def step_containers(everyone: bool = False) -> list[str]:
        listed = docker_client.api.containers(all=everyone)
        return [c["Id"] for c in listed if slow in c["Command"]]

    builder = threading.Thread(target=build_next, daemon=True)
    builder.start()
    # Its step runs for 10 s: the delete below comes while it runs.
    wait_for(step_containers, timeout_s=60, what="the second build's step to run")

    removed = engine.untag_images(labels, f"{repository}/")
    # The delete returned: is the build over (its step committed, its container removed)?
    left = step_containers(everyone=True)
    builder.join(120)

    assert removed == 1
    assert left == []  # the delete waited for the build beside it
    (built,) = second
    assert built.image_id, built.problem
    assert docker_client.api.inspect_image(f"{repository}/bob")["Id"] == built.image_id
