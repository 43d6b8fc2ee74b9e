"""The student's lab as a check sees it: named objects, and probes run from inside it.

A :class:`Lab` is handed to every check (the ``lab`` fixture). It resolves the exercise's
logical names (exact names, or Compose labels with ``--project``), caches what the engine said
for the length of the run (one consistent snapshot, and each object inspected once), and runs
probe steps from a container's network namespace or from the engine host's.

Probes are the slow part of a run, and independent: :meth:`Lab.observe_from` starts one in the
background and returns an :class:`Observation`, so a checks module can start all its probes
together (one autouse fixture asking for them) and each check waits only for its own.

Methods named after the object (:meth:`container`, :meth:`network`...) fail the check when the
object is missing; the ``find_*`` variants return ``None`` instead.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import replace
from typing import Any, NoReturn, TypeVar

from grader import defaults
from grader.engine.base import Engine
from grader.engine.facts import ContainerFacts, ImageFacts, NetworkFacts, VolumeFacts
from grader.errors import ObservationError, ProbeTimeout
from grader.judge import expect
from grader.judge import messages as m
from grader.judge.outcome import CheckFailed
from grader.observe.files import PathFacts, stat_path
from grader.observe.http import HttpGet, published_url
from grader.observe.names import NameResolver
from grader.observe.prober import Prober
from grader.observe.process import ProcessUser, main_process_user
from grader.observe.steps import ProbeSite, ProbeStep
from grader.observe.tarball import TarListing, list_tar

T = TypeVar("T")

#: How long a failed observation waits for the engine to describe the container again.
REINSPECT_WAIT_S = 5.0


class Observation:
    """The results of one probe's steps, on their way.

    >>> from grader.observe.dns import DnsLookup
    >>> done = Observation.ready([DnsLookup("redis")], ["answer"])
    >>> done.of(DnsLookup("redis"))
    'answer'
    """

    def __init__(self, steps: tuple[ProbeStep[Any], ...], results: Future[list[Any]]) -> None:
        self._steps = steps
        self._results = results

    @classmethod
    def ready(cls, steps: list[ProbeStep[Any]], results: list[Any]) -> Observation:
        future: Future[list[Any]] = Future()
        future.set_result(results)
        return cls(tuple(steps), future)

    @classmethod
    def failed(cls, steps: tuple[ProbeStep[Any], ...], error: BaseException) -> Observation:
        future: Future[list[Any]] = Future()
        future.set_exception(error)
        return cls(steps, future)

    def subset(self, steps: tuple[ProbeStep[Any], ...]) -> Observation:
        """An observation of some of this one's steps (the same probe, read by another check).

        >>> from grader.observe.dns import DnsLookup
        >>> a, b = DnsLookup("a"), DnsLookup("b")
        >>> Observation.ready([a, b], ["for a", "for b"]).subset((b,)).results()
        ['for b']
        """
        picked: Future[list[Any]] = Future()

        def done(whole: Future[list[Any]]) -> None:
            error = whole.exception()
            if error is not None:
                picked.set_exception(error)
            else:
                results = whole.result()
                picked.set_result([results[self._steps.index(step)] for step in steps])

        self._results.add_done_callback(done)
        return Observation(steps, picked)

    def results(self) -> list[Any]:
        """Every step's result, in order; re-raises what stopped the probe (a missing
        container fails the check, an engine error makes it an ``error``)."""
        __tracebackhide__ = True
        return self._results.result()

    def of(self, step: ProbeStep[Any]) -> Any:
        """The result of ``step`` (steps are values: an equal step finds it)."""
        __tracebackhide__ = True
        return self.results()[self._steps.index(step)]


class Lab:
    def __init__(
        self,
        engine: Engine,
        names: NameResolver,
        prober: Prober,
        *,
        exec_deadline_s: float = defaults.EXEC_DEADLINE_S,
        reinspect_wait_s: float = REINSPECT_WAIT_S,
    ) -> None:
        self.engine = engine
        self.names = names
        self.prober = prober
        self.exec_deadline_s = exec_deadline_s
        self.reinspect_wait_s = reinspect_wait_s
        self._pool: ThreadPoolExecutor | None = None
        self._observed: dict[tuple[str, ...], Any] = {}
        self._containers: dict[str, ContainerFacts | None] = {}
        self._networks: dict[str, NetworkFacts | None] = {}
        self._volumes: dict[str, VolumeFacts | None] = {}

    # -- objects, or None -------------------------------------------------------------------
    def find_container(self, name: str) -> ContainerFacts | None:
        if name not in self._containers:
            self._containers[name] = self.names.container(name)
        return self._containers[name]

    def find_network(self, name: str) -> NetworkFacts | None:
        if name not in self._networks:
            self._networks[name] = self.names.network(name)
        return self._networks[name]

    def find_volume(self, name: str) -> VolumeFacts | None:
        if name not in self._volumes:
            self._volumes[name] = self.names.volume(name)
        return self._volumes[name]

    def reinspect(self, container: ContainerFacts) -> ContainerFacts | None:
        """``container`` as the engine describes it now (never cached): to tell whether it
        stayed the same across an observation, or what became of it."""
        return self.engine.container(container.id)

    def container_by_reference(self, ref: str) -> ContainerFacts | None:
        """A container named in inspect data (a :class:`~grader.engine.facts.VolumesFrom`
        entry's ``container``, a link's target): a name or an id, looked up as the engine
        looks it up."""
        return self.engine.container(ref.lstrip("/"))

    # -- objects, or the check fails --------------------------------------------------------
    def container(self, name: str) -> ContainerFacts:
        __tracebackhide__ = True
        found = self.find_container(name)
        if found is None:
            expect.fail(m.CONTAINER_MISSING.format(name=name))
        return found

    def running_container(self, name: str) -> ContainerFacts:
        __tracebackhide__ = True
        found = self.container(name)
        expect.running(found)
        return found

    def network(self, name: str) -> NetworkFacts:
        __tracebackhide__ = True
        found = self.find_network(name)
        if found is None:
            expect.fail(m.NETWORK_MISSING.format(name=name))
        return found

    def volume(self, name: str) -> VolumeFacts:
        __tracebackhide__ = True
        found = self.find_volume(name)
        if found is None:
            expect.fail(m.VOLUME_MISSING.format(name=name))
        return found

    def image(self, ref: str) -> ImageFacts:
        __tracebackhide__ = True
        found = self.names.image(ref)
        if found is None:
            expect.fail(m.IMAGE_MISSING.format(name=ref))
        return found

    def image_of(self, container: ContainerFacts) -> ImageFacts:
        """The image ``container`` runs, by its id (a tag may point elsewhere since)."""
        __tracebackhide__ = True
        found = self.engine.image(container.image_id)
        if found is None:
            expect.fail(m.IMAGE_MISSING.format(name=container.image or container.image_id))
        return found

    # -- files (archive API: no shell needed, nothing written) ------------------------------
    def path_in(self, container: ContainerFacts, path: str) -> PathFacts:
        """What is at ``path`` inside ``container``."""
        return self._memo(
            ("container", container.id, path), lambda: stat_path(self.engine, container.id, path)
        )

    def path_in_volume(self, volume: VolumeFacts, path: str) -> PathFacts:
        """What is at ``path`` (relative to the volume's root) in ``volume``."""

        def look() -> PathFacts:
            reader, inside = self.prober.readers.volume_path(volume.name, path)
            return replace(stat_path(self.engine, reader, inside), path=path)

        return self._memo(("volume", volume.name, path), look)

    def host_path(self, path: str) -> PathFacts:
        """What is at absolute ``path`` on the engine host (read through a reader container,
        so a remote engine's host is meant, not the grader's)."""

        def look() -> PathFacts:
            located = self.prober.readers.host_path(path)
            if located is None:
                return PathFacts.missing(path)
            return replace(stat_path(self.engine, *located), path=path)

        return self._memo(("host", path), look)

    def host_tar(self, path: str, max_bytes: int) -> TarListing:
        """The members of the tar archive (plain or compressed) at engine-host ``path``."""
        located = self.prober.readers.host_path(path)
        if located is None:
            return TarListing(PathFacts.missing(path), problem="missing")
        listing = list_tar(self.engine, *located, max_bytes=max_bytes)
        return replace(listing, file=replace(listing.file, path=path))

    def main_process_user(self, container: ContainerFacts) -> ProcessUser:
        """Who ``container``'s PID 1 runs as (the one observation that runs a command in a
        student's container; see :mod:`grader.observe.process`). A command the engine
        accepted that does not finish by its deadline fails the check: the student's
        container does not respond."""
        __tracebackhide__ = True
        expect.running(container)

        def look() -> ProcessUser:
            try:
                return main_process_user(self.engine, container.id, self.exec_deadline_s)
            except ObservationError as problem:
                self._blame(container, hung=isinstance(problem, ProbeTimeout))
                raise

        return self._memo(("user", container.id), look)

    def _memo(self, key: tuple[str, ...], observe: Callable[[], T]) -> T:
        if key not in self._observed:
            self._observed[key] = observe()
        return self._observed[key]  # type: ignore[no-any-return]

    # -- probes -----------------------------------------------------------------------------
    def from_inside(self, container: ContainerFacts, *steps: ProbeStep[Any]) -> list[Any]:
        """Run ``steps`` in one probe sharing ``container``'s network namespace."""
        __tracebackhide__ = True
        expect.running(container)
        site = ProbeSite(
            network_mode=f"container:{container.id}",
            description=f"netns {container.name}",
        )
        try:
            return self.prober.run(site, steps)
        except ObservationError:
            self._blame(container, hung=False)
            raise

    def _blame(self, container: ContainerFacts, *, hung: bool) -> None:
        """A probe or a command about ``container`` failed: fail the check if that is the
        container's doing, and return (the caller re-raises its ``error``) if not.

        A command the engine accepted but that did not finish by its deadline (``hung``)
        means the container does not respond: the student's. It is not inspected again: the
        engine answers nothing about a container while a command it started there is stuck.
        Otherwise the container is inspected again: gone, no longer running (stopped, paused,
        in a restart loop), or restarted since it was first seen (its probe could not join a
        namespace that died), it is the student's; unchanged, or an engine that does not
        answer, and the problem stays an ``error``.
        """
        __tracebackhide__ = True
        if hung:
            self._hung(container)
        answered, now = self._reinspect_within(container, self.reinspect_wait_s)
        if not answered:
            return
        if now is None:
            expect.fail(m.CONTAINER_GONE.format(name=container.name))
        expect.running(now)
        if (now.started_at, now.restart_count) != (container.started_at, container.restart_count):
            expect.fail(m.CONTAINER_RESTARTING.format(name=now.name, count=now.restart_count))

    def _hung(self, container: ContainerFacts) -> NoReturn:
        __tracebackhide__ = True
        deadline = f"{self.exec_deadline_s:g}"
        expect.fail(m.CONTAINER_HUNG.format(name=container.name, deadline=deadline))

    def _reinspect_within(
        self, container: ContainerFacts, wait_s: float
    ) -> tuple[bool, ContainerFacts | None]:
        """(whether the engine answered within ``wait_s``, what it said); an engine that does
        not answer in time is left to answer in the background."""
        answer: list[ContainerFacts | None] = []

        def ask() -> None:
            with contextlib.suppress(ObservationError):
                answer.append(self.reinspect(container))

        asking = threading.Thread(target=ask, daemon=True, name="reinspect")
        asking.start()
        asking.join(wait_s)
        return (True, answer[0]) if answer else (False, None)

    def from_engine_host(self, *steps: ProbeStep[Any]) -> list[Any]:
        """Run ``steps`` in one probe in the engine host's network namespace (127.0.0.1 is
        the engine host's loopback, where published ports listen)."""
        return self.prober.run(ProbeSite(network_mode="host", description="engine host"), steps)

    def observe_from(self, name: str, *steps: ProbeStep[Any]) -> Observation:
        """Start ``steps`` in one probe in container ``name``'s network namespace, in the
        background. A missing or stopped container is reported when the results are read."""
        try:
            container = self.running_container(name)
        except CheckFailed as missing:
            return Observation.failed(steps, missing)
        return self._start(steps, lambda: self.from_inside(container, *steps))

    def observe_published(
        self, name: str, container_port: int, host_port: int, path: str = "/"
    ) -> Observation:
        """Start, in the background, ``GET path`` on each of container ``name``'s bindings of
        ``container_port``/tcp to ``host_port``, from the engine host, each at the address
        that binding listens on (:func:`~grader.observe.http.published_url`). The results are
        :class:`~grader.observe.http.HttpResult`, one per distinct address (none when nothing
        is published there); :func:`~grader.judge.expect.published_answer` judges them."""
        (observation,) = self.observe_published_ports((name, container_port, host_port), path=path)
        return observation

    def observe_published_ports(
        self, *targets: tuple[str, int, int], path: str = "/"
    ) -> list[Observation]:
        """:meth:`observe_published` for several ``(container, container port, host port)``,
        made by one probe on the engine host (one observation per target, in order)."""
        wanted: list[tuple[HttpGet, ...] | CheckFailed] = []
        for name, container_port, host_port in targets:
            try:
                container = self.running_container(name)
            except CheckFailed as missing:
                wanted.append(missing)
                continue
            urls = dict.fromkeys(
                published_url(binding, path)
                for binding in container.published(container_port)
                if binding.host_port == host_port
            )
            wanted.append(tuple(HttpGet(url) for url in urls))
        every = tuple(dict.fromkeys(s for w in wanted if not isinstance(w, CheckFailed) for s in w))
        whole = (
            self._start(every, lambda: self.from_engine_host(*every))
            if every
            else Observation.ready([], [])
        )
        return [
            Observation.failed((), w) if isinstance(w, CheckFailed) else whole.subset(w)
            for w in wanted
        ]

    def observe_from_engine_host(self, *steps: ProbeStep[Any]) -> Observation:
        """Like :meth:`from_engine_host`, in the background."""
        return self._start(steps, lambda: self.from_engine_host(*steps))

    def _start(
        self, steps: tuple[ProbeStep[Any], ...], run: Callable[[], list[Any]]
    ) -> Observation:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="probe")
        return Observation(steps, self._pool.submit(run))

    def close(self) -> None:
        """Stop waiting for probes; the prober removes any still running."""
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
