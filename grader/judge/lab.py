"""The student's lab as a check sees it: named objects, and probes run from inside it.

A :class:`Lab` is handed to every check (the ``lab`` fixture). It resolves the exercise's
logical names (exact names, or Compose labels with ``--project``), caches what the engine said
for the length of the run (one consistent snapshot, and each object inspected once), and runs
probe steps from a container's network namespace, from its PID namespace or from the engine
host's. Nothing is ever run inside a student's container: what it runs is the student's.

Probes are the slow part of a run, and independent: :meth:`Lab.observe_from` starts one in the
background and returns an :class:`Observation`, so a checks module can start all its probes
together (one autouse fixture asking for them) and each check waits only for its own.

Methods named after the object (:meth:`container`, :meth:`network`...) fail the check when the
object is missing; the ``find_*`` variants return ``None`` instead.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import replace
from typing import Any, TypeVar

from grader import defaults
from grader.engine.base import Engine
from grader.engine.facts import (
    ContainerFacts,
    ImageFacts,
    NetworkFacts,
    ServiceFacts,
    SwarmFacts,
    VolumeFacts,
)
from grader.errors import ObservationError
from grader.i18n import Text
from grader.judge import expect
from grader.judge import messages as m
from grader.judge.outcome import CheckFailed
from grader.observe.files import PathFacts, read_file, stat_path
from grader.observe.http import HttpGet, published_url
from grader.observe.names import NameResolver
from grader.observe.prober import Prober
from grader.observe.process import ProcessUser, main_process, user_name
from grader.observe.retry import note_read, run_with_retries
from grader.observe.steps import ENGINE_HOST, ProbeStep, netns_site
from grader.observe.swarm import ServiceState, settle
from grader.observe.tarball import TarListing, list_tar
from grader.observe.tcp import TcpResult, TcpToContainer

T = TypeVar("T")

#: What :meth:`Lab.observe_from` takes: probe steps, and connections to a named container.
Step = ProbeStep[Any] | TcpToContainer
#: Each step's last result, and how many times it ran.
Attempted = tuple[list[Any], list[int]]

#: How long a failed observation waits for the engine to describe the container again.
REINSPECT_WAIT_S = 5.0


class Observation:
    """The results of one probe's steps, on their way, with how many times each step ran
    (:mod:`grader.observe.retry`).

    A step that could not be made (a :class:`~grader.observe.tcp.TcpToContainer` whose
    container is missing) holds the :class:`~grader.judge.outcome.CheckFailed` that says why,
    raised when its result is read.

    >>> from grader.observe.dns import DnsLookup
    >>> done = Observation.ready([DnsLookup("redis")], ["answer"])
    >>> done.of(DnsLookup("redis"))
    'answer'
    """

    def __init__(self, steps: tuple[Step, ...], results: Future[Attempted]) -> None:
        self._steps = steps
        self._results = results

    @classmethod
    def ready(
        cls, steps: list[Step], results: list[Any], attempts: list[int] | None = None
    ) -> Observation:
        future: Future[Attempted] = Future()
        future.set_result((results, attempts or [1] * len(results)))
        return cls(tuple(steps), future)

    @classmethod
    def failed(cls, steps: tuple[Step, ...], error: BaseException) -> Observation:
        future: Future[Attempted] = Future()
        future.set_exception(error)
        return cls(steps, future)

    def subset(self, steps: tuple[Step, ...]) -> Observation:
        """An observation of some of this one's steps (the same probe, read by another check).

        >>> from grader.observe.dns import DnsLookup
        >>> a, b = DnsLookup("a"), DnsLookup("b")
        >>> Observation.ready([a, b], ["for a", "for b"]).subset((b,)).results()
        ['for b']
        """
        picked: Future[Attempted] = Future()

        def done(whole: Future[Attempted]) -> None:
            error = whole.exception()
            if error is not None:
                picked.set_exception(error)
            else:
                results, attempts = whole.result()
                indexes = [self._steps.index(step) for step in steps]
                picked.set_result(([results[i] for i in indexes], [attempts[i] for i in indexes]))

        self._results.add_done_callback(done)
        return Observation(steps, picked)

    def results(self) -> list[Any]:
        """Every step's result, in order; re-raises what stopped the probe (a missing
        container fails the check, an engine error makes it an ``error``), or what kept a
        step from being made."""
        __tracebackhide__ = True
        results, attempts = self._results.result()
        for result, count in zip(results, attempts, strict=True):
            if isinstance(result, CheckFailed):
                raise result
            note_read(count)
        return results

    def of(self, step: Step) -> Any:
        """The result of ``step`` (steps are values: an equal step finds it)."""
        __tracebackhide__ = True
        results, attempts = self._results.result()
        index = self._steps.index(step)
        if isinstance(results[index], CheckFailed):
            raise results[index]
        note_read(attempts[index])
        return results[index]


class Lab:
    def __init__(
        self,
        engine: Engine,
        names: NameResolver,
        prober: Prober,
        *,
        reinspect_wait_s: float = REINSPECT_WAIT_S,
        retry_window_s: float = defaults.RETRY_WINDOW_S,
        containers: Mapping[str, ContainerFacts | None] | None = None,
    ) -> None:
        """``containers``: what the engine already said of some containers, by name, in this
        run (:func:`~grader.observe.ahead.start_probes_ahead`), so they are not asked again."""
        self.engine = engine
        self.names = names
        self.prober = prober
        self.reinspect_wait_s = reinspect_wait_s
        self.retry_window_s = retry_window_s
        self._pool: ThreadPoolExecutor | None = None
        self._observed: dict[tuple[str, ...], Any] = {}
        self._users: dict[str, Future[ProcessUser]] = {}
        self._containers: dict[str, ContainerFacts | None] = dict(containers or {})
        self._networks: dict[str, NetworkFacts | None] = {}
        self._volumes: dict[str, VolumeFacts | None] = {}
        self._swarm: SwarmFacts | None = None
        self._services: dict[str, ServiceFacts | None] = {}
        self._settled: dict[str, Future[ServiceState]] = {}
        self._notes: dict[Text, None] = {}
        self.converge_deadline_s = defaults.SERVICE_CONVERGE_S

    # -- notes ------------------------------------------------------------------------------
    def note(self, text: Text) -> None:
        """Tell the student something about how they were graded, in the report's notes (a
        check passed on what could be observed; what could not, is said here)."""
        self._notes[text] = None

    @property
    def notes(self) -> tuple[Text, ...]:
        return tuple(self._notes)

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

    # -- swarm ------------------------------------------------------------------------------
    def swarm(self) -> SwarmFacts:
        """The engine's place in a swarm, asked once per run."""
        if self._swarm is None:
            self._swarm = self.engine.swarm()
        return self._swarm

    def find_service(self, name: str) -> ServiceFacts | None:
        """A swarm service; ``None`` also when the engine is no swarm manager (only a manager
        can tell of services)."""
        if name not in self._services:
            self._services[name] = self.names.service(name) if self.swarm().manager else None
        return self._services[name]

    def service(self, name: str) -> ServiceFacts:
        __tracebackhide__ = True
        swarm = self.swarm()
        if not swarm.manager:
            expect.fail(m.NOT_A_SWARM_MANAGER.format(state=swarm.local_node_state))
        found = self.find_service(name)
        if found is None:
            expect.fail(m.SERVICE_MISSING.format(name=name))
        return found

    def settled(self, service: ServiceFacts) -> ServiceState:
        """``service`` once it converged, or as it is after the bounded wait
        (:func:`grader.observe.swarm.settle`); waited for once per run, and started early by
        :meth:`observe_settling`."""
        return self._settling(service).result()

    def observe_settling(self, *names: str) -> None:
        """Start waiting for services ``names`` to converge, in the background (a checks
        module's autouse fixture: the waits then overlap); missing ones are left to the
        checks that ask."""
        for name in names:
            found = self.find_service(name)
            if found is not None:
                self._settling(found)

    def _settling(self, service: ServiceFacts) -> Future[ServiceState]:
        if service.id not in self._settled:
            self._settled[service.id] = self._submit(
                lambda: settle(self.engine, service, deadline_s=self.converge_deadline_s)
            )
        return self._settled[service.id]

    def running_service(self, name: str) -> ServiceState:
        """Service ``name``, converged: as many tasks run as it wants. A service whose tasks
        keep stopping, or still converging after the bounded wait, fails the check, saying
        which."""
        __tracebackhide__ = True
        state = self.settled(self.service(name))
        if state.converged:
            return state
        values = {
            "name": name,
            "running": len(state.running),
            "wanted": state.wanted,
            "waited": state.waited_s,
        }
        if state.restarting:
            last = state.failed[-1]
            expect.fail(m.SERVICE_RESTARTING.format(**values, why=(last.error or last.state)[:200]))
        why = ""
        if state.pending:
            task = state.pending[0]
            why = f" ({task.state}: {(task.error or task.message)[:200]})"
        expect.fail(m.SERVICE_CONVERGING.format(**values, why=why))

    def task_container(self, task_container_id: str) -> ContainerFacts:
        """The container of a running task, on this node."""
        __tracebackhide__ = True
        found = self.engine.container(task_container_id)
        if found is None:
            expect.fail(m.CONTAINER_GONE.format(name=task_container_id[:12]))
        return found

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

    # -- processes (a probe in the container's PID namespace) -------------------------------
    def main_process_user(self, container: ContainerFacts) -> ProcessUser:
        """Who ``container``'s main process runs as: its uids as the kernel tells them to a
        probe in the container's PID namespace, and the name the container's /etc/passwd
        gives the effective one (see :mod:`grader.observe.process`). Started in the background
        by :meth:`observe_main_process_user`, or here."""
        __tracebackhide__ = True
        expect.running(container)
        return self._main_process_user(container).result()

    def observe_main_process_user(self, name: str) -> None:
        """Start :meth:`main_process_user` of container ``name`` in the background, for a
        checks module to start its probe early; a missing or stopped container is left to
        the check that asks."""
        container = self.find_container(name)
        if container is not None and container.running and not expect.restart_looping(container):
            self._main_process_user(container)

    def _main_process_user(self, container: ContainerFacts) -> Future[ProcessUser]:
        if container.id not in self._users:
            self._users[container.id] = self._submit(lambda: self._read_user(container))
        return self._users[container.id]

    def _read_user(self, container: ContainerFacts) -> ProcessUser:
        __tracebackhide__ = True
        where = main_process(container)
        if where is None:
            return ProcessUser(None, pid_namespace_of=container.pid_mode.partition(":")[2])
        site, status = where
        try:
            (uids,) = self.prober.run(site, [status])
        except ObservationError:
            self._blame(container)
            raise
        if uids is None:  # no Uid line: PID 1 exited (the container stopped), or the probe failed
            self._blame(container)
            raise ObservationError(
                Text(
                    fr=f"la sonde n'a pas pu lire /proc/{status.pid}/status de {container.name}",
                    en=f"the probe could not read /proc/{status.pid}/status of {container.name}",
                )
            )
        passwd = read_file(self.engine, container.id, "/etc/passwd", defaults.SMALL_FILE_LIMIT)
        return ProcessUser(uids, user_name(passwd or b"", uids.effective))

    def _memo(self, key: tuple[str, ...], observe: Callable[[], T]) -> T:
        if key not in self._observed:
            self._observed[key] = observe()
        return self._observed[key]  # type: ignore[no-any-return]

    # -- probes -----------------------------------------------------------------------------
    def from_inside(self, container: ContainerFacts, *steps: ProbeStep[Any]) -> list[Any]:
        """Run ``steps`` in one probe sharing ``container``'s network namespace."""
        __tracebackhide__ = True
        expect.running(container)
        try:
            return self.prober.run(netns_site(container), steps)
        except ObservationError:
            self._blame(container)
            raise

    def _blame(self, container: ContainerFacts) -> None:
        """A probe about ``container`` failed: fail the check if that is the container's
        doing, and return (the caller re-raises its ``error``) if not.

        The container is inspected again: gone, no longer running (stopped, paused, in a
        restart loop), or restarted since it was first seen (its probe could not join a
        namespace that died), it is the student's; unchanged, or an engine that does not
        answer, and the problem stays an ``error``.
        """
        __tracebackhide__ = True
        answered, now = self._reinspect_within(container, self.reinspect_wait_s)
        if not answered:
            return
        if now is None:
            expect.fail(m.CONTAINER_GONE.format(name=container.name))
        expect.running(now)
        if (now.started_at, now.restart_count) != (container.started_at, container.restart_count):
            expect.fail(m.CONTAINER_RESTARTING.format(name=now.name, count=now.restart_count))

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
        return self.prober.run(ENGINE_HOST, steps)

    def observe_from(self, name: str, *steps: Step) -> Observation:
        """Start ``steps`` in one probe in container ``name``'s network namespace, in the
        background. A missing or stopped container is reported when the results are read.

        A :class:`~grader.observe.tcp.TcpToContainer` connects to the address the engine gives
        its container on its network, looked up now; its result is a
        :class:`~grader.observe.tcp.TcpResult` naming that container, or, when the container
        is missing, stopped or not on that network, the reason, raised when it is read."""
        try:
            container = self.running_container(name)
        except CheckFailed as missing:
            return Observation.failed(steps, missing)
        return self.observe_in(container, *steps)

    def observe_in(self, container: ContainerFacts, *steps: Step) -> Observation:
        """:meth:`observe_from` a container already found (a swarm task's)."""
        made = [self._made(step) for step in steps]
        runnable = tuple(dict.fromkeys(s for s in made if not isinstance(s, CheckFailed)))

        def run() -> Attempted:
            results, attempts = (
                self._retried(lambda some: self.from_inside(container, *some), runnable)
                if runnable
                else ([], [])
            )
            seen = dict(zip(runnable, zip(results, attempts, strict=True), strict=True))
            return (
                [
                    probe_step
                    if isinstance(probe_step, CheckFailed)
                    else self._credited(step, seen[probe_step][0])
                    for step, probe_step in zip(steps, made, strict=True)
                ],
                [
                    1 if isinstance(probe_step, CheckFailed) else seen[probe_step][1]
                    for probe_step in made
                ],
            )

        return self._start(steps, run)

    def _made(self, step: Step) -> ProbeStep[Any] | CheckFailed:
        """The probe step that makes ``step``: itself, or the connection to the address of a
        :class:`~grader.observe.tcp.TcpToContainer`'s container (or why there is none)."""
        if not isinstance(step, TcpToContainer):
            return step
        try:
            return step.at(self._address(step.container, step.network))
        except CheckFailed as missing:
            return missing

    def _address(self, name: str, network_name: str) -> str:
        __tracebackhide__ = True
        network = self.network(network_name)
        endpoint = expect.attached(self.running_container(name), network)
        if not endpoint.ip_address:
            expect.fail(m.NO_ADDRESS.format(container=name, network=network.name))
        return endpoint.ip_address

    def _credited(self, step: Step, result: Any) -> Any:
        if isinstance(step, TcpToContainer) and isinstance(result, TcpResult):
            network = self.network(step.network)
            return replace(result, target=step.container, network=network.name)
        return result

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
            self._start(every, lambda: self._retried(lambda s: self.from_engine_host(*s), every))
            if every
            else Observation.ready([], [])
        )
        return [
            Observation.failed((), w) if isinstance(w, CheckFailed) else whole.subset(w)
            for w in wanted
        ]

    def observe_from_engine_host(self, *steps: ProbeStep[Any]) -> Observation:
        """Like :meth:`from_engine_host`, in the background."""
        return self._start(steps, lambda: self._retried(lambda s: self.from_engine_host(*s), steps))

    def _retried(
        self, run: Callable[[Sequence[ProbeStep[Any]]], list[Any]], steps: Sequence[ProbeStep[Any]]
    ) -> Attempted:
        """``run(steps)``, transient misses tried again within the retry window
        (:func:`~grader.observe.retry.run_with_retries`)."""
        return run_with_retries(run, steps, self.retry_window_s)

    def _start(self, steps: tuple[Step, ...], run: Callable[[], Attempted]) -> Observation:
        return Observation(steps, self._submit(run))

    def _submit(self, run: Callable[[], T]) -> Future[T]:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="probe")
        return self._pool.submit(run)

    def close(self) -> None:
        """Stop waiting for probes; the prober removes any still running."""
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
