"""Sandboxed tools: a program of tp-grader's own, run on the engine where nothing of the grading
machine exists, over files copied in through the Engine API.

A sandbox container has no network, a read-only root, no capability, ``no-new-privileges``, an
unprivileged user, memory, CPU and pids limits, and a deadline (the watchdog of
:func:`~grader.engine.probe.run_created`). Its one writable place is ``workspace``: a fresh
anonymous volume at that path, filled from a tar before the container starts (the engine
accepts files into a volume of a container whose root is read-only), and removed with the
container. The program sees those files and its own image, nothing else: that is what makes
``compose config`` on a student's files safe whatever Compose's path rules are
(:mod:`grader.batch.gate.confined`).
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from grader import defaults
from grader.engine.probe import ProbeOutput, remove_quietly, run_created
from grader.errors import ObservationError
from grader.i18n import Text

if TYPE_CHECKING:
    import docker


@dataclass(frozen=True)
class SandboxSpec:
    image: str
    """An image id (pinned: a tag could be moved between two runs)."""
    argv: tuple[str, ...]
    purpose: str
    workspace: str
    """Absolute path of the sandbox's one writable folder, filled from ``files``."""
    files: bytes
    """A tar of the workspace's content (paths relative to ``workspace``)."""
    environment: Mapping[str, str] = field(default_factory=dict)
    user: str = defaults.SANDBOX_USER
    memory_bytes: int = defaults.CONFIG_SANDBOX_MEMORY_BYTES
    cpus: float = defaults.CONFIG_SANDBOX_CPUS
    pids: int = defaults.CONFIG_SANDBOX_PIDS
    deadline_s: float = defaults.BATCH_CONFIG_TIMEOUT_S
    output_limit: int = defaults.CONFIG_MODEL_LIMIT
    labels: Mapping[str, str] = field(default_factory=dict)


def run_sandboxed(api: docker.APIClient, spec: SandboxSpec) -> ProbeOutput:
    """Run ``spec``; its output, with its exit status. Raises
    :class:`~grader.errors.ProbeTimeout` past the deadline,
    :class:`~grader.errors.ObservationError` when the engine refuses."""
    from docker.errors import DockerException
    from requests.exceptions import RequestException

    host_config = api.create_host_config(
        network_mode="none",
        read_only=True,
        cap_drop=["ALL"],
        security_opt=["no-new-privileges"],
        mem_limit=spec.memory_bytes,
        memswap_limit=spec.memory_bytes,  # no swap: the memory limit is the limit
        nano_cpus=int(spec.cpus * 1e9),
        pids_limit=spec.pids,
        log_config={"type": "none", "config": {}},
    )
    # Named, so that a create whose answer was lost (the client's timeout, on a busy engine)
    # still leaves a container this run can find and remove.
    name = f"tp-grader-sandbox-{secrets.token_hex(8)}"
    try:
        created = api.create_container(
            spec.image,
            command=list(spec.argv),
            name=name,
            user=spec.user,
            environment=dict(spec.environment),
            labels=dict(spec.labels),
            volumes=[spec.workspace],
            host_config=host_config,
            network_disabled=True,
        )
    except DockerException as exc:
        raise ObservationError(_refused(spec.purpose, exc)) from exc
    except RequestException as exc:
        remove_quietly(api, name)
        raise ObservationError(_refused(spec.purpose, exc)) from exc
    container_id: str = created["Id"]

    def copy_in() -> None:
        if not api.put_archive(container_id, spec.workspace, spec.files):
            raise ObservationError(_refused(spec.purpose, RuntimeError("files not copied in")))

    try:
        return run_created(
            api,
            container_id,
            spec.purpose,
            spec.deadline_s,
            spec.output_limit,
            before_start=copy_in,
            exit_code=True,
        )
    finally:
        remove_quietly(api, container_id)


def _refused(purpose: str, exc: Exception) -> Text:
    reason = getattr(exc, "explanation", None) or str(exc)
    return Text(
        fr=f"le moteur n'a pas pu lancer le bac à sable « {purpose} » : {reason}",
        en=f"the engine could not run sandbox '{purpose}': {reason}",
    )


@dataclass(frozen=True)
class BuildSpec:
    """One image build, bounded (:meth:`~grader.engine.docker_engine.DockerEngine.build_bounded`).

    The engine's classic builder runs each ``RUN`` step in a container with ``memory_bytes``
    and ``cpus``; it has no pids limit to give (see the README's threat model)."""

    context: bytes
    """The build context, as a tar (the Dockerfile inside it)."""
    dockerfile: str
    """The Dockerfile's path inside ``context``."""
    tag: str | None = None
    labels: Mapping[str, str] = field(default_factory=dict)
    buildargs: Mapping[str, str] = field(default_factory=dict)
    target: str | None = None
    no_cache: bool = False
    pull: bool = False
    memory_bytes: int = 0
    cpus: float = 0.0
    deadline_s: float = defaults.BATCH_BUILD_TIMEOUT_S
    log_limit: int = 64 << 10


@dataclass(frozen=True)
class BuildOutcome:
    image_id: str | None
    """The built image (``None``: no image)."""
    log: str
    """What the builder printed (head and tail kept)."""
    problem: str | None
    """Why there is no image: the builder's error, or ``timeout``."""
    duration_s: float
    timed_out: bool = False
