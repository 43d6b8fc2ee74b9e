"""What a submission may ask of the grading engine: the allowlist over Compose's model.

Every key of the normalised model (``compose config --format json``, run confined: see
:mod:`grader.batch.gate.confined`) is listed here as *allowed* (with its constraints),
*rewritten* (the batch replaces it: each rule names the function of :mod:`grader.batch.rewrite`
that does it) or *refused*. A key that is not listed is refused too, as "not supported in a
submission": Compose gains keys every release, and a new key must be read and placed here before
a student may use it. The rules are data (:data:`TOP_LEVEL` and the tables it nests), applied by
:mod:`grader.batch.gate.rules`; :func:`review` returns every reason for a refusal, each naming
the key. An exercise that legitimately needs a refused service key declares it in
``exercise.yaml`` (``submission: {allow: [KEY, ...]}``); it is then allowed without constraint.

Keys ``config`` acts on while it reads the files (``include``, ``extends``, ``env_file``...)
never reach this review: :mod:`grader.batch.gate.prescan` refuses them in the raw files first,
and ``config`` itself runs where nothing but the staged copy exists.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from grader import defaults
from grader.batch.gate.images import image_refusal
from grader.batch.gate.ports import count_port_entries
from grader.batch.gate.rules import (
    Check,
    Context,
    Rule,
    allow,
    problem,
    refused,
    rewritten,
    walk,
)
from grader.i18n import Text


# -- constraints ---------------------------------------------------------------------------------
def _inside(path: str, context: Context) -> bool:
    """Whether absolute ``path`` is the staged folder or under it (the copy has no symlinks,
    so the lexical answer is the real one)."""
    if not path.startswith("/"):
        return False
    root = str(context.folder)
    normal = posixpath.normpath(path)
    return normal == root or normal.startswith(root + "/")


def _local_path(what_fr: str, what_en: str) -> Check:
    def check(value: Any, context: Context) -> list[Text]:
        if not isinstance(value, str) or not _inside(value, context):
            return problem(
                f"{what_fr} hors du dossier de la soumission ({value})",
                f"{what_en} outside the submission's folder ({value})",
            )
        return []

    return check


def _dockerfile(value: Any, context: Context) -> list[Text]:
    if not isinstance(value, str) or value.startswith("/") or value.startswith("~"):
        return problem(
            f"dockerfile doit être un chemin relatif au contexte ({value})",
            f"dockerfile must be a path relative to the build context ({value})",
        )
    if posixpath.normpath(value).split("/")[0] == "..":
        return problem(
            f"dockerfile hors du contexte de construction ({value})",
            f"dockerfile outside the build context ({value})",
        )
    return []


def _pulled_image(service: Mapping[str, Any], context: Context) -> list[Text]:
    """The image a service runs, when the engine pulls it (not when the batch builds it)."""
    image = service.get("image")
    if image is None or service.get("build") is not None:
        return []
    refusal = image_refusal(str(image), context.registries)
    return [] if refusal is None else [refusal]


_RESERVED_LABELS = ("io.tp-grader.", "com.docker.compose.")


def _labels(value: Any, context: Context) -> list[Text]:
    reserved = sorted(k for k in dict(value or {}) if str(k).startswith(_RESERVED_LABELS))
    if reserved:
        return problem(
            f"étiquettes réservées au correcteur ou à Compose ({', '.join(reserved)})",
            f"labels reserved to the grader or to Compose ({', '.join(reserved)})",
        )
    return []


def _at_most_one(what: str) -> Check:
    def check(value: Any, context: Context) -> list[Text]:
        if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 1:
            return []
        return problem(
            f"{what} : {value} (une seule instance par service)",
            f"{what}: {value} (one instance per service)",
        )

    return check


def _published(value: Any, context: Context) -> list[Text]:
    if value is None or (isinstance(value, str) and (value == "" or value.isdigit())):
        return []
    return problem(
        f"port publié « {value} » : une plage de ports ne peut pas être publiée",
        f"published port '{value}': a port range cannot be published",
    )


def _protocol(value: Any, context: Context) -> list[Text]:
    if value in ("tcp", "udp"):
        return []
    return problem(f"protocole « {value} »", f"protocol '{value}'")


def _mount(value: Any, context: Context) -> list[Text]:
    kind, source = value.get("type"), value.get("source") or ""
    if kind == "volume":
        if source and source not in context.volumes:
            return problem(
                f"volume « {source} » qui n'est pas un volume du projet",
                f"volume '{source}' that is not a volume of the project",
            )
        return []
    if kind == "bind":
        normal = posixpath.normpath(source) if source else source
        if normal not in context.host_paths:
            declared = ", ".join(context.host_paths) or "—"
            return problem(
                f"dossier de l'hôte « {source} » monté : seuls les dossiers de l'exercice "
                f"le peuvent, exactement ({declared})",
                f"host folder '{source}' mounted: only the exercise's folders may be, "
                f"exactly ({declared})",
            )
        return []
    if kind == "tmpfs":
        return []
    return problem(f"montage de type « {kind} »", f"mount of type '{kind}'")


def _subpath(value: Any, context: Context) -> list[Text]:
    text = str(value)
    if text.startswith("/") or ".." in text.split("/"):
        return problem(f"subpath « {text} »", f"subpath '{text}'")
    return []


def _volumes_from(value: Any, context: Context) -> list[Text]:
    found: list[Text] = []
    for entry in value or ():
        service, _, mode = str(entry).partition(":")
        if (
            service == "container"
            or service not in context.services
            or mode not in ("", "ro", "rw")
        ):
            found += problem(
                f"volumes_from « {entry} » : seulement un service du projet",
                f"volumes_from '{entry}': only a service of the project",
            )
    return found


def _network_mode(value: Any, context: Context) -> list[Text]:
    kind, _, service = str(value).partition(":")
    if kind == "service" and service in context.services:
        return []
    return problem(
        f"network_mode « {value} » : seulement service:SERVICE du projet",
        f"network_mode '{value}': only service:SERVICE of the project",
    )


def _network_driver(value: Any, context: Context) -> list[Text]:
    if value in (None, "", "bridge"):
        return []
    return problem(f"pilote réseau « {value} »", f"network driver '{value}'")


def _volume_driver(value: Any, context: Context) -> list[Text]:
    if value in (None, "", "local"):
        return []
    return problem(f"pilote de volume « {value} »", f"volume driver '{value}'")


def _empty(what: str) -> Check:
    def check(value: Any, context: Context) -> list[Text]:
        if not value:
            return []
        return problem(f"{what} : {value}", f"{what}: {value}")

    return check


def _not_true(what_fr: str, what_en: str) -> Check:
    def check(value: Any, context: Context) -> list[Text]:
        return problem(what_fr, what_en) if value else []

    return check


def _deploy_mode(value: Any, context: Context) -> list[Text]:
    return [] if value in (None, "replicated") else problem(f"mode {value}", f"mode {value}")


# -- the allowlist, as data ---------------------------------------------------------------------
_NAMESPACES = refused(
    "espaces de noms de l'hôte ou d'un autre conteneur",
    "the host's or another container's namespaces",
)
_PRIVILEGE = refused("privilèges sur l'hôte", "privileges on the host")
_HOST_FILE = refused("lit un fichier de l'hôte", "reads a host file")
_HOST_NETWORK = refused("résolution de noms ou réseau imposés", "forced name resolution or network")
_HOST_PROGRAM = refused("lance un programme hors du conteneur", "runs a program outside containers")
_TUNING = refused(
    "réglage du noyau ou des ressources de l'hôte", "tuning of the host's kernel or resources"
)
_UNNEEDED = refused("inutile dans un TP", "not needed in a lab")

BUILD: Mapping[str, Rule] = {
    "context": allow(_local_path("contexte de construction", "build context")),
    "dockerfile": allow(_dockerfile),
    "dockerfile_inline": allow(),
    "args": allow(),
    "target": allow(),
    "labels": rewritten("own_images", _labels),
    "no_cache": allow(),
    "pull": allow(),
    # The batch builds with the engine's classic builder, which takes limits; it has no
    # additional contexts (a BuildKit feature).
    "additional_contexts": refused(
        "contextes supplémentaires (non pris en charge par la construction bornée)",
        "additional contexts (not supported by the bounded build)",
    ),
    "tags": refused("étiquette d'image choisie par la soumission", "image tags of its own"),
    "ssh": refused("agent SSH ou clé de l'hôte", "the host's SSH agent or keys"),
    "secrets": refused("secrets de l'hôte", "the host's secrets"),
    "entitlements": _PRIVILEGE,
    "privileged": _PRIVILEGE,
    "network": refused("réseau de construction choisi", "a build network of its own"),
    "extra_hosts": _HOST_NETWORK,
    "isolation": _UNNEEDED,
    "ulimits": _TUNING,
    "shm_size": _TUNING,
    "platforms": _UNNEEDED,
    "cache_from": refused("cache lu hors du dossier", "a cache read from outside the folder"),
    "cache_to": refused("cache écrit sur l'hôte", "a cache written on the host"),
    "provenance": _UNNEEDED,
    "sbom": _UNNEEDED,
}

PORT: Mapping[str, Rule] = {
    "target": allow(),
    "published": rewritten("loopback_ports", _published),
    "host_ip": rewritten("loopback_ports"),
    "protocol": allow(_protocol),
    "mode": allow(),
    "app_protocol": allow(),
    "name": allow(),
}

MOUNT: Mapping[str, Rule] = {
    "type": allow(),
    "source": rewritten("scratch_binds"),
    "target": allow(),
    "read_only": allow(),
    "consistency": allow(),
    "bind": allow(
        keys={
            "create_host_path": allow(),
            "propagation": refused("propagation des montages", "mount propagation"),
            "selinux": refused("ré-étiquetage SELinux de l'hôte", "SELinux relabelling"),
            "recursive": _UNNEEDED,
        }
    ),
    "volume": allow(keys={"nocopy": allow(), "subpath": allow(_subpath)}),
    "tmpfs": allow(keys={"size": rewritten("capped_tmpfs"), "mode": allow()}),
    "image": refused("montage d'une image", "mounting an image"),
}

NETWORK_ATTACHMENT: Mapping[str, Rule] = {
    "aliases": allow(),
    "priority": allow(),
    "gw_priority": allow(),
    "ipv4_address": _HOST_NETWORK,
    "ipv6_address": _HOST_NETWORK,
    "link_local_ips": _HOST_NETWORK,
    "mac_address": _HOST_NETWORK,
    "driver_opts": _HOST_NETWORK,
    "interface_name": _HOST_NETWORK,
}

DEPLOY: Mapping[str, Rule] = {
    "replicas": allow(_at_most_one("deploy.replicas")),
    "resources": rewritten("limits"),
    "restart_policy": allow(),
    "mode": allow(_deploy_mode),
    "placement": allow(_empty("deploy.placement")),
    "labels": _UNNEEDED,
    "update_config": _UNNEEDED,
    "rollback_config": _UNNEEDED,
    "endpoint_mode": _UNNEEDED,
}

SERVICE: Mapping[str, Rule] = {
    # What a lab needs.
    "image": allow(),
    "build": allow(keys=BUILD),
    "command": allow(),
    "entrypoint": allow(),
    "environment": allow(),
    "networks": allow(each=NETWORK_ATTACHMENT),
    "ports": allow(each=PORT),
    "expose": allow(),
    "volumes": allow(each=MOUNT, each_check=_mount),
    "volumes_from": allow(_volumes_from),
    "depends_on": allow(
        each={"condition": allow(), "required": allow(), "restart": allow()},
    ),
    "healthcheck": allow(
        keys={
            key: allow()
            for key in ("test", "interval", "timeout", "retries", "start_period", "start_interval")
        }
        | {"disable": allow()}
    ),
    "restart": allow(),
    "user": allow(),
    "working_dir": allow(),
    "hostname": allow(),
    "domainname": allow(),
    "labels": allow(_labels),
    "links": allow(),
    "tty": allow(),
    "stdin_open": allow(),
    "read_only": allow(),
    "init": allow(),
    "stop_signal": allow(),
    "stop_grace_period": allow(),
    "attach": allow(),
    "profiles": allow(),
    "pull_policy": allow(),
    "cap_drop": allow(),
    "scale": allow(_at_most_one("scale")),
    "deploy": allow(keys=DEPLOY),
    "network_mode": allow(_network_mode),
    # Replaced by the batch: names of its own, ports on loopback, limits, capped tmpfs.
    "container_name": rewritten("scoped_names"),
    "tmpfs": rewritten("capped_tmpfs"),
    "mem_limit": rewritten("limits"),
    "mem_reservation": rewritten("limits"),
    "cpus": rewritten("limits"),
    "cpu_shares": rewritten("limits"),
    "pids_limit": rewritten("limits"),
    "shm_size": rewritten("limits"),
    # Refused: what reaches outside the submission's containers.
    "privileged": _PRIVILEGE,
    "cap_add": _PRIVILEGE,
    "security_opt": refused("confinement modifié", "changed confinement"),
    "devices": refused("périphériques de l'hôte", "the host's devices"),
    "device_cgroup_rules": refused("périphériques de l'hôte", "the host's devices"),
    "gpus": refused("GPU de l'hôte", "the host's GPUs"),
    "pid": _NAMESPACES,
    "ipc": _NAMESPACES,
    "uts": _NAMESPACES,
    "userns_mode": _NAMESPACES,
    "cgroup": _NAMESPACES,
    "cgroup_parent": _TUNING,
    "runtime": refused("moteur d'exécution choisi", "a runtime of its own"),
    "isolation": _UNNEEDED,
    "sysctls": _TUNING,
    "ulimits": _TUNING,
    "oom_score_adj": _TUNING,
    "oom_kill_disable": _TUNING,
    "memswap_limit": _TUNING,
    "mem_swappiness": _TUNING,
    "storage_opt": _TUNING,
    "blkio_config": _TUNING,
    "cpu_count": _TUNING,
    "cpu_percent": _TUNING,
    "cpu_period": _TUNING,
    "cpu_quota": _TUNING,
    "cpu_rt_period": _TUNING,
    "cpu_rt_runtime": _TUNING,
    "cpuset": _TUNING,
    "extra_hosts": _HOST_NETWORK,
    "dns": _HOST_NETWORK,
    "dns_opt": _HOST_NETWORK,
    "dns_search": _HOST_NETWORK,
    "external_links": refused("liens vers d'autres conteneurs", "links to other containers"),
    "mac_address": _HOST_NETWORK,
    "logging": refused("journaux envoyés hors du moteur", "logs sent outside the engine"),
    "secrets": _HOST_FILE,
    "configs": _HOST_FILE,
    "env_file": _HOST_FILE,
    "label_file": _HOST_FILE,
    "credential_spec": _HOST_FILE,
    "provider": _HOST_PROGRAM,
    "models": _HOST_PROGRAM,
    "develop": _HOST_PROGRAM,
    "post_start": refused("commandes injectées (hooks)", "injected commands (hooks)"),
    "pre_stop": refused("commandes injectées (hooks)", "injected commands (hooks)"),
    "use_api_socket": refused("socket Docker du correcteur", "the grader's Docker socket"),
    "platform": _UNNEEDED,
    "annotations": _UNNEEDED,
    "group_add": _UNNEEDED,
    "pull_refresh_after": _UNNEEDED,
    "extends": _HOST_FILE,
}

NETWORK: Mapping[str, Rule] = {
    "name": rewritten("scoped_names"),
    "driver": allow(_network_driver),
    "driver_opts": refused("options de pilote réseau", "network driver options"),
    "ipam": allow(_empty("ipam")),
    "external": allow(_not_true("réseau externe", "external network")),
    "internal": allow(),
    "attachable": allow(),
    "enable_ipv4": allow(),
    "enable_ipv6": _UNNEEDED,
    "labels": allow(_labels),
}

VOLUME: Mapping[str, Rule] = {
    "name": rewritten("scoped_names"),
    "driver": allow(_volume_driver),
    "driver_opts": refused("volume branché sur l'hôte", "a volume backed by the host"),
    "external": allow(_not_true("volume externe", "external volume")),
    "labels": allow(_labels),
}

TOP_LEVEL: Mapping[str, Rule] = {
    "name": rewritten("scoped_names"),
    "version": allow(),
    "services": allow(each=SERVICE, each_check=_pulled_image),
    "networks": allow(each=NETWORK),
    "volumes": allow(each=VOLUME),
    "secrets": _HOST_FILE,
    "configs": _HOST_FILE,
    "include": _HOST_FILE,
    "models": _HOST_PROGRAM,
}


# -- the review ---------------------------------------------------------------------------------
def review(
    model: Mapping[str, Any], context: Context, *, allowed_service_keys: Iterable[str] = ()
) -> list[Text]:
    """Every reason to refuse ``model``; empty when it may run."""
    extra = set(allowed_service_keys)
    service_rules = {**SERVICE, **{key: allow() for key in extra}}
    rules = {**TOP_LEVEL, "services": allow(each=service_rules, each_check=_pulled_image)}
    reasons = walk(model, rules, "", context)
    services = model.get("services") or {}
    published = {
        (str(port.get("published")), str(port.get("protocol")))
        for service in services.values()
        if isinstance(service, Mapping)
        for port in service.get("ports") or ()
        if isinstance(port, Mapping) and port.get("published")
    }
    reasons += too_many_ports(count_port_entries(services.values()))
    networks = model.get("networks") or {}
    if len(networks) > defaults.BATCH_MAX_NETWORKS:
        reasons.append(
            Text(
                fr=f"{len(networks)} réseaux (au plus {defaults.BATCH_MAX_NETWORKS})",
                en=f"{len(networks)} networks (at most {defaults.BATCH_MAX_NETWORKS})",
            )
        )
    if len(published) > defaults.BATCH_MAX_PUBLISHED_PORTS:
        reasons.append(
            Text(
                fr=f"{len(published)} ports publiés (au plus {defaults.BATCH_MAX_PUBLISHED_PORTS})",
                en=f"{len(published)} published ports "
                f"(at most {defaults.BATCH_MAX_PUBLISHED_PORTS})",
            )
        )
    if len(services) > context.max_services:
        reasons.append(
            Text(
                fr=f"{len(services)} services (au plus {context.max_services})",
                en=f"{len(services)} services (at most {context.max_services})",
            )
        )
    return reasons


def too_many_ports(entries: int) -> list[Text]:
    """The refusal of ``entries`` port entries (``ports`` and ``expose``), if they are too many."""
    if entries <= defaults.BATCH_MAX_PORT_ENTRIES:
        return []
    return problem(
        f"{entries} ports déclarés, plages comprises, avec expose "
        f"(au plus {defaults.BATCH_MAX_PORT_ENTRIES})",
        f"{entries} ports declared, ranges and expose included "
        f"(at most {defaults.BATCH_MAX_PORT_ENTRIES})",
    )


def context_of(
    model: Mapping[str, Any],
    folder: Path,
    host_paths: Iterable[str],
    max_services: int,
    registries: tuple[str, ...] = defaults.BATCH_REGISTRIES,
) -> Context:
    return Context(
        folder=folder,
        host_paths=tuple(posixpath.normpath(p) for p in host_paths),
        services=frozenset(model.get("services") or {}),
        networks=frozenset(model.get("networks") or {}),
        volumes=frozenset(model.get("volumes") or {}),
        max_services=max_services,
        registries=registries,
    )
