"""Preparing a submission, before anything of it runs: stage, read, review.

In order, each step refusing before the next one can be reached by what it refuses:

1. :func:`~grader.batch.stage.stage` copies the folder (no symlinks, no special files, bounded);
2. :func:`load_documents` parses the staged compose file, bounded (a YAML alias bomb expands
   to gigabytes inside Compose; here it is refused at a count of nodes);
3. :func:`~grader.batch.policy.prescan` refuses what ``config`` would act on while reading
   (files named by ``include``/``extends``/``env_file`` outside the copy, ``models``...);
4. the real ``docker compose config --format json`` normalises the model, on the staged copy,
   with the fixed environment of :func:`~grader.compose.untrusted_environment`;
5. :func:`~grader.batch.policy.review` checks every key of that model against the allowlist.

Nothing here talks to an engine.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from grader import defaults
from grader.batch.policy import context_of, prescan, referenced_files, review
from grader.batch.stage import stage
from grader.batch.submissions import Submission
from grader.compose import CommandResult, Compose, find_compose, untrusted_environment
from grader.exercise.model import Exercise, Params
from grader.i18n import Text
from grader.report.sanitize import clean_text


@dataclass(frozen=True)
class Prepared:
    """A submission staged, read and reviewed; nothing of it has run."""

    submission: Submission
    project: str
    params: Params | None = None
    """The student's parameters (their exam variant, else the exercise's own)."""
    folder: Path | None = None
    """The staged copy, which Compose builds from."""
    model: dict[str, Any] | None = None
    refusals: tuple[Text, ...] = ()
    error: Text | None = None
    log: str = ""

    @property
    def runnable(self) -> bool:
        return self.model is not None and not self.refusals and self.error is None


def project_name(batch_id: str, student: str) -> str:
    """A Compose project name of the batch's own for ``student`` (distinct ids never collide:
    a digest of the id follows its readable part).

    >>> project_name("a1b2c3", "Ada Lovelace")
    'tpga1b2c3-ada-lovelace-767402'
    """
    readable = re.sub(r"[^a-z0-9]+", "-", student.lower()).strip("-")[:24] or "s"
    digest = hashlib.sha256(student.encode()).hexdigest()[:6]
    return f"tpg{batch_id}-{readable}-{digest}"


def prepare(
    submission: Submission,
    *,
    exercise: Exercise,
    batch_id: str,
    staging: Path,
    max_services: int = defaults.BATCH_MAX_SERVICES,
    params: Params | None = None,
) -> Prepared:
    """Stage and review ``submission`` under ``staging`` (the batch's private folder), for a
    student whose parameters are ``params`` (default: the exercise's)."""
    params = params or exercise.params
    project = project_name(batch_id, submission.student)
    staged = stage(submission.folder, staging / project)
    if staged.folder is None:
        return Prepared(submission, project, params, refusals=staged.refusals)
    try:
        model = _normalised_model(staged.folder, staged.compose_file, project, staging)
    except _Refused as refused:
        return Prepared(submission, project, params, staged.folder, refusals=refused.reasons)
    except _Unusable as unusable:
        return Prepared(submission, project, params, staged.folder, error=unusable.text)
    context = context_of(
        model, staged.folder, [str(params[name]) for name in exercise.host_paths], max_services
    )
    refusals = review(model, context, allowed_service_keys=exercise.submission_allow)
    return Prepared(
        submission, project, params, staged.folder, model=model, refusals=tuple(refusals)
    )


class _Refused(Exception):
    def __init__(self, reasons: tuple[Text, ...]) -> None:
        super().__init__(reasons[0].en)
        self.reasons = reasons


class _Unusable(Exception):
    def __init__(self, text: Text) -> None:
        super().__init__(text.en)
        self.text = text


def _normalised_model(
    folder: Path, compose_file: Path | None, project: str, staging: Path
) -> dict[str, Any]:
    if compose_file is None:
        names = ", ".join(defaults.COMPOSE_FILE_NAMES)
        raise _Unusable(
            Text(fr=f"aucun fichier compose ({names})", en=f"no compose file ({names})")
        )
    try:
        refusals = prescan_files(compose_file, folder)
    except ComposeFileProblem as problem:
        raise _Refused((problem.text,)) from problem
    if refusals:
        raise _Refused(tuple(refusals))
    dotenv = folder / ".env"
    compose = Compose(
        project,
        (compose_file,),
        workdir=folder,
        command=tuple(find_compose()),
        environment=untrusted_environment(home_of(staging), None),
        env_file=dotenv if dotenv.is_file() else Path("/dev/null"),
    )
    output = staging / f"{project}.config.json"
    config = compose.run(
        "config", "--format", "json", "--output", str(output),
        timeout_s=defaults.BATCH_CONFIG_TIMEOUT_S,
    )  # fmt: skip
    if not config.ok:
        raise _Unusable(compose_failed("config", config))
    try:
        model: dict[str, Any] = json.loads(output.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise _Unusable(
            Text(
                fr="docker compose config n'a pas donné de modèle lisible",
                en="docker compose config gave no readable model",
            )
        ) from exc
    finally:
        output.unlink(missing_ok=True)
    return model


def home_of(staging: Path) -> Path:
    """The empty home folder Compose gets (its Docker CLI configuration is read from there)."""
    home = staging / ".home"
    home.mkdir(mode=0o700, exist_ok=True)
    return home


# -- the compose file, read within bounds --------------------------------------------------------
class ComposeFileProblem(Exception):
    def __init__(self, text: Text) -> None:
        super().__init__(text.en)
        self.text = text


class _ComposeLoader(yaml.SafeLoader):
    """A safe loader that reads Compose's own tags (``!reset``, ``!override``) as the value
    under them; every other explicit tag is refused before anything is constructed (see
    :func:`_check_nodes`)."""


def _untagged(loader: yaml.SafeLoader, node: yaml.Node) -> Any:
    if isinstance(node, yaml.MappingNode):
        return loader.construct_mapping(node)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node)
    return loader.construct_scalar(node)  # type: ignore[arg-type]


for _tag in ("!reset", "!override"):
    _ComposeLoader.add_constructor(_tag, _untagged)

#: The tags a compose file may hold: what plain YAML resolves by itself, and Compose's two.
#: Anything else (``!!binary``, which Compose decodes but a Python reader sees as bytes, and
#: would so hide a key from the prescan) is refused.
_CORE = "tag:yaml.org,2002:"
_ALLOWED_TAGS = frozenset(
    [*(_CORE + t for t in ("str", "int", "float", "bool", "null", "seq", "map", "merge",
                           "timestamp", "value")),
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
    when it is not readable YAML, holds a tag or a key Compose would read otherwise than
    Python does, or expands past the ``budget`` (default: a file's own)."""
    budget = budget or NodeBudget()
    try:
        text = path.read_text(encoding="utf-8")
        nodes = list(yaml.compose_all(text, Loader=_ComposeLoader))
    except (OSError, UnicodeDecodeError, RecursionError, yaml.YAMLError) as exc:
        raise _unreadable(path, exc) from exc
    budget.spend(nodes)
    _check_nodes(nodes, path)
    try:
        return list(yaml.load_all(text, Loader=_ComposeLoader))
    except (RecursionError, yaml.YAMLError) as exc:
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
    """:func:`~grader.batch.policy.prescan` on ``compose_file`` and on every file it makes
    Compose read (``include``, ``extends.file``), recursively, with one node budget for all:
    a file Compose loads is a file the prescan has read first."""
    budget = NodeBudget()
    reasons: list[Text] = []
    pending = [compose_file]
    seen: set[Path] = set()
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
        for relative in referenced_files(documents):
            # The prescan made it a plain relative path: it stays under the including file's
            # folder, inside the staged copy (which holds no symlink).
            target = path.parent / relative
            if target.is_file():
                pending.append(target)
    return reasons


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


def compose_failed(phase: str, result: CommandResult) -> Text:
    """What went wrong, in a line: the last lines Compose printed, cleaned and capped."""
    if result.timed_out:
        seconds = f"{result.duration_s:.0f}"
        return Text(
            fr=f"error: timeout — docker compose {phase} n'a pas fini en {seconds} s",
            en=f"error: timeout — docker compose {phase} did not finish within {seconds} s",
        )
    tail = clean_text(" ".join(result.output.strip().splitlines()[-3:]), 400)
    return Text(
        fr=f"docker compose {phase} a échoué (code {result.returncode}) : {tail}",
        en=f"docker compose {phase} failed (exit {result.returncode}): {tail}",
    )
