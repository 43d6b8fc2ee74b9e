"""Rewriting a reviewed submission so that it runs isolated, beside others, on one engine.

The keys :mod:`grader.batch.policy` marks *rewritten* get the batch's values here. Pure: a model
in, a model out.

- Names: fixed names (``container_name:``, a network's or volume's ``name:``, the project's
  ``name:``) are removed, so every object is ``<project>_<key>`` and carries the Compose labels
  the checks resolve through.
- Published ports: every host port becomes a port of the run's own (from the batch's pool),
  bound to 127.0.0.1, so nothing a submission publishes is reachable from outside the engine
  host or collides with another run. The exercise's declared ports (``host_ports``) are told to
  the checks through parameter overrides.
- Host folders: a bind of a declared folder (``/tmp/data``) becomes a folder of the run's own.
- Images the submission builds get a tag of the batch's own (``<project>/<name>:<tag>``) and
  are labelled with the name the student gave them, which checks may ask for.
- Limits: memory, CPU and pids on every container (the student's where lower), tmpfs sizes
  capped; ``deploy.resources``, which would take precedence, is dropped.
- Labels: everything gets the batch's.
"""

from __future__ import annotations

import copy
import math
import posixpath
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from grader import defaults
from grader.compose import add_labels, own_built_images
from grader.exercise.model import Exercise, Params
from grader.i18n import Text


@dataclass(frozen=True)
class Isolated:
    model: dict[str, Any]
    param_overrides: dict[str, str]
    notes: tuple[Text, ...]


def published_ports(model: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The distinct (host port, protocol) pairs the model publishes, in order: each gets one
    port of the batch's pool (two services publishing the same host port still collide, as
    they would on the student's machine)."""
    found: dict[tuple[str, str], None] = {}
    for port in _ports(model):
        published = str(port.get("published") or "")
        if published:
            found[(published, str(port.get("protocol") or "tcp"))] = None
    return list(found)


def _ports(model: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    for service in (model.get("services") or {}).values():
        yield from service.get("ports") or ()


def isolate(
    model: Mapping[str, Any],
    *,
    exercise: Exercise,
    project: str,
    scratch: str,
    ports: list[int],
    labels: Mapping[str, str],
    params: Params | None = None,
) -> Isolated:
    """Rewrite ``model`` (a copy) for project ``project``: every rewrite below, in turn.

    ``scratch`` is the run's folder on the engine host; ``ports`` are the pool ports given to
    the run, one per entry of :func:`published_ports`; ``params`` are the student's (their
    exam variant names the declared ports and folders).
    """
    params = params or exercise.params
    rewritten: dict[str, Any] = copy.deepcopy(dict(model))
    overrides, notes = loopback_ports(rewritten, exercise, params, ports)
    notes += scoped_names(rewritten, project)
    overrides |= scratch_binds(rewritten, exercise, params, scratch)
    for service in (rewritten.get("services") or {}).values():
        capped_tmpfs(service)
        limits(service)
        # Raw sockets would let a program forge, inside its own namespace, the answers of
        # another address (a TCP handshake, a DNS reply): no lab needs them.
        service["cap_drop"] = sorted(
            {*map(str, _as_list(service.get("cap_drop") or [])), "NET_RAW"}
        )
        # What the engine keeps for a container stays bounded: logs, and health checks that
        # dockerd itself runs, outside the container's CPU limit.
        service["logging"] = {
            "driver": "json-file",
            "options": {"max-size": defaults.BATCH_LOG_MAX_SIZE, "max-file": "1"},
        }
        _slow_down_healthcheck(service)
    own_images(rewritten, project, labels)
    add_labels(rewritten, labels)
    return Isolated(rewritten, overrides, tuple(dict.fromkeys(notes)))


def scoped_names(model: dict[str, Any], project: str) -> list[Text]:
    """Fixed names removed (the project's ``name:``, ``container_name:``, a network's or a
    volume's ``name:``): every object is ``<project>_<key>``. Returns the notes saying so."""
    notes: list[Text] = []
    model.pop("name", None)
    for service_name, service in (model.get("services") or {}).items():
        if service.pop("container_name", None) is not None:
            notes.append(
                _scoped(
                    f"container_name du service {service_name}",
                    f"container_name of service {service_name}",
                )
            )
    for kind in ("networks", "volumes"):
        for key, given in (model.get(kind) or {}).items():
            definition = given or {}
            name = definition.pop("name", None)
            if name is not None and name != f"{project}_{key}":
                what = "réseau" if kind == "networks" else "volume"
                notes.append(_scoped(f"name du {what} {key}", f"name of {kind[:-1]} {key}"))
            model[kind][key] = definition
    return notes


def scratch_binds(
    model: dict[str, Any], exercise: Exercise, params: Params, scratch: str
) -> dict[str, str]:
    """Binds of the exercise's declared host folders become folders of the run's own (the
    review refused any other bind). Returns the parameters telling the checks where."""
    paths = {name: posixpath.normpath(str(params[name])) for name in exercise.host_paths}
    for service in (model.get("services") or {}).values():
        for mount in service.get("volumes") or ():
            if mount.get("type") == "bind":
                mount["source"] = _in_scratch(str(mount["source"]), paths, scratch)
    return {name: f"{scratch}/{name}" for name in paths}


def capped_tmpfs(service: dict[str, Any]) -> None:
    """Every tmpfs of ``service`` (``tmpfs:`` entries and tmpfs mounts) sized, at most
    :data:`~grader.defaults.BATCH_TMPFS_BYTES`."""
    for mount in service.get("volumes") or ():
        if mount.get("type") == "tmpfs":
            tmpfs = mount.setdefault("tmpfs", {})
            tmpfs["size"] = str(_capped(tmpfs.get("size")))
    if service.get("tmpfs"):
        service["tmpfs"] = [_capped_tmpfs(entry) for entry in _as_list(service["tmpfs"])]


def own_images(model: dict[str, Any], project: str, labels: Mapping[str, str]) -> None:
    """Images the submission builds get a tag of the run's own, and the batch's labels on
    top of their ``build.labels`` (see :func:`grader.compose.own_built_images`)."""
    own_built_images(model, project, labels)


def loopback_ports(
    model: dict[str, Any], exercise: Exercise, params: Params, pool: list[int]
) -> tuple[dict[str, str], list[Text]]:
    given = dict(zip(published_ports(model), pool, strict=True))
    declared = {str(params[name]): name for name in exercise.host_ports}
    overrides: dict[str, str] = {}
    moved: list[str] = []
    for port in _ports(model):
        port["host_ip"] = "127.0.0.1"
        published = str(port.get("published") or "")
        if not published:
            continue  # the engine picks a free port, on loopback as above
        new = given[(published, str(port.get("protocol") or "tcp"))]
        port["published"] = str(new)
        moved.append(f"{published}→{new}")
        if published in declared:
            overrides[declared[published]] = str(new)
    notes = []
    if moved:
        listing = ", ".join(dict.fromkeys(moved))
        notes.append(
            Text(
                fr=f"ports publiés sur 127.0.0.1, aux numéros de la correction groupée : {listing}",
                en=f"published ports bound to 127.0.0.1, at the batch's numbers: {listing}",
            )
        )
    return overrides, notes


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
        if normal == folder:
            return f"{scratch}/{name}"
    # The policy refused every other bind; should one get here, it must not reach the host.
    return f"{scratch}/refused"


def limits(service: dict[str, Any]) -> None:
    """Memory, CPU and pids limits: the batch's, or the student's where lower; a CPU weight
    no higher than the engine's default (a student cannot outweigh the others); no
    ``deploy.resources``, which would take precedence."""
    memory = _bytes(service.get("mem_limit"))
    limit = min(memory, defaults.BATCH_MEMORY_BYTES) if memory else defaults.BATCH_MEMORY_BYTES
    service["mem_limit"] = limit
    if _bytes(service.get("mem_reservation")) > limit:
        service["mem_reservation"] = limit
    shm = _bytes(service.get("shm_size"))
    if shm:
        service["shm_size"] = min(shm, defaults.BATCH_TMPFS_BYTES)
    cpus = _number(service.get("cpus"))
    service["cpus"] = min(cpus, defaults.BATCH_CPUS) if cpus > 0 else defaults.BATCH_CPUS
    pids = int(_number(service.get("pids_limit")))
    service["pids_limit"] = min(pids, defaults.BATCH_PIDS) if pids > 0 else defaults.BATCH_PIDS
    shares = int(_number(service.get("cpu_shares")))
    if "cpu_shares" in service:
        service["cpu_shares"] = min(max(shares, 2), defaults.BATCH_CPU_SHARES)
    deploy = service.get("deploy")
    if isinstance(deploy, dict):
        deploy.pop("resources", None)


_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)")
_UNIT_S = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def _slow_down_healthcheck(service: dict[str, Any]) -> None:
    """Health-check intervals below a second are raised to a second, timeouts below ten seconds
    to ten seconds (:data:`~grader.defaults.BATCH_MIN_HEALTHCHECK_TIMEOUT_S` says why).

    >>> s = {"healthcheck": {"interval": "1ms", "timeout": "1s", "start_interval": "500ms"}}
    >>> _slow_down_healthcheck(s); s["healthcheck"]
    {'interval': '1s', 'timeout': '10s', 'start_interval': '1s'}
    >>> s = {"healthcheck": {"interval": "1m", "timeout": "1m30s"}}
    >>> _slow_down_healthcheck(s); s["healthcheck"]
    {'interval': '1m', 'timeout': '1m30s'}
    """
    check = service.get("healthcheck")
    if not isinstance(check, dict):
        return
    floors = {
        "interval": defaults.BATCH_MIN_HEALTHCHECK_S,
        "timeout": defaults.BATCH_MIN_HEALTHCHECK_TIMEOUT_S,
        "start_interval": defaults.BATCH_MIN_HEALTHCHECK_S,
    }
    for key, floor in floors.items():
        given = check.get(key)
        if isinstance(given, str) and _seconds(given) < floor:
            check[key] = f"{floor:g}s"


def _seconds(duration: str) -> float:
    """A Go duration (``1m30s``, ``500ms``) in seconds; ``0`` when it is none."""
    return sum(float(n) * _UNIT_S[unit] for n, unit in _DURATION.findall(duration))


def _capped(size: Any) -> int:
    given = _bytes(size)
    return min(given, defaults.BATCH_TMPFS_BYTES) if given else defaults.BATCH_TMPFS_BYTES


def _capped_tmpfs(entry: Any) -> str:
    """``/run`` or ``/run:size=1g,mode=1777`` with its size capped (set when absent)."""
    path, _, options = str(entry).partition(":")
    kept = [o for o in options.split(",") if o and not o.startswith("size=")]
    size = next((o[5:] for o in options.split(",") if o.startswith("size=")), None)
    return ":".join([path, ",".join([f"size={_capped(size)}", *kept])])


def _number(value: Any) -> float:
    """``value`` as a number; 0 (the batch's own limit then applies) when it is none.

    >>> _number("1.5"), _number(None), _number("lots")
    (1.5, 0.0, 0.0)
    """
    try:
        number = float(value) if value not in (None, "") else 0.0
    except (TypeError, ValueError):
        return 0.0
    return number if math.isfinite(number) else 0.0


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
            try:
                return int(float(number) * units.get(suffix[0], 1)) if number else 0
            except ValueError:
                return 0
    try:
        return int(float(text))
    except ValueError:
        return 0


def _as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list) else [value]
