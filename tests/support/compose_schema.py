"""The JSON schema of the Compose model, as the Compose binary tp-grader runs embeds it."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from grader.compose import find_compose


@cache
def compose_schema() -> dict[str, Any]:
    """Read from the binary itself (compose-go embeds ``compose_spec.json``), so the test
    follows whatever Compose version is installed."""
    binary = Path(find_compose()[0]).read_bytes()
    marker = binary.find(b'"$id": "compose_spec.json"')
    if marker < 0:
        raise LookupError("no compose_spec.json in the Compose binary")
    start = binary.rfind(b"{", 0, marker)
    schema, _ = json.JSONDecoder().raw_decode(
        binary[start : start + (1 << 20)].decode("utf-8", "replace")
    )
    return dict(schema)
