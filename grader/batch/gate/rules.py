"""The rule engine of the allowlist: rules as data, and the walk that applies them.

A :class:`Rule` says what one key of a Compose model may be: *allowed* (with constraints on its
value), *rewritten* by the batch (naming the function of :mod:`grader.batch.rewrite` that does
it), or *refused* (saying what the key would let a submission do). Rules nest: a key's value may
be a mapping whose keys follow their own rules, or a list of such mappings. :func:`walk` applies
a table of rules to a value and returns every reason for a refusal, each naming the key's path;
a key no rule lists is refused ("not supported in a submission"), so what the tables do not know
cannot run. ``x-*`` extension keys carry no behaviour and are skipped.

The tables themselves are in :mod:`grader.batch.gate.allowlist`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from grader import defaults
from grader.i18n import Text

Verdict = Literal["allow", "rewrite", "refuse"]


@dataclass(frozen=True)
class Context:
    """What the constraints compare a model against."""

    folder: Path
    """The staged copy: every path a submission names must stay inside it."""
    host_paths: tuple[str, ...]
    """The exercise's declared engine-host folders (normalised): the only bind sources."""
    services: frozenset[str]
    networks: frozenset[str]
    volumes: frozenset[str]
    max_services: int = defaults.BATCH_MAX_SERVICES
    registries: tuple[str, ...] = defaults.BATCH_REGISTRIES
    """The registries images may come from."""


Check = Callable[[Any, Context], list[Text]]


@dataclass(frozen=True)
class Rule:
    verdict: Verdict
    why: Text | None = None
    """For a refusal: what the key would let a submission do."""
    check: Check | None = None
    """For an allowed or rewritten key: the constraints its value must meet."""
    keys: Mapping[str, Rule] | None = None
    """The value is a mapping whose keys follow these rules."""
    each: Mapping[str, Rule] | None = None
    """The value is a list (or a mapping) whose items are mappings following these rules."""
    each_check: Check | None = None
    """Constraints on each item as a whole (a mount's type and source together)."""
    by: str | None = None
    """For a rewritten key: the function of :mod:`grader.batch.rewrite` that rewrites it."""


def allow(
    check: Check | None = None,
    *,
    keys: Mapping[str, Rule] | None = None,
    each: Mapping[str, Rule] | None = None,
    each_check: Check | None = None,
) -> Rule:
    return Rule("allow", check=check, keys=keys, each=each, each_check=each_check)


def rewritten(
    by: str, check: Check | None = None, *, keys: Mapping[str, Rule] | None = None
) -> Rule:
    """A key the batch replaces with its own value, by ``grader.batch.rewrite.<by>``."""
    return Rule("rewrite", check=check, keys=keys, by=by)


def refused(fr: str, en: str) -> Rule:
    return Rule("refuse", why=Text(fr=fr, en=en))


def problem(fr: str, en: str) -> list[Text]:
    return [Text(fr=fr, en=en)]


def walk(value: Any, rules: Mapping[str, Rule], where: str, context: Context) -> list[Text]:
    """Every reason ``value`` (a mapping) breaks ``rules``; ``where`` is its path."""
    if not isinstance(value, Mapping):
        return [at(where, Text(fr="une table était attendue", en="a mapping was expected"))]
    reasons: list[Text] = []
    for key, item in value.items():
        name = str(key)
        if name.startswith("x-"):
            continue
        path = f"{where}.{name}" if where else name
        rule = rules.get(name)
        if rule is None:
            reasons.append(
                Text(
                    fr=f"non pris en charge dans une soumission : {path}",
                    en=f"not supported in a submission: {path}",
                )
            )
            continue
        reasons += apply(rule, item, path, context)
    return reasons


def apply(rule: Rule, value: Any, path: str, context: Context) -> list[Text]:
    """Every reason ``value``, found at ``path``, breaks ``rule``."""
    if rule.verdict == "refuse":
        why = rule.why or Text(fr="", en="")
        return [
            Text(
                fr=f"refusé dans une soumission : {path} ({why.fr})",
                en=f"not allowed in a submission: {path} ({why.en})",
            )
        ]
    reasons = [at(path, text) for text in rule.check(value, context)] if rule.check else []
    if rule.keys is not None and value is not None:
        reasons += walk(value, rule.keys, path, context)
    if rule.each is not None and value is not None:
        if not isinstance(value, (Mapping, list)):
            return [*reasons, at(path, Text(fr="une liste était attendue", en="a list expected"))]
        items = value.items() if isinstance(value, Mapping) else enumerate(value)
        for key, item in items:
            if item is None:  # `networks: {net: null}`: nothing set for that entry
                continue
            if rule.each_check is not None and isinstance(item, Mapping):
                reasons += [at(f"{path}.{key}", t) for t in rule.each_check(item, context)]
            reasons += walk(item, rule.each, f"{path}.{key}", context)
    return reasons


def at(path: str, text: Text) -> Text:
    return Text(fr=f"{path} : {text.fr}", en=f"{path}: {text.en}")


def rewritten_paths(rules: Mapping[str, Rule], where: str = "") -> list[tuple[str, Rule]]:
    """Every rewritten key of ``rules`` and the tables they nest, as ``(path, rule)``: what
    the README's "rewritten" row lists, and what the tests check the rewrite does.

    >>> [p for p, _ in rewritten_paths({"a": allow(keys={"b": rewritten("f")})})]
    ['a.b']
    """
    found: list[tuple[str, Rule]] = []
    for key, rule in rules.items():
        path = f"{where}.{key}" if where else key
        if rule.verdict == "rewrite":
            found.append((path, rule))
        for nested in (rule.keys, rule.each):
            if nested is not None:
                found += rewritten_paths(nested, f"{path}.*" if nested is rule.each else path)
    return found
