"""HTTP requests from a probe (published ports are tried from the engine host's namespace)."""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass

from grader import defaults
from grader.observe.batch import StepOutput

_STATUS_LINE = re.compile(r"HTTP/\d(?:\.\d)?\s+(\d{3})")


@dataclass(frozen=True)
class HttpResult:
    url: str
    status: int | None
    """The final status code, after redirects; ``None`` when no response came."""
    detail: str = ""


@dataclass(frozen=True)
class HttpGet:
    url: str
    timeout_s: int = defaults.HTTP_TIMEOUT_S

    def script(self) -> str:
        # busybox wget: `-T` crashes some builds, so the deadline comes from `timeout`.
        return f"timeout {self.timeout_s} wget -q -S -O /dev/null {shlex.quote(self.url)}"

    def parse(self, output: StepOutput) -> HttpResult:
        statuses = _STATUS_LINE.findall(output.text)
        status = int(statuses[-1]) if statuses else None
        return HttpResult(self.url, status, output.text.strip()[-300:])
