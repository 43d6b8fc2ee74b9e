"""What a grading run tells the one watching it, check by check (light: no pytest)."""

from __future__ import annotations

from typing import Protocol

from grader.judge.outcome import CheckOutcome


class RunObserver(Protocol):
    """Told about each check as the run goes (the terminal's live progress)."""

    def check_started(self, check_id: str) -> None: ...

    def check_finished(self, outcome: CheckOutcome) -> None: ...
