"""What a submission's Dockerfile makes the engine fetch, reviewed before the build.

A build's ``RUN`` steps run in containers (bounded, see :mod:`grader.batch.build`), but some of
its fetches are made by the engine itself, from its host's network namespace, where a service
listening on the engine host's loopback is reachable: the base images of ``FROM`` and
``COPY --from``, and ``ADD <url>``. So, as for ``image:`` (:mod:`grader.batch.gate.images`):

- ``FROM`` and ``COPY --from`` name an earlier stage, ``scratch``, or an image of an allowed
  registry, with ``ARG`` values substituted as the builder does (the build's ``args`` over the
  ``ARG`` defaults before the first ``FROM``); what cannot be substituted is refused;
- ``ADD`` copies local files only: a source that is a URL (``http://``, ``git@``...) is refused;
- a Dockerfile is read only below :data:`~grader.defaults.STAGE_MAX_DOCKERFILE_BYTES`.

The file is read as the engine's classic builder reads it (the builder the batch uses): parser
directives, ``#`` comments, line continuations with the escape character, JSON or shell form.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from grader.batch.gate.images import image_refusal
from grader.i18n import Text

_DIRECTIVE = re.compile(r"^#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$")


@dataclass(frozen=True)
class Instruction:
    line: int
    keyword: str
    """Upper case (``FROM``, ``ADD``...)."""
    arguments: str


def instructions(text: str) -> Iterator[Instruction]:
    """The instructions of a Dockerfile, continuation lines joined.

    >>> [(i.keyword, i.arguments) for i in instructions("# c\\nFROM a \\\\\\n  AS b\\nRUN x")]
    [('FROM', 'a AS b'), ('RUN', 'x')]
    """
    lines = text.splitlines()
    escape = "\\"
    for line in lines:  # parser directives: only at the very top, before anything else
        found = _DIRECTIVE.match(line.strip())
        if found is None:
            break
        if found.group(1).lower() == "escape" and found.group(2) in ("`", "\\"):
            escape = found.group(2)
    pending: list[str] = []
    start = 0
    for number, raw in enumerate(lines, start=1):
        stripped = raw.strip()
        if stripped.startswith("#") or (not stripped and not pending):
            continue  # comments, also inside a continuation, and blank lines between
        if not pending:
            start = number
        if stripped.endswith(escape):
            pending.append(stripped[: -len(escape)])
            continue
        pending.append(stripped)
        whole = " ".join(part.strip() for part in pending).strip()
        pending = []
        keyword, _, arguments = whole.partition(" ")
        if keyword:
            yield Instruction(start, keyword.upper(), arguments.strip())
    if pending:
        whole = " ".join(part.strip() for part in pending).strip()
        keyword, _, arguments = whole.partition(" ")
        if keyword:
            yield Instruction(start, keyword.upper(), arguments.strip())


_VARIABLE = re.compile(
    r"\$(?:\{([A-Za-z_][A-Za-z0-9_]*)(?::([-+])([^}]*))?\}|([A-Za-z_][A-Za-z0-9_]*))"
)


class Unresolved(Exception):
    """A reference the review cannot substitute as the builder would."""


def substitute(text: str, variables: Mapping[str, str]) -> str:
    """``$VAR``, ``${VAR}``, ``${VAR:-default}`` and ``${VAR:+other}`` of ``text`` replaced;
    :class:`Unresolved` for any other use of ``$``.

    >>> substitute("python:${V:-3.12}-slim", {}), substitute("$BASE", {"BASE": "redis"})
    ('python:3.12-slim', 'redis')
    """

    def one(found: re.Match[str]) -> str:
        name = found.group(1) or found.group(4)
        value = variables.get(name, "")
        if found.group(2) == "-":
            return value or found.group(3)
        if found.group(2) == "+":
            return found.group(3) if value else ""
        return value

    result = _VARIABLE.sub(one, text)
    if "$" in result.replace("$$", ""):
        raise Unresolved(text)
    return result


def review_dockerfile(
    text: str, *, args: Mapping[str, str], registries: tuple[str, ...], name: str
) -> list[Text]:
    """Every reason the Dockerfile ``text`` (called ``name`` in messages) may not be built for
    a submission; ``args`` are the build's ``args``."""
    reasons: list[Text] = []
    variables: dict[str, str] = {}
    stages: list[str] = []
    count = 0
    seen_from = False
    for instruction in instructions(text):
        where = f"{name}, ligne {instruction.line}"
        where_en = f"{name}, line {instruction.line}"
        keyword, arguments = instruction.keyword, instruction.arguments
        if keyword == "ONBUILD":
            keyword, _, arguments = arguments.partition(" ")
            keyword = keyword.upper()
        if keyword == "ARG" and not seen_from:
            key, equals, default = arguments.partition("=")
            key = key.strip()
            variables[key] = args.get(key, _unquoted(default) if equals else "")
        elif keyword == "FROM":
            seen_from = True
            words = [w for w in arguments.split() if not w.startswith("--")]
            if words:
                reasons += _base_image(words[0], variables, stages, registries, where, where_en)
                stages.append(str(count))  # a later COPY --from=N names this stage
                count += 1
                if len(words) >= 3 and words[1].lower() == "as":
                    stages.append(words[2].lower())
        elif keyword == "COPY":
            for flag in arguments.split():
                if flag.startswith("--from="):
                    reasons += _base_image(
                        flag.split("=", 1)[1], {}, stages, registries, where, where_en
                    )
        elif keyword == "ADD":
            for source in _sources(arguments):
                if "://" in source or source.startswith("git@"):
                    reasons.append(
                        Text(
                            fr=f"{where} : ADD {source[:200]} — le moteur le téléchargerait "
                            "lui-même, depuis le réseau de son hôte (seuls des fichiers du "
                            "dossier sont acceptés)",
                            en=f"{where_en}: ADD {source[:200]} — the engine would fetch it "
                            "itself, from its host's network (only files of the folder are "
                            "accepted)",
                        )
                    )
    return reasons


def _base_image(
    reference: str,
    variables: Mapping[str, str],
    stages: list[str],
    registries: tuple[str, ...],
    where: str,
    where_en: str,
) -> list[Text]:
    try:
        image = substitute(reference, variables)
    except Unresolved:
        return [
            Text(
                fr=f"{where} : image de base « {reference[:200]} » qui ne peut pas être lue "
                "avant la construction",
                en=f"{where_en}: base image '{reference[:200]}' that cannot be read before "
                "the build",
            )
        ]
    if image.lower() in stages or image.lower() == "scratch":
        return []
    refusal = image_refusal(image, registries)
    if refusal is None:
        return []
    return [Text(fr=f"{where} : {refusal.fr}", en=f"{where_en}: {refusal.en}")]


def _sources(arguments: str) -> list[str]:
    """The sources of ``ADD`` (every argument but the destination, flags skipped)."""
    text = arguments.strip()
    if text.startswith("["):
        try:
            parts = [str(p) for p in json.loads(text)]
        except ValueError:
            parts = text.split()
    else:
        parts = text.split()
    parts = [p for p in parts if not p.startswith("--")]
    return parts[:-1]


def _unquoted(value: str) -> str:
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        return value[1:-1]
    return value
