"""What a check concluded, and the exception a check raises to say the student missed it."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from grader.i18n import Text


class CheckStatus(str, Enum):
    PASSED = "passed"
    FAILED = "failed"
    """The student's setup does not satisfy the check."""
    SKIPPED = "skipped"
    """A prerequisite did not pass; the check was not run and earns nothing."""
    ERROR = "error"
    """The harness could not observe (engine error, probe timeout): not the student's fault."""


@dataclass(frozen=True)
class CheckOutcome:
    check_id: str
    status: CheckStatus
    message: Text | None = None
    duration_s: float = 0.0
    retries: int = 0
    """How many times the observations this check read were tried again before their result
    (:mod:`grader.observe.retry`): a busy machine's doing, shown in the report."""


class CheckFailed(AssertionError):
    """Raised by a check (usually through :mod:`grader.judge.expect`) when the setup misses.

    It is an ``AssertionError``, so pytest reports the check as failed, and it carries the
    explanation in both languages.
    """

    def __init__(self, text: Text) -> None:
        super().__init__(text.en)
        self.text = text
