"""What guards the server: per-key rate limits, bodies of bounded size, and tokens read from
the ``Authorization`` header or the session cookie."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from starlette.requests import Request

SESSION_COOKIE = "tpg_session"


class TooLarge(Exception):
    """The body is over the limit."""


@dataclass
class RateLimit:
    """A token bucket per key: ``burst`` at once, then one every ``every_s`` seconds.

    >>> limit = RateLimit(burst=2, every_s=10, clock=lambda: 0.0)
    >>> limit.wait("k"), limit.wait("k"), limit.wait("k")
    (0.0, 0.0, 10.0)
    """

    burst: int
    every_s: float
    clock: Callable[[], float] = time.monotonic
    _buckets: dict[str, tuple[float, float]] = field(default_factory=dict)

    def wait(self, key: str) -> float:
        """Take one from ``key``'s bucket: 0 if allowed, else the seconds to wait."""
        now = self.clock()
        tokens, last = self._buckets.get(key, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - last) / self.every_s)
        if tokens >= 1.0:
            self._buckets[key] = (tokens - 1.0, now)
            return 0.0
        self._buckets[key] = (tokens, now)
        if len(self._buckets) > 100_000:  # keys are bounded by tokens and addresses; be sure
            self._buckets.clear()
        return (1.0 - tokens) * self.every_s


def retry_after(seconds: float) -> dict[str, str]:
    return {"Retry-After": str(max(1, math.ceil(seconds)))}


def bearer(request: Request) -> str | None:
    """The token of an ``Authorization: Bearer`` header."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


def client_address(request: Request) -> str:
    return request.client.host if request.client else "-"


async def read_body(request: Request, limit: int) -> bytes:
    """The request's body; :class:`TooLarge` as soon as it passes ``limit`` bytes (announced
    or sent)."""
    announced = request.headers.get("content-length")
    if announced is not None and announced.isdigit() and int(announced) > limit:
        raise TooLarge
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise TooLarge
        chunks.append(chunk)
    return b"".join(chunks)
