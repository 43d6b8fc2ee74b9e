"""TCP reachability from inside a network namespace."""

from __future__ import annotations

import shlex
from dataclasses import dataclass

from grader import defaults
from grader.observe.steps import StepOutput


@dataclass(frozen=True)
class TcpResult:
    host: str
    port: int
    connected: bool
    detail: str = ""


@dataclass(frozen=True)
class TcpConnect:
    """Open a TCP connection to ``host:port`` and close it at once.

    ``host`` is resolved the way the container itself resolves names (its resolv.conf and
    hosts file, which a probe sharing its namespace shares too): this answers "can this
    container reach that service", the question a connection check asks.
    """

    host: str
    port: int
    timeout_s: int = defaults.TCP_TIMEOUT_S

    def script(self) -> str:
        # `-e true`: connect, hand the socket to `true`, which exits: no bytes are exchanged.
        return (
            f"timeout {self.timeout_s + 1} nc -w {self.timeout_s} "
            f"{shlex.quote(self.host)} {int(self.port)} -e true"
        )

    def parse(self, output: StepOutput) -> TcpResult:
        return TcpResult(self.host, self.port, output.exit_code == 0, output.text.strip()[-300:])
