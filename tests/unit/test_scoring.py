"""Rubric arithmetic (pure logic)."""

from __future__ import annotations

from grader.judge.outcome import CheckOutcome, CheckStatus
from grader.judge.rubric import parse_rubric
from grader.judge.scoring import score
from tests.unit.test_rubric import VALID

P, F, S, E = CheckStatus.PASSED, CheckStatus.FAILED, CheckStatus.SKIPPED, CheckStatus.ERROR


def outcomes(**statuses: CheckStatus) -> list[CheckOutcome]:
    return [CheckOutcome(k.replace("_", "-"), v) for k, v in statuses.items()]


def test_all_passed() -> None:
    sheet = score(parse_rubric(VALID), outcomes(a=P, b=P, no_link=P))

    assert (sheet.score, sheet.max_score, sheet.all_passed) == (5, 5, True)


def test_penalty_applies_when_its_check_fails() -> None:
    sheet = score(parse_rubric(VALID), outcomes(a=P, b=P, no_link=F))

    assert sheet.score == 3
    assert [c.points for c in sheet.checks] == [2, 3, -2]


def test_score_is_clamped_at_zero() -> None:
    sheet = score(parse_rubric(VALID), outcomes(a=F, b=S, no_link=F))

    assert sheet.score == 0


def test_error_and_skip_earn_nothing_and_apply_no_penalty() -> None:
    sheet = score(parse_rubric(VALID), outcomes(a=E, b=S, no_link=E))

    assert sheet.score == 0
    assert [c.points for c in sheet.checks] == [0, 0, 0]


def test_missing_outcome_is_an_error() -> None:
    sheet = score(parse_rubric(VALID), outcomes(a=P, no_link=P))

    b = sheet.checks[1]
    assert (b.status, b.outcome.message.en) == (E, "check was not run")


def test_rescoring_applies_new_prerequisites() -> None:
    """A check that passed is skipped under a rubric that makes a failed check its
    prerequisite: the score a fresh run would give."""
    stricter = parse_rubric(
        VALID.replace(
            "  a:\n    points: 2\n", "  a:\n    points: 2\n    prerequisites: [no-link]\n"
        )
    )

    sheet = score(stricter, outcomes(a=P, b=P, no_link=F))

    assert [c.status for c in sheet.checks] == [S, S, F]
    assert sheet.checks[0].outcome.message.en == "not run: prerequisite 'no-link' did not pass"
    assert sheet.score == 0


def test_fractional_points() -> None:
    halves = parse_rubric(VALID.replace("points: 2", "points: 0.5"))

    assert score(halves, outcomes(a=P, b=F, no_link=P)).score == 0.5
