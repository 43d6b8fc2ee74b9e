"""Reviewing an untrusted submission before anything of it starts.

A submission is refused (status ``refused``, score 0, the reasons in its report) when its
Compose model asks for more than a lab needs: privileges, capabilities, devices, a host or
another container's namespaces, confinement turned off, the Docker socket or any host path the
exercise does not declare, build contexts or files outside its own folder, external networks
or volumes, too many services. Everything here is pure: the model in, reasons out.

Two passes: :func:`prescan` reads the raw file for what ``docker compose config`` would resolve
by reading the teacher's files (``include``, ``extends``, ``env_file``), before Compose runs;
:func:`review` reads the normalised model that ``docker compose config`` prints.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from grader.i18n import Text

#: Namespace settings that reach outside the submission: the host's, or any container's.
_NAMESPACE_KEYS = ("network_mode", "pid", "ipc", "uts", "userns_mode", "cgroup")
_DOCKER_SOCKETS = ("/var/run/docker.sock", "/run/docker.sock", "/var/run/docker", "/run/docker")


def _reason(fr: str, en: str) -> Text:
    return Text(fr=fr, en=en)


def inside(path: str | Path, folder: Path) -> bool:
    """Whether ``path`` (symlinks resolved) is ``folder`` or inside it."""
    resolved = Path(path).resolve()
    root = folder.resolve()
    return resolved == root or root in resolved.parents


def prescan(raw: Any, folder: Path) -> list[Text]:
    """Refusals found in the raw compose file: paths that Compose would read, outside the
    submission's folder, on the machine running the batch."""
    reasons: list[Text] = []
    if not isinstance(raw, Mapping):
        return [
            _reason(
                "le fichier compose n'est pas un document YAML",
                "the compose file is not a YAML mapping",
            )
        ]

    def check(path: object, what: str) -> None:
        if isinstance(path, str) and path and not inside(folder / path, folder):
            reasons.append(
                _reason(
                    f"{what} hors du dossier de la soumission : {path}",
                    f"{what} outside the submission's folder: {path}",
                )
            )

    for item in _as_list(raw.get("include")):
        for path in _as_list(item.get("path") if isinstance(item, Mapping) else item):
            check(path, "include")
        if isinstance(item, Mapping):
            for env in _as_list(item.get("env_file")):
                check(env, "env_file")
    for name, service in (raw.get("services") or {}).items():
        if not isinstance(service, Mapping):
            continue
        extends = service.get("extends")
        if isinstance(extends, Mapping):
            check(extends.get("file"), f"extends ({name})")
        for env in _as_list(service.get("env_file")):
            check(env.get("path") if isinstance(env, Mapping) else env, f"env_file ({name})")
    return reasons


def review(
    model: Mapping[str, Any],
    *,
    folder: Path,
    allowed_host_paths: Iterable[str],
    max_services: int,
) -> list[Text]:
    """Refusals found in the normalised model (``docker compose config --format json``)."""
    reasons: list[Text] = []
    allowed = [posixpath.normpath(p) for p in allowed_host_paths]
    services: Mapping[str, Any] = model.get("services") or {}
    if len(services) > max_services:
        reasons.append(
            _reason(
                f"{len(services)} services (au plus {max_services})",
                f"{len(services)} services (at most {max_services})",
            )
        )
    for name, service in services.items():
        reasons += _service_reasons(name, service, folder, allowed)
    for kind in ("networks", "volumes"):
        for key, given in (model.get(kind) or {}).items():
            definition = given or {}
            if definition.get("external"):
                reasons.append(
                    _reason(f"{kind} « {key} » externe (external)", f"external {kind} '{key}'")
                )
            if kind == "networks" and definition.get("driver") not in (None, "", "bridge"):
                reasons.append(
                    _reason(
                        f"réseau « {key} » de pilote {definition['driver']}",
                        f"network '{key}' with driver {definition['driver']}",
                    )
                )
            if kind == "volumes" and (
                definition.get("driver") not in (None, "", "local")
                or "device" in (definition.get("driver_opts") or {})
            ):
                reasons.append(
                    _reason(
                        f"volume « {key} » branché sur un pilote ou un périphérique de l'hôte",
                        f"volume '{key}' backed by a driver or a host device",
                    )
                )
    for kind in ("secrets", "configs"):
        for key, definition in (model.get(kind) or {}).items():
            if (definition or {}).get("file"):
                reasons.append(
                    _reason(
                        f"{kind} « {key} » lu dans un fichier de l'hôte",
                        f"{kind} '{key}' read from a host file",
                    )
                )
    return reasons


def _service_reasons(
    name: str, service: Mapping[str, Any], folder: Path, allowed: list[str]
) -> list[Text]:
    found = [
        *_privileges(service),
        *_mounts(service, allowed),
        *_build(service.get("build"), folder),
        *_env_files(service, folder),
    ]
    return [_reason(f"service « {name} » : {fr}", f"service '{name}': {en}") for fr, en in found]


Found = list[tuple[str, str]]


def _privileges(service: Mapping[str, Any]) -> Found:
    found: Found = []
    if service.get("privileged"):
        found.append(("mode privilégié (privileged)", "privileged mode"))
    if service.get("cap_add"):
        caps = ", ".join(map(str, service["cap_add"]))
        found.append((f"capacités ajoutées ({caps})", f"added capabilities ({caps})"))
    if service.get("devices") or service.get("device_cgroup_rules"):
        found.append(("accès à des périphériques", "devices"))
    for key in _NAMESPACE_KEYS:
        value = str(service.get(key) or "")
        if value == "host" or value.startswith("container:"):
            found.append((f"{key}: {value}", f"{key}: {value}"))
    for option in service.get("security_opt") or ():
        text = str(option).replace(":", "=")
        if "unconfined" in text or text in ("label=disable", "no-new-privileges=false"):
            found.append(
                (f"confinement désactivé ({option})", f"confinement turned off ({option})")
            )
    if service.get("runtime") or service.get("cgroup_parent"):
        found.append(("runtime ou cgroup parent personnalisé", "custom runtime or cgroup parent"))
    return found


def _mounts(service: Mapping[str, Any], allowed: list[str]) -> Found:
    found: Found = []
    for ref in service.get("volumes_from") or ():
        if str(ref).startswith("container:"):
            found.append(
                (
                    f"volumes d'un conteneur extérieur ({ref})",
                    f"outside container's volumes ({ref})",
                )
            )
    for mount in service.get("volumes") or ():
        if mount.get("type") != "bind":
            continue
        source = str(mount.get("source") or "")
        normal = posixpath.normpath(source) if source else source
        if any(normal == s or normal.startswith(s + "/") for s in _DOCKER_SOCKETS):
            found.append(("socket Docker monté", "Docker socket mounted"))
        elif not any(normal == a or normal.startswith(a.rstrip("/") + "/") for a in allowed):
            found.append(
                (
                    f"dossier de l'hôte monté ({source}) que l'exercice ne prévoit pas",
                    f"host path mounted ({source}) that the exercise does not declare",
                )
            )
    return found


def _build(build: Any, folder: Path) -> Found:
    if not isinstance(build, Mapping):
        return []
    found: Found = []
    outside = [str(build.get("context") or "")]
    dockerfile = str(build.get("dockerfile") or "")
    outside += [dockerfile] if dockerfile.startswith("/") else []
    outside += [str(extra) for extra in (build.get("additional_contexts") or {}).values()]
    for path in filter(None, outside):
        if "://" in path or not inside(path, folder):
            found.append(
                (f"construction hors du dossier ({path})", f"build outside the folder ({path})")
            )
    if build.get("network") == "host" or build.get("privileged") or build.get("entitlements"):
        found.append(
            ("build privilégié ou sur le réseau de l'hôte", "privileged or host-network build")
        )
    if build.get("ssh") or build.get("secrets"):
        found.append(
            (
                "build avec des secrets ou l'agent SSH de l'hôte",
                "build with host secrets or SSH agent",
            )
        )
    return found


def _env_files(service: Mapping[str, Any], folder: Path) -> Found:
    found: Found = []
    for env in service.get("env_file") or ():
        path = env.get("path") if isinstance(env, Mapping) else env
        if path and not inside(str(path), folder):
            found.append(
                (f"env_file hors du dossier ({path})", f"env_file outside the folder ({path})")
            )
    return found


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]
