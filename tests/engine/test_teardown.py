"""Taking containers down without meeting dockerd 20.10's health-probe race: a health-checked
container is killed, and given time, before anything removes it."""

from __future__ import annotations

import contextlib
import secrets

import docker

from grader.engine.docker_engine import DockerEngine
from tests.support.wait import wait_for

HEALTHY = {"test": ["CMD", "true"], "interval": 1_000_000_000, "retries": 3}


def test_health_checked_containers_are_stopped_before_removal(
    engine: DockerEngine, docker_client: docker.DockerClient, busybox: str
) -> None:
    labels = {"io.tp-grader.role": "test", "io.tp-grader.test-run": secrets.token_hex(4)}
    api = docker_client.api
    checked = api.create_container(
        busybox, ["sleep", "600"], labels=labels, healthcheck=HEALTHY,
        host_config=api.create_host_config(auto_remove=False),
    )  # fmt: skip
    plain = api.create_container(busybox, ["sleep", "600"], labels=labels)
    try:
        api.start(checked["Id"])
        api.start(plain["Id"])
        wait_for(
            lambda: api.inspect_container(checked["Id"])["State"]["Health"]["Status"] == "healthy",
            timeout_s=30, what="the health-checked container to be healthy",
        )  # fmt: skip

        stopped = engine.stop_health_checked(labels)

        assert stopped == 1
        assert not api.inspect_container(checked["Id"])["State"]["Running"]
        assert api.inspect_container(plain["Id"])["State"]["Running"]  # no health check: left
        assert engine.remove_containers(labels) == 2
        assert not api.containers(
            all=True, filters={"label": [f"{k}={v}" for k, v in labels.items()]}
        )
    finally:
        for container in (checked, plain):
            with contextlib.suppress(docker.errors.NotFound):
                api.remove_container(container["Id"], force=True)
