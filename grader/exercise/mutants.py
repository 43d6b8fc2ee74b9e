"""An exercise's ``mutants.yaml``: its declared mutants, and the generated ones it declares
equivalent.

::

    exercise: tp-reseau
    mutants:
      redis-hors-reseau:               # a name of the author's
        description: {fr: "...", en: "..."}
        change:                        # a small change of the reference (grader.selftest.change)
          - remove: services/redis/networks/moby-network
        steps: [...]                   # instead of the solution's steps (change, steps or both)
        not_passing: [redis-attache, dns-redis, app-vers-redis, isolation]
    equivalent:                        # generated mutants no check should catch, and why
      "swap-image:testdata": {fr: "...", en: "..."}
      "add-link:*": {fr: "...", en: "..."}

``not_passing`` is exactly the set of checks the mutant must not pass (failed or skipped); every
other check must pass. Keys of ``equivalent`` are generated mutant ids, or patterns of them
(``*`` and ``?``). The file is a Jinja2 template over ``params`` and ``images``, like the
solution it mutates (``services/{{ params.redis }}/...``), so that it follows a student's exam
variant. Loading reports every problem at once, each as ``file:line: ...``.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from grader.errors import ExerciseDefinitionError
from grader.i18n import LANGS, Text

#: The C parser when there is one: loading every lab's mutants is part of each command's start.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _value(node: yaml.Node) -> Any:
    """The plain data of ``node``, as ``safe_load`` would give it (without writing the node
    back to text and parsing it again)."""
    return yaml.constructor.SafeConstructor().construct_document(node)


MUTANTS_FILE = "mutants.yaml"


@dataclass(frozen=True)
class DeclaredMutant:
    id: str
    description: Text
    change: tuple[Mapping[str, Any], ...]
    not_passing: frozenset[str]
    steps: tuple[tuple[str, ...], ...] | None = None
    line: int = 0


@dataclass(frozen=True)
class Mutants:
    declared: tuple[DeclaredMutant, ...] = ()
    equivalent: Mapping[str, Text] = field(default_factory=dict)
    path: Path | None = None

    def equivalence(self, mutant_id: str) -> Text | None:
        """Why the generated mutant ``mutant_id`` is declared equivalent, if it is."""
        for pattern, reason in self.equivalent.items():
            if fnmatch.fnmatchcase(mutant_id, pattern):
                return reason
        return None


def load_mutants(
    path: Path,
    check_ids: Iterable[str],
    exercise_id: str,
    render: Callable[[str], str] | None = None,
) -> Mutants:
    """Read and validate ``path`` (absent: no declared mutant, nothing equivalent), rendered
    with ``render`` (the exercise's Jinja2 rendering with the run's parameters)."""
    if not path.is_file():
        return Mutants(path=path)
    where = str(path)
    try:
        text = path.read_text(encoding="utf-8")
        root = yaml.compose(render(text) if render else text, Loader=_LOADER)
    except (OSError, yaml.YAMLError) as exc:
        raise ExerciseDefinitionError([f"{where}: invalid YAML: {exc}"]) from exc
    if root is None:
        return Mutants(path=path)
    if not isinstance(root, yaml.MappingNode):
        raise ExerciseDefinitionError([f"{where}:1: a mutants file is a mapping"])
    known = set(check_ids)
    problems: list[str] = []
    top = _pairs(root)
    for key, node in top.items():
        if key not in ("exercise", "mutants", "equivalent"):
            problems.append(f"{where}:{_line(node)}: unknown key '{key}'")
    exercise = top.get("exercise")
    if isinstance(exercise, yaml.ScalarNode) and exercise.value != exercise_id:
        problems.append(
            f"{where}:{_line(exercise)}: exercise '{exercise.value}' is not '{exercise_id}'"
        )
    declared = _declared(top.get("mutants"), known, where, problems)
    equivalent = _equivalent(top.get("equivalent"), where, problems)
    if problems:
        raise ExerciseDefinitionError(problems)
    return Mutants(tuple(declared), equivalent, path)


def _declared(
    node: yaml.Node | None, known: set[str], where: str, problems: list[str]
) -> list[DeclaredMutant]:
    if node is None:
        return []
    if not isinstance(node, yaml.MappingNode):
        problems.append(f"{where}:{_line(node)}: 'mutants' must be a mapping")
        return []
    declared: list[DeclaredMutant] = []
    seen: set[str] = set()
    for key_node, value in node.value:
        name = str(key_node.value)
        at = f"{where}:{_line(key_node)}: mutant '{name}'"
        if name in seen:
            problems.append(f"{at}: declared twice")
            continue
        seen.add(name)
        if not isinstance(value, yaml.MappingNode):
            problems.append(f"{at}: expected a mapping")
            continue
        fields = _pairs(value)
        unknown = set(fields) - {"description", "change", "not_passing", "steps"}
        if unknown:
            problems.append(f"{at}: unknown key(s) {', '.join(sorted(unknown))}")
        data = _value(value) or {}
        change = data.get("change", [] if "steps" in data else None)
        if (
            not isinstance(change, list)
            or not (change or "steps" in data)
            or not all(
                isinstance(op, dict)
                and len(op) == 1
                and next(iter(op)) in ("set", "remove", "append")
                for op in change
            )
        ):
            problems.append(f"{at}: 'change' must be a list of set / remove / append")
            change = []
        not_passing = data.get("not_passing")
        if not isinstance(not_passing, list) or not not_passing:
            problems.append(f"{at}: 'not_passing' must list the checks it must not pass")
            not_passing = []
        for check_id in not_passing:
            if str(check_id) not in known:
                problems.append(f"{at}: '{check_id}' is not a check of the rubric")
        steps = data.get("steps")
        if steps is not None and not (
            isinstance(steps, list) and all(isinstance(step, list) for step in steps)
        ):
            problems.append(f"{at}: 'steps' must be a list of command lists")
            steps = None
        declared.append(
            DeclaredMutant(
                id=name,
                description=_text(data.get("description"), at, problems),
                change=tuple(change),
                not_passing=frozenset(str(c) for c in not_passing),
                steps=None if steps is None else tuple(tuple(map(str, s)) for s in steps),
                line=_line(key_node),
            )
        )
    return declared


def _equivalent(node: yaml.Node | None, where: str, problems: list[str]) -> dict[str, Text]:
    if node is None:
        return {}
    if not isinstance(node, yaml.MappingNode):
        problems.append(f"{where}:{_line(node)}: 'equivalent' must be a mapping")
        return {}
    found: dict[str, Text] = {}
    for key_node, value in node.value:
        pattern = str(key_node.value)
        at = f"{where}:{_line(key_node)}: equivalent '{pattern}'"
        if ":" not in pattern:
            problems.append(f"{at}: not a generated mutant id (operator:service...)")
        reason = _value(value)
        found[pattern] = _text(reason, f"{at}: the reason", problems)
    return found


def _text(value: Any, at: str, problems: list[str]) -> Text:
    if isinstance(value, str) and value.strip():
        return Text.same(value)
    if isinstance(value, dict) and all(str(value.get(lang, "")).strip() for lang in LANGS):
        return Text(fr=str(value["fr"]), en=str(value["en"]))
    problems.append(f"{at} must give a text (fr and en)")
    return Text("", "")


def _pairs(node: yaml.MappingNode) -> dict[str, yaml.Node]:
    return {str(key.value): value for key, value in node.value}


def _line(node: yaml.Node) -> int:
    return node.start_mark.line + 1
