"""Counting the ports a service declares, ranges expanded, before and after ``config``.

``ports: ["1-65535:1-65535"]`` is one line of YAML and 65535 port entries once Compose has
expanded it (gigabytes inside ``config`` for a few such lines); ``expose: ["1-65535"]`` likewise.
So the prescan counts the raw file's entries as they will expand, and the review counts the
normalised model's: past :data:`~grader.defaults.BATCH_MAX_PORT_ENTRIES` the submission is
refused. An entry this module cannot read (an interpolation it cannot resolve, a typo) counts
as one: ``config`` decides, inside its sandbox's memory limit.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

_RANGE = re.compile(r"^(\d{1,5})(?:-(\d{1,5}))?$")


def span(text: str) -> int:
    """How many ports ``80``, ``8000-8010`` or ``80/udp`` stands for (1 when unreadable).

    >>> span("8000-8010"), span("80/udp"), span("x")
    (11, 1, 1)
    """
    found = _RANGE.match(text.split("/", 1)[0].strip())
    if found is None:
        return 1
    low, high = int(found.group(1)), int(found.group(2) or found.group(1))
    return max(high - low + 1, 1)


def short_syntax_span(entry: str) -> int:
    """The ports one short-syntax entry expands to: its widest range.

    >>> short_syntax_span("127.0.0.1:8000-8100:80-180/tcp"), short_syntax_span("[::1]:53:53")
    (101, 1)
    """
    text = re.sub(r"^\[[^\]]*\]:", "", entry.strip())  # an IPv6 host address
    return max((span(part) for part in text.split(":")), default=1)


def entry_span(entry: Any) -> int:
    """The ports one ``ports:`` or ``expose:`` item expands to (short or long syntax)."""
    if isinstance(entry, Mapping):
        return max(span(str(entry.get("target", ""))), span(str(entry.get("published", ""))))
    return short_syntax_span(str(entry))


def count_port_entries(services: Iterable[Any]) -> int:
    """Port entries of ``services`` (mappings), ``ports`` and ``expose`` together, ranges
    expanded.

    >>> count_port_entries([{"ports": ["8000:80"], "expose": ["1000-1009"]}, "not a service"])
    11
    """
    total = 0
    for service in services:
        if not isinstance(service, Mapping):
            continue
        for key in ("ports", "expose"):
            entries = service.get(key)
            if isinstance(entries, list):
                total += sum(entry_span(entry) for entry in entries)
    return total
