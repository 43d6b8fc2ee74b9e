"""Building students' setups by hand, as the CLI would, labelled and always removed.

:class:`LabBuilder` speaks the same Engine API calls as ``docker network create`` and
``docker run``; every object it creates carries a test label, and :meth:`LabBuilder.remove`
(called by the fixture, also when a test fails) deletes everything with that label.
"""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import docker
from docker.errors import DockerException

from grader.engine.docker_engine import kill_health_checked
from tests.support.wait import wait_for

TEST_RUN_LABEL = "io.tp-grader.test-run"


class LabBuilder:
    def __init__(self, client: docker.DockerClient) -> None:
        self.client = client
        self.api = client.api
        self.run_id = secrets.token_hex(6)
        self.labels = {TEST_RUN_LABEL: self.run_id, "io.tp-grader.test": "1"}
        self.containers: dict[str, str] = {}

    # -- networks and volumes ----------------------------------------------------------------
    def network(self, name: str, **options: Any) -> str:
        created = self.api.create_network(name, labels=self.labels, **options)
        return str(created["Id"])

    def config_only_network(self, name: str) -> str:
        """``docker network create --config-only``: a network of driver ``null`` that no
        container can join (the SDK has no parameter for it)."""
        answer = self.api._post_json(
            self.api._url("/networks/create"),
            data={"Name": name, "ConfigOnly": True, "CheckDuplicate": True, "Labels": self.labels},
        )
        return str(self.api._result(answer, json=True)["Id"])

    def volume(self, name: str, **options: Any) -> str:
        created = self.api.create_volume(name, labels=self.labels, **options)
        return str(created["Name"])

    # -- containers --------------------------------------------------------------------------
    def run(
        self,
        name: str,
        image: str,
        *,
        network: str | None = None,
        aliases: Sequence[str] = (),
        links: Mapping[str, str] | None = None,
        also_on: Sequence[str] = (),
        ports: Mapping[int, int] | None = None,
        command: Sequence[str] | None = None,
        healthcheck: Mapping[str, Any] | None = None,
        **host_options: Any,
    ) -> str:
        """``docker run -d --name NAME [--network N --network-alias A --link L -p H:C] IMAGE``.

        Returns once the container runs; :meth:`wait_ready` waits for health checks."""
        networking = None
        if network is not None and (aliases or links):
            networking = self.api.create_networking_config(
                {
                    network: self.api.create_endpoint_config(
                        aliases=list(aliases) or None,
                        links=dict(links or {}) or None,
                    )
                }
            )
        host_config = self.api.create_host_config(
            network_mode=network,
            port_bindings={port: host for port, host in (ports or {}).items()} or None,
            links=dict(links or {}) if network is None and links else None,
            **host_options,
        )
        created = self.api.create_container(
            image,
            name=name,
            command=list(command) if command is not None else None,
            labels=self.labels,
            host_config=host_config,
            networking_config=networking,
            healthcheck=dict(healthcheck) if healthcheck is not None else None,
            ports=list(ports or {}) or None,
            detach=True,
        )
        container_id = str(created["Id"])
        self.containers[name] = container_id
        for other in also_on:
            self.api.connect_container_to_network(container_id, other)
        self.api.start(container_id)
        return container_id

    def run_to_completion(
        self, image: str, command: Sequence[str], timeout_s: float = 60.0, **host_options: Any
    ) -> str:
        """``docker run --rm IMAGE COMMAND``: waits for the exit, fails on a non-zero status,
        returns the output."""
        created = self.api.create_container(
            image,
            command=list(command),
            labels=self.labels,
            host_config=self.api.create_host_config(**host_options),
        )
        try:
            self.api.start(created["Id"])
            status = self.api.wait(created["Id"], timeout=timeout_s)["StatusCode"]
            output = self.api.logs(created["Id"]).decode("utf-8", "replace")
            assert status == 0, f"{' '.join(command)} exited {status}: {output}"
            return output
        finally:
            self.api.remove_container(created["Id"], force=True)

    def wait_ready(self, timeout_s: float = 30.0) -> None:
        """Every container running, and healthy where its image has a healthcheck."""

        def ready(container_id: str) -> bool:
            state = self.api.inspect_container(container_id)["State"]
            if state.get("Status") != "running":
                raise AssertionError(f"container {container_id[:12]} is {state.get('Status')}")
            health = (state.get("Health") or {}).get("Status")
            return health in (None, "healthy")

        wait_for(
            lambda: all(ready(c) for c in self.containers.values()),
            timeout_s=timeout_s,
            what="containers to be ready",
        )

    def address(self, name: str, network: str) -> str:
        """The container's IPv4 address on ``network``."""
        settings = self.api.inspect_container(self.containers[name])["NetworkSettings"]
        return str(settings["Networks"][network]["IPAddress"])

    def exec(self, name: str, *argv: str) -> str:
        """``docker exec NAME ARGV...``; fails the test on a non-zero exit status."""
        exec_id = self.api.exec_create(self.containers.get(name, name), list(argv))
        output = self.api.exec_start(exec_id).decode("utf-8", "replace")
        status = self.api.exec_inspect(exec_id)["ExitCode"]
        assert status == 0, f"{' '.join(argv)} in {name} exited {status}: {output}"
        return output

    # -- cleanup -----------------------------------------------------------------------------
    def remove(self) -> None:
        remove_labelled(self.api, {TEST_RUN_LABEL: self.run_id})


def remove_labelled(api: docker.APIClient, labels: Mapping[str, str]) -> None:
    selector = {"label": [f"{k}={v}" for k, v in labels.items()]}
    containers = api.containers(all=True, filters=selector)
    kill_health_checked(api, containers)  # dockerd 20.10's health-probe race: see there
    for container in containers:
        with contextlib.suppress(DockerException):
            api.remove_container(container["Id"], force=True, v=True)
    for network in api.networks(filters=selector):
        with contextlib.suppress(DockerException):
            api.remove_network(network["Id"])
    for volume in (api.volumes(filters=selector) or {}).get("Volumes") or ():
        with contextlib.suppress(DockerException):
            api.remove_volume(volume["Name"], force=True)


@contextlib.contextmanager
def lab_builder(client: docker.DockerClient) -> Iterator[LabBuilder]:
    builder = LabBuilder(client)
    try:
        yield builder
    finally:
        builder.remove()
