"""Who a container's main process runs as.

This is the one observation made by running a command inside a student's container, because
nothing else sees it: inspect data gives the user a container was *configured* with
(``Config.User``, which a wrapper script may drop or change), and ``docker top`` shows uids as
the engine host sees them (shifted under user-namespace remapping). Only the container's own
``/proc/1/status`` says which uid PID 1 really has. The command runs through a pytest-testinfra
host whose backend is the Engine API (no docker CLI, no shell, a deadline); the uid's name comes
from the container's ``/etc/passwd``, read with the archive API (no ``id`` binary needed).
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from grader import defaults
from grader.engine.base import Engine
from grader.observe.files import read_file

if TYPE_CHECKING:
    import testinfra.host
    from testinfra.backend.base import CommandResult


@dataclass(frozen=True)
class ProcessUser:
    uid: int | None
    """Effective uid of PID 1; ``None`` when it could not be read (no ``cat`` in the image)."""
    name: str | None
    """That uid's name in the container's /etc/passwd, if it has one."""
    detail: str = ""


def testinfra_host(engine: Engine, container_id: str, deadline_s: float) -> testinfra.host.Host:
    """A pytest-testinfra host running its commands in ``container_id`` through ``engine``.

    Commands are split like a shell would and executed directly: images without a shell work,
    and no shell syntax (pipes, redirections) is interpreted.
    """
    import testinfra.host
    from testinfra.backend.base import BaseBackend

    class EngineExecBackend(BaseBackend):
        NAME = "tp-grader-exec"

        def __init__(self) -> None:
            super().__init__(container_id)
            self._encoding = "utf-8"  # skip testinfra's probing for a Python in the image

        def run(self, command: str, *args: str, **kwargs: Any) -> CommandResult:
            line = self.get_command(command, *args)
            code, output = engine.exec_in(container_id, shlex.split(line), deadline_s)
            return self.result(code, self.encode(line), output, b"")

    return testinfra.host.Host(EngineExecBackend())


_UID_LINE = re.compile(r"^Uid:\s+(\d+)\s+(\d+)", re.MULTILINE)


def main_process_user(
    engine: Engine, container_id: str, deadline_s: float = defaults.EXEC_DEADLINE_S
) -> ProcessUser:
    status = testinfra_host(engine, container_id, deadline_s).run("cat /proc/1/status")
    found = _UID_LINE.search(status.stdout) if status.rc == 0 else None
    if found is None:
        return ProcessUser(None, None, status.stdout.strip()[-300:])
    uid = int(found.group(2))
    passwd = read_file(engine, container_id, "/etc/passwd", defaults.SMALL_FILE_LIMIT)
    return ProcessUser(uid, user_name(passwd or b"", uid))


def user_name(passwd: bytes, uid: int) -> str | None:
    """The first name /etc/passwd gives ``uid``.

    >>> user_name(b"root:x:0:0::/root:/bin/sh\\ngraphite:x:999:999::/:/bin/false\\n", 999)
    'graphite'
    """
    for line in passwd.decode("utf-8", "replace").splitlines():
        fields = line.split(":")
        if len(fields) >= 3 and fields[2].strip() == str(uid):
            return fields[0]
    return None
