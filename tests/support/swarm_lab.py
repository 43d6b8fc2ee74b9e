"""tp-overlay's reference, built by hand with exact names the way its prompt builds it (the
same Engine API calls as ``docker swarm init``, ``docker network create``, ``docker service
create``, ``docker volume create``, ``docker run``), for the benchmark against a shell checker.

The engine is made a single-node swarm's manager when it is in none, and left afterwards:
point it (``DOCKER_HOST``) at an engine of your own, never at a machine's shared one.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping

import docker

from tests.support.images import TEST_LABEL
from tests.support.wait import wait_for


@contextlib.contextmanager
def overlay_reference(
    client: docker.DockerClient, images: Mapping[str, str]
) -> Iterator[dict[str, str]]:
    """The reference setup, its services converged; yields the parameters to grade it with
    (none: the defaults)."""
    had_bridge = bool(client.networks.list(names=["docker_gwbridge"]))
    joined = client.info()["Swarm"]["LocalNodeState"] == "inactive"
    if joined:
        client.swarm.init(advertise_addr="127.0.0.1", listen_addr="127.0.0.1:2377")
    image = {name: client.images.get(ref).id for name, ref in images.items()}
    try:
        client.networks.create("moby-overlay", driver="overlay", attachable=True, labels=TEST_LABEL)
        client.services.create(
            image["redis"], name="redis", networks=["moby-overlay"], labels=TEST_LABEL,
            container_labels=TEST_LABEL,
        )  # fmt: skip
        client.services.create(
            image["app"], name="moby-counter", networks=["moby-overlay"], labels=TEST_LABEL,
            container_labels=TEST_LABEL,
            mode=docker.types.ServiceMode("replicated", replicas=2),
            endpoint_spec=docker.types.EndpointSpec(ports={8080: 80}),
        )  # fmt: skip
        client.volumes.create(
            "cache", driver="local", labels=TEST_LABEL,
            driver_opts={"type": "tmpfs", "device": "tmpfs", "o": "size=64m"},
        )  # fmt: skip
        client.containers.run(
            image["debug"], ["sleep", "infinity"], name="debug", network="moby-overlay",
            volumes={"cache": {"bind": "/cache", "mode": "rw"}}, labels=TEST_LABEL, detach=True,
        )  # fmt: skip

        def healthy_tasks() -> bool:
            # The API's list, not the SDK's (which inspects each one: a task gone in between
            # raises NotFound).
            running = client.api.containers(filters={"label": "com.docker.swarm.service.id"})
            return len([c for c in running if (c["Labels"] or {}).get("io.tp-grader.test")]) == 3

        wait_for(healthy_tasks, timeout_s=90, interval_s=0.5, what="the services' 3 tasks")
        yield {}
    finally:
        for service in client.services.list(filters={"label": "io.tp-grader.test"}):
            service.remove()
        for container in client.containers.list(all=True, filters={"name": "^debug$"}):
            container.remove(force=True)
        wait_for(
            lambda: not client.api.containers(all=True, filters={"label": "io.tp-grader.test"}),
            timeout_s=60,
            what="the services' tasks to go",
        )
        for volume in client.volumes.list(filters={"label": "io.tp-grader.test"}):
            volume.remove(force=True)
        for network in client.networks.list(filters={"label": "io.tp-grader.test"}):
            with contextlib.suppress(docker.errors.APIError):  # it may take a moment
                network.remove()
        if joined:
            client.swarm.leave(force=True)
            if not had_bridge:
                with contextlib.suppress(docker.errors.APIError):
                    client.networks.get("docker_gwbridge").remove()
