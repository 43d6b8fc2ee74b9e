"""What a grading is asked to do, as one value (:class:`GradeRequest`).

Light on purpose (no pytest, no Docker SDK): a batch's parent process builds requests for its
worker processes without loading what only the workers run.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from grader import defaults
from grader.exercise.model import Exercise
from grader.i18n import Lang, Text


@dataclass(frozen=True)
class GradeRequest:
    """What one grading is asked to do: whom to grade on which exercise, and how. Every front
    end (``grade check``, ``grade demo``, batch replay and in-place, selftest) builds one; it
    pickles, so a worker process can be handed it as it is.

    >>> from grader.exercise.catalog import find
    >>> GradeRequest(find("tp-reseau"), student="ada").shown
    {}
    """

    exercise: Exercise
    student: str
    lang: Lang = defaults.DEFAULT_LANG
    project: str | None = None
    """Resolve names through this Compose project's labels."""
    strict_project: bool = False
    """Never fall back to exact names (batch grading, labs whose names are Compose keys)."""
    probe_image: str = defaults.PROBE_IMAGE
    probe_deadline_s: float = defaults.PROBE_DEADLINE_S
    retry_window_s: float = defaults.RETRY_WINDOW_S
    """How long an observation that misses is tried again (:mod:`grader.observe.retry`)."""
    param_overrides: Mapping[str, str] = field(default_factory=dict)
    shown_overrides: Mapping[str, str] | None = None
    """The values the rubric's titles and hints name (default: ``param_overrides``): batch
    grading shows a student their own, not the ports it gave their run."""
    notes: tuple[Text, ...] = ()
    run_id: str | None = None
    """Labels the run's probes (default: a new one), so whoever starts a grading can remove
    what it leaves if it has to be killed."""
    variant: str | None = None
    """The exam variant's fingerprint, recorded in the result."""
    exam: bool = False
    """Exam rules: no hints in any report."""

    @property
    def shown(self) -> dict[str, str]:
        return dict(self.param_overrides if self.shown_overrides is None else self.shown_overrides)
