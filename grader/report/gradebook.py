"""The class gradebook as CSV: Moodle's CSV grade import, and Canvas's gradebook import.

One row per student: the id (its column name is configurable, ``idnumber`` or ``email``, which
Moodle maps to that user field), the score, the maximum, the status (graded, refused, error),
one column per check with the points earned, a feedback column, and a flags column
(``other-variant:ID`` when the setup matches another student's exam variant). Numbers use a
dot as the decimal mark; text cells that a spreadsheet would take for a formula are
neutralised.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable

from grader.judge.outcome import CheckStatus
from grader.judge.rubric import Rubric
from grader.report.sanitize import clean_text
from grader.result import GradeResult, RunStatus


def number(value: float) -> str:
    """``2`` for 2.0, ``0.5`` for 0.5: what a gradebook expects.

    >>> number(2.0), number(0.5), number(-2)
    ('2', '0.5', '-2')
    """
    return f"{value:g}"


def text_cell(value: str) -> str:
    """One line of clean text; a leading ``= + - @`` is quoted (CSV formula injection).

    >>> text_cell("=1+1"), text_cell("to review:\\n  dns")
    ("'=1+1", 'to review: dns')
    """
    return _inert(" ".join(clean_text(value, 500).split()))


def id_cell(student: str) -> str:
    """A student id as a cell: as it is (an LMS matches it letter for letter), but without
    control characters, and quoted when a spreadsheet would read it as a formula.

    >>> id_cell("ada"), id_cell("=HYPERLINK(1)"), id_cell("-2"), id_cell("\\x1b[31mred")
    ('ada', "'=HYPERLINK(1)", "'-2", 'red')
    """
    return _inert(clean_text(student, 500).replace("\n", " ").replace("\t", " "))


def _inert(cell: str) -> str:
    # A tab or carriage return before the sign is read as a formula too by some spreadsheets.
    return f"'{cell}" if cell.lstrip(" \t\r")[:1] in ("=", "+", "-", "@") else cell


def feedback(result: GradeResult) -> str:
    """A line a student can read next to the grade: what was missed, or why not graded."""
    lang = result.lang
    if result.status is not RunStatus.GRADED:
        return result.notes[0].render(lang) if result.notes else result.status.value
    missed = [
        check.check_id
        for check in result.sheet.checks
        if (check.entry.is_penalty and check.status is CheckStatus.FAILED)
        or (not check.entry.is_penalty and check.status is not CheckStatus.PASSED)
    ]
    if not missed:
        return "tout est validé" if lang == "fr" else "all checks passed"
    return ("à revoir : " if lang == "fr" else "to review: ") + ", ".join(missed)


def gradebook_csv(rubric: Rubric, results: Iterable[GradeResult], *, id_column: str) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([id_column, "score", "max", "status", *rubric.check_ids, "feedback", "flags"])
    for result in results:
        points = {check.check_id: check.points for check in result.sheet.checks}
        writer.writerow(
            [
                id_cell(result.student),
                number(result.score),
                number(result.max_score),
                result.status.value,
                *(number(points.get(check_id, 0)) for check_id in rubric.check_ids),
                text_cell(feedback(result)),
                text_cell(" ".join(result.flags)),
            ]
        )
    return out.getvalue()


def canvas_csv(rubric: Rubric, results: Iterable[GradeResult], *, assignment: str) -> str:
    """The gradebook in the layout Canvas imports: its required columns (``Student``, ``ID``,
    ``SIS User ID``, ``SIS Login ID``, ``Section``), a ``Points Possible`` row, then one
    assignment column. The student id fills ``Student`` and ``SIS Login ID``, which Canvas
    matches on; ``ID`` (Canvas's own) is left blank."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["Student", "ID", "SIS User ID", "SIS Login ID", "Section", assignment])
    writer.writerow(["Points Possible", "", "", "", "", number(rubric.max_score)])
    for result in results:
        student = id_cell(result.student)
        writer.writerow([student, "", "", student, "", number(result.score)])
    return out.getvalue()
