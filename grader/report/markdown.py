"""A run as a Markdown table, for CI pages (``--summary-md``, and ``$GITHUB_STEP_SUMMARY``)."""

from __future__ import annotations

from grader.judge.outcome import CheckStatus
from grader.report.files import Target, write_report
from grader.report.sanitize import markdown_cell
from grader.result import GradeResult

MARKS = {
    CheckStatus.PASSED: "✅",
    CheckStatus.FAILED: "❌",
    CheckStatus.SKIPPED: "⏭️",
    CheckStatus.ERROR: "⚠️",
}


def _cell(text: str) -> str:
    return markdown_cell(text)


def run_markdown(result: GradeResult) -> str:
    lang = result.lang
    fr = lang == "fr"
    lines = [
        f"### {_cell(result.exercise_title.render(lang))} — {result.score:g}/{result.max_score:g}",
        "",
        ("Élève : " if fr else "Student: ") + f"`{_cell(result.student)}`",
        "",
        "| | check | | points | " + ("explication" if fr else "details") + " |",
        "|---|---|---|---:|---|",
    ]
    for check in result.sheet.checks:
        points = (
            (f"{check.points:g}" if check.points else "—")
            if check.entry.is_penalty
            else f"{check.points:g}/{check.max_points:g}"
        )
        details = check.outcome.message.render(lang) if check.outcome.message else ""
        if check.status is CheckStatus.FAILED and result.hints_shown:
            details += (" — " if details else "") + check.entry.hint.render(lang)
        lines.append(
            f"| {MARKS[check.status]} | `{check.check_id}` | "
            f"{_cell(check.entry.title.render(lang))} | {points} | {_cell(details)} |"
        )
    return "\n".join(lines) + "\n"


def append_markdown(result: GradeResult, target: Target) -> None:
    """Append the table to ``target`` (GitHub's step summary file collects every step's
    Markdown), or print it when ``target`` is ``-``."""
    write_report(target, run_markdown(result) + "\n", append=True)
