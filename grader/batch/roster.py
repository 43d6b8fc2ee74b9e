"""A class roster: who the students are, and (for exams) which folder holds whose submission.

CSV with a header row; the ``student`` column (or ``id``) is required, ``folder`` is optional
(the submission folder's name, when it is not the student id); other columns (name, email...)
are kept out of the way. Problems are reported all at once, as ``file:line: ...``.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from grader.errors import UsageError
from grader.i18n import Text


@dataclass(frozen=True)
class RosterEntry:
    student: str
    folder: str


def read_roster(path: Path) -> list[RosterEntry]:
    try:
        text = path.expanduser().read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise UsageError(
            Text(fr=f"{path} illisible : {exc.strerror}", en=f"cannot read {path}: {exc.strerror}")
        ) from exc
    rows = list(csv.reader(text.splitlines()))
    header = [cell.strip().lower() for cell in rows[0]] if rows else []
    column = next((header.index(n) for n in ("student", "id") if n in header), None)
    if column is None:
        raise UsageError(
            Text(
                fr=f"{path}:1: l'en-tête doit avoir une colonne student (ou id)",
                en=f"{path}:1: the header must have a student (or id) column",
            )
        )
    folder = header.index("folder") if "folder" in header else None
    entries: list[RosterEntry] = []
    problems: list[str] = []
    seen: set[str] = set()
    for number, row in enumerate(rows[1:], start=2):
        cells = [cell.strip() for cell in row]
        if not any(cells) or cells[0].startswith("#"):
            continue
        student = cells[column] if column < len(cells) else ""
        if not student:
            problems.append(f"{path}:{number}: no student id")
        elif student in seen:
            problems.append(f"{path}:{number}: student '{student}' appears twice")
        else:
            seen.add(student)
            given = cells[folder] if folder is not None and folder < len(cells) else ""
            entries.append(RosterEntry(student, given or student))
    if problems:
        joined = "; ".join(problems)
        raise UsageError(Text(fr=joined, en=joined))
    return entries
