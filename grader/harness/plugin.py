"""The pytest plugin that turns a checks module into check outcomes.

With :mod:`grader.harness.fixtures` (the ``lab`` and ``params`` fixtures), it
orders checks after their prerequisites, skips
a check whose prerequisite did not pass (before any fixture runs, so nothing is observed for
it), and sorts every exception into ``failed`` (the student's setup), ``error`` (the harness
could not observe) or ``skipped``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from grader.errors import GraderError
from grader.exercise.model import Exercise, Params
from grader.harness.observer import RunObserver
from grader.i18n import Text
from grader.judge.lab import Lab
from grader.judge.outcome import CheckFailed, CheckOutcome, CheckStatus
from grader.judge.rubric import execution_order
from grader.judge.scoring import prerequisite_skip
from grader.observe.retry import reading_for_a_check

MARKER = "check"


def check_id_of(item: pytest.Item) -> str | None:
    marker = item.get_closest_marker(MARKER)
    return str(marker.args[0]) if marker is not None and marker.args else None


class GraderPlugin:
    def __init__(
        self,
        exercise: Exercise,
        lab: Lab,
        params: Params,
        observer: RunObserver | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.exercise = exercise
        self._observer = observer
        self._clock = clock
        self.outcomes: dict[str, CheckOutcome] = {}
        self.collection_problems: list[str] = []
        self.interrupted = False
        self._durations: dict[str, float] = {}
        self._retries: dict[str, int] = {}
        self._check_of_node: dict[str, str] = {}
        self.lab = lab
        self.params = params

    @staticmethod
    def of(config: pytest.Config) -> GraderPlugin:
        """The plugin instance of the run ``config`` belongs to."""
        for plugin in config.pluginmanager.get_plugins():
            if isinstance(plugin, GraderPlugin):
                return plugin
        raise LookupError("not a tp-grader run")

    # -- collection -------------------------------------------------------------------------
    def pytest_configure(self, config: pytest.Config) -> None:
        config.addinivalue_line("markers", f"{MARKER}(id): the rubric check this test decides")

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed:
            self.collection_problems.append(
                f"{self.exercise.checks_file}: cannot load checks: {report.longreprtext.strip()}"
            )

    def pytest_collection_modifyitems(
        self, session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
    ) -> None:
        by_id: dict[str, pytest.Item] = {}
        ignored: list[pytest.Item] = []
        for item in items:
            check_id = check_id_of(item)
            if check_id is None or check_id in by_id:
                ignored.append(item)
            else:
                by_id[check_id] = item
        if ignored:
            config.hook.pytest_deselected(items=ignored)
        order = execution_order(self.exercise.rubric, by_id)
        items[:] = [by_id[check_id] for check_id in order]
        self._check_of_node = {item.nodeid: check_id for check_id, item in by_id.items()}

    # -- running ----------------------------------------------------------------------------
    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> None:
        check_id = check_id_of(item)
        if check_id is None:
            return
        if self._observer is not None:
            self._observer.check_started(check_id)
        for need in self.exercise.rubric.entry(check_id).prerequisites:
            done = self.outcomes.get(need)
            if done is None or done.status is not CheckStatus.PASSED:
                self.outcomes[check_id] = CheckOutcome(
                    check_id, CheckStatus.SKIPPED, prerequisite_skip(need)
                )
                pytest.skip(f"prerequisite {need} did not pass")

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_call(self, item: pytest.Item) -> Any:
        check_id = check_id_of(item)
        with reading_for_a_check() as attempts:
            yield
        if check_id is not None:
            self._retries[check_id] = sum(count - 1 for count in attempts)

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
        yield
        check_id = check_id_of(item)
        if check_id is None:
            return
        self._durations[check_id] = self._durations.get(check_id, 0.0) + call.duration
        if check_id in self.outcomes:
            return  # decided in an earlier phase (a prerequisite skip, a setup failure)
        if call.excinfo is not None:
            status, text = classify(call.excinfo.value)
            self.outcomes[check_id] = CheckOutcome(check_id, status, text)
        elif call.when == "call":
            self.outcomes[check_id] = CheckOutcome(check_id, CheckStatus.PASSED)

    def pytest_runtest_logfinish(self, nodeid: str, location: tuple[str, int | None, str]) -> None:
        check_id = self._check_of_node.get(nodeid)
        outcome = self.outcomes.get(check_id or "")
        if check_id is None or outcome is None:
            return
        final = CheckOutcome(
            check_id,
            outcome.status,
            outcome.message,
            self._durations.get(check_id, 0.0),
            self._retries.get(check_id, 0),
        )
        self.outcomes[check_id] = final
        if self._observer is not None:
            self._observer.check_finished(final)

    def pytest_keyboard_interrupt(self, excinfo: pytest.ExceptionInfo[BaseException]) -> None:
        self.interrupted = True


def classify(exc: BaseException) -> tuple[CheckStatus, Text]:
    """Whose fault is ``exc``: the student's setup (failed) or the harness's (error)?

    An exercise's own ``assert`` is a verdict on the setup; an ``AssertionError`` raised in
    tp-grader's own code is a broken promise of the grader's, never the student's miss.
    """
    if isinstance(exc, CheckFailed):
        return CheckStatus.FAILED, exc.text
    if isinstance(exc, pytest.skip.Exception):
        return CheckStatus.SKIPPED, Text.same(str(exc.msg))
    if isinstance(exc, pytest.fail.Exception) or (
        isinstance(exc, AssertionError) and not raised_in_grader(exc)
    ):
        return CheckStatus.FAILED, Text.same(str(exc) or "assertion failed")
    if isinstance(exc, GraderError):
        return CheckStatus.ERROR, exc.text
    detail = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    return CheckStatus.ERROR, Text(
        fr=f"erreur interne de la vérification ({detail})",
        en=f"internal error in the check ({detail})",
    )


_GRADER_ROOT = Path(__file__).resolve().parent.parent
#: Exercises travel inside the wheel, under the package: their checks are not the grader.
_BUNDLED_EXERCISES = _GRADER_ROOT / "_bundle"


def raised_in_grader(exc: BaseException) -> bool:
    """Whether ``exc`` was raised by tp-grader's own code (the innermost frame of its
    traceback is in the package, and not in an exercise bundled with it)."""
    tb = exc.__traceback__
    if tb is None:
        return False
    while tb.tb_next is not None:
        tb = tb.tb_next
    where = Path(tb.tb_frame.f_code.co_filename).resolve()
    return where.is_relative_to(_GRADER_ROOT) and not where.is_relative_to(_BUNDLED_EXERCISES)
