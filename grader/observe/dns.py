"""DNS as a container sees it: queries sent straight to Docker's embedded resolver.

The query goes to ``127.0.0.11`` from inside the container's network namespace, never through
its ``/etc/hosts`` or ``/etc/resolv.conf``: a hand-written hosts line resolves nothing here.
"""

from __future__ import annotations

import ipaddress
import re
import shlex
from dataclasses import dataclass
from typing import Literal

from grader import defaults
from grader.observe.steps import StepOutput

#: Docker's embedded DNS server, present in every container on a user-defined network.
EMBEDDED_DNS = "127.0.0.11"

DnsOutcome = Literal["answered", "nxdomain", "no-reply", "failed"]


@dataclass(frozen=True)
class DnsAnswer:
    """The answer to one A query.

    >>> DnsAnswer("redis", "answered", ("172.18.0.2",)).has("172.18.0.2")
    True
    """

    name: str
    outcome: DnsOutcome
    addresses: tuple[str, ...] = ()
    detail: str = ""

    def has(self, address: str) -> bool:
        return address in self.addresses


@dataclass(frozen=True)
class DnsLookup:
    """Ask ``server`` for the IPv4 addresses of ``name``."""

    name: str
    server: str = EMBEDDED_DNS
    timeout_s: int = defaults.DNS_TIMEOUT_S

    def script(self) -> str:
        return (
            f"timeout {self.timeout_s} nslookup -type=a {shlex.quote(self.name)} "
            f"{shlex.quote(self.server)}"
        )

    def parse(self, output: StepOutput) -> DnsAnswer:
        return parse_nslookup(self.name, output)

    def transient(self, answer: DnsAnswer) -> bool:
        """No reply, or a failure: tried again (an answer, even NXDOMAIN, is the answer)."""
        return answer.outcome in ("no-reply", "failed")


_ANSWER_ADDRESS = re.compile(r"^Address(?: \d+)?:\s*(\S+)\s*$")


def parse_nslookup(name: str, output: StepOutput) -> DnsAnswer:
    """Read ``nslookup`` output: answers are the Address lines after a Name line.

    One run may hold several queries (an ``nslookup`` that walks a search list asks for
    ``redis.<domain>`` before ``redis``), so an NXDOMAIN for one of them says nothing of the
    others: addresses found win, and only output without any is read as NXDOMAIN.

    >>> out = StepOutput("Server: 127.0.0.11\\nAddress: 127.0.0.11:53\\n\\n"
    ...                  "** server can't find redis.lan: NXDOMAIN\\n\\n"
    ...                  "Name:\\tredis\\nAddress: 172.18.0.2\\n", 0)
    >>> parse_nslookup("redis", out).addresses
    ('172.18.0.2',)
    """
    text = output.text
    detail = text.strip()[-500:]
    addresses: list[str] = []
    in_answer = False
    for line in text.splitlines():
        if line.startswith("Name:"):
            in_answer = True
            continue
        if line.startswith("Server:"):
            in_answer = False  # the next Address line is the server's, not an answer
            continue
        match = _ANSWER_ADDRESS.match(line)
        if in_answer and match:
            address = match.group(1)
            try:
                ipaddress.ip_address(address)
            except ValueError:
                continue
            addresses.append(address)
    if addresses:
        return DnsAnswer(name, "answered", tuple(dict.fromkeys(addresses)), detail)
    if "NXDOMAIN" in text:
        return DnsAnswer(name, "nxdomain", detail=detail)
    # 143: killed by `timeout`; busybox says "no servers could be reached" on its own timeout.
    if output.exit_code == 143 or "timed out" in text or "no servers" in text:
        return DnsAnswer(name, "no-reply", detail=detail)
    if output.exit_code == 0:
        return DnsAnswer(name, "answered", (), detail)  # the name exists, with no A record
    return DnsAnswer(name, "failed", detail=detail)
