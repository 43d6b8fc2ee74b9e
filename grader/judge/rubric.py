"""Rubrics: per check, the points, the titles and hints in both languages, the prerequisites.

A rubric is YAML (``rubrics/<exercise>.yaml``)::

    exercise: tp-reseau
    checks:
      reseau-cree:
        points: 2
        title: {fr: "...", en: "..."}
        hint: {fr: "...", en: "..."}
      dns-redis:
        points: 3
        prerequisites: [redis-attache, app-attache]
        ...
      sans-link:
        points: -2          # negative points: a penalty, applied when the check fails

Loading reports every problem at once, each with its file and line.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path

import yaml

from grader.errors import ExerciseDefinitionError
from grader.i18n import LANGS, Text

Number = int | float


@dataclass(frozen=True)
class RubricEntry:
    check_id: str
    points: Number
    """Points earned when the check passes; negative for a penalty applied when it fails."""
    title: Text
    hint: Text
    prerequisites: tuple[str, ...] = ()
    line: int = 0

    @property
    def is_penalty(self) -> bool:
        return self.points < 0

    @property
    def max_points(self) -> Number:
        return max(self.points, 0)


@dataclass(frozen=True)
class Rubric:
    exercise_id: str
    entries: tuple[RubricEntry, ...]
    path: Path | None = None

    @property
    def max_score(self) -> Number:
        return sum(entry.max_points for entry in self.entries)

    @property
    def check_ids(self) -> tuple[str, ...]:
        return tuple(entry.check_id for entry in self.entries)

    def entry(self, check_id: str) -> RubricEntry:
        for entry in self.entries:
            if entry.check_id == check_id:
                return entry
        raise KeyError(check_id)

    def rendered(self, render: Callable[[str], str]) -> Rubric:
        """The rubric with ``render`` applied to its titles and hints (they may name the
        exercise's parameters, ``{{ params.network }}``: a student's variant names its own)."""
        return replace(
            self,
            entries=tuple(
                replace(entry, title=entry.title.map(render), hint=entry.hint.map(render))
                for entry in self.entries
            ),
        )

    def location(self, check_id: str) -> str:
        where = str(self.path) if self.path else "<rubric>"
        try:
            return f"{where}:{self.entry(check_id).line}"
        except KeyError:
            return where


def load_rubric(path: Path, exercise_id: str | None = None) -> Rubric:
    """Read and validate a rubric file (for exercise ``exercise_id``, when given). Raises
    :class:`ExerciseDefinitionError`."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ExerciseDefinitionError([f"{path}: cannot read rubric ({exc.strerror})"]) from exc
    return parse_rubric(text, path, exercise_id)


def parse_rubric(text: str, path: Path | None = None, exercise_id: str | None = None) -> Rubric:
    """Parse and validate a rubric; with ``exercise_id``, its ``exercise:`` must name it.
    Every problem is reported at once, each as ``file:line: ...``."""
    where = str(path) if path else "<rubric>"
    try:
        root = yaml.compose(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError as exc:
        raise ExerciseDefinitionError([f"{where}: invalid YAML: {exc}"]) from exc
    problems: list[str] = []
    if not isinstance(root, yaml.MappingNode):
        raise ExerciseDefinitionError([f"{where}:1: a rubric is a mapping with a 'checks' key"])
    problems += _duplicate_keys(root, where, "")
    top = _mapping(root)
    exercise = top.get("exercise")
    checks = top.get("checks")
    if not isinstance(checks, yaml.MappingNode):
        raise ExerciseDefinitionError([f"{where}:{_line(root)}: missing mapping 'checks'"])
    entries: list[RubricEntry] = []
    first_line: dict[str, int] = {}
    for key_node, value_node in checks.value:
        check_id = str(key_node.value)
        at = f"{where}:{_line(key_node)}: check '{check_id}'"
        if check_id in first_line:
            problems.append(
                f"{at}: defined twice (first at line {first_line[check_id]}): "
                "its points would count twice"
            )
            continue
        first_line[check_id] = _line(key_node)
        if not isinstance(value_node, yaml.MappingNode):
            problems.append(f"{at}: expected a mapping")
            continue
        problems += _duplicate_keys(value_node, where, f"check '{check_id}': ")
        fields = _mapping(value_node)
        unknown = set(fields) - {"points", "title", "hint", "prerequisites"}
        if unknown:
            problems.append(f"{at}: unknown key(s) {', '.join(sorted(unknown))}")
        points = _number(fields.get("points"))
        if points is None:
            problems.append(f"{at}: 'points' must be a number")
            points = 0
        title = _text(fields.get("title"), f"{at}: 'title'", problems)
        hint = _text(fields.get("hint"), f"{at}: 'hint'", problems)
        prerequisites = _id_list(fields.get("prerequisites"), f"{at}: 'prerequisites'", problems)
        entries.append(RubricEntry(check_id, points, title, hint, prerequisites, _line(key_node)))
    named = str(exercise.value) if isinstance(exercise, yaml.ScalarNode) else ""
    if exercise_id is not None and named != exercise_id:
        if exercise is None:
            problems.append(f"{where}:1: no 'exercise' key (this rubric is for '{exercise_id}')")
        else:
            problems.append(
                f"{where}:{_line(exercise)}: rubric of exercise '{named}', not of '{exercise_id}'"
            )
    rubric = Rubric(named, tuple(entries), path)
    problems += _prerequisite_problems(rubric)
    if problems:
        raise ExerciseDefinitionError(problems)
    return rubric


def _prerequisite_problems(rubric: Rubric) -> list[str]:
    problems: list[str] = []
    known = set(rubric.check_ids)
    for entry in rubric.entries:
        for prerequisite in entry.prerequisites:
            if prerequisite not in known:
                problems.append(
                    f"{rubric.location(entry.check_id)}: check '{entry.check_id}': "
                    f"prerequisite '{prerequisite}' is not a check of this rubric"
                )
    problems += [
        f"{rubric.location(cycle[0])}: check '{cycle[0]}': prerequisites form a cycle "
        f"({' -> '.join(cycle)})"
        for cycle in _cycles(rubric)
    ]
    return problems


def _cycles(rubric: Rubric) -> list[list[str]]:
    graph = {
        e.check_id: [p for p in e.prerequisites if p in rubric.check_ids] for e in rubric.entries
    }
    state: dict[str, int] = {}
    cycles: list[list[str]] = []

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in graph[node]:
            if state.get(nxt) == 1:
                cycles.append([*path[path.index(nxt) :], nxt])
            elif nxt not in state:
                visit(nxt, [*path, nxt])
        state[node] = 2

    for node in graph:
        if node not in state:
            visit(node, [node])
    return cycles


def execution_order(rubric: Rubric, check_ids: Iterable[str]) -> list[str]:
    """``check_ids`` reordered so that every check runs after its prerequisites; otherwise
    the given order is kept."""
    pending = list(check_ids)
    done: list[str] = []
    placed: set[str] = set()
    while pending:
        for check_id in pending:
            try:
                needs = rubric.entry(check_id).prerequisites
            except KeyError:
                needs = ()
            if all(need in placed or need not in pending for need in needs):
                done.append(check_id)
                placed.add(check_id)
                pending.remove(check_id)
                break
        else:  # a cycle; validation reports it, keep going in file order
            done += pending
            break
    return done


def _duplicate_keys(node: yaml.MappingNode, where: str, at: str) -> list[str]:
    """Keys given twice in one mapping (YAML loaders silently keep the last one); ``at``
    prefixes each problem (``"check 'x': "``)."""
    seen: dict[str, int] = {}
    problems: list[str] = []
    for key, _ in node.value:
        name = str(key.value)
        if name in seen:
            problems.append(
                f"{where}:{_line(key)}: {at}key '{name}' given twice (first at line {seen[name]})"
            )
        seen.setdefault(name, _line(key))
    return problems


def _mapping(node: yaml.MappingNode) -> dict[str, yaml.Node]:
    return {str(k.value): v for k, v in node.value}


def _line(node: yaml.Node) -> int:
    return node.start_mark.line + 1


def _number(node: yaml.Node | None) -> Number | None:
    if not isinstance(node, yaml.ScalarNode):
        return None
    value = yaml.safe_load(node.value) if node.tag.endswith(("int", "float")) else None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return value


def _text(node: yaml.Node | None, at: str, problems: list[str]) -> Text:
    if not isinstance(node, yaml.MappingNode):
        problems.append(f"{at} must give 'fr' and 'en'")
        return Text("", "")
    values = {key: str(value.value) for key, value in _mapping(node).items()}
    missing = [lang for lang in LANGS if not values.get(lang, "").strip()]
    if missing:
        problems.append(f"{at} has no text for {', '.join(missing)}")
    return Text(fr=values.get("fr", ""), en=values.get("en", ""))


def _id_list(node: yaml.Node | None, at: str, problems: list[str]) -> tuple[str, ...]:
    if node is None:
        return ()
    if not isinstance(node, yaml.SequenceNode) or not all(
        isinstance(item, yaml.ScalarNode) for item in node.value
    ):
        problems.append(f"{at} must be a list of check ids")
        return ()
    return tuple(str(item.value) for item in node.value)


def check_against(rubric: Rubric, declared: Mapping[str, int], checks_path: Path) -> list[str]:
    """Problems between a rubric and the check ids declared in a checks file (id -> line)."""
    problems = [
        f"{rubric.location(check_id)}: check '{check_id}' has no test in {checks_path}"
        for check_id in rubric.check_ids
        if check_id not in declared
    ]
    problems += [
        f"{checks_path}:{line}: check '{check_id}' is not in {rubric.path or 'the rubric'}"
        for check_id, line in declared.items()
        if check_id not in rubric.check_ids
    ]
    return problems
