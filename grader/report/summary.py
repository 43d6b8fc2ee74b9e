"""The class summary: a score histogram, each check's pass rate (which concept the class
missed), and the submissions that were refused or could not be graded. One standalone HTML file
(inline CSS and SVG, no network asset) and the same in Markdown."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import cache
from typing import Any

from grader.exercise.model import Exercise
from grader.judge.outcome import CheckStatus
from grader.report.sanitize import clean_text, markdown_cell
from grader.result import GradeResult, RunStatus


@dataclass(frozen=True)
class CheckRate:
    check_id: str
    title: str
    points: float
    passed: int
    graded: int

    @property
    def rate(self) -> float:
        """Share of graded students who passed (for a penalty: who were not penalised)."""
        return self.passed / self.graded if self.graded else 0.0


@dataclass(frozen=True)
class Bin:
    label: str
    count: int


@dataclass(frozen=True)
class ClassSummary:
    exercise_id: str
    title: str
    written_at: str
    students: int
    graded: int
    refused: int
    errors: int
    max_score: float
    mean: float | None
    median: float | None
    histogram: tuple[Bin, ...]
    checks: tuple[CheckRate, ...]
    to_look_at: tuple[tuple[str, str, str], ...]
    """(student, status, reason) of submissions a teacher should look at: refused, in error,
    or graded with checks in error (points the student may not have been theirs to lose)."""


def summarise(exercise: Exercise, results: Sequence[GradeResult], lang: str) -> ClassSummary:
    graded = [r for r in results if r.status is RunStatus.GRADED]
    scores = [float(r.score) for r in graded]
    max_score = float(exercise.rubric.max_score)
    rates = []
    for entry in exercise.rubric_with().entries:
        statuses = [
            c.status for r in graded for c in r.sheet.checks if c.check_id == entry.check_id
        ]
        rates.append(
            CheckRate(
                entry.check_id,
                entry.title.fr if lang == "fr" else entry.title.en,
                float(entry.points),
                sum(1 for s in statuses if s is CheckStatus.PASSED),
                len(statuses),
            )
        )
    return ClassSummary(
        exercise_id=exercise.id,
        title=exercise.title.fr if lang == "fr" else exercise.title.en,
        written_at=datetime.now(timezone.utc).isoformat(timespec="minutes"),
        students=len(results),
        graded=len(graded),
        refused=sum(1 for r in results if r.status is RunStatus.REFUSED),
        errors=sum(1 for r in results if r.status is RunStatus.ERROR),
        max_score=max_score,
        mean=round(statistics.fmean(scores), 2) if scores else None,
        median=statistics.median(scores) if scores else None,
        histogram=_histogram(scores, max_score),
        checks=tuple(rates),
        to_look_at=tuple(_to_look_at(r) for r in results if _needs_a_look(r)),
    )


def _needs_a_look(result: GradeResult) -> bool:
    return (
        result.status is not RunStatus.GRADED
        or result.sheet.count(CheckStatus.ERROR) > 0
        or bool(result.flags)
    )


def _to_look_at(result: GradeResult) -> tuple[str, str, str]:
    lang = result.lang
    if result.status is not RunStatus.GRADED:
        reason = result.notes[0].render(lang) if result.notes else ""
        return clean_text(result.student, 120), result.status.value, clean_text(reason, 400)
    errors = [c for c in result.sheet.checks if c.status is CheckStatus.ERROR]
    if not errors:  # flagged only
        flagged = next((n.render(lang) for n in result.notes if "other-variant" in n.en), "")
        return (
            clean_text(result.student, 120),
            " ".join(result.flags),
            clean_text(flagged, 400),
        )
    first = errors[0]
    message = first.outcome.message.render(lang) if first.outcome.message else ""
    status = (
        f"{result.status.value}, {len(errors)} erreur(s)"
        if lang == "fr"
        else f"{result.status.value}, {len(errors)} error(s)"
    )
    return (
        clean_text(result.student, 120),
        status,
        clean_text(f"{first.check_id}: {message}", 400),
    )


def _histogram(scores: Sequence[float], max_score: float) -> tuple[Bin, ...]:
    """One bar per point up to 20 points; ten wider bars above."""
    top = max(int(max_score), 1)
    width = 1 if top <= 20 else -(-top // 10)
    lows = list(range(0, top + 1, width))
    counts = [0] * len(lows)
    for score in scores:
        counts[min(int(score) // width, len(lows) - 1)] += 1
    return tuple(
        Bin(str(low) if width == 1 else f"{low}–{min(low + width - 1, top)}", count)
        for low, count in zip(lows, counts, strict=True)
    )


WORDS = {
    "fr": {
        "summary": "Bilan de la classe", "students": "copies", "graded": "corrigées",
        "refused": "refusées", "errors": "en erreur", "mean": "moyenne", "median": "médiane",
        "histogram": "Répartition des notes", "checks": "Réussite par vérification",
        "check": "vérification", "points": "points", "rate": "réussite",
        "to_look_at": "À examiner (refusées, en erreur, vérifications en erreur)",
        "student": "élève", "status": "statut",
        "reason": "raison", "penalty": "pénalité (taux : non pénalisés)", "none": "aucune",
    },
    "en": {
        "summary": "Class summary", "students": "submissions", "graded": "graded",
        "refused": "refused", "errors": "errors", "mean": "mean", "median": "median",
        "histogram": "Score distribution", "checks": "Pass rate per check",
        "check": "check", "points": "points", "rate": "pass rate",
        "to_look_at": "To look at (refused, in error, checks in error)",
        "student": "student", "status": "status",
        "reason": "reason", "penalty": "penalty (rate: not penalised)", "none": "none",
    },
}  # fmt: skip


@cache
def _environment(autoescape: bool) -> Any:
    import jinja2

    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("grader.report", "templates"),
        autoescape=autoescape,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters["md"] = markdown_cell
    return environment


def _render(template: str, exercise: Exercise, results: Sequence[GradeResult], lang: str) -> str:
    summary = summarise(exercise, results, lang)
    environment = _environment(template.endswith(".html.j2"))
    return str(
        environment.get_template(template).render(
            s=summary, w=WORDS["fr" if lang == "fr" else "en"], lang=lang
        )
    )


def summary_html(exercise: Exercise, results: Sequence[GradeResult], lang: str) -> str:
    return _render("summary.html.j2", exercise, results, lang)


def summary_markdown(exercise: Exercise, results: Sequence[GradeResult], lang: str) -> str:
    return _render("summary.md.j2", exercise, results, lang)
