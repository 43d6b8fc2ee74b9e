"""Who a container's main process runs as, in the kernel's words.

Inspect data gives only the user a container was *configured* with (``Config.User``, which an
entrypoint may change); the kernel says which uids the main process has, in
``/proc/<pid>/status``. That file must be read where the student's image cannot rewrite it: not
by a program found in the student's container (an image can ship a ``cat``, or any reader of
``/proc``, that prints a forged ``Uid:`` line), but by a probe of the grader's own image that
joins the container's PID namespace (``--pid container:<id>``, no network, read-only). The
runtime mounts the probe a ``/proc`` of that namespace, read with the probe's own busybox; PID 1
there is the container's main process. The uids are shown in the user namespace the probe
shares with the container: the container's own uids, under user-namespace remapping too.

The engine's ``top`` (``GET /containers/{id}/top``: ``ps`` run on the engine host) would spare
the probe, but it shows uids as the engine host sees them: shifted under user-namespace
remapping (graphite's 999 becomes 100999, a uid with no name in the image), and only where the
engine host has a ``ps`` that takes ``-o``.

A container in the engine host's PID namespace (``--pid host``) is read at its ``State.Pid``;
one in another container's (``--pid container:X``) has no PID of its own that the engine
tells, and is reported as such. The uid's name comes from the container's ``/etc/passwd``, read
with the archive API: the image defines its users.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from grader.engine.facts import ContainerFacts
from grader.observe.steps import ProbeSite, StepOutput


@dataclass(frozen=True)
class Uids:
    """The four uids of a process (``Uid:`` in ``/proc/<pid>/status``)."""

    real: int
    effective: int
    saved: int
    filesystem: int

    @property
    def may_become_root(self) -> bool:
        """Whether root is among them: a process may switch back to any of its real and saved
        uids, so one that keeps 0 there is root whenever it likes."""
        return 0 in (self.real, self.effective, self.saved, self.filesystem)


@dataclass(frozen=True)
class ProcessUser:
    uids: Uids | None
    """The main process's uids; ``None`` when the container has no main process the engine
    can point at (it shares another container's PID namespace: ``pid_namespace_of``)."""
    name: str | None = None
    """The effective uid's name in the container's /etc/passwd, if it has one."""
    pid_namespace_of: str = ""
    """The container whose PID namespace it shares (``--pid container:X``), if any."""

    @property
    def uid(self) -> int | None:
        """The effective uid (the one file access is checked against)."""
        return None if self.uids is None else self.uids.effective


_UID_LINE = re.compile(r"^Uid:\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s*$", re.MULTILINE)


@dataclass(frozen=True)
class ProcessStatus:
    """The uids of process ``pid``, read from ``/proc`` by a probe (its own ``cat``).

    >>> ProcessStatus(1).parse(StepOutput("Name:\\tsleep\\nUid:\\t999\\t999\\t999\\t999\\n", 0))
    Uids(real=999, effective=999, saved=999, filesystem=999)
    >>> ProcessStatus(1).parse(StepOutput("cat: can't open '/proc/1/status'", 1)) is None
    True
    """

    pid: int = 1

    def script(self) -> str:
        return f"cat /proc/{int(self.pid)}/status"

    def parse(self, output: StepOutput) -> Uids | None:
        found = _UID_LINE.search(output.text) if output.exit_code == 0 else None
        if found is None:
            return None
        return Uids(*(int(value) for value in found.groups()))


def main_process(container: ContainerFacts) -> tuple[ProbeSite, ProcessStatus] | None:
    """Where a probe reads ``container``'s main process, and at which PID there; ``None`` when
    it shares another container's PID namespace (no PID of its own to read there).

    >>> from grader.engine.facts import ContainerFacts
    >>> graphite = ContainerFacts("f00d", "graphite", "tp-graphite", "sha256:1", "running")
    >>> site, status = main_process(graphite)
    >>> site.pid_mode, site.network_mode, status.pid
    ('container:f00d', 'none', 1)
    """
    if container.pid_mode.startswith("container:"):
        return None
    pid = container.pid if container.pid_mode == "host" else 1
    site = ProbeSite(
        network_mode="none",
        pid_mode=f"container:{container.id}",
        userns_mode="host" if container.userns_mode == "host" else "",
        description=f"pidns {container.name}",
    )
    return site, ProcessStatus(pid)


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
