"""The real engine: :class:`Engine` over the Docker SDK's low-level ``APIClient``.

The low-level client is used on purpose: it returns inspect JSON without building model
objects, one HTTP call per question, and every call inherits the client's timeout.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Collection, Iterator, Mapping
from datetime import datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from grader import defaults
from grader.engine.base import LabelSelector, Removed
from grader.engine.cache_guard import BuildsBeforeDeletes
from grader.engine.facts import (
    ContainerFacts,
    EngineInfo,
    ImageFacts,
    NetworkFacts,
    ServiceFacts,
    SwarmFacts,
    TaskFacts,
    VolumeFacts,
    tagged,
)
from grader.engine.probe import (
    ProbeMount,
    ProbeOutput,
    ProbeSpec,
    Standby,
    remove_quietly,
    run_in_standby,
    run_probe,
    start_standby,
)
from grader.errors import ObservationError
from grader.i18n import Text

if TYPE_CHECKING:
    import docker

    from grader.engine.sandbox import BuildOutcome, BuildSpec, SandboxSpec
    from grader.engine.swarm import ContainerSpec, ServiceSpec, VolumeMount

T = TypeVar("T")

#: How long a build past its deadline may take to let its connection go (the engine cancels
#: the build when it does).
_BUILD_LET_GO_S = 5.0


class DockerEngine:
    """An :class:`~grader.engine.base.Engine` backed by a live Docker Engine."""

    def __init__(self, api: docker.APIClient, info: EngineInfo) -> None:
        self._api = api
        self._info = info
        self._cache_guard = BuildsBeforeDeletes()

    @property
    def info(self) -> EngineInfo:
        return self._info

    @property
    def api(self) -> docker.APIClient:
        """The SDK client, for the few callers that build images (tests, stand-ins)."""
        return self._api

    # -- inspect ---------------------------------------------------------------------------
    def container(self, ref: str) -> ContainerFacts | None:
        """Inspect ``ref``, noting the engine's clock at the answer (its ``Date`` header):
        how long a container has been running is only known on the engine's own clock."""
        from docker.errors import NotFound

        def call() -> ContainerFacts | None:
            try:
                response = self._api._get(self._api._url("/containers/{0}/json", ref))
                data = self._api._result(response, json=True)
            except NotFound:
                return None
            return ContainerFacts.from_inspect(data, _http_date(response.headers.get("Date")))

        return self._call(f"inspect {ref}", call)

    def containers(self, labels: LabelSelector) -> list[ContainerFacts]:
        summaries = self._call(
            "list containers",
            lambda: self._api.containers(all=True, filters={"label": _selector(labels)}),
        )
        found = (self.container(summary["Id"]) for summary in summaries)
        return [facts for facts in found if facts is not None]

    def network(self, ref: str) -> NetworkFacts | None:
        data = self._inspect(self._api.inspect_network, ref)
        return None if data is None else NetworkFacts.from_inspect(data)

    def networks(self, labels: LabelSelector) -> list[NetworkFacts]:
        summaries = self._call(
            "list networks",
            lambda: self._api.networks(filters={"label": _selector(labels)}),
        )
        return [NetworkFacts.from_inspect(summary) for summary in summaries]

    def volume(self, name: str) -> VolumeFacts | None:
        data = self._inspect(self._api.inspect_volume, name)
        return None if data is None else VolumeFacts.from_inspect(data)

    def volumes(self, labels: LabelSelector) -> list[VolumeFacts]:
        answer = self._call(
            "list volumes",
            lambda: self._api.volumes(filters={"label": _selector(labels)}),
        )
        return [VolumeFacts.from_inspect(v) for v in (answer or {}).get("Volumes") or ()]

    def image(self, ref: str) -> ImageFacts | None:
        data = self._inspect(self._api.inspect_image, ref)
        return None if data is None else ImageFacts.from_inspect(data)

    def images(self, labels: LabelSelector) -> list[ImageFacts]:
        summaries = self._call(
            "list images", lambda: self._api.images(filters={"label": _selector(labels)})
        )
        found = (self.image(summary["Id"]) for summary in summaries)
        return [facts for facts in found if facts is not None]

    # -- swarm -----------------------------------------------------------------------------
    def swarm(self) -> SwarmFacts:
        info = self._call("info", self._api.info)
        return SwarmFacts.from_info(info.get("Swarm") or {})

    def service(self, ref: str) -> ServiceFacts | None:
        data = self._inspect(self._api.inspect_service, ref)
        return None if data is None else ServiceFacts.from_inspect(data)

    def services(self, labels: LabelSelector) -> list[ServiceFacts]:
        found = self._call(
            "list services", lambda: self._api.services(filters={"label": _selector(labels)})
        )
        return [ServiceFacts.from_inspect(data) for data in found]

    def tasks(self, service_id: str) -> list[TaskFacts]:
        found = self._call(
            f"list tasks of {service_id}",
            lambda: self._api.tasks(filters={"service": service_id}),
        )
        # The filter matches by name prefix too: keep the service's own tasks only.
        return [t for t in map(TaskFacts.from_inspect, found) if t.service_id == service_id]

    def init_swarm(self) -> None:
        """Make this engine a single-node swarm's manager, reachable on its loopback only
        (a lab's swarm has no other node; nothing listens outside the engine host)."""
        self._call(
            "swarm init",
            lambda: self._api.init_swarm(
                advertise_addr="127.0.0.1", listen_addr="127.0.0.1:2377", force_new_cluster=False
            ),
        )

    def leave_swarm(self) -> None:
        self._call("swarm leave", lambda: self._api.leave_swarm(force=True))

    def create_network(
        self, name: str, driver: str, *, attachable: bool, labels: Mapping[str, str]
    ) -> str:
        created = self._call(
            f"create network {name}",
            lambda: self._api.create_network(
                name, driver=driver, attachable=attachable or None, labels=dict(labels)
            ),
        )
        return str(created["Id"])

    def create_volume(
        self, name: str, driver: str, options: Mapping[str, str], labels: Mapping[str, str]
    ) -> None:
        self._call(
            f"create volume {name}",
            lambda: self._api.create_volume(
                name, driver=driver, driver_opts=dict(options), labels=dict(labels)
            ),
        )

    def create_service(self, spec: ServiceSpec) -> str:
        from docker.types import (
            ContainerSpec as SdkContainerSpec,
        )
        from docker.types import (
            EndpointSpec,
            Healthcheck,
            NetworkAttachmentConfig,
            ServiceMode,
            TaskTemplate,
        )

        container = SdkContainerSpec(
            spec.image,
            command=list(spec.command) if spec.command is not None else None,
            labels=dict(spec.labels),
            mounts=[_sdk_mount(m) for m in spec.mounts],
            healthcheck=Healthcheck(test=["NONE"]) if spec.no_healthcheck else None,
        )
        template = TaskTemplate(
            container,
            networks=[
                NetworkAttachmentConfig(a.network, aliases=list(a.aliases) or None)
                for a in spec.networks
            ],
        )
        endpoint = EndpointSpec(
            mode=spec.endpoint_mode,
            ports=[
                {
                    "Protocol": p.protocol,
                    "TargetPort": p.target,
                    "PublishedPort": p.published,
                    "PublishMode": p.mode,
                }
                for p in spec.ports
            ],
        )
        created = self._call(
            f"create service {spec.name}",
            lambda: self._api.create_service(
                template,
                name=spec.name,
                labels=dict(spec.labels),
                mode=ServiceMode("replicated", replicas=spec.replicas),
                endpoint_spec=endpoint,
            ),
        )
        return str(created["ID"])

    def remove_services(self, labels: LabelSelector) -> int:
        found = self._call(
            "list services", lambda: self._api.services(filters={"label": _selector(labels)})
        )
        for data in found:
            self._quietly(self._api.remove_service, data["ID"])
        return len(found)

    def start_container(self, spec: ContainerSpec) -> str:
        networks = list(spec.networks)
        first = networks[0] if networks else None
        host_config = self._api.create_host_config(
            network_mode=first.network if first is not None else None,
            mounts=[_sdk_mount(m) for m in spec.mounts],
            links={link: link for link in spec.links} or None,
        )
        networking = (
            self._api.create_networking_config(
                {first.network: self._api.create_endpoint_config(aliases=list(first.aliases))}
            )
            if first is not None
            else None
        )
        created = self._call(
            f"create container {spec.name}",
            lambda: self._api.create_container(
                spec.image,
                command=list(spec.command) if spec.command is not None else None,
                name=spec.name,
                labels=dict(spec.labels),
                host_config=host_config,
                networking_config=networking,
                user=spec.user or "",
            ),
        )
        container_id = str(created["Id"])
        for other in networks[1:]:
            self._call(
                f"connect {spec.name} to {other.network}",
                lambda o=other: self._api.connect_container_to_network(
                    container_id, o.network, aliases=list(o.aliases) or None
                ),
            )
        self._call(f"start {spec.name}", lambda: self._api.start(container_id))
        return container_id

    def remove_network(self, name: str) -> bool:
        self._quietly(self._api.remove_network, name)
        return self.network(name) is None

    # -- actions ---------------------------------------------------------------------------
    def pull(self, ref: str, on_progress: Callable[[str], None] | None = None) -> None:
        """Pull ``ref``; raises the SDK's exception when the registry cannot be reached."""
        repository, _, tag = tagged(ref).rpartition(":")
        for event in self._api.pull(repository, tag, stream=True, decode=True):
            if "error" in event:
                from docker.errors import APIError

                raise APIError(str(event["error"]))
            if on_progress is not None and event.get("status"):
                progress = f" {event['progress']}" if event.get("progress") else ""
                on_progress(f"{event['status']}{progress}")

    def build_image(
        self, context: Path, tag: str, buildargs: Mapping[str, str], labels: Mapping[str, str]
    ) -> None:
        from docker.errors import BuildError

        log: list[str] = []
        stream = self._api.build(
            path=str(context),
            tag=tag,
            buildargs=dict(buildargs),
            labels=dict(labels),
            rm=True,
            forcerm=True,
            decode=True,
        )
        for event in stream:
            if "stream" in event:
                log.append(str(event["stream"]))
            if "error" in event:
                raise BuildError(str(event["error"]), "".join(log))

    def run_probe(self, spec: ProbeSpec) -> ProbeOutput:
        return run_probe(self._api, spec)

    def start_standby_probe(self, spec: ProbeSpec, lifetime_s: int) -> Standby:
        return start_standby(self._api, spec, lifetime_s)

    def run_in_standby_probe(self, standby: Standby, spec: ProbeSpec) -> ProbeOutput:
        return run_in_standby(self._api, standby, spec)

    def run_sandboxed(self, spec: SandboxSpec) -> ProbeOutput:
        from grader.engine.sandbox import run_sandboxed

        return run_sandboxed(self._api, spec)

    def tool_image(self, tag: str, labels: Mapping[str, str], context: Callable[[], bytes]) -> str:
        """The id of an image labelled with every one of ``labels``, built from the tar that
        ``context()`` makes (its Dockerfile included) and tagged ``tag`` when the engine has
        none."""
        from docker.errors import BuildError

        from grader.engine.sandbox import BuildSpec

        def find() -> str | None:
            found = self._call(
                "list images",
                lambda: self._api.images(filters={"label": _selector(labels)}, quiet=True),
            )
            return str(found[0]) if found else None

        existing = find()
        if existing is not None:
            return existing
        outcome = self.build_bounded(
            BuildSpec(context=context(), dockerfile="Dockerfile", tag=tag, labels=dict(labels))
        )
        if outcome.image_id is None:
            raise ObservationError(
                _engine_failed("build", BuildError(outcome.problem or "no image", outcome.log))
            )
        return outcome.image_id

    def build_bounded(self, spec: BuildSpec) -> BuildOutcome:
        """Build ``spec`` with the engine's classic builder, which takes resource limits (the
        Engine API's ``/build``; BuildKit's sessions take none), within ``spec.deadline_s``:
        past it the request is dropped, which cancels the build on the engine."""
        import json

        from grader.engine.sandbox import BuildOutcome

        params: dict[str, Any] = {
            "dockerfile": spec.dockerfile,
            "rm": 1,
            "forcerm": 1,
            "nocache": int(spec.no_cache),
            "pull": int(spec.pull),
            "labels": json.dumps(dict(spec.labels)),
            "buildargs": json.dumps(dict(spec.buildargs)),
        }
        if spec.tag:
            params["t"] = spec.tag
        if spec.target:
            params["target"] = spec.target
        if spec.memory_bytes:
            params |= {"memory": spec.memory_bytes, "memswap": spec.memory_bytes}
        if spec.cpus:
            params |= {"cpuperiod": 100_000, "cpuquota": int(spec.cpus * 100_000)}
        log = _BoundedLog(spec.log_limit)
        outcome: dict[str, Any] = {}

        def run() -> None:
            try:
                response = self._api._post(
                    self._api._url("/build"),
                    data=spec.context,
                    params=params,
                    headers={"Content-Type": "application/x-tar"},
                    stream=True,
                    timeout=spec.deadline_s + 5,
                )
                outcome["response"] = response
                self._api._raise_for_status(response)
                for event in self._api._stream_helper(response, decode=True):
                    if "stream" in event:
                        log.add(str(event["stream"]))
                    if "aux" in event and isinstance(event["aux"], dict):
                        outcome["id"] = event["aux"].get("ID")
                    if "error" in event:
                        outcome["error"] = str(event["error"])
            except Exception as exc:  # the engine's or the connection's: the build failed
                outcome["error"] = getattr(exc, "explanation", None) or str(exc)

        with self._cache_guard.building(spec.deadline_s + _BUILD_LET_GO_S):
            started = time.monotonic()  # a wait for image deletes is not the build's time
            worker = threading.Thread(target=run, name="build", daemon=True)
            worker.start()
            worker.join(spec.deadline_s)
            if worker.is_alive():
                response = outcome.get("response")
                if response is not None:
                    with contextlib.suppress(Exception):
                        response.close()  # the engine cancels a build whose client went away
                worker.join(_BUILD_LET_GO_S)
                return BuildOutcome(None, log.text(), "timeout", time.monotonic() - started, True)
        duration = time.monotonic() - started
        if "error" in outcome or not outcome.get("id"):
            problem = outcome.get("error") or "the build gave no image"
            return BuildOutcome(None, log.text(), str(problem), duration)
        return BuildOutcome(str(outcome["id"]), log.text(), None, duration)

    def create_reader(
        self, image: str, mounts: tuple[ProbeMount, ...], labels: Mapping[str, str]
    ) -> str:
        from docker.errors import APIError
        from docker.types import Mount

        # The Mounts API, not Binds: a missing bind source is an error, never created.
        host_config = self._api.create_host_config(
            network_mode="none",
            mounts=[
                Mount(m.target, m.source, type="volume" if m.is_volume else "bind", read_only=True)
                for m in mounts
            ],
        )
        try:
            created = self._api.create_container(
                image, command=["true"], labels=dict(labels), host_config=host_config
            )
        except APIError as exc:
            if "does not exist" in str(exc.explanation or ""):
                raise FileNotFoundError(", ".join(m.source for m in mounts)) from exc
            raise ObservationError(_engine_failed("create reader", exc)) from exc
        return str(created["Id"])

    def archive(self, container_id: str, path: str, max_bytes: int) -> Iterator[bytes]:
        from docker.errors import DockerException, NotFound

        try:
            stream, _stat = self._api.get_archive(container_id, path, chunk_size=64 << 10)
        except NotFound:
            raise FileNotFoundError(path) from None
        except DockerException as exc:
            raise ObservationError(_engine_failed(f"archive {path}", exc)) from exc
        return _bounded(stream, max_bytes, path)

    def remove_containers(self, labels: LabelSelector, sparing: Collection[str] = ()) -> int:
        selector = {"label": _selector(labels)}
        listed = self._call(
            "list containers", lambda: self._api.containers(all=True, filters=selector)
        )
        containers = [summary for summary in listed if summary["Id"] not in sparing]
        kill_health_checked(self._api, containers)
        for summary in containers:
            remove_quietly(self._api, summary["Id"])
        return len(containers)

    def stop_health_checked(self, labels: LabelSelector) -> int:
        selector = {"label": _selector(labels)}
        containers = self._call("list containers", lambda: self._api.containers(filters=selector))
        return kill_health_checked(self._api, containers)

    def untag_images(self, labels: LabelSelector, repository_prefix: str) -> int:
        images = self._call(
            "list images", lambda: self._api.images(filters={"label": _selector(labels)})
        )
        tags = [
            tag
            for image in images
            for tag in image.get("RepoTags") or ()
            if tag.startswith(repository_prefix)
        ]
        if not tags:
            return 0
        with self._cache_guard.deleting():
            for tag in tags:
                # By tag and without force: the engine keeps an image that has other tags, or
                # that a container still uses.
                self._quietly(self._api.remove_image, tag)
        return len(tags)

    def remove_labelled(self, labels: LabelSelector) -> Removed:
        selector = {"label": _selector(labels)}
        containers = self.remove_containers(labels)
        networks = self._call("list networks", lambda: self._api.networks(filters=selector))
        for network in networks:
            self._quietly(self._api.remove_network, network["Id"])
        volumes = self._call("list volumes", lambda: self._api.volumes(filters=selector))
        volume_list = (volumes or {}).get("Volumes") or ()
        for volume in volume_list:
            self._quietly(self._api.remove_volume, volume["Name"], force=True)
        return Removed(containers, len(networks), len(volume_list))

    def ping(self) -> bool:
        from docker.errors import DockerException
        from requests.exceptions import RequestException

        try:
            response = self._api._get(self._api._url("/_ping"), timeout=defaults.CLEANUP_TIMEOUT_S)
            return response.status_code == 200
        except (DockerException, RequestException, OSError):
            return False

    def close(self) -> None:
        self._api.close()

    # -- plumbing --------------------------------------------------------------------------
    def _inspect(self, inspect: Callable[[str], dict[str, Any]], ref: str) -> dict[str, Any] | None:
        from docker.errors import NotFound

        def call() -> dict[str, Any] | None:
            try:
                return inspect(ref)
            except NotFound:
                return None

        return self._call(f"inspect {ref}", call)

    def _call(self, what: str, call: Callable[[], T]) -> T:
        from docker.errors import DockerException
        from requests.exceptions import RequestException

        try:
            return call()
        except (DockerException, RequestException) as exc:
            raise ObservationError(_engine_failed(what, exc)) from exc

    @staticmethod
    def _quietly(call: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        from docker.errors import DockerException

        with contextlib.suppress(DockerException):
            call(*args, **kwargs)


class _BoundedLog:
    """The first and last ``limit / 2`` characters of a build's log."""

    def __init__(self, limit: int) -> None:
        self._half = max(limit // 2, 1)
        self._head: list[str] = []
        self._head_size = 0
        self._tail = ""

    def add(self, text: str) -> None:
        if self._head_size < self._half:
            self._head.append(text[: self._half - self._head_size])
            self._head_size += len(self._head[-1])
            text = text[len(self._head[-1]) :]
        self._tail = (self._tail + text)[-self._half :]

    def text(self) -> str:
        return "".join(self._head) + self._tail


def _sdk_mount(mount: VolumeMount) -> Any:
    from docker.types import Mount

    return Mount(mount.target, mount.source or None, type=mount.type, read_only=mount.read_only)


def _http_date(value: str | None) -> datetime | None:
    """An HTTP ``Date`` header as an aware datetime, ``None`` when absent or unreadable."""
    if not value:
        return None
    try:
        return parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None


def _selector(labels: LabelSelector) -> list[str]:
    return [key if value is None else f"{key}={value}" for key, value in labels.items()]


def _bounded(stream: Iterator[bytes], max_bytes: int, path: str) -> Iterator[bytes]:
    seen = 0
    for chunk in stream:
        seen += len(chunk)
        if seen > max_bytes:
            raise ObservationError(
                Text(
                    fr=f"{path} dépasse {max_bytes} octets : lecture abandonnée",
                    en=f"{path} is larger than {max_bytes} bytes: reading stopped",
                )
            )
        yield chunk


def _engine_failed(what: str, exc: Exception) -> Text:
    reason = getattr(exc, "explanation", None) or str(exc) or type(exc).__name__
    return Text(
        fr=f"le moteur Docker n'a pas répondu ({what}) : {reason}",
        en=f"the Docker Engine did not answer ({what}): {reason}",
    )


def kill_health_checked(api: docker.APIClient, containers: list[dict[str, Any]]) -> int:
    """Kill the running, health-checked ones of ``containers`` (summaries from a listing), wait
    (bounded) until they have stopped, then :data:`~grader.defaults.HEALTH_PROBE_GRACE_S`:
    :meth:`grader.engine.base.Engine.stop_health_checked` says why. Returns how many."""
    from docker.errors import DockerException

    # A container's listing shows "(healthy)", "(unhealthy)" or "(health: starting)" while
    # its health monitor runs, and only then.
    checked = [
        c["Id"]
        for c in containers
        if c.get("State") == "running" and "health" in str(c.get("Status", ""))
    ]
    for container_id in checked:
        with contextlib.suppress(DockerException):
            api.kill(container_id)
    deadline = time.monotonic() + defaults.CLEANUP_TIMEOUT_S
    for container_id in checked:
        while time.monotonic() < deadline:
            try:
                state = api.inspect_container(container_id)["State"]
            except DockerException:
                break  # gone already
            if not state.get("Running"):
                break
            time.sleep(0.05)
    if checked:
        time.sleep(defaults.HEALTH_PROBE_GRACE_S)
    return len(checked)
