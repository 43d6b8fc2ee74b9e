"""Gradescope's autograder results (``results.json``), so a course on Gradescope can run
``grade`` as its autograder: one test per check with its score, maximum, status and output.

The top-level ``score`` is tp-grader's (clamped to ``[0, max]``), since a penalty's negative
test score alone could take Gradescope's sum below zero.
"""

from __future__ import annotations

import json
from typing import Any

from grader.judge.outcome import CheckStatus
from grader.report.files import Target, write_report
from grader.report.sanitize import clean_text
from grader.result import GradeResult

VISIBILITIES = ("visible", "after_due_date", "after_published", "hidden")


def to_dict(result: GradeResult, visibility: str = "visible") -> dict[str, Any]:
    lang = result.lang
    tests = []
    for check in result.sheet.checks:
        lines = [
            clean_text(check.outcome.message.render(lang)) if check.outcome.message else "",
            check.entry.hint.render(lang)
            if check.status is CheckStatus.FAILED and result.hints_shown
            else "",
        ]
        passed = check.status is CheckStatus.PASSED
        tests.append(
            {
                "name": f"{check.check_id} — {check.entry.title.render(lang)}",
                "score": check.points,
                "max_score": check.max_points,
                "status": "passed" if passed else "failed",
                "output": "\n".join(line for line in lines if line),
                "visibility": visibility,
            }
        )
    notes = [clean_text(note.render(lang)) for note in result.notes]
    return {
        "score": result.score,
        "execution_time": round(result.duration_s, 3),
        "output": "\n".join(notes),
        "visibility": visibility,
        "tests": tests,
    }


def write_gradescope(result: GradeResult, target: Target, visibility: str = "visible") -> None:
    """Write ``results.json`` to ``target``: a path, or ``-`` for standard output."""
    text = json.dumps(to_dict(result, visibility), ensure_ascii=False, indent=2) + "\n"
    write_report(target, text)
