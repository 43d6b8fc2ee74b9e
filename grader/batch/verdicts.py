"""Results of submissions that were not graded: refused before starting, or in error."""

from __future__ import annotations

from datetime import datetime, timezone

from grader.exercise.model import Exercise
from grader.i18n import Lang, Text
from grader.judge.outcome import CheckOutcome, CheckStatus
from grader.judge.scoring import score
from grader.result import GradeResult, RunStatus

INTERRUPTED = Text(fr="correction groupée interrompue", en="batch interrupted")
NO_SUBMISSION = Text(fr="aucune copie (pas de dossier)", en="no submission (no folder)")


def refused(student: str, exercise: Exercise, lang: Lang, reasons: tuple[Text, ...]) -> GradeResult:
    """Score 0: the submission asked for what a submission may not (every reason listed)."""
    why = Text(fr="soumission refusée : ", en="submission refused: ") + Text(
        fr="; ".join(r.fr for r in reasons), en="; ".join(r.en for r in reasons)
    )
    return _result(student, exercise, lang, RunStatus.REFUSED, CheckStatus.SKIPPED, why)


def failed(student: str, exercise: Exercise, lang: Lang, why: Text) -> GradeResult:
    """The submission could not be graded: every check is an ``error``."""
    return _result(student, exercise, lang, RunStatus.ERROR, CheckStatus.ERROR, why)


def timed_out(seconds: float) -> Text:
    return Text(
        fr=f"error: timeout — la correction n'a pas fini en {seconds:g} s (arrêtée)",
        en=f"error: timeout — grading did not finish within {seconds:g} s (stopped)",
    )


def unexpected(exc: BaseException) -> Text:
    detail = f"{type(exc).__name__}: {exc}"[:300]
    return Text(
        fr=f"erreur du correcteur pendant cette copie ({detail})",
        en=f"grader error on this submission ({detail})",
    )


def _result(
    student: str, exercise: Exercise, lang: Lang, status: RunStatus, each: CheckStatus, why: Text
) -> GradeResult:
    outcomes = [CheckOutcome(check_id, each, why) for check_id in exercise.rubric.check_ids]
    return GradeResult(
        exercise_id=exercise.id,
        exercise_title=exercise.title,
        student=student,
        sheet=score(exercise.rubric_with(), outcomes),
        started_at=datetime.now(timezone.utc),
        duration_s=0.0,
        lang=lang,
        status=status,
        notes=(why,),
    )
