"""Which Compose project a folder is: its name, found as Compose v2 finds it.

``grade tp-compose``, run in a student's compose folder, grades the project Compose made there,
so it must name that project exactly as ``docker compose up`` did (compose-go's
``withNamePrecedenceLoad``), first match wins:

1. ``-p/--project-name`` (here ``grade --project``, which never comes to this module);
2. ``COMPOSE_PROJECT_NAME``, from the environment, then from the project folder's ``.env``;
3. the top-level ``name:`` of the compose files (interpolated, then normalised; the last
   non-empty one wins, so an override file's beats the main file's);
4. the project folder's name, normalised (:func:`normalize_project_name`).

The project folder is the folder of the first compose file: the first of ``COMPOSE_FILE``
(environment, then the current folder's ``.env``; paths relative to the current folder), else
the first of ``compose.yaml``, ``compose.yml``, ``docker-compose.yml``,
``docker-compose.yaml`` in the current folder or, failing that, the nearest parent holding one;
its ``compose.override.*`` file comes with it. A name given by ``COMPOSE_PROJECT_NAME`` is taken
as it is (Compose refuses one that is not already normal); one from ``name:`` or the folder is
normalised. Interpolation in ``name:`` knows ``$VAR``, ``${VAR}``, ``${VAR:-default}``,
``${VAR-default}``, ``${VAR:+other}``, ``${VAR+other}``, ``${VAR:?error}``, ``${VAR?error}``
and ``$$``, over the environment then ``.env``, as Compose does.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml

from grader import defaults
from grader.errors import UsageError
from grader.i18n import Text

#: Override files Compose merges into the main one when it found that one by itself.
OVERRIDE_FILE_NAMES = (
    "compose.override.yml",
    "compose.override.yaml",
    "docker-compose.override.yml",
    "docker-compose.override.yaml",
)

Source = Literal["environment", "dotenv", "name", "folder"]


@dataclass(frozen=True)
class FoundProject:
    """A project name, and where it came from (for the report's note)."""

    name: str
    folder: Path
    """The project folder (where the first compose file is)."""
    files: tuple[Path, ...]
    source: Source

    @property
    def note(self) -> Text:
        where = {
            "environment": Text.same("COMPOSE_PROJECT_NAME"),
            "dotenv": Text(
                fr=f"COMPOSE_PROJECT_NAME de {self.folder / '.env'}",
                en=f"COMPOSE_PROJECT_NAME of {self.folder / '.env'}",
            ),
            "name": Text(
                fr=f"name: de {self.files[-1] if self.files else self.folder}",
                en=f"name: of {self.files[-1] if self.files else self.folder}",
            ),
            "folder": Text(fr=f"nom du dossier {self.folder}", en=f"folder name of {self.folder}"),
        }[self.source]
        return Text(
            fr=f"projet Compose « {self.name} » ({where.fr}) ; --project en choisit un autre",
            en=f"Compose project '{self.name}' ({where.en}); --project picks another",
        )


def normalize_project_name(text: str) -> str:
    """compose-go's ``NormalizeProjectName``: lowercase, keep ``[a-z0-9_-]``, strip leading
    ``_`` and ``-``.

    >>> [normalize_project_name(s) for s in ("My.Cool_App-1", "__-Leading", "Ünïcødé dir")]
    ['mycool_app-1', 'leading', 'ncddir']
    """
    return "".join(re.findall(r"[a-z0-9_-]", text.lower())).lstrip("_-")


def find_project(cwd: Path, environ: Mapping[str, str]) -> FoundProject:
    """The project ``docker compose`` run in ``cwd`` with ``environ`` works on; raises
    :class:`~grader.errors.UsageError` where Compose would refuse to run."""
    cwd = cwd.absolute()
    local_env = read_dotenv(cwd / ".env", environ)
    files = _compose_files(cwd, environ, local_env)
    folder = files[0].parent
    # Compose reads the current folder's .env first, then the project folder's, and a
    # variable once set keeps its first value.
    dotenv = local_env if folder == cwd else {**read_dotenv(folder / ".env", environ), **local_env}
    given: tuple[tuple[str, Source], ...] = (
        (environ.get("COMPOSE_PROJECT_NAME", ""), "environment"),
        (dotenv.get("COMPOSE_PROJECT_NAME", ""), "dotenv"),
    )
    for value, source in given:
        if value:
            if normalize_project_name(value) != value:
                raise UsageError(_invalid_name(value))
            return FoundProject(value, folder, files, source)
    variables = {**dotenv, **environ}
    declared: str | None = None
    for file in files:
        for document in _documents(file):
            name = document.get("name") if isinstance(document, dict) else None
            # The last `name:` written wins; one that interpolates to nothing is an error.
            if name is not None and str(name) != "":
                declared = interpolate(str(name), variables)
    if declared is not None:
        return FoundProject(_normal(declared), folder, files, "name")
    return FoundProject(_normal(folder.name), folder, files, "folder")


def _compose_files(
    cwd: Path, environ: Mapping[str, str], local_env: Mapping[str, str]
) -> tuple[Path, ...]:
    listed = environ.get("COMPOSE_FILE") or local_env.get("COMPOSE_FILE") or ""
    if listed:
        separator = environ.get("COMPOSE_PATH_SEPARATOR") or local_env.get(
            "COMPOSE_PATH_SEPARATOR", os.pathsep
        )
        return tuple((cwd / part).absolute() for part in listed.split(separator) if part)
    folder = cwd
    while True:
        found = [folder / name for name in defaults.COMPOSE_FILE_NAMES if (folder / name).is_file()]
        if found:
            overrides = [folder / n for n in OVERRIDE_FILE_NAMES if (folder / n).is_file()]
            return (found[0], *overrides[:1])
        if folder.parent == folder:
            names = ", ".join(defaults.COMPOSE_FILE_NAMES)
            raise UsageError(
                Text(
                    fr=f"aucun fichier Compose ({names}) dans {cwd} ni au-dessus : lancez grade "
                    "dans le dossier de votre compose.yaml, ou donnez --project NOM",
                    en=f"no Compose file ({names}) in {cwd} or above: run grade in the folder "
                    "of your compose.yaml, or give --project NAME",
                )
            )
        folder = folder.parent


def _normal(name: str) -> str:
    normal = normalize_project_name(name)
    if not normal:
        raise UsageError(_invalid_name(name))
    return normal


def _invalid_name(name: str) -> Text:
    return Text(
        fr=f"nom de projet Compose invalide « {name} » (Compose refuse de lancer ce projet) : "
        "donnez --project NOM",
        en=f"invalid Compose project name '{name}' (Compose refuses to run that project): "
        "give --project NAME",
    )


# -- the files Compose reads -----------------------------------------------------------------
class _AnyTagLoader(yaml.SafeLoader):
    """Compose's own tags (``!reset``, ``!override``) and unknown ones read as plain values."""


def _untagged(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> Any:
    if isinstance(node, yaml.MappingNode):
        return loader.construct_mapping(node)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node)
    return loader.construct_scalar(node)  # type: ignore[arg-type]


_AnyTagLoader.add_multi_constructor("!", _untagged)


def _documents(file: Path) -> list[Any]:
    try:
        return list(yaml.load_all(file.read_text(encoding="utf-8"), Loader=_AnyTagLoader))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise UsageError(
            Text(
                fr=f"fichier Compose illisible : {file} ({exc})",
                en=f"unreadable Compose file: {file} ({exc})",
            )
        ) from exc


_DOTENV_LINE = re.compile(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_.-]*)\s*[=:]\s?(.*)$")


def read_dotenv(path: Path, environ: Mapping[str, str]) -> dict[str, str]:
    """The variables of a ``.env`` file as Compose reads them (``KEY=value``, ``export``,
    quotes, ``#`` comments; unquoted and double-quoted values interpolated over the
    environment and the lines before). A missing file has none.

    >>> import tempfile, pathlib
    >>> lines = "A=x # note\\nexport B='${A}'\\nC=\\"${A}y\\"\\n"
    >>> with tempfile.TemporaryDirectory() as d:
    ...     _ = (pathlib.Path(d) / ".env").write_text(lines)
    ...     read_dotenv(pathlib.Path(d) / ".env", {})
    {'A': 'x', 'B': '${A}', 'C': 'xy'}
    """
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return {}
    values: dict[str, str] = {}
    for line in text.splitlines():
        found = _DOTENV_LINE.match(line)
        if found is None or line.lstrip().startswith("#"):
            continue
        key, raw = found.group(1), found.group(2).strip()
        if raw[:1] == "'" and raw.rfind("'") > 0:
            values[key] = raw[1 : raw.rfind("'")]
            continue
        if raw[:1] == '"' and raw.rfind('"') > 0:
            inner = raw[1 : raw.rfind('"')].replace('\\"', '"').replace("\\n", "\n")
            values[key] = interpolate(inner, {**values, **environ}, strict=False)
            continue
        raw = re.split(r"\s#", raw, maxsplit=1)[0].strip()
        values[key] = interpolate(raw, {**values, **environ}, strict=False)
    return values


# -- interpolation ---------------------------------------------------------------------------
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def interpolate(text: str, variables: Mapping[str, str], *, strict: bool = True) -> str:
    """``text`` with Compose's variable references replaced from ``variables``.

    >>> interpolate("${APP:-id}$${x}-$USER", {"USER": "ada"})
    'id${x}-ada'
    """
    out, _ = _expand(text, 0, variables, strict, stop="")
    return out


def _expand(
    text: str, at: int, variables: Mapping[str, str], strict: bool, stop: str
) -> tuple[str, int]:
    """Expand ``text`` from ``at`` up to an unmatched ``stop`` character; return the expansion
    and where it ended (just past ``stop``)."""
    out: list[str] = []
    while at < len(text):
        char = text[at]
        if stop and char == stop:
            return "".join(out), at + 1
        if char != "$":
            out.append(char)
            at += 1
            continue
        following = text[at + 1 : at + 2]
        if following == "$":
            out.append("$")
            at += 2
        elif following == "{":
            value, at = _braced(text, at + 2, variables, strict)
            out.append(value)
        elif (name := _NAME.match(text, at + 1)) is not None:
            out.append(variables.get(name.group(), ""))
            at = name.end()
        else:
            out.append("$")
            at += 1
    return "".join(out), at


def _braced(text: str, at: int, variables: Mapping[str, str], strict: bool) -> tuple[str, int]:
    name = _NAME.match(text, at)
    if name is None:
        raise UsageError(_bad_reference(text))
    key, at = name.group(), name.end()
    operator = next((op for op in (":-", ":+", ":?", "-", "+", "?") if text.startswith(op, at)), "")
    if not operator:
        if text[at : at + 1] != "}":
            raise UsageError(_bad_reference(text))
        return variables.get(key, ""), at + 1
    argument, at = _expand(text, at + len(operator), variables, strict, stop="}")
    value = variables.get(key)
    present = value is not None and (value != "" or ":" not in operator)
    if operator.endswith("-"):
        return (value or "") if present else argument, at
    if operator.endswith("+"):
        return argument if present else "", at
    if not present and strict:  # ${VAR:?error}: Compose stops there
        raise UsageError(
            Text(
                fr=f"variable requise {key} absente : {argument}",
                en=f"required variable {key} is missing a value: {argument}",
            )
        )
    return value or "", at


def _bad_reference(text: str) -> Text:
    return Text(
        fr=f"référence de variable invalide dans « {text} »",
        en=f"invalid variable reference in '{text}'",
    )
