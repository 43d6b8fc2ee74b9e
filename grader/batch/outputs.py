"""A batch's output folder.

::

    OUT_DIR/
      batch.json                  the exercise, when, on which engines (read by ``rescore``)
      gradebook.csv               one row per student (Moodle's CSV grade import)
      gradebook-canvas.csv        the same scores in Canvas's gradebook import layout
      summary.html, summary.md    the class at a glance
      students/<id>/
        report.json, junit.xml    the same files as a self-check's ``--json`` and ``--junit``
        replay.log                what Compose printed (bounded)

Every file is written atomically, each student's as soon as they are graded: a crash loses
nothing already written, and ``--resume`` skips students whose ``report.json`` is there.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from grader import defaults
from grader.exercise.model import Exercise
from grader.judge.rubric import Rubric
from grader.report import json_report, junit
from grader.report.files import write_atomically
from grader.report.gradebook import canvas_csv, gradebook_csv
from grader.report.sanitize import clean_text
from grader.report.summary import summary_html, summary_markdown
from grader.result import GradeResult

BATCH_FILE = "batch.json"
REPORT_FILE = "report.json"


def safe_folder_name(student: str) -> str:
    """A student id as one path component (ids from a hosts file may hold anything)."""
    name = re.sub(r"[^A-Za-z0-9@._+-]", "_", student).strip(".") or "_"
    return name[:120]


class BatchOutputs:
    def __init__(self, root: Path) -> None:
        self.root = root

    def student_folder(self, student: str) -> Path:
        return self.root / "students" / safe_folder_name(student)

    def write_student(self, result: GradeResult, log: str | None = None) -> None:
        folder = self.student_folder(result.student)
        write_atomically(folder / "junit.xml", junit.dumps(result))
        if log is not None:
            tail = log[-defaults.BATCH_LOG_LIMIT :]
            write_atomically(folder / "replay.log", clean_text(tail, defaults.BATCH_LOG_LIMIT))
        # The report last: its presence is what --resume takes as "graded".
        write_atomically(folder / REPORT_FILE, json_report.dumps(result))

    def graded(self, rubric: Rubric) -> dict[str, GradeResult]:
        """Students whose report is already written, read back under ``rubric``."""
        found: dict[str, GradeResult] = {}
        for path in sorted((self.root / "students").glob(f"*/{REPORT_FILE}")):
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
                result = json_report.from_dict(data, rubric)
            except (OSError, ValueError, KeyError, TypeError):
                continue  # unreadable: graded again
            found[result.student] = result
        return found

    def write_batch(self, exercise: Exercise, details: Mapping[str, Any]) -> None:
        data = {
            "schema": "tp-grader.batch/1",
            "exercise": exercise.id,
            "written_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            **details,
        }
        write_atomically(self.root / BATCH_FILE, json.dumps(data, indent=2) + "\n")

    def read_batch(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads((self.root / BATCH_FILE).read_text(encoding="utf-8"))
        return data

    def write_class(
        self, exercise: Exercise, results: Iterable[GradeResult], *, id_column: str, lang: str
    ) -> None:
        ordered = sorted(results, key=lambda r: r.student)
        write_atomically(
            self.root / "gradebook.csv",
            gradebook_csv(exercise.rubric, ordered, id_column=id_column),
        )
        write_atomically(
            self.root / "gradebook-canvas.csv",
            canvas_csv(exercise.rubric, ordered, assignment=exercise.id),
        )
        write_atomically(self.root / "summary.md", summary_markdown(exercise, ordered, lang))
        write_atomically(self.root / "summary.html", summary_html(exercise, ordered, lang))
