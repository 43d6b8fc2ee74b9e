"""HTTP from a probe: one raw ``GET`` over ``nc``, and the status of the response's first line.

No HTTP client is used on purpose: busybox ``wget`` follows redirects (to any host a student's
server names) and prints headers and its own messages mixed, so a status could be read from
a header. Here the request is written by hand (``HTTP/1.0``, ``Connection: close``), nothing
is followed, and the status comes from the status line only: the first line of the response.

Published ports are tried from the engine host's namespace, at the address the binding
listens on (see :func:`published_url`).
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from urllib.parse import urlsplit

from grader import defaults
from grader.engine.facts import PortBinding
from grader.observe.steps import StepOutput

_STATUS_LINE = re.compile(r"HTTP/\d(?:\.\d)? (\d{3})(?:[ \t].*)?")

#: Bytes of a response kept: the status line is all that is judged.
RESPONSE_BYTES = 4096


@dataclass(frozen=True)
class HttpResult:
    url: str
    status: int | None
    """The status code of the response's status line (redirects are never followed);
    ``None`` when no response came, or when it did not start with a status line."""
    detail: str = ""
    """The status line, or why there is none (the connection error, the first bytes)."""
    answered: bool = False
    """Whether anything came back at all (a status line or not)."""


@dataclass(frozen=True)
class HttpGet:
    """``GET url`` with ``HTTP/1.0``; ``url`` is ``http://HOST[:PORT]/PATH`` (IPv6 in brackets).

    >>> HttpGet("http://[::1]:8000/").parse(StepOutput("\\nHTTP/1.1 200 OK\\r\\nX: y\\r\\n", 0))
    HttpResult(url='http://[::1]:8000/', status=200, detail='HTTP/1.1 200 OK', answered=True)
    """

    url: str
    timeout_s: int = defaults.HTTP_TIMEOUT_S
    retried: bool = True
    """Whether a request that got no answer is tried again (see :class:`TcpConnect`'s)."""

    def __post_init__(self) -> None:
        parts = urlsplit(self.url)
        if parts.scheme != "http" or not parts.hostname or re.search(r"\s", self.url):
            raise ValueError(f"not an http:// URL a probe can request: {self.url!r}")

    def script(self) -> str:
        parts = urlsplit(self.url)
        host = parts.hostname or ""
        port = parts.port or 80
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        request = "GET %s HTTP/1.0\\r\\nHost: %s\\r\\nConnection: close\\r\\n\\r\\n"
        # Line 1: nc's own complaint (connection refused...), on one line; then the response.
        # `timeout` bounds the whole exchange (busybox `nc -w` only bounds connect and idle).
        return (
            f"printf {shlex.quote(request)} {shlex.quote(target)} {shlex.quote(parts.netloc)}"
            f" | timeout {self.timeout_s + 1} nc -w {self.timeout_s} {shlex.quote(host)}"
            f" {int(port)} 2>http.err | head -c {RESPONSE_BYTES} >http.out\n"
            "tr '\\r\\n' '  ' <http.err | head -c 300; echo\n"
            "cat http.out"
        )

    def parse(self, output: StepOutput) -> HttpResult:
        complaint, _, response = output.text.partition("\n")
        status_line = response.split("\n", 1)[0].rstrip("\r")
        found = _STATUS_LINE.fullmatch(status_line)
        if found is not None:
            return HttpResult(self.url, int(found.group(1)), status_line[:200], answered=True)
        if response.strip():
            return HttpResult(self.url, None, repr(status_line[:100]), answered=True)
        return HttpResult(self.url, None, complaint.strip())

    def transient(self, result: HttpResult) -> bool:
        """Nothing came back: tried again (whatever answered, answered)."""
        return self.retried and not result.answered


def connect_address(host_ip: str) -> str:
    """Where to connect, on the engine host, to reach a binding published on ``host_ip``.

    >>> [connect_address(ip) for ip in ("", "0.0.0.0", "::", "::1", "192.0.2.7")]
    ['127.0.0.1', '127.0.0.1', '::1', '::1', '192.0.2.7']
    """
    if host_ip in ("", "0.0.0.0"):
        return "127.0.0.1"
    if host_ip == "::":
        return "::1"
    return host_ip


def published_url(binding: PortBinding, path: str = "/") -> str:
    """The URL reaching ``binding`` from the engine host: its own address, or the loopback
    of its family for a wildcard (``0.0.0.0``/empty, ``::``).

    >>> published_url(PortBinding(80, "tcp", "::", 8000))
    'http://[::1]:8000/'
    """
    address = connect_address(binding.host_ip)
    host = f"[{address}]" if ":" in address else address
    return f"http://{host}:{binding.host_port}{path}"
