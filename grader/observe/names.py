"""From the names an exercise uses to the objects on the engine.

An exercise speaks of ``redis`` or ``moby-network``. Set up by hand, these are the exact
container and network names. Set up with Docker Compose (``--project P``), the same logical
names are the service, network and volume *keys* of the compose file, found through the labels
Compose puts on everything it creates, whatever ``container_name:`` or ``name:`` says.
"""

from __future__ import annotations

from typing import Protocol

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
    VolumeFacts,
    tagged,
)

#: Label carrying, on an image a batch-replayed submission built, the name the student gave it.
IMAGE_NAME_LABEL = "io.tp-grader.image"


class NameResolver(Protocol):
    def container(self, name: str) -> ContainerFacts | None: ...
    def network(self, name: str) -> NetworkFacts | None: ...
    def volume(self, name: str) -> VolumeFacts | None: ...
    def image(self, name: str) -> ImageFacts | None: ...


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


class ComposeNames:
    """Logical name = a service / network / volume key of Compose project ``project``.

    With ``fall_back_to_exact``, a name with no labelled match is looked up as an exact name,
    so a compose file that joins an ``external`` network still grades. Batch grading turns the
    fallback off: a student's names must never reach another student's objects.
    """

    def __init__(self, engine: Engine, project: str, *, fall_back_to_exact: bool = True) -> None:
        self._engine = engine
        self.project = project
        self._exact = ExactNames(engine) if fall_back_to_exact else None

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
        return self._exact.container(name) if self._exact else None

    def network(self, name: str) -> NetworkFacts | None:
        found = self._engine.networks({COMPOSE_PROJECT: self.project, COMPOSE_NETWORK: name})
        if found:
            return found[0]
        return self._exact.network(name) if self._exact else None

    def volume(self, name: str) -> VolumeFacts | None:
        found = self._engine.volumes({COMPOSE_PROJECT: self.project, COMPOSE_VOLUME: name})
        if found:
            return found[0]
        return self._exact.volume(name) if self._exact else None

    def image(self, name: str) -> ImageFacts | None:
        """An image the project built under the name ``name`` (batch grading tags built
        images per project and labels them with the student's name for them), else the image
        of that exact name: images are shared, read-only, between projects."""
        built = self._engine.images({COMPOSE_PROJECT: self.project, IMAGE_NAME_LABEL: tagged(name)})
        return built[0] if built else self._engine.image(name)


def _number(text: str) -> int:
    return int(text) if text.isdigit() else 0
