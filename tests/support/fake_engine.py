"""An in-memory :class:`~grader.engine.base.Engine` for pure-logic tests.

It answers from facts given to it and from a probe handler the test supplies. It proves
nothing about Docker: tests that claim an observation works use the real engine.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

from grader.engine.base import LabelSelector, Removed
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
from grader.engine.swarm import ContainerSpec, ServiceSpec

ProbeHandler = Callable[[ProbeSpec], ProbeOutput]
_SETS_NOTHING_UP = "FakeEngine only observes: setting a lab up needs a real engine"


def _no_probes(spec: ProbeSpec) -> ProbeOutput:
    raise AssertionError(f"FakeEngine got an unexpected probe: {spec.purpose}")


def _matches(labels: dict[str, str] | object, selector: LabelSelector) -> bool:
    assert isinstance(labels, dict)
    return all(
        key in labels and (value is None or labels[key] == value) for key, value in selector.items()
    )


class _NoConnection:
    """A fake standby's connection: nothing goes through it (the fake runs scripts itself)."""

    def sendall(self, data: bytes) -> None: ...

    def shutdown(self, how: int) -> None: ...

    def close(self) -> None: ...


def fake_standby(container_id: str) -> Standby:
    return Standby(container_id, _NoConnection())


@dataclass
class FakeEngine:
    containers_: list[ContainerFacts] = field(default_factory=list)
    networks_: list[NetworkFacts] = field(default_factory=list)
    volumes_: list[VolumeFacts] = field(default_factory=list)
    images_: list[ImageFacts] = field(default_factory=list)
    services_: list[ServiceFacts] = field(default_factory=list)
    tasks_: list[TaskFacts] = field(default_factory=list)
    """Tasks as the swarm reports them; a test may change the list between calls."""
    swarm_: SwarmFacts = field(default_factory=lambda: SwarmFacts("inactive"))
    probe_handler: ProbeHandler = _no_probes
    probes_run: list[ProbeSpec] = field(default_factory=list)
    standbys_started: list[ProbeSpec] = field(default_factory=list)
    standbys_used: list[str] = field(default_factory=list)
    info_: EngineInfo = field(
        default_factory=lambda: EngineInfo("fake://", "0.0-fake", "1.41", "linux", "amd64")
    )

    @property
    def info(self) -> EngineInfo:
        return self.info_

    def swarm(self) -> SwarmFacts:
        return self.swarm_

    def service(self, ref: str) -> ServiceFacts | None:
        return next((s for s in self.services_ if ref in (s.name, s.id)), None)

    def services(self, labels: LabelSelector) -> list[ServiceFacts]:
        return [s for s in self.services_ if _matches(dict(s.labels), labels)]

    def tasks(self, service_id: str) -> list[TaskFacts]:
        return [t for t in self.tasks_ if t.service_id == service_id]

    # Setting a lab up is the real engine's business: the fake only observes.
    def init_swarm(self) -> None:
        raise NotImplementedError(_SETS_NOTHING_UP)

    def leave_swarm(self) -> None:
        raise NotImplementedError(_SETS_NOTHING_UP)

    def create_network(
        self, name: str, driver: str, *, attachable: bool, labels: Mapping[str, str]
    ) -> str:
        raise NotImplementedError(_SETS_NOTHING_UP)

    def create_volume(
        self, name: str, driver: str, options: Mapping[str, str], labels: Mapping[str, str]
    ) -> None:
        raise NotImplementedError(_SETS_NOTHING_UP)

    def create_service(self, spec: ServiceSpec) -> str:
        raise NotImplementedError(_SETS_NOTHING_UP)

    def remove_services(self, labels: LabelSelector) -> int:
        raise NotImplementedError(_SETS_NOTHING_UP)

    def start_container(self, spec: ContainerSpec) -> str:
        raise NotImplementedError(_SETS_NOTHING_UP)

    def remove_network(self, name: str) -> bool:
        raise NotImplementedError(_SETS_NOTHING_UP)

    def container(self, ref: str) -> ContainerFacts | None:
        return next(
            (c for c in self.containers_ if ref in (c.name, c.id) or c.id.startswith(ref)), None
        )

    def containers(self, labels: LabelSelector) -> list[ContainerFacts]:
        return [c for c in self.containers_ if _matches(dict(c.labels), labels)]

    def network(self, ref: str) -> NetworkFacts | None:
        return next((n for n in self.networks_ if ref in (n.name, n.id)), None)

    def networks(self, labels: LabelSelector) -> list[NetworkFacts]:
        return [n for n in self.networks_ if _matches(dict(n.labels), labels)]

    def volume(self, name: str) -> VolumeFacts | None:
        return next((v for v in self.volumes_ if v.name == name), None)

    def volumes(self, labels: LabelSelector) -> list[VolumeFacts]:
        return [v for v in self.volumes_ if _matches(dict(v.labels), labels)]

    def image(self, ref: str) -> ImageFacts | None:
        return next((i for i in self.images_ if ref in i.tags or ref == i.id), None)

    def images(self, labels: LabelSelector) -> list[ImageFacts]:
        return [i for i in self.images_ if _matches(dict(i.labels), labels)]

    def pull(self, ref: str, on_progress: Callable[[str], None] | None = None) -> None:
        raise ConnectionError(f"FakeEngine cannot pull {ref}")

    def build_image(
        self, context: Path, tag: str, buildargs: Mapping[str, str], labels: Mapping[str, str]
    ) -> None:
        self.images_.append(ImageFacts(id=f"sha256:{tag}", tags=(tag,), labels=dict(labels)))

    def create_reader(
        self, image: str, mounts: tuple[ProbeMount, ...], labels: Mapping[str, str]
    ) -> str:
        raise FileNotFoundError(", ".join(m.source for m in mounts))

    def run_probe(self, spec: ProbeSpec) -> ProbeOutput:
        self.probes_run.append(spec)
        return self.probe_handler(spec)

    def start_standby_probe(self, spec: ProbeSpec, lifetime_s: int) -> Standby:
        self.standbys_started.append(spec)
        return fake_standby(f"standby-{len(self.standbys_started)}")

    def run_in_standby_probe(self, standby: Standby, spec: ProbeSpec) -> ProbeOutput:
        self.standbys_used.append(standby.container_id)
        return self.run_probe(spec)

    def archive(self, container_id: str, path: str, max_bytes: int) -> Iterator[bytes]:
        raise FileNotFoundError(path)

    def broken_invariant(self) -> NoReturn:
        """Raise as a broken invariant of the grader's own engine layer would: an
        ``AssertionError`` from grader/ (not part of :class:`~grader.engine.base.Engine`)."""
        _raise_as_grader("FakeEngine invariant broken")

    def remove_containers(self, labels: LabelSelector, sparing: Collection[str] = ()) -> int:
        return 0

    def stop_health_checked(self, labels: LabelSelector) -> int:
        return 0

    def untag_images(self, labels: LabelSelector, repository_prefix: str) -> int:
        return 0

    def remove_labelled(self, labels: LabelSelector) -> Removed:
        return Removed()

    def close(self) -> None:
        pass


def _grader_raiser() -> Callable[[str], NoReturn]:
    """A function whose code lives, for tracebacks, in the grader's engine layer: what a bug
    of the grader (an invariant that does not hold) looks like to the harness."""
    import grader.engine

    filename = str(Path(grader.engine.__file__).with_name("_invariant.py"))
    namespace: dict[str, Any] = {}
    code = "def raise_(message):\n    raise AssertionError(message)\n"
    exec(compile(code, filename, "exec"), namespace)
    raiser: Callable[[str], NoReturn] = namespace["raise_"]
    return raiser


_raise_as_grader = _grader_raiser()
