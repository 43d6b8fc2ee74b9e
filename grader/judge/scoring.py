"""Rubric arithmetic: outcomes in, points out. Pure functions, no engine.

Score = points of the passed checks - penalties of the failed penalty checks, clamped to
``[0, max]``. Prerequisites are applied here too, so rescoring stored outcomes under a new
rubric (new prerequisites included) gives the score a fresh run would give.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from grader.i18n import Text
from grader.judge.outcome import CheckOutcome, CheckStatus
from grader.judge.rubric import Number, Rubric, RubricEntry, execution_order


@dataclass(frozen=True)
class ScoredCheck:
    entry: RubricEntry
    outcome: CheckOutcome
    points: Number
    """Points earned; negative when a penalty is applied."""

    @property
    def check_id(self) -> str:
        return self.entry.check_id

    @property
    def status(self) -> CheckStatus:
        return self.outcome.status

    @property
    def max_points(self) -> Number:
        return self.entry.max_points


@dataclass(frozen=True)
class ScoreSheet:
    checks: tuple[ScoredCheck, ...]
    score: Number
    max_score: Number

    @property
    def all_passed(self) -> bool:
        return all(c.status is CheckStatus.PASSED for c in self.checks)

    def count(self, status: CheckStatus) -> int:
        return sum(1 for c in self.checks if c.status is status)


def prerequisite_skip(missing: str) -> Text:
    return Text(
        fr=f"non évalué : le prérequis « {missing} » n'est pas validé",
        en=f"not run: prerequisite '{missing}' did not pass",
    )


def not_run() -> Text:
    return Text(fr="vérification non exécutée", en="check was not run")


def score(rubric: Rubric, outcomes: Iterable[CheckOutcome]) -> ScoreSheet:
    """Score ``outcomes`` against ``rubric``, in rubric order.

    A check with no outcome counts as an error; a passed check whose prerequisite did not pass
    counts as skipped (this only happens when rescoring under changed prerequisites).
    """
    by_id = {outcome.check_id: outcome for outcome in outcomes}
    effective: dict[str, CheckOutcome] = {}
    for check_id in execution_order(rubric, rubric.check_ids):
        entry = rubric.entry(check_id)
        outcome = by_id.get(check_id) or CheckOutcome(check_id, CheckStatus.ERROR, not_run())
        missing = next(
            (
                need
                for need in entry.prerequisites
                if need in effective and effective[need].status is not CheckStatus.PASSED
            ),
            None,
        )
        if missing is not None and outcome.status is not CheckStatus.SKIPPED:
            outcome = CheckOutcome(
                check_id, CheckStatus.SKIPPED, prerequisite_skip(missing), outcome.duration_s
            )
        effective[check_id] = outcome
    scored = tuple(
        ScoredCheck(entry, effective[entry.check_id], points_for(entry, effective[entry.check_id]))
        for entry in rubric.entries
    )
    total = sum(check.points for check in scored)
    clamped = min(max(total, 0), rubric.max_score)
    return ScoreSheet(scored, clamped, rubric.max_score)


def points_for(entry: RubricEntry, outcome: CheckOutcome) -> Number:
    if entry.is_penalty:
        return entry.points if outcome.status is CheckStatus.FAILED else 0
    return entry.points if outcome.status is CheckStatus.PASSED else 0
