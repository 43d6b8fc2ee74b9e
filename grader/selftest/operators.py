"""Generated mutants: single-point changes of the reference solution, by operator.

Each operator looks at the reference's normalised Compose model and proposes every mutant it
can make there, named ``operator:service[:detail]`` (stable names, which ``mutants.yaml`` uses
to declare a mutant equivalent). A mutant is a mistake a student could make; at least one
check must not pass on it.

======================  =======================================================================
``drop-service``        a service is missing
``detach-network``      a service is not on one of its user-defined networks
``drop-alias``          a network alias is missing
``drop-port``           a published port is missing
``move-port``           a port is published on another host port
``volume-anonymous``    a named volume's mount uses an anonymous volume instead
``volume-other``        a named volume's mount uses another volume
``flip-mode``           a mount is read-only instead of read-write, or the other way round
``drop-volumes-from``   ``volumes_from`` is missing
``run-as-root``         a service that runs as another user runs as root
``swap-image``          a service runs another service's image
``add-link``            a service uses a legacy link to another one
======================  =======================================================================
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from grader.i18n import Text

Model = dict[str, Any]


@dataclass(frozen=True)
class RunSpace:
    """What a run may use when a mutant needs something of its own (a free host port)."""

    spare_port: int


Change = Callable[[Model, RunSpace], Model]


@dataclass(frozen=True)
class GeneratedMutant:
    id: str
    operator: str
    description: Text
    change: Change


def generate(reference: Model, non_root: frozenset[str] = frozenset()) -> list[GeneratedMutant]:
    """Every generated mutant of ``reference`` (a normalised model). ``non_root``: the services
    whose reference container does not run as root (the only ones ``run-as-root`` changes)."""
    services: Mapping[str, Model] = reference.get("services") or {}
    mutants: list[GeneratedMutant] = []
    for name in services:
        mutants += list(_for_service(reference, name, name in non_root))
    return mutants


def _for_service(model: Model, name: str, non_root: bool) -> Iterator[GeneratedMutant]:
    service = model["services"][name]
    yield _mutant(
        f"drop-service:{name}",
        Text(fr=f"le service {name} manque", en=f"service {name} is missing"),
        lambda m, _: _drop_service(m, name),
    )
    networks = service.get("networks") or {}
    for network in (n for n in networks if n != "default"):
        yield _mutant(
            f"detach-network:{name}:{network}",
            Text(fr=f"{name} n'est pas sur {network}", en=f"{name} is not on {network}"),
            lambda m, _, n=network: _detach(m, name, n),
        )
        for alias in (networks.get(network) or {}).get("aliases") or ():
            yield _mutant(
                f"drop-alias:{name}:{network}:{alias}",
                Text(
                    fr=f"{name} n'a pas l'alias {alias} sur {network}",
                    en=f"{name} lacks alias {alias} on {network}",
                ),
                lambda m, _, n=network, a=alias: _drop_alias(m, name, n, a),
            )
    for index, port in enumerate(service.get("ports") or ()):
        if not port.get("published"):
            continue
        target = port["target"]
        yield _mutant(
            f"drop-port:{name}:{target}",
            Text(
                fr=f"{name} ne publie pas son port {target}",
                en=f"{name} does not publish its port {target}",
            ),
            lambda m, _, i=index: _edit(m, ["services", name, "ports"], lambda p: p.pop(i)),
        )
        yield _mutant(
            f"move-port:{name}:{target}",
            Text(
                fr=f"{name} publie {target} sur un autre port de l'hôte",
                en=f"{name} publishes {target} on another host port",
            ),
            lambda m, space, i=index: _set(
                m, ["services", name, "ports", i, "published"], str(space.spare_port)
            ),
        )
    for index, mount in enumerate(service.get("volumes") or ()):
        yield from _mount_mutants(name, index, mount)
    if service.get("volumes_from"):
        yield _mutant(
            f"drop-volumes-from:{name}",
            Text(fr=f"{name} sans volumes_from", en=f"{name} without volumes_from"),
            lambda m, _: _edit(m, ["services", name], lambda s: s.pop("volumes_from")),
        )
    if non_root:
        yield _mutant(
            f"run-as-root:{name}",
            Text(fr=f"{name} tourne en root", en=f"{name} runs as root"),
            lambda m, _: _set(m, ["services", name, "user"], "0:0"),
        )
    other_image = _other_image(model, name)
    if other_image is not None:
        yield _mutant(
            f"swap-image:{name}",
            Text(
                fr=f"{name} utilise l'image {other_image}",
                en=f"{name} runs image {other_image}",
            ),
            lambda m, _: _swap_image(m, name, other_image),
        )
    peer = _network_peer(model, name)
    if peer is not None:
        yield _mutant(
            f"add-link:{name}",
            Text(fr=f"{name} a un lien --link vers {peer}", en=f"{name} has a --link to {peer}"),
            lambda m, _: _edit(
                m, ["services", name], lambda s: s.setdefault("links", []).append(peer)
            ),
        )


def _mount_mutants(name: str, index: int, mount: Model) -> Iterator[GeneratedMutant]:
    where = f"{name}:{mount.get('target')}"
    path = ["services", name, "volumes", index]
    if mount.get("type") == "volume" and mount.get("source"):
        yield _mutant(
            f"volume-anonymous:{where}",
            Text(
                fr=f"{name} monte un volume anonyme sur {mount['target']}",
                en=f"{name} mounts an anonymous volume at {mount['target']}",
            ),
            lambda m, _: _edit(m, path, lambda v: v.pop("source")),
        )
        yield _mutant(
            f"volume-other:{where}",
            Text(
                fr=f"{name} monte un autre volume sur {mount['target']}",
                en=f"{name} mounts another volume at {mount['target']}",
            ),
            lambda m, _: _other_volume(m, path),
        )
    if mount.get("type") in ("volume", "bind"):
        mode = "lecture seule" if not mount.get("read_only") else "lecture-écriture"
        mode_en = "read-only" if not mount.get("read_only") else "read-write"
        yield _mutant(
            f"flip-mode:{where}",
            Text(
                fr=f"{name} monte {mount['target']} en {mode}",
                en=f"{name} mounts {mount['target']} {mode_en}",
            ),
            lambda m, _: _edit(m, path, lambda v: v.update(read_only=not v.get("read_only"))),
        )


def _mutant(mutant_id: str, description: Text, change: Change) -> GeneratedMutant:
    return GeneratedMutant(mutant_id, mutant_id.split(":", 1)[0], description, change)


# -- the changes ---------------------------------------------------------------------------------
def _edit(model: Model, path: list[Any], edit: Callable[[Any], Any]) -> Model:
    changed = copy.deepcopy(model)
    node: Any = changed
    for part in path:
        node = node[part]
    edit(node)
    return changed


def _set(model: Model, path: list[Any], value: Any) -> Model:
    def put(node: Any) -> None:
        node[path[-1]] = value

    return _edit(model, path[:-1], put)


def _drop_service(model: Model, name: str) -> Model:
    """``name`` removed, and every reference to it, so that the rest still runs."""
    changed = copy.deepcopy(model)
    del changed["services"][name]
    for service in changed["services"].values():
        (service.get("depends_on") or {}).pop(name, None)
        if "links" in service:
            service["links"] = [
                link for link in service["links"] if str(link).split(":")[0] != name
            ]
        if "volumes_from" in service:
            service["volumes_from"] = [
                ref for ref in service["volumes_from"] if str(ref).split(":")[0] != name
            ]
        if service.get("network_mode") == f"service:{name}":
            del service["network_mode"]
    return changed


def _detach(model: Model, name: str, network: str) -> Model:
    changed = copy.deepcopy(model)
    networks = changed["services"][name]["networks"]
    del networks[network]
    if not networks:  # Compose would put it on the project's default network
        networks["default"] = None
        changed.setdefault("networks", {}).setdefault("default", {})
    return changed


def _drop_alias(model: Model, name: str, network: str, alias: str) -> Model:
    changed = copy.deepcopy(model)
    attachment = changed["services"][name]["networks"][network]
    attachment["aliases"] = [a for a in attachment["aliases"] if a != alias]
    return changed


def _other_volume(model: Model, path: list[Any]) -> Model:
    changed = _set(model, [*path, "source"], "selftest-other")
    changed.setdefault("volumes", {})["selftest-other"] = {}
    return changed


def _other_image(model: Model, name: str) -> str | None:
    """The first image, in service order, that another service runs and ``name`` does not."""
    own = model["services"][name].get("image")
    for other, service in model["services"].items():
        image = service.get("image")
        if other != name and image and image != own and "build" not in service:
            return str(image)
    return None


def _swap_image(model: Model, name: str, image: str) -> Model:
    changed = copy.deepcopy(model)
    service = changed["services"][name]
    service.pop("build", None)
    service["image"] = image
    return changed


def _dependencies(service: Model) -> set[str]:
    """The services ``service`` starts after: ``depends_on``, ``links`` and ``volumes_from``."""
    links = {str(link).split(":")[0] for link in service.get("links") or []}
    shared = {
        str(source).split(":")[0]
        for source in service.get("volumes_from") or []
        if not str(source).startswith("container:")
    }
    return set(service.get("depends_on") or {}) | links | shared


def _network_peer(model: Model, name: str) -> str | None:
    """Another service on a network of ``name``'s that ``up`` starts (a service behind a
    profile is not running: linking to it would stop the whole project from coming up), and
    that does not itself wait for ``name`` (a link is a dependency: a cycle fails the project)."""
    mine = set(model["services"][name].get("networks") or {})
    for other, service in model["services"].items():
        if other == name or service.get("profiles") or name in _dependencies(service):
            continue
        if mine & set(service.get("networks") or {}):
            return other
    return None
