"""Probe containers: short-lived busybox containers that look at the lab from the inside.

A probe is created with ``AutoRemove``, attached before it starts (so no output is lost and
the engine removes it even if the grader dies), read until it exits, and killed by a watchdog
at its deadline. Every probe is labelled; whatever ends a probe early (deadline, output cap,
Ctrl-C, an engine error) force-removes it before the exception leaves this module.
"""

from __future__ import annotations

import contextlib
import secrets
import socket
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
    last_line: bytes = b""
    """The line the script prints last, if it says so: a standby's output is read until that
    line ends it, not until the probe has exited (the engine's end of a container comes tens
    of milliseconds later)."""


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


@dataclass(frozen=True, eq=False)
class Standby:
    """A started standby probe: its container, and the connection attached to it, on which
    its script goes in (the probe's stdin) and the script's output comes back."""

    container_id: str
    channel: Any
    """The attached socket, as the Docker SDK returns it (``attach_socket``)."""

    def release(self) -> None:
        """Close the connection: a standby no script was sent to then sees the end of its
        stdin, and ends (the engine removes it)."""
        _close_channel(self.channel)


#: The standby's main process: it keeps the probe's stdin (``sh`` gives an asynchronous
#: command /dev/null otherwise), runs the one script sent there in a shell it waits for, and
#: ends with that shell, at the end of its stdin, or at its lifetime (the watcher signals it;
#: PID 1 gets only the signals it traps).
_STANDBY_MAIN = "exec 3<&0; trap 'exit 0' TERM; (sleep {lifetime}; kill 1) & sh -s <&3 & wait $!"


def start_standby(api: docker.APIClient, spec: ProbeSpec, lifetime_s: int) -> Standby:
    """Create and start a probe at ``spec``'s site that waits for one script on its stdin
    (see :func:`run_in_standby`), at most ``lifetime_s``. It is attached before it starts, as
    every probe is. Its main process ends on SIGTERM (its lifetime's watcher sends it one), so
    it never shares another container's PID namespace, where PID 1 is that container's."""
    from docker.errors import DockerException
    from requests.exceptions import RequestException

    if spec.pid_mode:
        raise ValueError(f"a standby probe has a PID namespace of its own, not {spec.pid_mode}")
    try:
        created = api.create_container(
            spec.image,
            command=["sh", "-c", _STANDBY_MAIN.format(lifetime=int(lifetime_s))],
            stdin_open=True,  # and StdinOnce: its stdin closes when this connection does
            labels=dict(spec.labels),
            host_config=_host_config(api, spec),
            network_disabled=spec.network_mode == "none",
        )
    except (DockerException, RequestException) as exc:
        raise ObservationError(_engine_refused(spec.purpose, exc)) from exc
    channel = None
    try:
        channel = api.attach_socket(
            created["Id"], params={"stdin": 1, "stdout": 1, "stderr": 1, "stream": 1}
        )
        api.start(created["Id"])
    except (DockerException, RequestException, OSError) as exc:
        if channel is not None:
            _close_channel(channel)
        remove_quietly(api, created["Id"])
        raise ObservationError(_engine_refused(spec.purpose, exc)) from exc
    return Standby(str(created["Id"]), channel)


class StandbyGone(ObservationError):
    """The standby probe is no longer there to run a script (it ended, or was removed): a
    matter of the grader's, to be made up with a probe of its own."""


def run_in_standby(api: docker.APIClient, standby: Standby, spec: ProbeSpec) -> ProbeOutput:
    """Run ``spec.script`` in ``standby`` (:func:`start_standby`), within ``spec``'s deadline
    and output limit: it goes in on the probe's stdin (no ``docker exec``: the shell that runs
    it is already there), its output is read up to ``spec.last_line``, and the probe ends with
    it (the engine removes it). Whatever ends the script early removes the probe. A standby
    that does not say the script arrived is gone (:class:`StandbyGone`): it ran none of it."""
    from docker.utils.socket import demux_adaptor, frames_iter

    started = time.monotonic()
    expired = threading.Event()

    def expire() -> None:
        expired.set()  # before removing: the reader wakes up as soon as the probe dies
        remove_quietly(api, standby.container_id)
        standby.release()  # and wakes up even on a connection the engine does not close

    # First a line that says the script arrived (what comes back without it never ran); then
    # the script, parsed whole before it runs (a compound command), with an stdin of its own:
    # nothing it starts can read what follows it; then the shell leaves.
    arrived_line = f"@@{secrets.token_hex(8)}:arrived"
    arrived = f"{arrived_line}\n".encode()
    script = f"echo '{arrived_line}'\n{{\n{spec.script}\n}} </dev/null\nexit 0\n".encode()
    watchdog = threading.Timer(spec.deadline_s, expire)
    watchdog.daemon = True
    finished = False
    try:
        watchdog.start()  # before sending: a probe that does not read its stdin is bounded too
        try:
            _send(standby.channel, script)
        except OSError as exc:
            if expired.is_set():
                raise ProbeTimeout(spec.purpose, spec.deadline_s) from exc
            raise StandbyGone(_engine_refused(spec.purpose, exc)) from exc
        # (stdout, stderr) pairs; closing them leaves the connection open, to be let go below,
        # once the probe is removed if it has to be.
        frames = (demux_adaptor(*frame) for frame in frames_iter(standby.channel, tty=False))
        stdout, stderr, truncated = _read(frames, spec.output_limit, spec.last_line)
        if expired.is_set():
            raise ProbeTimeout(spec.purpose, spec.deadline_s)
        if not stdout.startswith(arrived):
            raise StandbyGone(
                Text(
                    fr=f"la sonde « {spec.purpose} » n'était plus là",
                    en=f"probe '{spec.purpose}' was no longer there",
                )
            )
        finished = not truncated
        return ProbeOutput(
            stdout=stdout[len(arrived) :],
            stderr=stderr,
            truncated=truncated,
            duration_s=time.monotonic() - started,
        )
    except OSError as exc:  # the connection broke while reading
        raise ObservationError(_engine_refused(spec.purpose, exc)) from exc
    finally:
        watchdog.cancel()
        if not finished:  # removed before it is let go, which would end it (see Prober.close)
            remove_quietly(api, standby.container_id)
        standby.release()


def _send(channel: Any, data: bytes) -> None:
    # The SDK gives a socket's file-like wrapper over a Unix socket or plain TCP, a socket
    # (TLS) or an SSH channel: all of them send through ``sendall`` of the one below.
    getattr(channel, "_sock", channel).sendall(data)


def _close_channel(channel: Any) -> None:
    raw = getattr(channel, "_sock", channel)  # None once the wrapper is closed: done already
    if raw is None:
        return
    # Shut down, not only closed: the SDK's response object keeps the socket open otherwise
    # (and a reader blocked on it wakes up). Closed once each (they may be one object).
    shutdown = getattr(raw, "shutdown", None)
    if shutdown is not None:
        with contextlib.suppress(OSError):
            shutdown(socket.SHUT_RDWR)
    for close in dict.fromkeys((raw.close, channel.close)):
        with contextlib.suppress(OSError):
            close()


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


def _read(stream: Any, limit: int, last_line: bytes = b"") -> tuple[bytes, bytes, bool]:
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
            if last_line and out and stdout.endswith(last_line):
                break
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
