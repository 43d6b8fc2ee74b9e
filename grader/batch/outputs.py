"""A batch's output folder.

::

    OUT_DIR/
      batch.json                  the exercise, when, on which engines (read by ``rescore``)
      gradebook.csv               one row per student (Moodle's CSV grade import)
      gradebook-canvas.csv        the same scores in Canvas's gradebook import layout
      summary.html, summary.md    the class at a glance
      students/<id>/
        outcomes.json             what was observed: each check's status and message, as
                                  graded (written once; ``rescore`` reads it, never rewrites it)
        report.json, junit.xml    the same files as a self-check's ``--json`` and ``--junit``
                                  (scored under the rubric of the last grading or rescoring)
        replay.log                what Compose printed (bounded)

Every file is written atomically, each student's as soon as they are graded: a crash loses
nothing already written, and ``--resume`` skips students whose outcomes are there (unless they
were in error).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
from collections.abc import Iterable, Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from grader import defaults
from grader.engine.facts import EngineInfo
from grader.errors import GraderError, UsageError
from grader.exercise.model import Exercise
from grader.i18n import Text, as_lang
from grader.judge.outcome import CheckOutcome, CheckStatus
from grader.judge.scoring import score
from grader.report import json_report, junit
from grader.report.files import write_atomically
from grader.report.gradebook import canvas_csv, gradebook_csv
from grader.report.sanitize import clean_text
from grader.report.summary import summary_html, summary_markdown
from grader.result import GradeResult, RunStatus

BATCH_FILE = "batch.json"
REPORT_FILE = "report.json"
OUTCOMES_FILE = "outcomes.json"
OUTCOMES_SCHEMA = "tp-grader.outcomes/1"


_PLAIN_FOLDER = re.compile(r"[a-z0-9@_+-][a-z0-9@._+-]{0,99}")


def safe_folder_name(student: str) -> str:
    """A student id as one path component, distinct for distinct ids: a plain lowercase id is
    its own folder; any other (upper case, which a case-insensitive filesystem would fold,
    spaces, anything a hosts file or a roster may hold, a very long id) is its cleaned,
    shortened form, ``~`` (which no plain id holds), and a 128-bit digest of the id.

    >>> safe_folder_name("ada"), safe_folder_name("Ada")
    ('ada', 'ada~99a563ab2f6e21e96998f9fddd2a2bab')
    """
    if _PLAIN_FOLDER.fullmatch(student):
        return student
    cleaned = re.sub(r"[^a-z0-9@._+-]+", "_", student.lower()).strip("._")[:80] or "_"
    digest = hashlib.sha256(student.encode("utf-8", "surrogatepass")).hexdigest()[:32]
    return f"{cleaned}~{digest}"


class BatchOutputs:
    def __init__(self, root: Path) -> None:
        self.root = root.expanduser()

    def check_writable(self) -> None:
        """Raise :class:`~grader.errors.UsageError` (before any student is graded) when the
        output folder cannot be made or written."""
        probe = self.root / f".tp-grader-write-test-{os.getpid()}"
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            probe.write_bytes(b"")
            probe.unlink()
        except OSError as exc:
            reason = exc.strerror or type(exc).__name__
            raise UsageError(
                Text(
                    fr=f"le dossier de sortie {self.root} ne peut pas être écrit ({reason})",
                    en=f"the output folder {self.root} cannot be written ({reason})",
                )
            ) from exc

    def student_folder(self, student: str) -> Path:
        return self.root / "students" / safe_folder_name(student)

    def write_student(self, result: GradeResult, log: str | None = None) -> None:
        """A grading's files: its outcomes (kept as observed), its reports, its log."""
        folder = self.student_folder(result.student)
        write_atomically(folder / OUTCOMES_FILE, json.dumps(outcomes_dict(result), indent=1))
        if log is not None:
            tail = log[-defaults.BATCH_LOG_LIMIT :]
            write_atomically(folder / "replay.log", clean_text(tail, defaults.BATCH_LOG_LIMIT))
        self.write_reports(result)

    def write_reports(self, result: GradeResult) -> None:
        """The reports of ``result`` (also after rescoring: the outcomes stay as they were)."""
        folder = self.student_folder(result.student)
        write_atomically(folder / "junit.xml", junit.dumps(result))
        write_atomically(folder / REPORT_FILE, json_report.dumps(result))

    def graded(self, exercise: Exercise) -> dict[str, GradeResult]:
        """Students whose outcomes are stored, scored under ``exercise``'s rubric."""
        found: dict[str, GradeResult] = {}
        for path in sorted((self.root / "students").glob(f"*/{OUTCOMES_FILE}")):
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
                result = result_from_outcomes(data, exercise)
            except (OSError, ValueError, KeyError, TypeError, GraderError):
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


# -- outcomes, as observed --------------------------------------------------------------------
def outcomes_dict(result: GradeResult) -> dict[str, Any]:
    """What a grading observed, independent of any rubric (messages in both languages)."""
    engine = result.engine
    return {
        "schema": OUTCOMES_SCHEMA,
        "exercise": result.exercise_id,
        "title": _text(result.exercise_title),
        "student": result.student,
        "status": result.status.value,
        "started_at": result.started_at.isoformat(),
        "duration_s": result.duration_s,
        "lang": result.lang,
        "project": result.project,
        "interrupted": result.interrupted,
        "engine": None if engine is None else dataclasses.asdict(engine),
        "notes": [_text(note) for note in result.notes],
        "variant": result.variant,
        "exam": result.exam,
        "flags": list(result.flags),
        "params": dict(result.params),
        "checks": [
            {
                "id": check.check_id,
                "status": check.outcome.status.value,
                "message": _text(check.outcome.message) if check.outcome.message else None,
                "duration_s": check.outcome.duration_s,
                "retries": check.outcome.retries,
            }
            for check in result.sheet.checks
        ],
    }


def result_from_outcomes(data: Mapping[str, Any], exercise: Exercise) -> GradeResult:
    """The result of stored outcomes, scored under ``exercise``'s rubric (its titles naming
    what the grading showed the student): the same marks as the grading when it is the rubric
    the grading used."""
    if data.get("schema") != OUTCOMES_SCHEMA:
        raise ValueError(f"not a {OUTCOMES_SCHEMA} file")
    shown = {str(k): str(v) for k, v in (data.get("params") or {}).items()}
    rubric = exercise.rubric_with(exercise.params.with_overrides(shown))
    outcomes = [
        CheckOutcome(
            check_id=str(item["id"]),
            status=CheckStatus(item["status"]),
            message=_from_text(item["message"]) if item.get("message") else None,
            duration_s=float(item.get("duration_s") or 0.0),
            retries=int(item.get("retries") or 0),
        )
        for item in data.get("checks") or ()
    ]
    engine = data.get("engine")
    return GradeResult(
        exercise_id=str(data["exercise"]),
        exercise_title=_from_text(data["title"]),
        student=str(data["student"]),
        sheet=score(rubric, outcomes),
        started_at=datetime.fromisoformat(str(data["started_at"])),
        duration_s=float(data.get("duration_s") or 0.0),
        lang=as_lang(str(data.get("lang", defaults.DEFAULT_LANG))),
        engine=None if not engine else EngineInfo(**engine),
        project=data.get("project"),
        status=RunStatus(data.get("status", "graded")),
        interrupted=bool(data.get("interrupted", False)),
        notes=tuple(_from_text(note) for note in data.get("notes") or ()),
        variant=data.get("variant"),
        exam=bool(data.get("exam", False)),
        flags=tuple(str(flag) for flag in data.get("flags") or ()),
        params=shown,
    )


def _text(text: Text) -> dict[str, str]:
    return {"fr": text.fr, "en": text.en}


def _from_text(data: Any) -> Text:
    if isinstance(data, Mapping):
        return Text(fr=str(data.get("fr", "")), en=str(data.get("en", "")))
    return Text.same(str(data))
