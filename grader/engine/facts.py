"""Facts: what the engine says about an object, as frozen dataclasses.

Facts are parsed once from the Engine's inspect JSON and never judged here: a check decides
what a fact means. Each ``from_inspect`` tolerates the fields that older engines omit.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

COMPOSE_PROJECT = "com.docker.compose.project"
COMPOSE_SERVICE = "com.docker.compose.service"
COMPOSE_NETWORK = "com.docker.compose.network"
COMPOSE_VOLUME = "com.docker.compose.volume"
COMPOSE_ONEOFF = "com.docker.compose.oneoff"
COMPOSE_NUMBER = "com.docker.compose.container-number"
#: On an image Compose's classic builder built (it puts no project or service label there).
COMPOSE_IMAGE_BUILDER = "com.docker.compose.image.builder"


#: Docker's restart manager takes a run shorter than this for one more failed start (it resets
#: its backoff only after a run this long): a container its policy restarted, running for less
#: than this, is still in its restart loop as far as the engine is concerned.
RESTART_LOOP_RUN_S = 10.0


def tagged(reference: str) -> str:
    """An image reference with its tag, ``latest`` when it has none.

    >>> tagged("tp-graphite"), tagged("localhost:5000/x"), tagged("redis:alpine")
    ('tp-graphite:latest', 'localhost:5000/x:latest', 'redis:alpine')
    """
    if "@" in reference or ":" in reference.rsplit("/", 1)[-1]:
        return reference
    return f"{reference}:latest"


_ENGINE_TIME = re.compile(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)")


def engine_time(text: str) -> datetime | None:
    """A timestamp of inspect data (RFC 3339 with nanoseconds), ``None`` for Go's zero time
    (``0001-01-01T00:00:00Z``: never happened) or anything unreadable.

    >>> engine_time("2024-05-01T10:00:00.123456789Z").isoformat()
    '2024-05-01T10:00:00.123456+00:00'
    >>> engine_time("0001-01-01T00:00:00Z") is None
    True
    """
    found = _ENGINE_TIME.fullmatch(text.strip())
    if found is None or text.startswith("0001-"):
        return None
    seconds, fraction, zone = found.groups()
    offset = timedelta(0)
    if zone != "Z":
        sign = -1 if zone[0] == "-" else 1
        offset = sign * timedelta(hours=int(zone[1:3]), minutes=int(zone[4:6]))
    return datetime.fromisoformat(seconds).replace(
        microsecond=int((fraction or "0")[:6].ljust(6, "0")), tzinfo=timezone(offset)
    )


@dataclass(frozen=True)
class EngineInfo:
    endpoint: str
    server_version: str
    api_version: str
    os: str = ""
    arch: str = ""


@dataclass(frozen=True)
class Endpoint:
    """A container's attachment to one network."""

    network_id: str
    network_name: str
    ip_address: str
    aliases: tuple[str, ...] = ()
    links: tuple[str, ...] = ()


@dataclass(frozen=True)
class PortBinding:
    """One published port: ``host_ip:host_port -> container_port/protocol``."""

    container_port: int
    protocol: str
    host_ip: str
    host_port: int


@dataclass(frozen=True)
class Mount:
    """One mount of a container, as the engine reports it (``Mounts`` in inspect data)."""

    type: str
    """``bind``, ``volume`` or ``tmpfs``."""
    destination: str
    source: str = ""
    """Host path of a bind mount; for a volume, the volume's path on the engine host."""
    name: str = ""
    """Volume name; empty for a bind mount."""
    read_only: bool = False


@dataclass(frozen=True)
class VolumesFrom:
    """One ``--volumes-from`` entry of a container (``HostConfig.VolumesFrom``).

    The engine records the entry as the user gave it: a container name or id, then an optional
    ``:ro`` or ``:rw`` (the engine's parser also accepts SELinux labels there, ``ro,z``).

    >>> VolumesFrom.parse("redis:ro")
    VolumesFrom(container='redis', mode='ro')
    >>> VolumesFrom.parse("3f2a9c").read_only
    False
    """

    container: str
    """The name or id of the container whose volumes are shared, without the mode."""
    mode: str = "rw"

    @property
    def read_only(self) -> bool:
        return "ro" in self.mode.split(",")

    @classmethod
    def parse(cls, entry: str) -> VolumesFrom:
        # As the engine splits it: names and ids never hold a colon, so the first one ends the
        # reference and everything after it is the mode.
        reference, _, mode = entry.partition(":")
        return cls(reference.lstrip("/"), mode or "rw")

    def __str__(self) -> str:
        return self.container if self.mode == "rw" else f"{self.container}:{self.mode}"


@dataclass(frozen=True)
class ContainerFacts:
    id: str
    name: str
    image: str
    """The image reference the container was created from, as given (``redis:alpine``)."""
    image_id: str
    status: str
    """``created``, ``running``, ``paused``, ``restarting``, ``exited`` or ``dead``."""
    network_mode: str = "default"
    endpoints: tuple[Endpoint, ...] = ()
    ports: tuple[PortBinding, ...] = ()
    exposed: tuple[tuple[int, str], ...] = ()
    """The ports the container exposes (``EXPOSE``, ``expose:``, ``--expose``), as
    ``(port, protocol)``."""
    mounts: tuple[Mount, ...] = ()
    links: tuple[str, ...] = ()
    """Legacy links (``HostConfig.Links``), as ``/target:/container/alias``."""
    volumes_from: tuple[VolumesFrom, ...] = ()
    """``--volumes-from`` entries, each a container name or id and a mode."""
    user: str = ""
    pid_mode: str = ""
    """``HostConfig.PidMode``: empty (a PID namespace of its own), ``host``, or
    ``container:<name or id>`` (another container's)."""
    pid: int = 0
    """``State.Pid``: the main process's PID on the engine host; 0 when not running."""
    userns_mode: str = ""
    """``HostConfig.UsernsMode``: empty (the engine's user namespace), or ``host``."""
    health: str | None = None
    labels: Mapping[str, str] = field(default_factory=dict)
    restart_count: int = 0
    """Restarts made by the restart policy since the container was last started by hand."""
    started_at: datetime | None = None
    """When the current (or last) run started, on the engine's clock."""
    observed_at: datetime | None = None
    """When the engine answered this inspect, on the engine's clock (its HTTP ``Date``, to
    the second); ``None`` when unknown."""

    @property
    def running(self) -> bool:
        """Running and not paused: a paused container serves nothing."""
        return self.status == "running"

    @property
    def running_for_s(self) -> float | None:
        """How long the current run had lasted when inspected (engine clock, to the second);
        ``None`` when not running or unknown."""
        if self.status != "running" or self.started_at is None or self.observed_at is None:
            return None
        return max((self.observed_at - self.started_at).total_seconds(), 0.0)

    def endpoint_on(self, network: NetworkFacts) -> Endpoint | None:
        for endpoint in self.endpoints:
            if endpoint.network_id == network.id or (
                not endpoint.network_id and endpoint.network_name == network.name
            ):
                return endpoint
        return None

    def mount_at(self, destination: str) -> Mount | None:
        """The mount whose destination is ``destination`` (never matched by position)."""
        wanted = destination.rstrip("/") or "/"
        for mount in self.mounts:
            if (mount.destination.rstrip("/") or "/") == wanted:
                return mount
        return None

    def published(self, container_port: int, protocol: str = "tcp") -> tuple[PortBinding, ...]:
        return tuple(
            binding
            for binding in self.ports
            if binding.container_port == container_port and binding.protocol == protocol
        )

    @classmethod
    def from_inspect(
        cls, data: Mapping[str, Any], observed_at: datetime | None = None
    ) -> ContainerFacts:
        state = data.get("State") or {}
        config = data.get("Config") or {}
        host_config = data.get("HostConfig") or {}
        settings = data.get("NetworkSettings") or {}
        health = (state.get("Health") or {}).get("Status")
        return cls(
            id=data["Id"],
            name=str(data.get("Name", "")).lstrip("/"),
            image=str(config.get("Image", "")),
            image_id=str(data.get("Image", "")),
            status=str(state.get("Status", "")),
            network_mode=str(host_config.get("NetworkMode") or "default"),
            endpoints=tuple(
                Endpoint(
                    network_id=str(ep.get("NetworkID") or ""),
                    network_name=name,
                    ip_address=str(ep.get("IPAddress") or ""),
                    aliases=tuple(ep.get("Aliases") or ()),
                    links=tuple(ep.get("Links") or ()),
                )
                for name, ep in (settings.get("Networks") or {}).items()
            ),
            ports=_parse_ports(settings.get("Ports") or {}),
            exposed=_parse_exposed(config.get("ExposedPorts") or {}),
            mounts=tuple(
                Mount(
                    type=str(m.get("Type", "")),
                    destination=str(m.get("Destination", "")),
                    source=str(m.get("Source", "")),
                    name=str(m.get("Name", "")),
                    read_only=not m.get("RW", True),
                )
                for m in data.get("Mounts") or ()
            ),
            links=tuple(host_config.get("Links") or ()),
            volumes_from=tuple(
                VolumesFrom.parse(str(entry)) for entry in host_config.get("VolumesFrom") or ()
            ),
            user=str(config.get("User") or ""),
            pid_mode=str(host_config.get("PidMode") or ""),
            pid=int(state.get("Pid") or 0),
            userns_mode=str(host_config.get("UsernsMode") or ""),
            health=str(health) if health else None,
            labels=dict(config.get("Labels") or {}),
            restart_count=int(data.get("RestartCount") or 0),
            started_at=engine_time(str(state.get("StartedAt") or "")),
            observed_at=observed_at,
        )


def _parse_exposed(exposed: Mapping[str, Any]) -> tuple[tuple[int, str], ...]:
    """``{"6379/tcp": {}}`` as ``((6379, "tcp"),)``; ranges and junk skipped."""
    found: list[tuple[int, str]] = []
    for key in exposed:
        port, _, protocol = str(key).partition("/")
        if port.isdigit():
            found.append((int(port), protocol or "tcp"))
    return tuple(sorted(found))


def _parse_ports(ports: Mapping[str, Any]) -> tuple[PortBinding, ...]:
    bindings: list[PortBinding] = []
    for key, host_bindings in ports.items():
        port, _, protocol = key.partition("/")
        for binding in host_bindings or ():
            host_port = str(binding.get("HostPort") or "")
            if port.isdigit() and host_port.isdigit():
                bindings.append(
                    PortBinding(
                        container_port=int(port),
                        protocol=protocol or "tcp",
                        host_ip=str(binding.get("HostIp") or ""),
                        host_port=int(host_port),
                    )
                )
    return tuple(bindings)


@dataclass(frozen=True)
class NetworkFacts:
    id: str
    name: str
    driver: str
    scope: str = "local"
    internal: bool = False
    config_only: bool = False
    labels: Mapping[str, str] = field(default_factory=dict)
    attachable: bool = False
    """A swarm-scoped network standalone containers may join (``--attachable``)."""

    @classmethod
    def from_inspect(cls, data: Mapping[str, Any]) -> NetworkFacts:
        return cls(
            id=data["Id"],
            name=str(data.get("Name", "")),
            driver=str(data.get("Driver", "")),
            scope=str(data.get("Scope", "local")),
            internal=bool(data.get("Internal", False)),
            config_only=bool(data.get("ConfigOnly", False)),
            labels=dict(data.get("Labels") or {}),
            attachable=bool(data.get("Attachable", False)),
        )


@dataclass(frozen=True)
class VolumeFacts:
    name: str
    driver: str
    mountpoint: str = ""
    labels: Mapping[str, str] = field(default_factory=dict)
    options: Mapping[str, str] = field(default_factory=dict)
    """The driver options it was created with (``--opt type=tmpfs``)."""

    @classmethod
    def from_inspect(cls, data: Mapping[str, Any]) -> VolumeFacts:
        return cls(
            name=str(data["Name"]),
            driver=str(data.get("Driver", "")),
            mountpoint=str(data.get("Mountpoint", "")),
            labels=dict(data.get("Labels") or {}),
            options={str(k): str(v) for k, v in (data.get("Options") or {}).items()},
        )


@dataclass(frozen=True)
class ImageFacts:
    id: str
    tags: tuple[str, ...]
    user: str = ""
    volumes: tuple[str, ...] = ()
    labels: Mapping[str, str] = field(default_factory=dict)
    repo_digests: tuple[str, ...] = ()
    """``repository@sha256:...`` of a registry that holds this image: set when it was pulled
    (or pushed), never by a local build."""

    @classmethod
    def from_inspect(cls, data: Mapping[str, Any]) -> ImageFacts:
        config = data.get("Config") or {}
        return cls(
            id=str(data["Id"]),
            tags=tuple(data.get("RepoTags") or ()),
            user=str(config.get("User") or ""),
            volumes=tuple(sorted((config.get("Volumes") or {}).keys())),
            labels=dict(config.get("Labels") or {}),
            repo_digests=tuple(data.get("RepoDigests") or ()),
        )


# -- swarm ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SwarmFacts:
    """The engine's place in a swarm (``GET /info``'s ``Swarm``).

    >>> SwarmFacts.from_info({"LocalNodeState": "active", "ControlAvailable": True,
    ...                       "NodeID": "n1"}).manager
    True
    >>> SwarmFacts.from_info({}).local_node_state
    'inactive'
    """

    local_node_state: str
    """``inactive``, ``pending``, ``active``, ``error`` or ``locked``."""
    control_available: bool = False
    """A manager: it can create services."""
    node_id: str = ""
    error: str = ""

    @property
    def active(self) -> bool:
        return self.local_node_state == "active"

    @property
    def manager(self) -> bool:
        return self.active and self.control_available

    @classmethod
    def from_info(cls, data: Mapping[str, Any]) -> SwarmFacts:
        return cls(
            local_node_state=str(data.get("LocalNodeState") or "inactive"),
            control_available=bool(data.get("ControlAvailable", False)),
            node_id=str(data.get("NodeID") or ""),
            error=str(data.get("Error") or ""),
        )


@dataclass(frozen=True)
class ServicePort:
    """One port a service publishes (``Endpoint.Ports``)."""

    target: int
    published: int
    protocol: str = "tcp"
    mode: str = "ingress"
    """``ingress`` (the routing mesh: every node) or ``host`` (the node running the task)."""


@dataclass(frozen=True)
class VirtualIp:
    """A service's virtual IP on one network (``Endpoint.VirtualIPs``), without its prefix."""

    network_id: str
    address: str


@dataclass(frozen=True)
class ServiceFacts:
    id: str
    name: str
    labels: Mapping[str, str] = field(default_factory=dict)
    image: str = ""
    replicas: int | None = None
    """Desired replicas; ``None`` for a global service."""
    networks: tuple[str, ...] = ()
    """Ids (or names, as given) of the networks the spec attaches its tasks to."""
    aliases: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """Per network of :attr:`networks`, the aliases the spec gives the service there."""
    endpoint_mode: str = "vip"
    ports: tuple[ServicePort, ...] = ()
    virtual_ips: tuple[VirtualIp, ...] = ()

    def vip_on(self, network_id: str) -> str | None:
        return next((v.address for v in self.virtual_ips if v.network_id == network_id), None)

    @classmethod
    def from_inspect(cls, data: Mapping[str, Any]) -> ServiceFacts:
        """
        >>> s = ServiceFacts.from_inspect({"ID": "s1", "Spec": {"Name": "web",
        ...     "Mode": {"Replicated": {"Replicas": 2}},
        ...     "TaskTemplate": {"Networks": [{"Target": "n1", "Aliases": ["w"]}]}},
        ...     "Endpoint": {"Ports": [{"TargetPort": 80, "PublishedPort": 8080,
        ...     "PublishMode": "ingress"}], "VirtualIPs": [{"NetworkID": "n1",
        ...     "Addr": "10.0.1.4/24"}]}})
        >>> s.replicas, s.networks, s.ports[0].published, s.vip_on("n1")
        (2, ('n1',), 8080, '10.0.1.4')
        """
        spec = data.get("Spec") or {}
        mode = spec.get("Mode") or {}
        replicated = mode.get("Replicated")
        template = spec.get("TaskTemplate") or {}
        # Older clients put the networks on the service spec itself.
        attachments = template.get("Networks") or spec.get("Networks") or ()
        endpoint = data.get("Endpoint") or {}
        endpoint_spec = spec.get("EndpointSpec") or endpoint.get("Spec") or {}
        image = str(((template.get("ContainerSpec") or {}).get("Image")) or "")
        return cls(
            id=str(data.get("ID", "")),
            name=str(spec.get("Name", "")),
            labels=dict(spec.get("Labels") or {}),
            image=image,
            replicas=int((replicated or {}).get("Replicas", 1))
            if replicated is not None
            else None
            if "Global" in mode
            else 1,
            networks=tuple(str(a.get("Target", "")) for a in attachments),
            aliases={str(a.get("Target", "")): tuple(a.get("Aliases") or ()) for a in attachments},
            endpoint_mode=str(endpoint_spec.get("Mode") or "vip"),
            ports=tuple(
                ServicePort(
                    target=int(p.get("TargetPort", 0)),
                    published=int(p.get("PublishedPort", 0)),
                    protocol=str(p.get("Protocol") or "tcp"),
                    mode=str(p.get("PublishMode") or "ingress"),
                )
                for p in endpoint.get("Ports") or endpoint_spec.get("Ports") or ()
            ),
            virtual_ips=tuple(
                VirtualIp(str(v.get("NetworkID", "")), str(v.get("Addr", "")).split("/")[0])
                for v in endpoint.get("VirtualIPs") or ()
            ),
        )


@dataclass(frozen=True)
class TaskAddress:
    """A task's address on one network (``NetworksAttachments``), without its prefix."""

    network_id: str
    network_name: str
    address: str


@dataclass(frozen=True)
class TaskFacts:
    id: str
    service_id: str
    slot: int = 0
    desired_state: str = ""
    state: str = ""
    """What the task is doing now: ``running``, ``starting``, ``failed``, ``rejected``..."""
    message: str = ""
    error: str = ""
    container_id: str = ""
    node_id: str = ""
    addresses: tuple[TaskAddress, ...] = ()

    @property
    def running(self) -> bool:
        return self.state == "running" and self.desired_state == "running"

    def address_on(self, network_id: str) -> str | None:
        return next((a.address for a in self.addresses if a.network_id == network_id), None)

    @classmethod
    def from_inspect(cls, data: Mapping[str, Any]) -> TaskFacts:
        """
        >>> t = TaskFacts.from_inspect({"ID": "t1", "ServiceID": "s1", "Slot": 2,
        ...     "DesiredState": "running", "Status": {"State": "running",
        ...     "ContainerStatus": {"ContainerID": "c1"}},
        ...     "NetworksAttachments": [{"Network": {"ID": "n1", "Spec": {"Name": "ov"}},
        ...     "Addresses": ["10.0.1.5/24"]}]})
        >>> t.running, t.container_id, t.address_on("n1")
        (True, 'c1', '10.0.1.5')
        """
        status = data.get("Status") or {}
        return cls(
            id=str(data.get("ID", "")),
            service_id=str(data.get("ServiceID", "")),
            slot=int(data.get("Slot") or 0),
            desired_state=str(data.get("DesiredState") or ""),
            state=str(status.get("State") or ""),
            message=str(status.get("Message") or ""),
            error=str(status.get("Err") or ""),
            container_id=str((status.get("ContainerStatus") or {}).get("ContainerID") or ""),
            node_id=str(data.get("NodeID") or ""),
            addresses=tuple(
                TaskAddress(
                    str((a.get("Network") or {}).get("ID", "")),
                    str(((a.get("Network") or {}).get("Spec") or {}).get("Name", "")),
                    str(address).split("/")[0],
                )
                for a in data.get("NetworksAttachments") or ()
                for address in a.get("Addresses") or ()
            ),
        )
