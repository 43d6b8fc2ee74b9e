"""Small changes of a Compose model: what a mutant is made of.

A change is a list of operations on the model as ``docker compose config`` normalises it (long
syntax everywhere: ``networks`` a mapping, ``ports`` and ``volumes`` lists of mappings). A path
names a place in it with ``/`` between keys (a list index is a number)::

    - remove: services/redis2/networks/moby-network2/aliases
    - set: {services/redis/command: [sleep, infinity]}
    - append: {services/moby-counter/links: [redis]}

``set`` creates the mappings on its way; ``remove`` of a path that is not there is an error (a
mutant that changes nothing would survive for the wrong reason).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any

Operation = Mapping[str, Any]


class ChangeError(ValueError):
    """An operation that does not fit the model (named in the message)."""


def apply_change(model: Mapping[str, Any], operations: Sequence[Operation]) -> dict[str, Any]:
    """``model`` (a copy) with ``operations`` applied in order.

    >>> apply_change({"services": {"a": {"ports": [1, 2]}}}, [{"remove": "services/a/ports/0"}])
    {'services': {'a': {'ports': [2]}}}
    """
    changed: dict[str, Any] = copy.deepcopy(dict(model))
    for operation in operations:
        if len(operation) != 1:
            raise ChangeError(f"one of set, remove, append per operation: {dict(operation)}")
        ((verb, argument),) = operation.items()
        if verb == "remove":
            for path in argument if isinstance(argument, list) else [argument]:
                _remove(changed, str(path))
        elif verb in ("set", "append") and isinstance(argument, Mapping):
            for path, value in argument.items():
                if verb == "set":
                    _set(changed, str(path), copy.deepcopy(value))
                else:
                    _append(changed, str(path), copy.deepcopy(value))
        else:
            raise ChangeError(f"unknown operation {verb!r} (set, remove, append)")
    return changed


def _parts(path: str) -> list[str]:
    parts = [part for part in path.strip("/").split("/") if part]
    if not parts:
        raise ChangeError("an empty path")
    return parts


def _step(node: Any, part: str, path: str) -> Any:
    if isinstance(node, Mapping) and part in node:
        return node[part]
    if isinstance(node, list) and part.isdigit() and int(part) < len(node):
        return node[int(part)]
    raise ChangeError(f"{path}: no {part!r} there")


def _parent(model: dict[str, Any], path: str, create: bool) -> tuple[Any, str]:
    parts = _parts(path)
    node: Any = model
    for part in parts[:-1]:
        if create and isinstance(node, dict) and node.get(part) is None:
            node[part] = {}
        node = _step(node, part, path)
    return node, parts[-1]


def _remove(model: dict[str, Any], path: str) -> None:
    node, last = _parent(model, path, create=False)
    _step(node, last, path)  # there, or an error
    if isinstance(node, list):
        del node[int(last)]
    else:
        del node[last]


def _set(model: dict[str, Any], path: str, value: Any) -> None:
    node, last = _parent(model, path, create=True)
    if isinstance(node, list) and last.isdigit() and int(last) < len(node):
        node[int(last)] = value
    elif isinstance(node, dict):
        node[last] = value
    else:
        raise ChangeError(f"{path}: cannot set there")


def _append(model: dict[str, Any], path: str, value: Any) -> None:
    node, last = _parent(model, path, create=True)
    if not isinstance(node, dict):
        raise ChangeError(f"{path}: cannot append there")
    current = node.setdefault(last, [])
    if not isinstance(current, list):
        raise ChangeError(f"{path}: not a list")
    current.extend(value if isinstance(value, list) else [value])
