"""The JSON score report (``--json``), and reading it back (batch rescoring, round trips).

Schema ``tp-grader.report/1``::

    {"schema", "tool_version", "exercise", "title", "student", "status", "score",
     "max_score", "started_at", "duration_s", "lang", "project", "interrupted",
     "engine": {"endpoint", "version", "api_version"} | null,
     "notes": [str], "variant": str | null, "exam": bool, "flags": [str],
     "checks": [{"id", "title", "status", "points", "max_points", "penalty",
                 "message", "hint", "duration_s", "retries"}]}

``points`` is negative for an applied penalty; ``penalty`` is the points a penalty check takes
(0 for ordinary checks); ``hint`` is given for checks that did not pass, except under exam
rules; ``variant`` is the fingerprint of the student's exam variant.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from grader import defaults
from grader._version import __version__
from grader.engine.facts import EngineInfo
from grader.i18n import Text, as_lang
from grader.judge.outcome import CheckOutcome, CheckStatus
from grader.judge.rubric import Rubric
from grader.judge.scoring import score
from grader.report.files import Target, write_report
from grader.report.sanitize import clean_text
from grader.result import GradeResult, RunStatus


def to_dict(result: GradeResult) -> dict[str, Any]:
    lang = result.lang
    engine = result.engine
    return {
        "schema": defaults.REPORT_SCHEMA,
        "tool_version": __version__,
        "exercise": result.exercise_id,
        "title": result.exercise_title.render(lang),
        "student": clean_text(result.student, 200),
        "status": result.status.value,
        "score": result.score,
        "max_score": result.max_score,
        "started_at": result.started_at.isoformat(timespec="seconds"),
        "duration_s": round(result.duration_s, 3),
        "lang": lang,
        "project": result.project,
        "interrupted": result.interrupted,
        "engine": None
        if engine is None
        else {
            "endpoint": engine.endpoint,
            "version": engine.server_version,
            "api_version": engine.api_version,
        },
        "notes": [clean_text(note.render(lang)) for note in result.notes],
        "variant": result.variant,
        "exam": result.exam,
        "flags": list(result.flags),
        "checks": [
            {
                "id": check.check_id,
                "title": check.entry.title.render(lang),
                "status": check.status.value,
                "points": check.points,
                "max_points": check.max_points,
                "penalty": -check.entry.points if check.entry.is_penalty else 0,
                "message": clean_text(check.outcome.message.render(lang))
                if check.outcome.message
                else "",
                "hint": check.entry.hint.render(lang)
                if check.status is not CheckStatus.PASSED and result.hints_shown
                else "",
                "duration_s": round(check.outcome.duration_s, 3),
                "retries": check.outcome.retries,
            }
            for check in result.sheet.checks
        ],
    }


def dumps(result: GradeResult) -> str:
    return json.dumps(to_dict(result), ensure_ascii=False, indent=2) + "\n"


def write_json(result: GradeResult, target: Target) -> None:
    """Write the report to ``target``: a path, or ``-`` for standard output."""
    write_report(target, dumps(result))


def from_dict(data: dict[str, Any], rubric: Rubric) -> GradeResult:
    """Rebuild a result from its JSON, scored under ``rubric`` (which may differ from the one
    the run used: that is rescoring). Messages come back as written, in the run's language."""
    if data.get("schema") != defaults.REPORT_SCHEMA:
        raise ValueError(f"not a {defaults.REPORT_SCHEMA} report: schema {data.get('schema')!r}")
    outcomes = [
        CheckOutcome(
            check_id=str(item["id"]),
            status=CheckStatus(item["status"]),
            message=Text.same(str(item["message"])) if item.get("message") else None,
            duration_s=float(item.get("duration_s") or 0.0),
            retries=int(item.get("retries") or 0),
        )
        for item in data.get("checks") or ()
    ]
    engine = data.get("engine")
    return GradeResult(
        exercise_id=str(data["exercise"]),
        exercise_title=Text.same(str(data.get("title", data["exercise"]))),
        student=str(data["student"]),
        sheet=score(rubric, outcomes),
        started_at=datetime.fromisoformat(str(data["started_at"])),
        duration_s=float(data.get("duration_s") or 0.0),
        lang=as_lang(str(data.get("lang", defaults.DEFAULT_LANG))),
        engine=None
        if not engine
        else EngineInfo(
            str(engine.get("endpoint", "")),
            str(engine.get("version", "")),
            str(engine.get("api_version", "")),
        ),
        project=data.get("project"),
        status=RunStatus(data.get("status", "graded")),
        interrupted=bool(data.get("interrupted", False)),
        notes=tuple(Text.same(str(note)) for note in data.get("notes") or ()),
        variant=data.get("variant"),
        exam=bool(data.get("exam", False)),
        flags=tuple(str(flag) for flag in data.get("flags") or ()),
    )
