"""A swarm lab's reference solution: a stack file, set up on a swarm of the run's own naming.

Compose cannot make swarm services, and ``docker stack deploy`` cannot run a standalone
container, nor make a volume no service mounts; a lab on a swarm (tp-overlay) needs all three.
So its solution is a stack file template (Compose's format, written in the long syntax
``docker compose config`` prints, which mutants edit) and this module makes it through the
engine:

- ``networks`` and ``volumes``: created as given (driver, ``attachable``, ``driver_opts``);
- a service with ``deploy:`` becomes a replicated swarm service (``deploy.replicas`` and
  ``endpoint_mode``, ports
  with their publish ``mode``, ``healthcheck: {disable: true}``; no ``links``: a service has
  none), its image **by id**: the manager then never asks a registry for
  the image's digest, which an offline machine has no registry to answer);
- any other service becomes a standalone container, started (``docker run -d``).

Names are the run's own, as Compose makes them: ``<project>_<key>`` for networks, volumes and
services, ``<project>-<key>-1`` for containers, each labelled with Compose's project and key
labels, so that the checks find them with ``--project`` as they find a Compose project's; on
each network a service or container is also known by its key (an alias), as a stack's are.

:func:`swarm_for_a_run` holds the swarm a demo or a selftest needs: it makes the engine a
single-node swarm's manager when it is in no swarm, and leaves it afterwards; an engine that is
already a manager is used, and left, as it was.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from grader import defaults
from grader.engine.base import Engine, LabelSelector
from grader.engine.facts import (
    COMPOSE_NETWORK,
    COMPOSE_PROJECT,
    COMPOSE_SERVICE,
    COMPOSE_VOLUME,
    SwarmFacts,
)
from grader.engine.swarm import (
    ContainerSpec,
    NetworkAttachment,
    PortSpec,
    ServiceSpec,
    VolumeMount,
)
from grader.errors import GraderError, ObservationError, SetupFailed
from grader.i18n import Text

Model = dict[str, Any]

#: The label the swarm puts on its tasks' containers.
SWARM_SERVICE_ID = "com.docker.swarm.service.id"
#: The bridge the engine makes for swarm tasks' outside traffic, and keeps after leaving.
GATEWAY_BRIDGE = "docker_gwbridge"
#: How long teardown waits for a removed service's task containers, and for the networks
#: they were attached to, to be gone.
TEARDOWN_WAIT_S = 60.0


@contextlib.contextmanager
def swarm_for_a_run(engine: Engine) -> Iterator[SwarmFacts]:
    """A swarm manager for the length of a run: the engine as it is when it is one, else a
    single-node swarm made now and left afterwards (with the gateway bridge it brought)."""
    before = engine.swarm()
    if before.manager:
        yield before
        return
    if before.local_node_state != "inactive":
        raise SetupFailed(
            Text(
                fr=f"ce Docker Engine est dans un swarm sans en être manager (état : "
                f"{before.local_node_state}) : un lab sur swarm ne peut pas s'y installer",
                en=f"this Docker Engine is in a swarm without being a manager (state: "
                f"{before.local_node_state}): a swarm lab cannot be set up there",
            )
        )
    had_bridge = engine.network(GATEWAY_BRIDGE) is not None
    engine.init_swarm()
    try:
        yield engine.swarm()
    finally:
        engine.leave_swarm()
        if not had_bridge:
            _until(lambda: engine.remove_network(GATEWAY_BRIDGE), TEARDOWN_WAIT_S)


def deploy(
    engine: Engine,
    model: Model,
    *,
    project: str,
    labels: Mapping[str, str],
    problems: list[str] | None,
) -> None:
    """Make ``model``'s networks, volumes, services and containers under ``project``.

    With ``problems`` (a mutant: it may well not come up), what the engine refuses is noted
    there and the rest goes on; without, it raises :class:`~grader.errors.SetupFailed`."""

    def attempt(what: str, make: Callable[[], object]) -> None:
        try:
            make()
        except GraderError as exc:
            if problems is None:
                raise SetupFailed(
                    Text(
                        fr=f"la solution de référence n'a pas démarré ({what}) : {exc.text.fr}",
                        en=f"the reference solution did not come up ({what}): {exc.text.en}",
                    )
                ) from exc
            problems.append(f"{what}: {exc.text.en}")

    own = {**labels, COMPOSE_PROJECT: project}
    for key, given in (model.get("networks") or {}).items():
        if key == "default":
            continue  # services then have no network of the lab's; containers, the bridge
        network = given or {}
        attempt(
            f"network {key}",
            lambda k=key, n=network: engine.create_network(
                f"{project}_{k}",
                str(n.get("driver") or "bridge"),
                attachable=bool(n.get("attachable")),
                labels={**own, COMPOSE_NETWORK: k},
            ),
        )
    for key, declared in (model.get("volumes") or {}).items():
        volume = declared or {}
        attempt(
            f"volume {key}",
            lambda k=key, v=volume: engine.create_volume(
                f"{project}_{k}",
                str(v.get("driver") or "local"),
                {str(o): str(x) for o, x in (v.get("driver_opts") or {}).items()},
                {**own, COMPOSE_VOLUME: k},
            ),
        )
    for key, service in (model.get("services") or {}).items():
        kind = "service" if "deploy" in service else "container"
        attempt(
            f"{kind} {key}",
            lambda k=key, s=service: _make(engine, project, k, s, own),
        )


def _make(engine: Engine, project: str, key: str, service: Model, own: Mapping[str, str]) -> str:
    """Service ``key`` of the model: a swarm service when it has ``deploy:``, else a
    standalone container."""
    labels = {**own, COMPOSE_SERVICE: key, **(service.get("labels") or {})}
    command = service.get("command")
    args = tuple(str(a) for a in command) if command is not None else None
    image = image_id(engine, str(service.get("image") or ""))
    attachments = _attachments(project, key, service)
    mounts = tuple(_mount(project, m) for m in service.get("volumes") or ())
    if "deploy" in service:
        return engine.create_service(
            ServiceSpec(
                name=f"{project}_{key}",
                image=image,
                replicas=int((service.get("deploy") or {}).get("replicas", 1)),
                endpoint_mode=str((service.get("deploy") or {}).get("endpoint_mode") or "vip"),
                command=args,
                networks=attachments,
                ports=tuple(_port(p) for p in service.get("ports") or ()),
                labels=labels,
                mounts=mounts,
                no_healthcheck=bool((service.get("healthcheck") or {}).get("disable")),
            )
        )
    return engine.start_container(
        ContainerSpec(
            name=f"{project}-{key}-1",
            image=image,
            command=args,
            networks=attachments,
            mounts=mounts,
            labels=labels,
            links=tuple(str(link) for link in service.get("links") or ()),
            user=str(service["user"]) if service.get("user") else None,
        )
    )


def image_id(engine: Engine, reference: str) -> str:
    """``reference``'s id on the engine, pulled first when absent."""
    found = engine.image(reference)
    if found is None:
        try:
            engine.pull(reference)
        except Exception as exc:  # the SDK's own, whichever: the registry is out of reach
            raise ObservationError(
                Text(
                    fr=f"image {reference} absente et impossible à télécharger ({exc}) ; "
                    "hors ligne, ajoutez --stand-ins",
                    en=f"image {reference} is missing and could not be pulled ({exc}); "
                    "offline, add --stand-ins",
                )
            ) from exc
        found = engine.image(reference)
    if found is None:
        raise ObservationError(Text(fr=f"image {reference} absente", en=f"no image {reference}"))
    return found.id


def take_down(engine: Engine, project: str) -> None:
    """Remove everything ``project`` made: services first (the swarm stops their tasks), then,
    once their task containers are gone, containers, networks and volumes. An overlay network
    cannot go while a task is attached, so its removal is tried again within a bound."""
    selector: LabelSelector = {COMPOSE_PROJECT: project}
    tasks: LabelSelector = {**selector, SWARM_SERVICE_ID: None}
    with contextlib.suppress(ObservationError):
        engine.remove_services(selector)
    _until(lambda: not engine.containers(tasks), TEARDOWN_WAIT_S)
    _until(lambda: engine.remove_labelled(selector).total == 0, TEARDOWN_WAIT_S)


def _until(done: Callable[[], bool], deadline_s: float) -> bool:
    """Call ``done`` until it says so, or ``deadline_s`` has passed (engine errors count as
    not done); whether it was done."""
    started = time.monotonic()
    while True:
        with contextlib.suppress(ObservationError):
            if done():
                return True
        if time.monotonic() - started >= deadline_s:
            return False
        time.sleep(defaults.RETRY_PAUSE_S)


def _attachments(project: str, key: str, service: Model) -> tuple[NetworkAttachment, ...]:
    networks = service.get("networks") or {}
    if isinstance(networks, list):
        networks = dict.fromkeys(networks)
    return tuple(
        NetworkAttachment(
            f"{project}_{network}",
            tuple(dict.fromkeys([key, *((options or {}).get("aliases") or ())])),
        )
        for network, options in networks.items()
        if network != "default"
    )


def _mount(project: str, mount: Model) -> VolumeMount:
    kind = str(mount.get("type") or "volume")
    source = str(mount.get("source") or "")
    if kind == "volume" and source:
        source = f"{project}_{source}"
    return VolumeMount(
        source=source,
        target=str(mount["target"]),
        read_only=bool(mount.get("read_only")),
        type=kind,
    )


def _port(port: Model) -> PortSpec:
    return PortSpec(
        target=int(port["target"]),
        published=int(port.get("published") or 0),
        protocol=str(port.get("protocol") or "tcp"),
        mode=str(port.get("mode") or "ingress"),
    )
