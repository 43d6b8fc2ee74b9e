"""TCP reachability from inside a network namespace."""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field

from grader import defaults
from grader.observe.steps import StepOutput


@dataclass(frozen=True)
class TcpResult:
    host: str
    port: int
    connected: bool
    detail: str = ""
    target: str = ""
    """The container the connection was made to (:class:`TcpToContainer`), if any."""
    network: str = ""
    """The network whose address of ``target`` ``host`` is."""


@dataclass(frozen=True)
class TcpConnect:
    """Open a TCP connection to ``host:port`` and close it at once.

    ``host`` is resolved the way the container itself resolves names (its resolv.conf and
    hosts file, which a probe sharing its namespace shares too): this answers "can this
    container reach whatever it calls ``host``". To credit a container, use
    :class:`TcpToContainer`: the container can send any name anywhere, itself included.
    """

    host: str
    port: int
    timeout_s: int = defaults.TCP_TIMEOUT_S
    retried: bool = True
    """Whether a miss is tried again (:mod:`grader.observe.retry`). ``False`` for a
    connection a check can do without, that a machine may never answer (a swarm's virtual IP
    without IPVS): waiting for it again would only slow every grading down."""

    def script(self) -> str:
        # `-e true`: connect, hand the socket to `true`, which exits: no bytes are exchanged.
        return (
            f"timeout {self.timeout_s + 1} nc -w {self.timeout_s} "
            f"{shlex.quote(self.host)} {int(self.port)} -e true"
        )

    def parse(self, output: StepOutput) -> TcpResult:
        return TcpResult(self.host, self.port, output.exit_code == 0, output.text.strip()[-300:])

    def transient(self, result: TcpResult) -> bool:
        """No connection: tried again (a server may still be binding its port)."""
        return self.retried and not result.connected


@dataclass(frozen=True)
class PortsAnswering:
    """Wait until every ``(address, port)`` of ``targets`` accepts a TCP connection, trying
    again every half second for up to ``within_s``: whether a replayed submission's services
    are ready to be graded. The result is what still did not answer (empty: all did).

    >>> step = PortsAnswering((("172.18.0.2", 6379), ("172.18.0.3", 80)), within_s=5)
    >>> step.parse(StepOutput("missing 172.18.0.3:80\\n", 1))
    (('172.18.0.3', 80),)
    """

    targets: tuple[tuple[str, int], ...]
    within_s: int

    def script(self) -> str:
        listed = " ".join(f"{shlex.quote(address)}:{int(port)}" for address, port in self.targets)
        return (
            f"end=$(( $(date +%s) + {int(self.within_s)} ))\n"
            "while :; do\n"
            '  missing=""\n'
            f"  for target in {listed}; do\n"
            '    nc -w 1 "${target%:*}" "${target##*:}" -e true </dev/null >/dev/null 2>&1'
            ' || missing="$missing $target"\n'
            "  done\n"
            '  [ -z "$missing" ] && exit 0\n'
            '  [ "$(date +%s)" -ge "$end" ] && { echo "missing$missing"; exit 1; }\n'
            "  sleep 0.5\n"
            "done"
        )

    def parse(self, output: StepOutput) -> tuple[tuple[str, int], ...]:
        if output.exit_code == 0:
            return ()
        words = output.text.split()
        missing = words[1:] if words[:1] == ["missing"] else []
        found = []
        for word in missing:
            address, _, port = word.rpartition(":")
            if port.isdigit():
                found.append((address, int(port)))
        return tuple(found) or self.targets


@dataclass(frozen=True)
class TcpToContainer:
    """A TCP connection to container ``container``'s ``port``, at the address the engine gave
    it on ``network``: whether the probe's container reaches *that* container.

    Not a probe step by itself: :meth:`~grader.judge.lab.Lab.observe_from` asks the engine for
    the address as the probe starts, and the probe connects there (:meth:`at`), never to a
    name. A name would be resolved the way the connecting container resolves it, through its
    own ``/etc/hosts`` and ``resolv.conf``, which it may rewrite: ``redis`` sent to 127.0.0.1,
    or a network alias ``redis`` of its own, and a listener of its own would answer for redis.
    Nothing but the named container holds its address on the network (the engine's IPAM gives
    each address once), so only it can earn the connection. Whether a name leads to that
    address is for Docker's embedded DNS to say: a :class:`~grader.observe.dns.DnsLookup` of
    the same probe (see :func:`grader.judge.expect.reaches`).
    """

    container: str
    port: int
    network: str = field(kw_only=True)

    def at(self, address: str) -> TcpConnect:
        """The connection itself, once the engine has told ``container``'s address."""
        return TcpConnect(address, self.port)
