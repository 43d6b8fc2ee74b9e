"""From the names an exercise uses to the objects on the engine.

An exercise speaks of ``redis`` or ``moby-network``. Set up by hand, these are the exact
container and network names. Set up with Docker Compose (``--project P``), the same logical
names are the service, network and volume *keys* of the compose file, found through the labels
Compose puts on everything it creates, whatever ``container_name:`` or ``name:`` says.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Literal, Protocol, TypeVar

from grader import defaults
from grader.engine.base import Engine
from grader.engine.facts import (
    COMPOSE_NETWORK,
    COMPOSE_NUMBER,
    COMPOSE_ONEOFF,
    COMPOSE_PROJECT,
    COMPOSE_SERVICE,
    COMPOSE_VOLUME,
    ContainerFacts,
    ImageFacts,
    NetworkFacts,
    ServiceFacts,
    VolumeFacts,
    tagged,
)

#: Label carrying, on an image a batch-replayed submission built, the name the student gave it.
IMAGE_NAME_LABEL = defaults.LABEL_IMAGE_NAME

ObjectKind = Literal["container", "network", "volume", "image", "service"]
F = TypeVar("F")


@dataclass(frozen=True)
class OutsideProject:
    """A logical name that Compose project labels did not resolve, found by its exact name."""

    kind: ObjectKind
    name: str


class NameResolver(Protocol):
    def container(self, name: str) -> ContainerFacts | None: ...
    def network(self, name: str) -> NetworkFacts | None: ...
    def volume(self, name: str) -> VolumeFacts | None: ...
    def image(self, name: str) -> ImageFacts | None: ...
    def service(self, name: str) -> ServiceFacts | None:
        """A swarm service (ask only a swarm manager: others cannot list services)."""
        ...


class ExactNames:
    """Logical name = the exact name on the engine."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def container(self, name: str) -> ContainerFacts | None:
        found = self._engine.container(name)
        # The engine also matches id prefixes; a logical name must be the name itself.
        return found if found is not None and found.name == name else None

    def network(self, name: str) -> NetworkFacts | None:
        found = self._engine.network(name)
        return found if found is not None and found.name == name else None

    def volume(self, name: str) -> VolumeFacts | None:
        return self._engine.volume(name)

    def image(self, name: str) -> ImageFacts | None:
        return self._engine.image(name)

    def service(self, name: str) -> ServiceFacts | None:
        found = self._engine.service(name)
        return found if found is not None and found.name == name else None


class ComposeNames:
    """Logical name = a service / network / volume key of Compose project ``project``.

    With ``fall_back_to_exact``, a name with no labelled match is looked up as an exact name,
    so a compose file that joins an ``external`` network still grades; each object found that
    way is recorded in :attr:`outside`, for the report to say so. Batch grading turns the
    fallback off: a student's names must never reach another student's objects, nor an image
    the submission did not build.
    """

    def __init__(self, engine: Engine, project: str, *, fall_back_to_exact: bool = True) -> None:
        self._engine = engine
        self.project = project
        self._exact = ExactNames(engine) if fall_back_to_exact else None
        self._outside: dict[OutsideProject, None] = {}
        self._lock = threading.Lock()

    @property
    def outside(self) -> tuple[OutsideProject, ...]:
        """The objects found by their exact name, outside the project, in the order found."""
        with self._lock:
            return tuple(self._outside)

    def _found_outside(self, kind: ObjectKind, name: str, found: F | None) -> F | None:
        if found is not None:
            with self._lock:
                self._outside[OutsideProject(kind, name)] = None
        return found

    def container(self, name: str) -> ContainerFacts | None:
        candidates = [
            c
            for c in self._engine.containers({COMPOSE_PROJECT: self.project, COMPOSE_SERVICE: name})
            if c.labels.get(COMPOSE_ONEOFF, "False") != "True"
        ]
        if candidates:
            # Several replicas: grade a running one, the lowest-numbered first.
            return min(
                candidates,
                key=lambda c: (not c.running, _number(c.labels.get(COMPOSE_NUMBER, ""))),
            )
        if self._exact is None:
            return None
        return self._found_outside("container", name, self._exact.container(name))

    def network(self, name: str) -> NetworkFacts | None:
        found = self._engine.networks({COMPOSE_PROJECT: self.project, COMPOSE_NETWORK: name})
        if found:
            return found[0]
        if self._exact is None:
            return None
        return self._found_outside("network", name, self._exact.network(name))

    def volume(self, name: str) -> VolumeFacts | None:
        found = self._engine.volumes({COMPOSE_PROJECT: self.project, COMPOSE_VOLUME: name})
        if found:
            return found[0]
        if self._exact is None:
            return None
        return self._found_outside("volume", name, self._exact.volume(name))

    def service(self, name: str) -> ServiceFacts | None:
        """A swarm service labelled as project ``project``'s service ``name`` (a swarm lab's
        reference solution labels its services so; see :mod:`grader.setup.stack`)."""
        found = self._engine.services({COMPOSE_PROJECT: self.project, COMPOSE_SERVICE: name})
        if found:
            return found[0]
        if self._exact is None:
            return None
        return self._found_outside("service", name, self._exact.service(name))

    def image(self, name: str) -> ImageFacts | None:
        """An image the project built under the name ``name``, else (unless strict) the image
        of that exact name.

        Built by the project means: labelled with the project by Compose (its BuildKit builds)
        and tagged ``name``, or, in batch grading, labelled with the student's name for it and
        tagged in the project's own repository (``<project>/...``; batch grading retags what a
        submission builds so that no two submissions share a tag)."""
        wanted = tagged(name)
        labelled = self._engine.images({IMAGE_NAME_LABEL: wanted})
        built = [
            image
            for image in labelled
            if image.labels.get(COMPOSE_PROJECT) == self.project
            or any(tag.startswith(f"{self.project}/") for tag in image.tags)
        ]
        if built:
            return built[0]
        of_project = self._engine.images({COMPOSE_PROJECT: self.project})
        built = [image for image in of_project if wanted in image.tags]
        if built:
            return built[0]
        if self._exact is None:
            return None
        return self._found_outside("image", name, self._exact.image(name))


def _number(text: str) -> int:
    return int(text) if text.isdigit() else 0
