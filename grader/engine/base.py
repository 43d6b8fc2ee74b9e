"""The narrow seam between tp-grader and a Docker Engine.

Everything tp-grader knows about a student's setup comes through an :class:`Engine`: inspect
data turned into facts, objects listed by label, and probe containers. :class:`DockerEngine`
speaks to a real engine; a fake of it (``tests/support/fake_engine.py``) serves pure-logic tests.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from grader.engine.facts import (
    ContainerFacts,
    EngineInfo,
    ImageFacts,
    NetworkFacts,
    ServiceFacts,
    SwarmFacts,
    TaskFacts,
    VolumeFacts,
)
from grader.engine.probe import ProbeMount, ProbeOutput, ProbeSpec, Standby

if TYPE_CHECKING:  # a grading of containers loads neither (each is a dozen dataclasses' worth)
    from grader.engine.sandbox import BuildOutcome, BuildSpec, SandboxSpec
    from grader.engine.swarm import ContainerSpec, ServiceSpec

#: Label selectors: ``{"key": "value"}`` matches that value, ``{"key": None}`` any value.
LabelSelector = Mapping[str, str | None]


@dataclass(frozen=True)
class Removed:
    containers: int = 0
    networks: int = 0
    volumes: int = 0

    @property
    def total(self) -> int:
        return self.containers + self.networks + self.volumes


class Engine(Protocol):
    """What the rest of tp-grader may ask of a Docker Engine. Every call has a deadline."""

    @property
    def info(self) -> EngineInfo: ...

    def container(self, ref: str) -> ContainerFacts | None:
        """A container by name or id (full or unique prefix), or ``None``."""
        ...

    def containers(self, labels: LabelSelector) -> list[ContainerFacts]:
        """Every container (running or not) whose labels match ``labels``."""
        ...

    def network(self, ref: str) -> NetworkFacts | None: ...

    def networks(self, labels: LabelSelector) -> list[NetworkFacts]: ...

    def volume(self, name: str) -> VolumeFacts | None: ...

    def volumes(self, labels: LabelSelector) -> list[VolumeFacts]: ...

    def image(self, ref: str) -> ImageFacts | None: ...

    def images(self, labels: LabelSelector) -> list[ImageFacts]: ...

    # -- swarm (a lab on a swarm: tp-overlay) ----------------------------------------------
    def swarm(self) -> SwarmFacts:
        """This engine's place in a swarm (``inactive`` when it is in none)."""
        ...

    def service(self, ref: str) -> ServiceFacts | None:
        """A swarm service by name or id, or ``None`` (also when not in a swarm)."""
        ...

    def services(self, labels: LabelSelector) -> list[ServiceFacts]: ...

    def tasks(self, service_id: str) -> list[TaskFacts]:
        """Every task the swarm keeps for the service (its history included)."""
        ...

    def init_swarm(self) -> None: ...

    def leave_swarm(self) -> None: ...

    def create_network(
        self, name: str, driver: str, *, attachable: bool, labels: Mapping[str, str]
    ) -> str: ...

    def create_volume(
        self, name: str, driver: str, options: Mapping[str, str], labels: Mapping[str, str]
    ) -> None: ...

    def create_service(self, spec: ServiceSpec) -> str: ...

    def remove_services(self, labels: LabelSelector) -> int:
        """Remove every service matching ``labels`` (the swarm then stops their tasks)."""
        ...

    def start_container(self, spec: ContainerSpec) -> str: ...

    def remove_network(self, name: str) -> bool:
        """Remove network ``name`` (by name: one the engine made for a run, such as the swarm's
        gateway bridge); whether it is gone."""
        ...

    def pull(self, ref: str, on_progress: Callable[[str], None] | None = None) -> None: ...

    def build_image(
        self, context: Path, tag: str, buildargs: Mapping[str, str], labels: Mapping[str, str]
    ) -> None:
        """Build the Dockerfile in ``context`` as ``tag`` (stand-in images, test images)."""
        ...

    def run_probe(self, spec: ProbeSpec) -> ProbeOutput: ...

    def start_standby_probe(self, spec: ProbeSpec, lifetime_s: int) -> Standby:
        """Start a probe at ``spec``'s site (its script aside) that waits, at most
        ``lifetime_s``, for one script given by :meth:`run_in_standby_probe`."""
        ...

    def run_in_standby_probe(self, standby: Standby, spec: ProbeSpec) -> ProbeOutput:
        """Run ``spec.script`` in ``standby``, which ends with it; raises
        :class:`~grader.engine.probe.StandbyGone` when the probe is no longer there."""
        ...

    def run_sandboxed(self, spec: SandboxSpec) -> ProbeOutput:
        """Run a tool of tp-grader's own over copied-in files, where nothing else exists
        (:mod:`grader.engine.sandbox`); the output carries the exit status."""
        ...

    def tool_image(self, tag: str, labels: Mapping[str, str], context: Callable[[], bytes]) -> str:
        """The id of the image labelled ``labels``, built from ``context()`` as ``tag`` if
        absent."""
        ...

    def build_bounded(self, spec: BuildSpec) -> BuildOutcome:
        """Build an image within limits and a deadline (a submission's); it starts once no
        :meth:`untag_images` of this engine object runs or waits
        (:mod:`grader.engine.cache_guard`), and that wait is not counted in its time."""
        ...

    def create_reader(
        self, image: str, mounts: tuple[ProbeMount, ...], labels: Mapping[str, str]
    ) -> str:
        """Create (never start) a container with ``mounts``, to read them with
        :meth:`archive`. Raises ``FileNotFoundError`` when a bind source does not exist: the
        engine is never asked to create a host path."""
        ...

    def archive(self, container_id: str, path: str, max_bytes: int) -> Iterator[bytes]:
        """The tar stream of ``path`` in a container (``GET /containers/{id}/archive``),
        stopped with :class:`~grader.errors.ObservationError` beyond ``max_bytes``."""
        ...

    def remove_containers(self, labels: LabelSelector, sparing: Collection[str] = ()) -> int:
        """Force-remove every container matching ``labels`` but those in ``sparing`` (ids of
        containers ending by themselves, which the engine removes); returns how many there
        were. Health-checked ones are stopped first (:meth:`stop_health_checked`)."""
        ...

    def stop_health_checked(self, labels: LabelSelector) -> int:
        """Kill every running container matching ``labels`` that has a health check, wait
        (bounded) until they have stopped, then give the engine's health monitors
        :data:`~grader.defaults.HEALTH_PROBE_GRACE_S` to finish a probe they had begun.

        Called before anything removes such containers (``compose down`` included): dockerd
        20.10 dereferences a nil container, and dies, when a container is removed while one of
        its health probes starts. Returns how many were stopped."""
        ...

    def untag_images(self, labels: LabelSelector, repository_prefix: str) -> int:
        """Remove the tags starting with ``repository_prefix`` from every image matching
        ``labels`` (an image goes with its last tag; one that carries another tag stays, and
        no image is ever removed by id), once the :meth:`build_bounded` calls running on this
        engine object have ended: the untagged layers an image delete prunes may be a running
        build's cache. Returns how many tags were removed."""
        ...

    def remove_labelled(self, labels: LabelSelector) -> Removed:
        """Remove every container (with its anonymous volumes), then network, then volume
        matching ``labels``."""
        ...

    def ping(self) -> bool:
        """Whether the engine answers now (within :data:`~grader.defaults.CLEANUP_TIMEOUT_S`)."""
        ...

    def close(self) -> None: ...
