"""The narrow seam between tp-grader and a Docker Engine.

Everything tp-grader knows about a student's setup comes through an :class:`Engine`: inspect
data turned into facts, objects listed by label, and probe containers. :class:`DockerEngine`
speaks to a real engine; a fake of it (``tests/support/fake_engine.py``) serves pure-logic tests.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from grader.engine.facts import (
    ContainerFacts,
    EngineInfo,
    ImageFacts,
    NetworkFacts,
    VolumeFacts,
)
from grader.engine.probe import ProbeMount, ProbeOutput, ProbeSpec

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

    def pull(self, ref: str, on_progress: Callable[[str], None] | None = None) -> None: ...

    def build_image(
        self, context: Path, tag: str, buildargs: Mapping[str, str], labels: Mapping[str, str]
    ) -> None:
        """Build the Dockerfile in ``context`` as ``tag`` (stand-in images, test images)."""
        ...

    def run_probe(self, spec: ProbeSpec) -> ProbeOutput: ...

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

    def exec_in(self, container_id: str, argv: list[str], deadline_s: float) -> tuple[int, bytes]:
        """Run ``argv`` inside a student's container; returns (exit code, output)."""
        ...

    def remove_containers(self, labels: LabelSelector) -> int:
        """Force-remove every container matching ``labels``; returns how many there were."""
        ...

    def untag_images(self, labels: LabelSelector, repository_prefix: str) -> int:
        """Remove the tags starting with ``repository_prefix`` from every image matching
        ``labels`` (an image goes with its last tag; one that carries another tag stays, and
        no image is ever removed by id). Returns how many tags were removed."""
        ...

    def remove_labelled(self, labels: LabelSelector) -> Removed:
        """Remove every container (with its anonymous volumes), then network, then volume
        matching ``labels``."""
        ...

    def close(self) -> None: ...
