"""Editing a Compose model (the mapping a compose file or ``config --format json`` holds)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from grader import defaults
from grader.engine.facts import COMPOSE_PROJECT, tagged


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


def built_image_tag(project: str, original: str) -> str:
    """A run's own tag for an image its compose file builds as ``original``: under the
    project's name, so removing the project's tags removes the run's images and nothing else.

    >>> built_image_tag("tpgab12-ada-3f2e1d", "Tp_Graphite:V1")
    'tpgab12-ada-3f2e1d/tp_graphite:V1'
    """
    repository, _, tag = tagged(original).rpartition(":")
    safe = re.sub(r"[^a-z0-9._-]+", "-", repository.lower()).strip(".-_") or "image"
    safe_tag = re.sub(r"[^A-Za-z0-9_.-]+", "-", tag).lstrip(".-")[:128] or "latest"
    return f"{project}/{safe}:{safe_tag}"


def own_built_images(model: dict[str, Any], project: str, labels: Mapping[str, str]) -> None:
    """Give every image the model builds a tag of the run's own (:func:`built_image_tag`),
    and ``labels``, the project's label, and the name the file gave it
    (:data:`~grader.defaults.LABEL_IMAGE_NAME`), by which checks find it. In place."""
    for name, service in (model.get("services") or {}).items():
        build = service.get("build") if isinstance(service, dict) else None
        if build is None:
            continue
        if not isinstance(build, dict):  # `build: path`
            build = service["build"] = {"context": build}
        original = str(service.get("image") or f"{project}-{name}")
        service["image"] = built_image_tag(project, original)
        build["labels"] = {
            **(build.get("labels") or {}),
            **labels,
            defaults.LABEL_IMAGE_NAME: tagged(original),
            # Compose's classic builder does not label what it builds with the project.
            COMPOSE_PROJECT: project,
        }
