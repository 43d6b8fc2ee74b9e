"""Rewriting a reviewed submission so that many run side by side on one engine.

Compose already scopes what it creates to the project; a submission can undo that with fixed
names (``container_name:``, a network's or volume's ``name:``). Those are removed, so every
object is ``<project>_<key>`` and still carries the Compose labels the checks resolve through.
The exercise's declared host ports and host folders get values of the run's own (the checks
are told through parameter overrides); images the submission builds are tagged per project
(and labelled with the name the student gave, which checks may ask for); every container gets
memory, CPU and process limits; everything gets the batch's labels. Pure: model in, model out.
"""

from __future__ import annotations

import copy
import posixpath
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from grader import defaults
from grader.compose import add_labels
from grader.engine.facts import tagged
from grader.exercise.model import Exercise
from grader.i18n import Text
from grader.observe.names import IMAGE_NAME_LABEL


@dataclass(frozen=True)
class Isolated:
    model: dict[str, Any]
    param_overrides: dict[str, str]
    notes: tuple[Text, ...]


def published_host_ports(model: Mapping[str, Any]) -> set[int]:
    """Every fixed host port the model publishes (ranges expanded)."""
    ports: set[int] = set()
    for service in (model.get("services") or {}).values():
        for port in service.get("ports") or ():
            ports |= _published(port)
    return ports


def _published(port: Mapping[str, Any]) -> set[int]:
    text = str(port.get("published") or "")
    low, _, high = text.partition("-")
    if not low.isdigit() or (high and not high.isdigit()):
        return set()
    return set(range(int(low), int(high or low) + 1))


def declared_defaults(exercise: Exercise) -> dict[int, str]:
    """The exercise's declared host ports: default value -> parameter name."""
    return {int(exercise.params[name]): name for name in exercise.host_ports}


def isolate(
    model: Mapping[str, Any],
    *,
    exercise: Exercise,
    project: str,
    scratch: str,
    ports: Mapping[str, int],
    labels: Mapping[str, str],
) -> Isolated:
    """Rewrite ``model`` (a copy) for project ``project``.

    ``scratch`` is the run's folder on the engine host; ``ports`` maps each declared host-port
    parameter to the host port this run uses instead.
    """
    rewritten: dict[str, Any] = copy.deepcopy(dict(model))
    notes: list[Text] = []
    overrides: dict[str, str] = {}
    rewritten.pop("name", None)
    declared = declared_defaults(exercise)
    paths = {name: posixpath.normpath(str(exercise.params[name])) for name in exercise.host_paths}

    for service_name, service in (rewritten.get("services") or {}).items():
        if service.pop("container_name", None) is not None:
            notes.append(
                _scoped(
                    f"container_name du service {service_name}",
                    f"container_name of service {service_name}",
                )
            )
        for port in service.get("ports") or ():
            name = (
                declared.get(int(port["published"]))
                if str(port.get("published", "")).isdigit()
                else None
            )
            if name is not None:
                port["published"] = str(ports[name])
                overrides[name] = str(ports[name])
        for mount in service.get("volumes") or ():
            if mount.get("type") == "bind":
                mount["source"] = _in_scratch(str(mount["source"]), paths, scratch)
        _limit(service)
        build = service.get("build")
        if isinstance(build, dict):
            original = service.get("image") or f"{project}-{service_name}"
            service["image"] = f"{project}/{_repository_safe(original)}"
            build["labels"] = {
                **(build.get("labels") or {}),
                **labels,
                IMAGE_NAME_LABEL: tagged(original),
            }
    for kind in ("networks", "volumes"):
        for key, given in (rewritten.get(kind) or {}).items():
            definition = given or {}
            name = definition.pop("name", None)
            if name is not None and name != f"{project}_{key}":
                what = "réseau" if kind == "networks" else "volume"
                notes.append(_scoped(f"name du {what} {key}", f"name of {kind[:-1]} {key}"))
            rewritten[kind][key] = definition
    overrides |= {name: f"{scratch}/{name}" for name in paths}
    add_labels(rewritten, labels)
    return Isolated(rewritten, overrides, tuple(dict.fromkeys(notes)))


def _scoped(what_fr: str, what_en: str) -> Text:
    return Text(
        fr=f"{what_fr} ignoré : en correction groupée, chaque copie a ses propres noms "
        "(les vérifications retrouvent vos services par leurs clés Compose)",
        en=f"{what_en} ignored: in batch grading each submission gets names of its own "
        "(checks find your services by their Compose keys)",
    )


def _in_scratch(source: str, paths: Mapping[str, str], scratch: str) -> str:
    normal = posixpath.normpath(source)
    for name, folder in paths.items():
        if normal == folder or normal.startswith(folder.rstrip("/") + "/"):
            return f"{scratch}/{name}{normal[len(folder) :]}"
    return source  # review refused every other bind: nothing else reaches here


def _limit(service: dict[str, Any]) -> None:
    """Memory, CPU and pids limits: the batch's, or the student's where lower."""
    memory = _bytes(service.get("mem_limit"))
    service["mem_limit"] = (
        min(memory, defaults.BATCH_MEMORY_BYTES) if memory else defaults.BATCH_MEMORY_BYTES
    )
    cpus = float(service.get("cpus") or 0)
    service["cpus"] = min(cpus, defaults.BATCH_CPUS) if cpus > 0 else defaults.BATCH_CPUS
    pids = int(service.get("pids_limit") or 0)
    service["pids_limit"] = min(pids, defaults.BATCH_PIDS) if pids > 0 else defaults.BATCH_PIDS
    # deploy.resources would take precedence over the limits above: drop what could raise them.
    resources = (service.get("deploy") or {}).get("resources")
    if isinstance(resources, dict):
        resources.pop("limits", None)
        resources.pop("reservations", None)


def _bytes(value: Any) -> int:
    if value is None or value == "":
        return 0
    if isinstance(value, (int, float)):
        return int(value)
    text = str(value).strip().lower()
    units = {"k": 1 << 10, "m": 1 << 20, "g": 1 << 30}
    for suffix in ("kb", "mb", "gb", "k", "m", "g", "b"):
        if text.endswith(suffix):
            number = text[: -len(suffix)]
            return int(float(number) * units.get(suffix[0], 1)) if number else 0
    return int(float(text)) if text.replace(".", "", 1).isdigit() else 0


def _repository_safe(reference: str) -> str:
    """An image reference made into one lowercase repository path component (tag kept)."""
    repository, _, tag = tagged(reference).rpartition(":")
    safe = "".join(c if c.isalnum() or c in "._-" else "-" for c in repository.lower())
    return f"{safe.strip('.-_') or 'image'}:{tag}"
