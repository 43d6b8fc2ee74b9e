"""Probe containers: short-lived busybox containers that look at the lab from the inside.

A probe is created with ``AutoRemove``, attached before it starts (so no output is lost and
the engine removes it even if the grader dies), read until it exits, and killed by a watchdog
at its deadline. Every probe is labelled; whatever ends a probe early (deadline, output cap,
Ctrl-C, an engine error) force-removes it before the exception leaves this module.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from grader import defaults
from grader.errors import ObservationError, ProbeTimeout
from grader.i18n import Text

if TYPE_CHECKING:
    import docker


@dataclass(frozen=True)
class ProbeMount:
    """A host path or a named volume mounted into a probe: read-only, except for the folders
    tp-grader itself made (a demo's scratch folder, which it must remove)."""

    source: str
    """Absolute host path (bind) or volume name."""
    target: str
    is_volume: bool = False
    read_only: bool = True


@dataclass(frozen=True)
class ProbeSpec:
    """What one probe runs, where, and for how long.

    ``network_mode`` is ``container:<id>`` (join a container's network namespace), ``host``
    (the engine host's namespace) or ``none``. ``pid_mode`` is empty (a PID namespace of the
    probe's own) or ``container:<id>`` (join a container's: the probe's ``/proc`` shows its
    processes). ``userns_mode`` ``host`` puts the probe in the engine host's user namespace
    (where a container run with ``--userns=host`` on an engine that remaps users is).
    """

    image: str
    script: str
    purpose: str
    network_mode: str = "none"
    pid_mode: str = ""
    userns_mode: str = ""
    mounts: tuple[ProbeMount, ...] = ()
    deadline_s: float = defaults.PROBE_DEADLINE_S
    output_limit: int = defaults.PROBE_OUTPUT_LIMIT
    labels: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ProbeOutput:
    stdout: bytes
    stderr: bytes
    truncated: bool
    duration_s: float
    exit_code: int | None = None
    """The container's exit status, where it was asked for (an auto-removed probe's is not)."""


def run_probe(api: docker.APIClient, spec: ProbeSpec) -> ProbeOutput:
    """Run ``spec`` on the engine behind ``api`` and return what it printed."""
    from docker.errors import DockerException

    try:
        created = api.create_container(
            spec.image,
            command=["sh", "-c", spec.script],
            labels=dict(spec.labels),
            host_config=_host_config(api, spec),
            network_disabled=spec.network_mode == "none",
        )
    except DockerException as exc:
        raise ObservationError(_engine_refused(spec.purpose, exc)) from exc
    return run_created(api, created["Id"], spec.purpose, spec.deadline_s, spec.output_limit)


def start_standby(api: docker.APIClient, spec: ProbeSpec, lifetime_s: int) -> str:
    """Create and start a probe at ``spec``'s site that waits for a script (see
    :func:`run_in_standby`), at most ``lifetime_s``; return its id. Its main process ends on
    SIGTERM: the last thing a script run in it does is to send it one. So it never shares
    another container's PID namespace, where PID 1 is that container's."""
    from docker.errors import DockerException
    from requests.exceptions import RequestException

    if spec.pid_mode:
        raise ValueError(f"a standby probe has a PID namespace of its own, not {spec.pid_mode}")
    try:
        created = api.create_container(
            spec.image,
            command=["sh", "-c", f"trap 'exit 0' TERM; sleep {int(lifetime_s)} & wait"],
            labels=dict(spec.labels),
            host_config=_host_config(api, spec),
            network_disabled=spec.network_mode == "none",
        )
    except (DockerException, RequestException) as exc:
        raise ObservationError(_engine_refused(spec.purpose, exc)) from exc
    try:
        api.start(created["Id"])
    except (DockerException, RequestException) as exc:
        remove_quietly(api, created["Id"])
        raise ObservationError(_engine_refused(spec.purpose, exc)) from exc
    return str(created["Id"])


class StandbyGone(ObservationError):
    """The standby probe is no longer there to run a script (it outlived its lifetime): a
    matter of the grader's, to be made up with a probe of its own."""


def run_in_standby(api: docker.APIClient, container_id: str, spec: ProbeSpec) -> ProbeOutput:
    """Run ``spec.script`` in the standby probe ``container_id`` (:func:`start_standby`),
    within ``spec``'s deadline and output limit, then let the probe end (the engine removes
    it). Whatever ends the script early removes the probe."""
    from docker.errors import DockerException
    from requests.exceptions import RequestException

    started = time.monotonic()
    expired = threading.Event()

    def expire() -> None:
        expired.set()
        remove_quietly(api, container_id)

    try:
        # The script's last act: ending the probe's main process, so that nothing waits for
        # its lifetime once its one use is over.
        made = api.exec_create(
            container_id, ["sh", "-c", f"{spec.script}\nkill 1"], stdout=True, stderr=True
        )
    except (DockerException, RequestException) as exc:
        remove_quietly(api, container_id)
        raise _standby_failure(exc)(_engine_refused(spec.purpose, exc)) from exc
    watchdog = threading.Timer(spec.deadline_s, expire)
    watchdog.daemon = True
    finished = False
    try:
        try:
            stream = api.exec_start(made["Id"], stream=True, demux=True)
        except DockerException as exc:
            raise _standby_failure(exc)(_engine_refused(spec.purpose, exc)) from exc
        watchdog.start()
        stdout, stderr, truncated = _read(stream, spec.output_limit)
        if expired.is_set():
            raise ProbeTimeout(spec.purpose, spec.deadline_s)
        finished = not truncated
        return ProbeOutput(
            stdout=stdout,
            stderr=stderr,
            truncated=truncated,
            duration_s=time.monotonic() - started,
        )
    except DockerException as exc:
        raise ObservationError(_engine_refused(spec.purpose, exc)) from exc
    finally:
        watchdog.cancel()
        if not finished:
            remove_quietly(api, container_id)


def _standby_failure(exc: Exception) -> type[ObservationError]:
    """:class:`StandbyGone` when the engine says the standby is gone or no longer running (it
    ended meanwhile), a plain :class:`ObservationError` for anything else."""
    from docker.errors import APIError, NotFound

    gone = isinstance(exc, NotFound) or (isinstance(exc, APIError) and exc.status_code == 409)
    return StandbyGone if gone else ObservationError


def run_created(
    api: docker.APIClient,
    container_id: str,
    purpose: str,
    deadline_s: float,
    output_limit: int,
    before_start: Callable[[], None] | None = None,
    exit_code: bool = False,
) -> ProbeOutput:
    """Start the created container ``container_id`` and read what it prints until it exits,
    within ``deadline_s`` and ``output_limit``; whatever ends it early removes it.
    ``before_start`` runs once it is attached (to copy files in). With ``exit_code`` (for a
    container created without auto-remove), its exit status is read, then it is removed."""
    from docker.errors import DockerException

    started = time.monotonic()
    expired = threading.Event()

    def expire() -> None:
        expired.set()  # before removing: the reader wakes up as soon as the container dies
        remove_quietly(api, container_id)

    watchdog = threading.Timer(deadline_s, expire)
    watchdog.daemon = True
    finished = False
    try:
        stream = api.attach(container_id, stdout=True, stderr=True, stream=True, demux=True)
        if before_start is not None:
            before_start()
        api.start(container_id)
        watchdog.start()
        stdout, stderr, truncated = _read(stream, output_limit)
        if expired.is_set():
            raise ProbeTimeout(purpose, deadline_s)
        status = None
        if exit_code and not truncated:
            status = int(api.wait(container_id, timeout=deadline_s).get("StatusCode", -1))
        finished = not truncated and not exit_code
        return ProbeOutput(
            stdout=stdout,
            stderr=stderr,
            truncated=truncated,
            duration_s=time.monotonic() - started,
            exit_code=status,
        )
    except DockerException as exc:
        raise ObservationError(_engine_refused(purpose, exc)) from exc
    finally:
        watchdog.cancel()
        if not finished:
            remove_quietly(api, container_id)


def _host_config(api: docker.APIClient, spec: ProbeSpec) -> dict[str, Any]:
    binds = {
        mount.source: {"bind": mount.target, "mode": "ro" if mount.read_only else "rw"}
        for mount in spec.mounts
    }
    return api.create_host_config(  # type: ignore[no-any-return]
        auto_remove=True,
        network_mode=spec.network_mode,
        pid_mode=spec.pid_mode or None,
        userns_mode=spec.userns_mode or None,
        binds=binds or None,
        # Probes read files owned by any user (volume contents), nothing more.
        cap_drop=["ALL"],
        cap_add=["DAC_READ_SEARCH", "DAC_OVERRIDE"],
        security_opt=["no-new-privileges"],
        read_only=True,
        tmpfs={"/tmp": "size=8m"},
        mem_limit=defaults.PROBE_MEMORY,
        pids_limit=defaults.PROBE_PIDS,
    )


def _read(stream: Any, limit: int) -> tuple[bytes, bytes, bool]:
    stdout = bytearray()
    stderr = bytearray()
    try:
        for out, err in stream:
            if out:
                stdout += out
            if err:
                stderr += err
            if len(stdout) + len(stderr) > limit:
                return bytes(stdout[:limit]), bytes(stderr[:limit]), True
    finally:
        stream.close()
    return bytes(stdout), bytes(stderr), False


def remove_quietly(api: docker.APIClient, container_id: str) -> None:
    """Force-remove a container and its anonymous volumes; gone already, or being removed,
    is fine. A busy engine can fail a removal (a kill that times out, a call past the client's
    timeout): it is asked again, a bounded number of times, so that nothing is left behind."""
    from docker.errors import APIError, DockerException, NotFound
    from requests.exceptions import RequestException

    for attempt in range(defaults.REMOVE_ATTEMPTS):
        try:
            api.remove_container(container_id, force=True, v=True)
            return
        except NotFound:
            return
        except APIError as exc:
            if exc.status_code == 409:  # "removal already in progress": someone else's now
                return
        except (DockerException, RequestException, OSError):
            pass
        if attempt + 1 < defaults.REMOVE_ATTEMPTS:
            time.sleep(0.5 * 2**attempt)


def _engine_refused(purpose: str, exc: Exception) -> Text:
    reason = getattr(exc, "explanation", None) or str(exc)
    return Text(
        fr=f"le moteur n'a pas pu lancer la sonde « {purpose} » : {reason}",
        en=f"the engine could not run probe '{purpose}': {reason}",
    )
