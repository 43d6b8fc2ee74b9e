"""Exam variants: each student's own names and ports, derived from a secret course key.

An exercise declares what varies in ``exercise.yaml``::

    variants:
      network: {words: nature, pattern: "net-{word}"}   # a word from a list, in a pattern
      app_port: {ports: [10000, 19999]}                  # a port in a range
      redis_alias: {same_as: redis}                      # always another parameter's value

``words`` names a built-in list (``grader/exercise/words/<name>.txt``) or gives the words
inline. Within one student, names are all distinct, and so are ports. Ports stay above the
well-known range (1024).

A student's values come from HMAC-SHA256(course key, exercise id, student id, parameter,
attempt): the teacher, who has the key, gets the same values on any machine, at any time; a
student, who has not, cannot compute anyone's. Without a key, every student gets the
exercise's defaults. The key never appears in any output: a variant is named by its
*fingerprint*, a digest of its values.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from grader import defaults
from grader.errors import UsageError
from grader.i18n import Text

WORDS = Path(__file__).with_name("words")
#: Ports below this are well known: a variant never uses them.
LOWEST_PORT = 1024


@dataclass(frozen=True)
class Variation:
    """How one parameter varies."""

    parameter: str
    words: tuple[str, ...] = ()
    pattern: str = "{word}"
    ports: tuple[int, int] | None = None
    same_as: str | None = None

    @property
    def is_name(self) -> bool:
        return bool(self.words)


@dataclass(frozen=True)
class Variant:
    """A student's values for the parameters that vary (empty without a course key)."""

    student: str
    values: Mapping[str, str | int] = field(default_factory=dict)

    @property
    def fingerprint(self) -> str | None:
        """A digest of the values: the same variant, the same fingerprint; the key cannot be
        read back from it."""
        if not self.values:
            return None
        canonical = json.dumps(dict(sorted(self.values.items())), separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()[:12]

    def overrides(self) -> dict[str, str]:
        """The values as parameter overrides (``--param`` given on top still win)."""
        return {name: str(value) for name, value in self.values.items()}


def parse_variations(
    data: Any, parameters: Mapping[str, Any], where: str, problems: list[str]
) -> tuple[Variation, ...]:
    """The ``variants:`` section of ``exercise.yaml`` (problems appended, never raised)."""
    if data is None:
        return ()
    if not isinstance(data, dict):
        problems.append(f"{where}: variants must be a mapping of parameter -> variation")
        return ()
    found: list[Variation] = []
    for name, spec in data.items():
        at = f"{where}: variants.{name}"
        if name not in parameters:
            problems.append(f"{at}: not a parameter")
            continue
        if not isinstance(spec, dict):
            problems.append(f"{at}: expected a mapping (words, ports or same_as)")
            continue
        found.append(_variation(str(name), spec, parameters, at, problems))
    for variation in found:
        if variation.same_as is not None and variation.same_as not in data:
            problems.append(f"{where}: variants.{variation.parameter}: same_as names "
                            f"'{variation.same_as}', which does not vary")  # fmt: skip
    return tuple(found)


def _variation(
    name: str, spec: dict[str, Any], parameters: Mapping[str, Any], at: str, problems: list[str]
) -> Variation:
    if "same_as" in spec:
        return Variation(name, same_as=str(spec["same_as"]))
    if "ports" in spec:
        given = spec["ports"] if isinstance(spec["ports"], list) else []
        low, high = [*given, 0, 0][:2]
        if not isinstance(parameters[name], int):
            problems.append(f"{at}: ports vary an integer parameter")
        if not (
            isinstance(low, int) and isinstance(high, int) and LOWEST_PORT <= low < high <= 65535
        ):
            problems.append(f"{at}: ports must be [LOW, HIGH] within 1024-65535")
            return Variation(name)
        return Variation(name, ports=(low, high))
    words = spec.get("words")
    pattern = str(spec.get("pattern", "{word}"))
    if "{word}" not in pattern:
        problems.append(f"{at}: pattern must contain {{word}}")
    listed = _words(words, at, problems)
    return Variation(name, words=listed, pattern=pattern)


def _words(given: Any, at: str, problems: list[str]) -> tuple[str, ...]:
    if isinstance(given, str):
        try:
            return builtin_words(given)
        except OSError:
            problems.append(f"{at}: no built-in word list '{given}'")
            return ()
    if isinstance(given, list) and len(given) >= 2 and all(isinstance(w, str) for w in given):
        return tuple(dict.fromkeys(given))
    problems.append(f"{at}: words must name a built-in list or list at least two words")
    return ()


@cache
def builtin_words(name: str) -> tuple[str, ...]:
    text = (WORDS / f"{name}.txt").read_text(encoding="utf-8")
    return tuple(line.strip() for line in text.splitlines() if line.strip() and line[0] != "#")


def derive(
    variations: tuple[Variation, ...], key: bytes | None, exercise_id: str, student: str
) -> Variant:
    """``student``'s values, or an empty variant without a key."""
    if key is None or not variations:
        return Variant(student)
    values: dict[str, str | int] = {}
    names: set[str] = set()
    ports: set[int] = set()
    for variation in (v for v in variations if v.same_as is None):
        for attempt in range(1000):
            draw = _draw(key, exercise_id, student, variation.parameter, attempt)
            if variation.ports is not None:
                low, high = variation.ports
                port = low + draw % (high - low + 1)
                if port not in ports:
                    ports.add(port)
                    values[variation.parameter] = port
                    break
            elif variation.words:
                name = variation.pattern.format(word=variation.words[draw % len(variation.words)])
                if name not in names:
                    names.add(name)
                    values[variation.parameter] = name
                    break
            else:
                break
    for variation in (v for v in variations if v.same_as is not None):
        if variation.same_as in values:
            values[variation.parameter] = values[variation.same_as]
    return Variant(student, values)


def _draw(key: bytes, exercise_id: str, student: str, parameter: str, attempt: int) -> int:
    message = "\x00".join([exercise_id, student, parameter, str(attempt)]).encode()
    return int.from_bytes(hmac.new(key, message, hashlib.sha256).digest(), "big")


def course_key(key_file: Path | None = None) -> bytes | None:
    """The course key: ``key_file``'s content, else ``$GRADER_COURSE_KEY``, else none.

    A key file is read whole and stripped of surrounding whitespace; an empty key is refused
    (it would give every student a variant anyone can compute)."""
    if key_file is not None:
        try:
            raw = key_file.expanduser().read_bytes().strip()
        except OSError as exc:
            raise UsageError(
                Text(
                    fr=f"clé du cours illisible : {key_file}: {exc.strerror}",
                    en=f"cannot read the course key: {key_file}: {exc.strerror}",
                )
            ) from exc
    else:
        given = os.environ.get(defaults.COURSE_KEY_ENV)
        if given is None:
            return None
        raw = given.strip().encode()
    if not raw:
        raise UsageError(Text(fr="la clé du cours est vide", en="the course key is empty"))
    return raw
