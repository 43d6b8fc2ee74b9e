"""One Compose project on one engine, driven through the real ``docker compose`` CLI.

A project built from a student's files runs with :func:`untrusted_environment`: Compose reads
its own settings (``COMPOSE_*``) from the environment and from the project's ``.env``, and
interpolates every variable it is given into the model, so it gets a fixed environment that
pins every setting that matters, and nothing of the machine's.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

from grader.compose.binary import find_compose
from grader.compose.bounded import CommandResult, run_bounded


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
    env_file: Path | None = None
    """Given, Compose reads this file instead of the project folder's ``.env``."""

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
        if self.env_file is not None:
            argv += ["--env-file", str(self.env_file)]
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


def untrusted_environment(home: Path, host: str | None) -> dict[str, str]:
    """The whole environment of Compose on a student's project.

    ``home`` is an empty folder of the batch's own (the Docker CLI configuration Compose loads
    lives there: no credentials, no contexts). Every ``COMPOSE_*`` setting a project's ``.env``
    could change is pinned here, since a variable set in the environment wins over ``.env``;
    remote ``include``/``extends`` (which run ``git`` or reach a registry while the model is
    read) are turned off.
    """
    env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": str(home),
        "DOCKER_CONFIG": str(home / ".docker"),
        "LANG": "C.UTF-8",
        "COMPOSE_EXPERIMENTAL_GIT_REMOTE": "false",
        "COMPOSE_EXPERIMENTAL_OCI_REMOTE": "false",
        "COMPOSE_PROFILES": "",
        "COMPOSE_BAKE": "false",
        "COMPOSE_COMPATIBILITY": "false",
        "COMPOSE_REMOVE_ORPHANS": "false",
        "COMPOSE_IGNORE_ORPHANS": "false",
        "COMPOSE_MENU": "false",
        "COMPOSE_ANSI": "never",
        "COMPOSE_STATUS_STDOUT": "false",
        "COMPOSE_DISABLE_ENV_FILE": "false",
    }
    # How the batch reaches a TLS or SSH engine: the machine's settings, not the submission's
    # (ssh finds its keys and configuration through the user's passwd entry, not $HOME; an
    # agent is found through SSH_AUTH_SOCK).
    for key in ("DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH", "SSH_AUTH_SOCK"):
        if key in os.environ:
            env[key] = os.environ[key]
    if host:
        env["DOCKER_HOST"] = host
    return env
