"""One grading run: an exercise's checks, run in-process by pytest against one engine.

:func:`grade` is the core entry point every front end uses (``grade check``, ``grade demo``,
batch grading). It owns the run's probes: whatever happens, none is left on the engine.

It starts the probes an exercise says its checks need (:mod:`grader.observe.ahead`) before it
imports pytest, the judge and the checks: the engine starts containers while Python loads
code, which is why those imports are made in :func:`grade`, not here.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Final

from grader.engine.base import Engine
from grader.errors import ExerciseDefinitionError
from grader.harness.observer import RunObserver
from grader.harness.request import GradeRequest
from grader.i18n import Text
from grader.judge import messages as m
from grader.judge.outcome import CheckOutcome, CheckStatus
from grader.judge.scoring import score
from grader.observe.ahead import start_probes_ahead
from grader.observe.names import ComposeNames, ExactNames, NameResolver
from grader.observe.prober import Prober
from grader.result import GradeResult

if TYPE_CHECKING:
    from grader.harness.plugin import GraderPlugin

#: An empty ini file: the checks run under our settings, never a stray pytest.ini's.
_EMPTY_INI = Path(__file__).with_name("pytest.ini")

#: pytest's own plugins that checks have no use for: not loading them halves pytest's start.
_UNUSED_PLUGINS = (
    "cacheprovider", "terminal", "faulthandler", "warnings", "legacypath", "junitxml",
    "doctest", "pastebin", "setuponly", "setupplan", "stepwise", "logging", "unittest",
    "debugging", "python_path", "recwarn", "unraisableexception", "threadexception",
    "tmpdir", "monkeypatch",
)  # fmt: skip

#: pytest's exit codes for "could not run the checks" (``pytest.ExitCode``, not imported
#: here: pytest loads while the first probes start).
INTERNAL_ERROR: Final = 3
USAGE_ERROR: Final = 4

INTERRUPTED = Text(fr="correction interrompue", en="grading interrupted")


def grade(
    request: GradeRequest,
    *,
    engine: Engine,
    observer: RunObserver | None = None,
    on_pull_progress: Callable[[str], None] | None = None,
) -> GradeResult:
    """Grade ``request.student``'s live setup for ``request.exercise`` on ``engine``.

    Raises :class:`~grader.errors.EnvironmentProblem` when the probe image cannot be had,
    :class:`~grader.errors.UsageError` for bad parameters or checks.
    """
    exercise, project = request.exercise, request.project
    params = exercise.params.with_overrides(request.param_overrides)
    shown = request.shown
    names: NameResolver = (
        ComposeNames(engine, project, fall_back_to_exact=not request.strict_project)
        if project
        else ExactNames(engine)
    )
    prober = Prober(
        engine,
        image=request.probe_image,
        run_id=request.run_id,
        deadline_s=request.probe_deadline_s,
    )
    prober.ensure_image(on_pull_progress)
    started_at = datetime.now(timezone.utc)
    started = time.monotonic()
    outcomes: dict[str, CheckOutcome] = {}
    lab_notes: tuple[Text, ...] = ()
    try:
        try:
            seen = start_probes_ahead(prober, names, exercise.probe_sites, params)
            # The judge, pytest and the checks load while the engine starts those probes.
            from grader.harness.plugin import GraderPlugin
            from grader.judge.lab import Lab
        except KeyboardInterrupt:  # before the checks began: reported as during them
            interrupted = True
        else:
            lab = Lab(engine, names, prober, retry_window_s=request.retry_window_s, containers=seen)
            try:
                plugin = GraderPlugin(exercise, lab, params, observer)
                exit_code = run_checks(exercise.checks_file, exercise.directory, plugin)
            finally:
                lab.close()
            _raise_definition_problems(plugin, exit_code)
            outcomes, interrupted, lab_notes = dict(plugin.outcomes), plugin.interrupted, lab.notes
    finally:
        prober.close()
    if interrupted:
        for check_id in exercise.rubric.check_ids:
            outcomes.setdefault(check_id, CheckOutcome(check_id, CheckStatus.ERROR, INTERRUPTED))
    return GradeResult(
        exercise_id=exercise.id,
        exercise_title=exercise.title,
        student=request.student,
        sheet=score(exercise.rubric_with(exercise.params.with_overrides(shown)), outcomes.values()),
        started_at=started_at,
        duration_s=time.monotonic() - started,
        lang=request.lang,
        engine=engine.info,
        project=project,
        interrupted=interrupted,
        notes=(*request.notes, *found_outside_notes(names), *lab_notes),
        variant=request.variant,
        exam=request.exam,
        params=dict(shown),
    )


def _raise_definition_problems(plugin: GraderPlugin, exit_code: int) -> None:
    if plugin.collection_problems:
        raise ExerciseDefinitionError(plugin.collection_problems)
    if exit_code in (INTERNAL_ERROR, USAGE_ERROR):
        raise ExerciseDefinitionError(
            [
                f"{plugin.exercise.checks_file}: pytest could not run the checks "
                f"(exit code {exit_code})"
            ]
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
    import pytest

    from grader.harness import fixtures

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
