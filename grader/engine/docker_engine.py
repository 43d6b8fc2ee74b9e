"""The real engine: :class:`Engine` over the Docker SDK's low-level ``APIClient``.

The low-level client is used on purpose: it returns inspect JSON without building model
objects, one HTTP call per question, and every call inherits the client's timeout.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from grader import defaults
from grader.engine.base import LabelSelector, Removed
from grader.engine.facts import (
    ContainerFacts,
    EngineInfo,
    ImageFacts,
    NetworkFacts,
    VolumeFacts,
    tagged,
)
from grader.engine.probe import (
    ProbeMount,
    ProbeOutput,
    ProbeSpec,
    remove_quietly,
    run_probe,
)
from grader.errors import ObservationError, ProbeTimeout
from grader.i18n import Text

if TYPE_CHECKING:
    import docker

T = TypeVar("T")


class DockerEngine:
    """An :class:`~grader.engine.base.Engine` backed by a live Docker Engine."""

    def __init__(self, api: docker.APIClient, info: EngineInfo) -> None:
        self._api = api
        self._info = info

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

    def exec_in(self, container_id: str, argv: list[str], deadline_s: float) -> tuple[int, bytes]:
        """Run ``argv`` in a student's container, bounded by ``deadline_s``.

        The Engine API cannot kill an exec'd process, so a command that does not finish is
        abandoned at the deadline. Once the engine has accepted the command (the exec is
        created), that is a :class:`~grader.errors.ProbeTimeout`: the command did not finish in
        the container (the caller, who knows whose container it is, decides whose fault that
        is); an engine that did not even accept it is a plain observation error. The output is
        read as it comes and kept up to :data:`~grader.defaults.EXEC_OUTPUT_LIMIT` bytes: past
        that, reading stops (the container is the student's, and may print without end).
        """
        from docker.errors import DockerException

        result: dict[str, Any] = {}
        limit = defaults.EXEC_OUTPUT_LIMIT

        def run() -> None:
            try:
                exec_id = self._api.exec_create(container_id, argv, stdout=True, stderr=True)
                result["created"] = True
                output = bytearray()
                stream = self._api.exec_start(exec_id, stream=True)
                try:
                    for chunk in stream:
                        output += chunk[: limit - len(output)]
                        if len(output) >= limit:
                            break
                finally:
                    close = getattr(stream, "close", None)
                    if close is not None:
                        close()
                result["output"] = bytes(output)
                result["code"] = self._api.exec_inspect(exec_id).get("ExitCode")
            except DockerException as exc:
                result["error"] = exc

        worker = threading.Thread(target=run, daemon=True)
        worker.start()
        worker.join(deadline_s)
        if worker.is_alive():
            if result.get("created"):
                raise ProbeTimeout(" ".join(argv), deadline_s)
            raise ObservationError(_engine_failed(f"exec {argv[0]}", TimeoutError(deadline_s)))
        if "error" in result:
            raise ObservationError(_engine_failed(f"exec {argv[0]}", result["error"]))
        code = result.get("code")
        return (-1 if code is None else int(code)), bytes(result.get("output") or b"")

    def remove_containers(self, labels: LabelSelector) -> int:
        selector = {"label": _selector(labels)}
        containers = self._call(
            "list containers", lambda: self._api.containers(all=True, filters=selector)
        )
        for summary in containers:
            remove_quietly(self._api, summary["Id"])
        return len(containers)

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
