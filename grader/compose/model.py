"""Editing a Compose model (the mapping a compose file or ``config --format json`` holds)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def add_labels(model: dict[str, Any], labels: Mapping[str, str]) -> dict[str, Any]:
    """Put ``labels`` on every service, network and volume a Compose model defines (in place;
    returns ``model``). External networks and volumes are not created by Compose: skipped."""
    for kind in ("services", "networks", "volumes"):
        for name, given in list((model.get(kind) or {}).items()):
            definition = given if isinstance(given, dict) else {}
            if definition.get("external"):
                continue
            current = definition.get("labels") or {}
            if isinstance(current, list):
                current = dict(
                    item.split("=", 1) if "=" in item else (item, "") for item in current
                )
            definition["labels"] = {**current, **labels}
            model[kind][name] = definition
    return model
