"""The record of one grading run, shared by the harness that makes it, the reports that show
it, and batch grading and rescoring that store and reread it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum

from grader.engine.facts import EngineInfo
from grader.i18n import Lang, Text
from grader.judge.scoring import ScoreSheet


class RunStatus(str, Enum):
    GRADED = "graded"
    """The checks ran; the score is the rubric's verdict."""
    REFUSED = "refused"
    """Batch grading refused the submission before starting it (it asked for too much)."""
    ERROR = "error"
    """The submission could not be graded (it did not start, or a phase timed out)."""


@dataclass(frozen=True)
class GradeResult:
    exercise_id: str
    exercise_title: Text
    student: str
    sheet: ScoreSheet
    started_at: datetime
    duration_s: float
    lang: Lang
    engine: EngineInfo | None = None
    project: str | None = None
    status: RunStatus = RunStatus.GRADED
    interrupted: bool = False
    notes: tuple[Text, ...] = field(default_factory=tuple)
    """Things the student should know about how they were graded (a refusal's reason,
    names rewritten for isolation...)."""
    variant: str | None = None
    """The fingerprint of the exam variant the student was graded against (never the key)."""
    exam: bool = False
    """Exam rules: reports show what was observed, and no hint."""
    params: Mapping[str, str] = field(default_factory=dict)
    """The parameter values the rubric's titles and hints were rendered with (the student's
    variant, ``--param``): not the batch's own ports and folders."""
    flags: tuple[str, ...] = ()
    """What a teacher should know of this grading (``other-variant:ID``: the setup matches
    another student's variant)."""

    @property
    def hints_shown(self) -> bool:
        return not self.exam

    @property
    def score(self) -> int | float:
        return self.sheet.score

    @property
    def max_score(self) -> int | float:
        return self.sheet.max_score
