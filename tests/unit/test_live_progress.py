"""The spinner line of `grade check` (pure logic: a rich console writing to memory)."""

from __future__ import annotations

import io

from rich.console import Console

from grader.exercise.catalog import find
from grader.judge.outcome import CheckOutcome, CheckStatus
from grader.report.terminal import LiveProgress


def test_the_console_is_asked_for_when_the_first_check_starts_not_before() -> None:
    rubric = find("tp-reseau").rubric_with()
    asked: list[Console] = []
    screen = io.StringIO()

    def console() -> Console:
        asked.append(Console(file=screen, force_terminal=True, width=100))
        return asked[-1]

    with LiveProgress(console, rubric, "en") as progress:
        assert asked == []  # the probes start first, while rich loads
        progress.check_started("reseau-cree")
        progress.check_finished(CheckOutcome("reseau-cree", CheckStatus.PASSED))
        progress.check_started("redis-attache")

    assert len(asked) == 1
    shown = screen.getvalue()
    assert "[2/" in shown
    assert "redis-attache" in shown


def test_no_spinner_when_the_output_is_not_a_terminal() -> None:
    rubric = find("tp-reseau").rubric_with()
    screen = io.StringIO()

    with LiveProgress(lambda: Console(file=screen, width=100), rubric, "en") as progress:
        progress.check_started("reseau-cree")

    assert screen.getvalue() == ""
