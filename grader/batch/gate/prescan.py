"""The prescan: what the raw compose files may hold, read within bounds, before ``config``.

``config`` runs confined (:mod:`grader.batch.gate.confined`): nothing but the staged copy exists
where it runs, so no path rule of Compose's can lead it to a host file. The prescan is the fast
first filter in front of it, on the batch machine:

- every compose file it reads (the submission's, and each file an ``include`` or ``extends``
  names, recursively, at most :data:`~grader.defaults.STAGE_MAX_COMPOSE_FILES`) is read whole
  only below :data:`~grader.defaults.STAGE_MAX_COMPOSE_BYTES`, and all of them together expand to
  at most :data:`~grader.defaults.STAGE_MAX_YAML_NODES` nodes (a YAML alias bomb is refused here,
  not expanded inside Compose);
- the YAML is read strictly: only the core tags and Compose's ``!reset`` and ``!override``, and
  every key a plain string or number, so Go's parser and Python's see the same names; dates and
  numbers are read as text (a date that does not exist, a number of 5000 digits, are Compose's
  to judge, not a reason for Python to stop);
- keys that make Compose read a file or run a program while it loads the project are refused,
  and the paths ``include``, ``extends`` and ``env_file`` name must be plain relative paths
  inside the folder; every ``.env`` and ``env_file`` is size-capped;
- ports and ``expose`` are counted with their ranges expanded (:mod:`grader.batch.gate.ports`).

It runs in a worker process with a deadline (:func:`grader.batch.gate.prepare.prepare`), so no
input can hold the batch up however slowly it parses.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from grader import defaults
from grader.batch.gate.allowlist import SERVICE, TOP_LEVEL, too_many_ports
from grader.batch.gate.ports import count_port_entries
from grader.batch.gate.rules import Context, apply
from grader.i18n import Text
from grader.report.sanitize import clean_text


# -- the compose file, read within bounds --------------------------------------------------------
class ComposeFileProblem(Exception):
    def __init__(self, text: Text) -> None:
        super().__init__(text.en)
        self.text = text


class _ComposeLoader(yaml.SafeLoader):
    """A safe loader that reads Compose's own tags (``!reset``, ``!override``) as the value
    under them (every other explicit tag is refused before anything is constructed, see
    :func:`_check_nodes`), dates as the text they are, and an integer too long for Python as
    its text. A file nested deeper than :data:`~grader.defaults.STAGE_MAX_YAML_DEPTH` is not
    read: the scanner's work grows with the square of the depth (a 500-level file took a
    second of CPU, and a class beside a busy machine past its prescan deadline)."""

    depth = 0

    def compose_node(self, parent: yaml.Node | None, index: object) -> yaml.Node | None:
        self.depth += 1
        try:
            if self.depth > defaults.STAGE_MAX_YAML_DEPTH:
                mark = self.peek_event().start_mark
                raise yaml.YAMLError(
                    f"nested deeper than {defaults.STAGE_MAX_YAML_DEPTH} levels "
                    f"(line {mark.line + 1})"
                )
            return super().compose_node(parent, index)  # type: ignore[no-any-return]
        finally:
            self.depth -= 1


_TIMESTAMP = "tag:yaml.org,2002:timestamp"
_ComposeLoader.yaml_implicit_resolvers = {
    first: [(tag, pattern) for tag, pattern in resolvers if tag != _TIMESTAMP]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _untagged(loader: yaml.SafeLoader, node: yaml.Node) -> Any:
    if isinstance(node, yaml.MappingNode):
        return loader.construct_mapping(node)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node)
    return loader.construct_scalar(node)  # type: ignore[arg-type]


def _integer(loader: yaml.SafeLoader, node: yaml.Node) -> Any:
    try:
        return loader.construct_yaml_int(node)  # type: ignore[arg-type]
    except ValueError:  # past Python's digit limit for int(): a number Compose reads
        return loader.construct_scalar(node)  # type: ignore[arg-type]


for _tag in ("!reset", "!override"):
    _ComposeLoader.add_constructor(_tag, _untagged)
_ComposeLoader.add_constructor("tag:yaml.org,2002:int", _integer)

#: The tags a compose file may hold: what plain YAML resolves by itself, and Compose's two.
#: Anything else (``!!binary``, which Compose decodes but a Python reader sees as bytes, and
#: would so hide a key from the prescan) is refused.
_CORE = "tag:yaml.org,2002:"
_ALLOWED_TAGS = frozenset(
    [*(_CORE + t for t in ("str", "int", "float", "bool", "null", "seq", "map", "merge",
                           "value")),
     "!reset", "!override"]
)  # fmt: skip


_KEY_TAGS = frozenset(_CORE + t for t in ("str", "int", "merge"))


class NodeBudget:
    """YAML nodes a submission's compose files may expand to, all files together."""

    def __init__(self, limit: int = defaults.STAGE_MAX_YAML_NODES) -> None:
        self.left = limit

    def spend(self, roots: list[yaml.Node]) -> None:
        try:
            used = _expanded_size(roots, self.left + 1)
        except RecursionError:  # nested deeper than Python recurses: no lab needs that
            used = self.left + 1
        self.left -= used
        if self.left < 0:
            raise ComposeFileProblem(
                Text(
                    fr=f"les fichiers compose se déplient en plus de "
                    f"{defaults.STAGE_MAX_YAML_NODES} éléments (ancres et alias YAML)",
                    en=f"the compose files expand to more than {defaults.STAGE_MAX_YAML_NODES} "
                    "items (YAML anchors and aliases)",
                )
            )


def load_documents(path: Path, budget: NodeBudget | None = None) -> list[Any]:
    """Every YAML document of ``path`` (Compose merges them all), or :class:`ComposeFileProblem`
    when it is larger than a compose file may be, is not readable YAML, holds a tag or a key
    Compose would read otherwise than Python does, or expands past the ``budget`` (default: a
    file's own)."""
    budget = budget or NodeBudget()
    text = read_capped(path, defaults.STAGE_MAX_COMPOSE_BYTES)
    try:
        loader = _ComposeLoader(text)
        try:
            nodes = []
            while loader.check_node():
                nodes.append(loader.get_node())
            budget.spend(nodes)
            _check_nodes(nodes, path)
            return [loader.construct_document(node) for node in nodes]
        finally:
            loader.dispose()
    except (RecursionError, yaml.YAMLError, ValueError, TypeError, OverflowError) as exc:
        raise _unreadable(path, exc) from exc


def read_capped(path: Path, limit: int) -> str:
    """The text of ``path`` (UTF-8), refused past ``limit`` bytes: read no further."""
    try:
        with path.open("rb") as file:
            data = file.read(limit + 1)
        if len(data) > limit:
            raise ComposeFileProblem(
                Text(
                    fr=f"{path.name} dépasse {limit >> 10} Kio",
                    en=f"{path.name} is larger than {limit >> 10} KiB",
                )
            )
        return data.decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise _unreadable(path, exc) from exc


def _unreadable(path: Path, exc: BaseException) -> ComposeFileProblem:
    return ComposeFileProblem(
        Text(
            fr=f"fichier compose illisible ({path.name}) : {clean_text(str(exc), 300)}",
            en=f"unreadable compose file ({path.name}): {clean_text(str(exc), 300)}",
        )
    )


def _check_nodes(roots: list[yaml.Node], path: Path) -> None:
    """Refuse a tag outside :data:`_ALLOWED_TAGS`, and a mapping key that is not a plain
    scalar (a key Compose would decode to a name Python does not see)."""
    seen: set[int] = set()
    pending = list(roots)
    while pending:
        node = pending.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if node.tag not in _ALLOWED_TAGS:
            raise ComposeFileProblem(
                Text(
                    fr=f"{path.name}, ligne {node.start_mark.line + 1} : l'étiquette YAML "
                    f"{node.tag} n'est pas acceptée dans une soumission",
                    en=f"{path.name}, line {node.start_mark.line + 1}: YAML tag {node.tag} is "
                    "not accepted in a submission",
                )
            )
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if not isinstance(key, yaml.ScalarNode) or key.tag not in _KEY_TAGS:
                    raise ComposeFileProblem(
                        Text(
                            fr=f"{path.name}, ligne {key.start_mark.line + 1} : une clé doit "
                            "être un simple texte",
                            en=f"{path.name}, line {key.start_mark.line + 1}: a key must be "
                            "plain text",
                        )
                    )
                pending += [key, value]
        elif isinstance(node, yaml.SequenceNode):
            pending += node.value


def prescan_files(compose_file: Path, folder: Path) -> list[Text]:
    """:func:`prescan` on ``compose_file`` and on every file it makes Compose read
    (``include``, ``extends.file``), recursively, with one node budget for all: a file Compose
    loads is a file the prescan has read first. Raises :class:`ComposeFileProblem` for a file
    that cannot be read within bounds."""
    budget = NodeBudget()
    pending = [compose_file]
    seen: set[Path] = set()
    services: list[Any] = []
    while pending:
        path = pending.pop(0)
        if path in seen:
            continue
        seen.add(path)
        if len(seen) > defaults.STAGE_MAX_COMPOSE_FILES:
            return [
                Text(
                    fr=f"plus de {defaults.STAGE_MAX_COMPOSE_FILES} fichiers compose inclus",
                    en=f"more than {defaults.STAGE_MAX_COMPOSE_FILES} included compose files",
                )
            ]
        documents = load_documents(path, budget)
        found = prescan(documents)
        if found:
            return [_in_file(path, compose_file, reason) for reason in found]
        services += raw_services(documents)
        for relative in env_files(documents):
            target = path.parent / relative
            if target.is_file():
                read_capped(target, defaults.STAGE_MAX_ENV_BYTES)
        for relative in referenced_files(documents):
            # The prescan made it a plain relative path: it stays under the including file's
            # folder, inside the staged copy (which holds no symlink).
            target = path.parent / relative
            if target.is_file():
                pending.append(target)
    return too_many_ports(count_port_entries(services))


def raw_services(documents: list[Any]) -> list[Any]:
    """The service definitions of raw documents, as written."""
    found: list[Any] = []
    for document in documents:
        services = document.get("services") if isinstance(document, Mapping) else None
        if isinstance(services, Mapping):
            found += list(services.values())
    return found


def env_files(documents: list[Any]) -> list[str]:
    """The files ``env_file`` makes Compose read (after :func:`prescan` found them plain
    relative paths)."""
    found: list[str] = []
    for service in raw_services(documents):
        if not isinstance(service, Mapping):
            continue
        for env in _as_list(service.get("env_file")):
            path = env.get("path") if isinstance(env, Mapping) else env
            if isinstance(path, str):
                found.append(path)
    for document in documents:
        for item in _as_list(document.get("include")) if isinstance(document, Mapping) else ():
            if isinstance(item, Mapping):
                found += [str(env) for env in _as_list(item.get("env_file"))]
    return found


def _in_file(path: Path, top: Path, reason: Text) -> Text:
    if path == top:
        return reason
    name = path.relative_to(top.parent).as_posix()
    return Text(fr=f"{name} : {reason.fr}", en=f"{name}: {reason.en}")


def _expanded_size(roots: list[yaml.Node], limit: int) -> int:
    """How many nodes the documents hold once every alias is expanded (capped at ``limit``; a
    node that contains itself counts as the limit)."""
    sizes: dict[int, int] = {}
    visiting: set[int] = set()

    def size(node: yaml.Node) -> int:
        key = id(node)
        if key in sizes:
            return sizes[key]
        if key in visiting:
            return limit
        visiting.add(key)
        total = 1
        if isinstance(node, yaml.MappingNode):
            children = [child for pair in node.value for child in pair]
        elif isinstance(node, yaml.SequenceNode):
            children = list(node.value)
        else:
            children = []
        for child in children:
            total = min(total + size(child), limit)
        visiting.discard(key)
        sizes[key] = total
        return total

    return min(sum(size(root) for root in roots), limit)


# -- the refusals ----------------------------------------------------------------------------
def prescan(documents: list[Any]) -> list[Text]:
    """Refusals found in the raw compose file, before ``config`` runs: keys that make Compose
    read a file (or run a program) as it loads the project, and what the JSON output would
    hide. Paths named by ``include``, ``extends`` and ``env_file`` must be plain relative
    paths inside the folder (no interpolation, no ``..``, no ``~``, no URL)."""
    reasons: list[Text] = []
    for document in documents:
        if document is None:
            continue
        if not isinstance(document, Mapping):
            return [
                Text(
                    fr="le fichier compose n'est pas une table YAML",
                    en="the compose file is not a YAML mapping",
                )
            ]
        for key in ("models", "secrets", "configs"):
            if key in document:
                reasons += apply(TOP_LEVEL[key], None, key, _NO_CONTEXT)
        for item in _as_list(document.get("include")):
            reasons += _include_reasons(item)
        services = document.get("services")
        for name, service in services.items() if isinstance(services, Mapping) else ():
            if isinstance(service, Mapping):
                reasons += _raw_service_reasons(f"services.{name}", service)
    return reasons


def _include_reasons(item: Any) -> list[Text]:
    if not isinstance(item, Mapping):
        return _relative_inside(item, "include")
    reasons: list[Text] = []
    for path in _as_list(item.get("path")):
        reasons += _relative_inside(path, "include")
    for env in _as_list(item.get("env_file")):
        reasons += _relative_inside(env, "include.env_file")
    if "project_directory" in item:
        reasons += _relative_inside(item["project_directory"], "include.project_directory")
    return reasons


def _raw_service_reasons(where: str, service: Mapping[str, Any]) -> list[Text]:
    reasons: list[Text] = []
    for key in ("label_file", "provider", "models"):
        if key in service:
            reasons += apply(SERVICE[key], None, f"{where}.{key}", _NO_CONTEXT)
    extends = service.get("extends")
    if isinstance(extends, Mapping) and "file" in extends:
        reasons += _relative_inside(extends["file"], f"{where}.extends.file")
    for env in _as_list(service.get("env_file")):
        path = env.get("path") if isinstance(env, Mapping) else env
        reasons += _relative_inside(path, f"{where}.env_file")
    return reasons


def referenced_files(documents: list[Any]) -> list[str]:
    """The files ``include`` and ``extends`` make Compose read (after :func:`prescan` found
    them plain relative paths), relative to the file that names them."""
    found: list[str] = []
    for document in documents:
        if not isinstance(document, Mapping):
            continue
        for item in _as_list(document.get("include")):
            paths = item.get("path") if isinstance(item, Mapping) else item
            found += [str(p) for p in _as_list(paths)]
        services = document.get("services")
        for service in services.values() if isinstance(services, Mapping) else ():
            extends = service.get("extends") if isinstance(service, Mapping) else None
            if isinstance(extends, Mapping) and isinstance(extends.get("file"), str):
                found.append(extends["file"])
    return found


_NO_CONTEXT = Context(Path("/nonexistent"), (), frozenset(), frozenset(), frozenset())
_PLAIN_RELATIVE = re.compile(r"^[A-Za-z0-9_.][A-Za-z0-9_./-]*$")


def _relative_inside(path: Any, what: str) -> list[Text]:
    text = path if isinstance(path, str) else repr(path)
    parts = text.split("/")
    if (
        not isinstance(path, str)
        or not _PLAIN_RELATIVE.match(path)
        or ".." in parts
        or "://" in path
    ):
        return [
            Text(
                fr=f"{what} : « {text[:200]} » doit être un chemin relatif simple dans le "
                "dossier de la soumission (sans .., ~, $ ni URL)",
                en=f"{what}: '{text[:200]}' must be a plain relative path inside the "
                "submission's folder (no .., ~, $ or URL)",
            )
        ]
    return []


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]
