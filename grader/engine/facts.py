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
    mounts: tuple[Mount, ...] = ()
    links: tuple[str, ...] = ()
    """Legacy links (``HostConfig.Links``), as ``/target:/container/alias``."""
    volumes_from: tuple[VolumesFrom, ...] = ()
    """``--volumes-from`` entries, each a container name or id and a mode."""
    user: str = ""
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
            health=str(health) if health else None,
            labels=dict(config.get("Labels") or {}),
            restart_count=int(data.get("RestartCount") or 0),
            started_at=engine_time(str(state.get("StartedAt") or "")),
            observed_at=observed_at,
        )


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
        )


@dataclass(frozen=True)
class VolumeFacts:
    name: str
    driver: str
    mountpoint: str = ""
    labels: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_inspect(cls, data: Mapping[str, Any]) -> VolumeFacts:
        return cls(
            name=str(data["Name"]),
            driver=str(data.get("Driver", "")),
            mountpoint=str(data.get("Mountpoint", "")),
            labels=dict(data.get("Labels") or {}),
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
