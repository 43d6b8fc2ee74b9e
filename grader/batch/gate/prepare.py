"""Preparing a submission, before anything of it runs: the gate, in order.

Each step refuses before the next one can be reached by what it refuses:

1. :func:`~grader.batch.gate.stage.stage` copies the folder (no symlinks, no special files,
   bounded) and :func:`~grader.batch.gate.prescan.prescan_files` reads its compose files within
   bounds, refusing what ``config`` would act on while reading; both run in a worker process
   killed past :data:`~grader.defaults.BATCH_PRESCAN_TIMEOUT_S` (no input holds the batch up);
2. :func:`~grader.batch.gate.confined.confined_config` has the real ``docker compose config
   --format json`` normalise the model where nothing but the staged copy exists;
3. :func:`~grader.batch.gate.allowlist.review` checks every key of that model against the
   allowlist, and :func:`~grader.batch.gate.dockerfile.review_dockerfile` what each build
   would make the engine fetch.

:func:`prepare` never raises: whatever happens to one submission ends in a plan (a runnable
model), a refusal (the reasons) or an error (why it could not be prepared), its own row.
"""

from __future__ import annotations

import hashlib
import posixpath
import re
import shutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from grader import defaults
from grader.batch.gate.allowlist import context_of, review
from grader.batch.gate.confined import ConfigFailed, ConfigRefused, confined_config
from grader.batch.gate.dockerfile import review_dockerfile
from grader.batch.gate.prescan import ComposeFileProblem, prescan_files, read_capped
from grader.batch.gate.stage import stage
from grader.batch.submissions import Submission
from grader.batch.verdicts import unexpected
from grader.compose import CommandResult
from grader.engine.base import Engine
from grader.errors import GraderError
from grader.exercise.model import Exercise, Params
from grader.harness.workers import CallFailed, CallTimedOut, DeadlineWorkers
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
    """The staged copy, which images are built from."""
    model: dict[str, Any] | None = None
    refusals: tuple[Text, ...] = ()
    error: Text | None = None
    log: str = ""

    @property
    def runnable(self) -> bool:
        return self.model is not None and not self.refusals and self.error is None


@dataclass(frozen=True)
class Gate:
    """What the gate checks every submission of a batch against, and with what."""

    exercise: Exercise
    batch_id: str
    staging: Path
    """The batch's private folder (mode 0700): each submission's copy is made under it."""
    engine: Engine
    """The engine ``config`` runs on, in a sandbox."""
    sandbox_image: str
    """The Compose sandbox image's id on ``engine``."""
    workers: DeadlineWorkers
    """Where staging and the prescan run, each within its deadline."""
    max_services: int = defaults.BATCH_MAX_SERVICES
    registries: tuple[str, ...] = defaults.BATCH_REGISTRIES


def project_name(batch_id: str, student: str) -> str:
    """A Compose project name of the batch's own for ``student``: distinct ids never share one
    (a 128-bit digest of the id follows its readable part).

    >>> project_name("a1b2c3", "Ada Lovelace")
    'tpga1b2c3-ada-lovelace-76740216171591903cdbd18fbc770df4'
    """
    readable = re.sub(r"[^a-z0-9]+", "-", student.lower()).strip("-")[:24].strip("-") or "s"
    digest = hashlib.sha256(student.encode("utf-8", "surrogatepass")).hexdigest()[:32]
    return f"{defaults.PROJECT_PREFIX}{batch_id}-{readable}-{digest}"


def prepare(submission: Submission, gate: Gate, params: Params | None = None) -> Prepared:
    """Stage and review ``submission`` for a student whose parameters are ``params`` (default:
    the exercise's). Never raises: an unexpected failure is the submission's ``error``."""
    params = params or gate.exercise.params
    project = project_name(gate.batch_id, submission.student)
    try:
        return _prepare(submission, gate, params, project)
    except Exception as exc:  # one submission's trouble is that submission's row
        shutil.rmtree(gate.staging / project, ignore_errors=True)
        return Prepared(submission, project, params, error=unexpected(exc))


@dataclass(frozen=True)
class FilesRead:
    """What the worker process made of a submission's folder."""

    folder: Path | None
    compose_file: Path | None = None
    refusals: tuple[Text, ...] = ()
    error: Text | None = None


def read_submission(source: Path, into: Path) -> FilesRead:
    """Stage ``source`` into ``into`` and prescan its compose files (in a worker process)."""
    staged = stage(source, into)
    if staged.folder is None:
        return FilesRead(None, refusals=staged.refusals, error=staged.error)
    if staged.compose_file is None:
        return FilesRead(staged.folder)
    try:
        refusals = prescan_files(staged.compose_file, staged.folder)
    except ComposeFileProblem as problem:
        refusals = [problem.text]
    return FilesRead(staged.folder, staged.compose_file, refusals=tuple(refusals))


class _Stop(Exception):
    """Preparation ends here, with this result."""

    def __init__(self, prepared: Prepared) -> None:
        super().__init__(prepared.submission.student)
        self.prepared = prepared


def _prepare(submission: Submission, gate: Gate, params: Params, project: str) -> Prepared:
    def stopped(folder: Path | None = None, **outcome: Any) -> _Stop:
        return _Stop(Prepared(submission, project, params, folder, **outcome))

    try:
        files = _read(submission, gate, project, stopped)
        model = _model(files, gate, project, stopped)
    except _Stop as stop:
        return stop.prepared
    host_paths = [str(params[name]) for name in gate.exercise.host_paths]
    context = context_of(model, files.folder, host_paths, gate.max_services, gate.registries)
    refusals = review(model, context, allowed_service_keys=gate.exercise.submission_allow)
    if not refusals:
        refusals += _review_builds(model, files.folder, gate.registries)
    return Prepared(
        submission, project, params, files.folder, model=model, refusals=tuple(refusals)
    )


_Stopped = Callable[..., _Stop]


def _read(submission: Submission, gate: Gate, project: str, stopped: _Stopped) -> _Files:
    """Stage and prescan, in a worker process, within the deadline."""
    into = gate.staging / project
    try:
        files = gate.workers.call(
            read_submission,
            submission.folder,
            into,
            deadline_s=defaults.BATCH_PRESCAN_TIMEOUT_S,
        )
    except CallTimedOut:
        shutil.rmtree(into, ignore_errors=True)
        seconds = f"{defaults.BATCH_PRESCAN_TIMEOUT_S:g}"
        raise stopped(
            refusals=(
                Text(
                    fr=f"la lecture des fichiers de la soumission n'a pas fini en {seconds} s",
                    en=f"reading the submission's files did not finish within {seconds} s",
                ),
            )
        ) from None
    except CallFailed as failed:
        shutil.rmtree(into, ignore_errors=True)
        raise stopped(error=failed.text) from None
    if files.folder is None or files.refusals or files.error is not None:
        raise stopped(files.folder, refusals=files.refusals, error=files.error)
    if files.compose_file is None:
        names = ", ".join(defaults.COMPOSE_FILE_NAMES)
        raise stopped(
            files.folder,
            error=Text(fr=f"aucun fichier compose ({names})", en=f"no compose file ({names})"),
        )
    return _Files(files.folder, files.compose_file)


@dataclass(frozen=True)
class _Files:
    folder: Path
    compose_file: Path


def _model(files: _Files, gate: Gate, project: str, stopped: _Stopped) -> dict[str, Any]:
    """``config``'s model of the staged copy, made in the sandbox."""
    try:
        return confined_config(
            gate.engine,
            gate.sandbox_image,
            folder=files.folder,
            compose_file=files.compose_file,
            project=project,
            labels={defaults.LABEL_ROLE: "batch", defaults.LABEL_RUN: gate.batch_id},
        )
    except ConfigRefused as refused:
        raise stopped(files.folder, refusals=(refused.text,)) from None
    except (ConfigFailed, GraderError) as failed:  # Compose's error, or the engine's
        raise stopped(files.folder, error=failed.text) from None


def _review_builds(
    model: Mapping[str, Any], folder: Path, registries: tuple[str, ...]
) -> list[Text]:
    """What each service's build would make the engine fetch (its Dockerfile, reviewed)."""
    reasons: list[Text] = []
    for name, service in (model.get("services") or {}).items():
        build = service.get("build") if isinstance(service, Mapping) else None
        if not isinstance(build, Mapping):
            continue
        args = {str(k): str(v) for k, v in (build.get("args") or {}).items() if v is not None}
        if build.get("dockerfile_inline") is not None:
            text, shown = str(build["dockerfile_inline"]), f"services.{name}.dockerfile_inline"
        else:
            relative = str(build.get("dockerfile") or "Dockerfile")
            path = Path(posixpath.normpath(posixpath.join(str(build["context"]), relative)))
            shown = path.relative_to(folder).as_posix() if path.is_relative_to(folder) else relative
            try:
                text = read_capped(path, defaults.STAGE_MAX_DOCKERFILE_BYTES)
            except ComposeFileProblem as problem:
                reasons.append(problem.text)
                continue
        reasons += review_dockerfile(text, args=args, registries=registries, name=shown)
    return reasons


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


def home_of(staging: Path) -> Path:
    """The empty home folder Compose gets on the batch machine (its Docker CLI configuration
    is read from there: no credentials, no contexts)."""
    home = staging / ".home"
    home.mkdir(mode=0o700, exist_ok=True)
    return home
