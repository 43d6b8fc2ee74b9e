"""One grading run: an exercise's checks, run in-process by pytest against one engine.

:func:`grade` is the core entry point every front end uses (``grade check``, ``grade demo``,
batch grading). It owns the run's probes: whatever happens, none is left on the engine.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime, timezone
from pathlib import Path

import pytest

from grader import defaults
from grader.engine.base import Engine
from grader.errors import ExerciseDefinitionError
from grader.exercise.model import Exercise
from grader.harness import fixtures
from grader.harness.plugin import GraderPlugin, RunObserver
from grader.i18n import Lang, Text
from grader.judge import messages as m
from grader.judge.lab import Lab
from grader.judge.outcome import CheckOutcome, CheckStatus
from grader.judge.scoring import score
from grader.observe.names import ComposeNames, ExactNames, NameResolver
from grader.observe.prober import Prober
from grader.result import GradeResult

#: An empty ini file: the checks run under our settings, never a stray pytest.ini's.
_EMPTY_INI = Path(__file__).with_name("pytest.ini")

#: pytest's own plugins that checks have no use for: not loading them halves pytest's start.
_UNUSED_PLUGINS = (
    "cacheprovider", "terminal", "faulthandler", "warnings", "legacypath", "junitxml",
    "doctest", "pastebin", "setuponly", "setupplan", "stepwise", "logging", "unittest",
    "debugging", "python_path", "recwarn", "unraisableexception", "threadexception",
    "tmpdir", "monkeypatch",
)  # fmt: skip

INTERRUPTED = Text(fr="correction interrompue", en="grading interrupted")


def grade(
    exercise: Exercise,
    *,
    engine: Engine,
    student: str,
    lang: Lang = defaults.DEFAULT_LANG,
    project: str | None = None,
    strict_project: bool = False,
    probe_image: str = defaults.PROBE_IMAGE,
    probe_deadline_s: float = defaults.PROBE_DEADLINE_S,
    param_overrides: Mapping[str, str] | None = None,
    observer: RunObserver | None = None,
    on_pull_progress: Callable[[str], None] | None = None,
    notes: tuple[Text, ...] = (),
    run_id: str | None = None,
    variant: str | None = None,
    exam: bool = False,
    shown_overrides: Mapping[str, str] | None = None,
) -> GradeResult:
    """Grade ``student``'s live setup for ``exercise`` on ``engine``.

    ``project`` resolves names through Compose labels; ``strict_project`` forbids falling back
    to exact names (batch grading). ``run_id`` labels the run's probes (default: a new one),
    so whoever starts a grading can remove what it leaves if it has to be killed. Raises
    :class:`~grader.errors.EnvironmentProblem` when the probe image cannot be had,
    :class:`~grader.errors.UsageError` for bad parameters or checks. ``variant`` (a
    fingerprint) and ``exam`` (no hints in reports) are recorded in the result.
    ``shown_overrides`` (default: ``param_overrides``) are the values the rubric's titles and
    hints name: batch grading shows a student their own, not the ports it gave their run.
    """
    params = exercise.params.with_overrides(param_overrides or {})
    shown = dict(param_overrides or {}) if shown_overrides is None else dict(shown_overrides)
    names: NameResolver = (
        ComposeNames(engine, project, fall_back_to_exact=not strict_project)
        if project
        else ExactNames(engine)
    )
    prober = Prober(engine, image=probe_image, run_id=run_id, deadline_s=probe_deadline_s)
    prober.ensure_image(on_pull_progress)
    lab = Lab(engine, names, prober)
    plugin = GraderPlugin(exercise, lab, params, observer)
    started_at = datetime.now(timezone.utc)
    started = time.monotonic()
    try:
        exit_code = run_checks(exercise.checks_file, exercise.directory, plugin)
    finally:
        lab.close()
        prober.close()
    if plugin.collection_problems:
        raise ExerciseDefinitionError(plugin.collection_problems)
    if exit_code in (pytest.ExitCode.INTERNAL_ERROR, pytest.ExitCode.USAGE_ERROR):
        raise ExerciseDefinitionError(
            [f"{exercise.checks_file}: pytest could not run the checks (exit code {exit_code})"]
        )
    outcomes = dict(plugin.outcomes)
    if plugin.interrupted:
        for check_id in exercise.rubric.check_ids:
            outcomes.setdefault(check_id, CheckOutcome(check_id, CheckStatus.ERROR, INTERRUPTED))
    return GradeResult(
        exercise_id=exercise.id,
        exercise_title=exercise.title,
        student=student,
        sheet=score(exercise.rubric_with(exercise.params.with_overrides(shown)), outcomes.values()),
        started_at=started_at,
        duration_s=time.monotonic() - started,
        lang=lang,
        engine=engine.info,
        project=project,
        interrupted=plugin.interrupted,
        notes=(*notes, *found_outside_notes(names)),
        variant=variant,
        exam=exam,
        params=dict(shown),
    )


def found_outside_notes(names: NameResolver) -> tuple[Text, ...]:
    """One note per object a ``--project`` run found outside the project, by its exact name."""
    if not isinstance(names, ComposeNames):
        return ()
    return tuple(
        m.FOUND_OUTSIDE_PROJECT[found.kind].format(name=found.name, project=names.project)
        for found in names.outside
    )


def run_checks(checks_file: Path, rootdir: Path, plugin: GraderPlugin) -> int:
    """Run pytest in-process on ``checks_file`` with ``plugin`` and nothing else of the
    environment's: no ini file, no conftest, no auto-loaded plugins, no PYTEST_ADDOPTS, and
    none of pytest's own plugins that checks have no use for (each costs start-up time)."""
    args = [
        str(checks_file),
        "-c",
        str(_EMPTY_INI),
        "--rootdir",
        str(rootdir),
        "--import-mode=importlib",
        "--noconftest",
        "--capture=no",
        *(arg for name in _UNUSED_PLUGINS for arg in ("-p", f"no:{name}")),
    ]
    with _isolated_environment(), _forgetting_modules_under(rootdir):
        return int(pytest.main(args, plugins=[plugin, fixtures]))


@contextlib.contextmanager
def _forgetting_modules_under(folder: Path) -> Iterator[None]:
    """pytest imports every exercise's checks as a module named ``checks`` and would reuse
    the cached one: a second exercise (or a copy elsewhere) in the same process would run the
    first one's checks. Forget what the run imported from ``folder``, before and after."""

    def forget() -> None:
        root = str(folder.resolve())
        for name, module in list(sys.modules.items()):
            origin = getattr(module, "__file__", None) or ""
            if name == "checks" or origin.startswith(root + os.sep):
                del sys.modules[name]

    forget()
    try:
        yield
    finally:
        forget()


@contextlib.contextmanager
def _isolated_environment() -> Iterator[None]:
    saved = {
        key: os.environ.get(key) for key in ("PYTEST_ADDOPTS", "PYTEST_DISABLE_PLUGIN_AUTOLOAD")
    }
    os.environ.pop("PYTEST_ADDOPTS", None)
    os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
