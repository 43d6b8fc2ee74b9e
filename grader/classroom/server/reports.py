"""A pushed report, read as hostile input: validated against ``tp-grader.report/1``, checked
against who sent it and what the class is, scored under the lab's rubric.

In order, each refusal one clear reason and nothing stored:

1. the body is JSON (400) and a ``tp-grader.report/1`` report (422): every field of the
   schema, of its type, within bounds (ids are ``[A-Za-z0-9._-]``, at most
   :data:`~grader.defaults.SERVE_MAX_CHECKS` checks, texts of at most
   :data:`~grader.defaults.SERVE_MAX_TEXT` characters, finite numbers); fields the schema does
   not name are dropped;
2. the report is the token's student's (403 otherwise);
3. its lab is one of the class's (422), and its checks are exactly that lab's (422);
4. it was not stored before (409 "duplicate": the same report twice is a replay, or a retry
   whose first answer was lost: either way the server has it).

The score is recomputed from the checks' statuses under the rubric: a report's own ``score``
is not trusted. What is stored is the validated model, serialised again: nothing unchecked.
A report whose exam variant is not the student's is stored, flagged (``variant_ok`` false).
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from grader import defaults
from grader.classroom.store.queries import CheckRow, NewAttempt, StudentIdentity
from grader.i18n import Text
from grader.judge.outcome import CheckOutcome, CheckStatus
from grader.judge.rubric import Rubric
from grader.judge.scoring import score

_ID = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$"
Id = Annotated[str, Field(pattern=_ID)]
Line = Annotated[str, Field(max_length=defaults.SERVE_MAX_TEXT)]
Short = Annotated[str, Field(max_length=200)]
Number = Annotated[float, Field(allow_inf_nan=False, ge=-1e6, le=1e6)]


class _Strict(BaseModel):
    model_config = ConfigDict(strict=True, extra="ignore", frozen=True)


class CheckEntry(_Strict):
    id: Id
    title: Line
    status: Literal["passed", "failed", "skipped", "error"]
    points: Number
    max_points: Number
    penalty: Number
    message: Line
    hint: Line
    duration_s: Annotated[float, Field(allow_inf_nan=False, ge=0, le=1e6)]
    retries: Annotated[int, Field(ge=0, le=10_000)] = 0
    """Optional: reports from before retries were recorded have none."""


class EngineEntry(_Strict):
    endpoint: Short
    version: Short
    api_version: Short


class Report(_Strict):
    schema_: Literal["tp-grader.report/1"] = Field(alias="schema")
    tool_version: Short
    exercise: Id
    title: Line
    student: Annotated[str, Field(min_length=1, max_length=200)]
    status: Literal["graded", "refused", "error"]
    score: Number
    max_score: Number
    started_at: datetime
    duration_s: Annotated[float, Field(allow_inf_nan=False, ge=0, le=1e6)]
    lang: Literal["fr", "en"]
    project: Short | None
    interrupted: bool
    engine: EngineEntry | None
    notes: Annotated[list[Line], Field(max_length=50)]
    variant: Annotated[str, Field(max_length=64)] | None
    exam: bool
    flags: Annotated[list[Short], Field(max_length=50)]
    checks: Annotated[list[CheckEntry], Field(min_length=1, max_length=defaults.SERVE_MAX_CHECKS)]

    @field_validator("started_at")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        return value if value.tzinfo is not None else value.replace(tzinfo=timezone.utc)


_NOT_A_REPORT = Text(
    fr="pas un rapport tp-grader.report/1 : {why}", en="not a tp-grader.report/1 report: {why}"
)


class Refused(Exception):
    """A report refused: the HTTP status and the one-line reason given back (in English as
    ``error``, in French as ``error_fr``: the student's client shows it in their language)."""

    def __init__(self, status: int, reason: Text) -> None:
        super().__init__(reason.en)
        self.status = status
        self.text = reason

    @property
    def reason(self) -> str:
        return self.text.en


def parse(body: bytes) -> Report:
    """The report in ``body``, or :class:`Refused` (400 not JSON, 422 not the schema)."""
    try:
        return Report.model_validate_json(body, by_alias=True)
    except ValidationError as exc:
        errors = exc.errors(include_url=False, include_input=False)
        if any(error["type"] == "json_invalid" for error in errors):
            raise Refused(
                400, Text(fr="le corps n'est pas du JSON", en="the body is not JSON")
            ) from None
        if any(error["type"] == "model_type" and not error["loc"] for error in errors):
            raise Refused(422, _NOT_A_REPORT.format(why="expected a JSON object")) from None
        where = "; ".join(
            f"{'.'.join(str(part) for part in error['loc']) or 'report'}: {error['msg']}"
            for error in errors[:3]
        )
        more = f" (and {len(errors) - 3} more)" if len(errors) > 3 else ""
        raise Refused(422, _NOT_A_REPORT.format(why=f"{where}{more}")) from None


@dataclass(frozen=True)
class Accepted:
    """A report that passed every check, ready to store."""

    attempt: NewAttempt


def accept(
    report: Report, who: StudentIdentity, rubrics: dict[str, Rubric], *, source: str
) -> Accepted:
    """Check ``report`` against its sender and class (see the module docstring), and score it."""
    if report.student != who.student:
        raise Refused(
            403,
            Text(
                fr=f"ce jeton est celui de {who.student} : il ne peut pas envoyer un rapport de "
                f"l'élève {report.student!r}",
                en=f"this token is {who.student}'s: it cannot send a report of student "
                f"{report.student!r}",
            ),
        )
    if report.exercise not in who.labs:
        labs = ", ".join(who.labs) or "-"
        raise Refused(
            422,
            Text(
                fr=f"{report.exercise!r} n'est pas un TP de la classe {who.class_name} (ses TP : "
                f"{labs})",
                en=f"{report.exercise!r} is not a lab of class {who.class_name} (its labs: {labs})",
            ),
        )
    rubric = rubrics.get(report.exercise)
    if rubric is None:
        raise Refused(
            422,
            Text(
                fr=f"le TP {report.exercise!r} n'est pas installé sur ce serveur",
                en=f"lab {report.exercise!r} is not installed on this server",
            ),
        )
    given = [check.id for check in report.checks]
    if sorted(given) != sorted(rubric.check_ids):
        unknown = sorted(set(given) - set(rubric.check_ids))
        missing = sorted(set(rubric.check_ids) - set(given))
        repeated = sorted({i for i in given if given.count(i) > 1})
        parts = [
            f"{label}: {', '.join(ids)}"
            for label, ids in (("unknown", unknown), ("missing", missing), ("twice", repeated))
            if ids
        ]
        detail = "; ".join(parts)
        raise Refused(
            422,
            Text(
                fr=f"les vérifications ne sont pas celles du TP {report.exercise} ({detail})",
                en=f"the checks are not lab {report.exercise}'s ({detail})",
            ),
        )
    sheet = score(
        rubric,
        [CheckOutcome(check.id, CheckStatus(check.status)) for check in report.checks],
    )
    messages = {check.id: check.message for check in report.checks}
    # The report's own form of a moment (pydantic would write "Z", which Python 3.10's
    # fromisoformat, reading the stored report back, does not take).
    stored = report.model_dump(mode="json", by_alias=True) | {
        "started_at": report.started_at.isoformat()
    }
    canonical = json.dumps(stored, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    expected = who.expected_variants.get(report.exercise)
    return Accepted(
        NewAttempt(
            student_pk=who.student_pk,
            class_id=who.class_id,
            lab=report.exercise,
            source=source,
            started_at=report.started_at,
            status=report.status,
            score=float(sheet.score),
            max_score=float(sheet.max_score),
            variant=report.variant,
            variant_ok=None if expected is None else report.variant == expected,
            digest=hashlib.sha256(canonical.encode()).hexdigest(),
            report=canonical,
            checks=tuple(
                CheckRow(
                    checked.check_id,
                    checked.status.value,
                    _finite(checked.points),
                    messages.get(checked.check_id, ""),
                )
                for checked in sheet.checks
            ),
        )
    )


def _finite(value: float) -> float:
    return float(value) if math.isfinite(value) else 0.0
