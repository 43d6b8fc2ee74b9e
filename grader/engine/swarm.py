"""What tp-grader asks a swarm manager to create: the specs of a swarm lab's reference
solution (:mod:`grader.setup.stack`), as frozen values the engine layer turns into API calls.

Observation never goes through here: services, tasks and the node's swarm state are facts
(:class:`~grader.engine.facts.ServiceFacts`...), read with :class:`~grader.engine.base.Engine`'s
``swarm``, ``services`` and ``tasks``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class PortSpec:
    target: int
    published: int
    protocol: str = "tcp"
    mode: str = "ingress"


@dataclass(frozen=True)
class NetworkAttachment:
    network: str
    """The network's name (or id)."""
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class VolumeMount:
    source: str
    """A volume's name; empty for an anonymous volume."""
    target: str
    read_only: bool = False
    type: str = "volume"
    """``volume`` or ``bind``."""


@dataclass(frozen=True)
class ServiceSpec:
    """A replicated swarm service."""

    name: str
    image: str
    """The image by id: the manager then never asks a registry for its digest."""
    replicas: int = 1
    command: tuple[str, ...] | None = None
    networks: tuple[NetworkAttachment, ...] = ()
    ports: tuple[PortSpec, ...] = ()
    labels: Mapping[str, str] = field(default_factory=dict)
    """On the service and on each of its tasks' containers."""
    mounts: tuple[VolumeMount, ...] = ()
    endpoint_mode: str = "vip"
    """``vip`` (a virtual IP, the swarm balances) or ``dnsrr`` (DNS round-robin only)."""
    no_healthcheck: bool = False
    """Turn the image's health check off (``healthcheck: {disable: true}``)."""


@dataclass(frozen=True)
class ContainerSpec:
    """A standalone container (``docker run -d``), started."""

    name: str
    image: str
    command: tuple[str, ...] | None = None
    networks: tuple[NetworkAttachment, ...] = ()
    mounts: tuple[VolumeMount, ...] = ()
    labels: Mapping[str, str] = field(default_factory=dict)
    links: tuple[str, ...] = ()
    user: str | None = None
