"""The class as the teacher's page shows it, kept up to date attempt by attempt.

A :class:`LabView` follows one lab of one class through one lens: every attempt (``all``), or
only the students' reports (``reported``), or only the teacher's grader's observations
(``observed``). It keeps, per student, the latest status of every check, the attempts, the
scores, and how long each failing check has been failing; per check, the share of students
who pass it, minute by minute. From these it answers what the page asks:

- the grid (:meth:`LabView.row`), each student's latest attempt, check by check;
- who is **stuck** (:meth:`LabView.stuck`): a student whose latest attempts failed the same
  check ``attempts`` times in a row, or for ``minutes``, while more than ``share`` of the
  students who tried the lab pass it (only *failed* counts: a skipped check waits on another,
  and an error is the grader's, not the student's);
- per check, the pass rate over the session and the most frequent failure messages among the
  students failing it now, grouped once numbers and addresses are set aside, so one remark
  to the room answers them all (:meth:`LabView.checks_summary`).

Pure logic (no database, no clock of its own): the server feeds it stored attempts and the
time.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from grader import defaults
from grader.classroom.store.queries import StoredAttempt

SOURCES = ("all", "reported", "observed")


@dataclass(frozen=True)
class StuckRule:
    """When a student counts as stuck on a check."""

    attempts: int = defaults.STUCK_ATTEMPTS
    minutes: float = defaults.STUCK_MINUTES
    share: float = defaults.STUCK_CLASS_SHARE


@dataclass(frozen=True)
class Cell:
    status: str
    message: str
    source: str
    attempt_id: int


@dataclass
class _Failing:
    """A check failing on a student's latest attempts: since when, how many in a row."""

    count: int
    since: datetime


@dataclass
class StudentProgress:
    """One student in one lab view."""

    student: str
    attempts: int = 0
    by_source: Counter[str] = field(default_factory=Counter)
    last_id: int = 0
    last_at: datetime | None = None
    last_source: str = ""
    score: float = 0.0
    max_score: float = 0.0
    best: float = 0.0
    variant_ok: bool | None = None
    cells: dict[str, Cell] = field(default_factory=dict)
    failing: dict[str, _Failing] = field(default_factory=dict)


def message_key(message: str) -> str:
    """What failure messages are grouped by: the text with addresses and numbers set aside.

    >>> message_key("container 'redis' restarted 3 times at 172.18.0.2")
    "container 'redis' restarted # times at #"
    """
    text = _ADDRESS.sub("#", message)
    return _NUMBER.sub("#", text).strip()


_ADDRESS = re.compile(r"\b(?:\d{1,3}\.){3}\d{1,3}(?::\d+)?\b|\[?[0-9a-f]*:[0-9a-f:]+\]?(?::\d+)?")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)?")


class LabView:
    """One lab of one class, through one lens (``all``, ``reported`` or ``observed``)."""

    def __init__(self, roster: Sequence[str], checks: Sequence[str], source: str = "all") -> None:
        self.source = source
        self.checks = tuple(checks)
        self.students: dict[str, StudentProgress] = {s: StudentProgress(s) for s in roster}
        # Per check: students whose latest status is passed; and the students who tried.
        self._passed: dict[str, set[str]] = defaultdict(set)
        self._tried: set[str] = set()
        # Per check: (minute, pass rate) points.
        self._series: dict[str, list[tuple[datetime, float]]] = defaultdict(list)

    def add(self, attempt: StoredAttempt) -> bool:
        """Take ``attempt`` into account; whether it changed this view (it may be of another
        source, or older than the student's latest)."""
        if self.source not in ("all", attempt.source):
            return False
        progress = self.students.get(attempt.student)
        if progress is None:  # not on the roster any more
            return False
        progress.attempts += 1
        progress.by_source[attempt.source] += 1
        if attempt.id <= progress.last_id:
            # Committed after a newer one (concurrent requests): counted, but not the latest.
            return True
        at = attempt.received_at
        progress.last_id, progress.last_at, progress.last_source = attempt.id, at, attempt.source
        progress.score, progress.max_score = attempt.score, attempt.max_score
        progress.best = max(progress.best, attempt.score)
        progress.variant_ok = attempt.variant_ok
        self._tried.add(attempt.student)
        for check in attempt.checks:
            progress.cells[check.check_id] = Cell(
                check.status, check.message, attempt.source, attempt.id
            )
            if check.status == "failed":
                failing = progress.failing.get(check.check_id)
                if failing is None:
                    progress.failing[check.check_id] = _Failing(1, at)
                else:
                    failing.count += 1
            else:
                progress.failing.pop(check.check_id, None)
            passers = self._passed[check.check_id]
            if check.status == "passed":
                passers.add(attempt.student)
            else:
                passers.discard(attempt.student)
        for check_id in self.checks:
            self._point(check_id, at)
        return True

    def add_all(self, attempts: Iterable[StoredAttempt]) -> None:
        for attempt in attempts:
            self.add(attempt)

    # -- what the page asks --------------------------------------------------------------------
    def pass_rate(self, check_id: str) -> float:
        return len(self._passed[check_id]) / len(self._tried) if self._tried else 0.0

    def stuck(self, now: datetime, rule: StuckRule) -> list[dict[str, Any]]:
        """Who is stuck on what, longest first."""
        found = [
            entry
            for progress in self.students.values()
            for entry in self._stuck(progress, now, rule)
        ]
        found.sort(key=lambda s: (-s["minutes"], -s["attempts"], s["student"], s["check"]))
        return found

    def stuck_checks(self, student: str, now: datetime, rule: StuckRule) -> list[str]:
        """The checks ``student`` is stuck on."""
        return [entry["check"] for entry in self._stuck(self.students[student], now, rule)]

    def _stuck(
        self, progress: StudentProgress, now: datetime, rule: StuckRule
    ) -> Iterable[dict[str, Any]]:
        for check_id, failing in progress.failing.items():
            minutes = (now - failing.since).total_seconds() / 60
            if failing.count < rule.attempts and minutes < rule.minutes:
                continue
            if self.pass_rate(check_id) <= rule.share:
                continue
            cell = progress.cells.get(check_id)
            yield {
                "student": progress.student,
                "check": check_id,
                "attempts": failing.count,
                "minutes": round(max(minutes, 0.0), 1),
                "message": cell.message if cell else "",
            }

    def row(self, student: str, stuck_checks: Iterable[str] = ()) -> dict[str, Any]:
        """The grid's row of ``student``."""
        progress = self.students[student]
        return {
            "student": student,
            "attempts": progress.attempts,
            "reported": progress.by_source["reported"],
            "observed": progress.by_source["observed"],
            "last_at": progress.last_at.isoformat(timespec="seconds") if progress.last_at else None,
            "last_source": progress.last_source,
            "score": progress.score,
            "max_score": progress.max_score,
            "best": progress.best,
            "variant_ok": progress.variant_ok,
            "stuck": sorted(set(stuck_checks)),
            "cells": {
                check_id: {"status": cell.status, "message": cell.message, "source": cell.source}
                for check_id, cell in progress.cells.items()
            },
        }

    def rows(self, now: datetime, rule: StuckRule) -> list[dict[str, Any]]:
        """Every student's row: the stuck first (longest stuck first), then in roster order."""
        stuck_on: dict[str, list[str]] = defaultdict(list)
        order: dict[str, int] = {}
        for rank, entry in enumerate(self.stuck(now, rule)):
            stuck_on[entry["student"]].append(entry["check"])
            order.setdefault(entry["student"], rank)
        roster = list(self.students)
        ranked = sorted(roster, key=lambda s: (0, order[s]) if s in order else (1, roster.index(s)))
        return [self.row(student, stuck_on.get(student, ())) for student in ranked]

    def checks_summary(self) -> list[dict[str, Any]]:
        """Per check: pass rate now and over the session, and the grouped failure messages."""
        summary = []
        for check_id in self.checks:
            groups: dict[str, list[tuple[str, str]]] = defaultdict(list)
            for progress in self.students.values():
                cell = progress.cells.get(check_id)
                if cell is not None and cell.status == "failed":
                    groups[message_key(cell.message)].append((progress.student, cell.message))
            ranked = sorted(groups.values(), key=lambda members: (-len(members), members[0][1]))
            summary.append(
                {
                    "id": check_id,
                    "passed": len(self._passed[check_id]),
                    "tried": len(self._tried),
                    "pass_rate": round(self.pass_rate(check_id), 4),
                    "series": [
                        [moment.isoformat(timespec="seconds"), round(rate, 4)]
                        for moment, rate in self._series[check_id]
                    ],
                    "messages": [
                        {
                            "text": Counter(text for _, text in members).most_common(1)[0][0],
                            "count": len(members),
                            "students": sorted(student for student, _ in members),
                        }
                        for members in ranked[: defaults.SERVE_TOP_MESSAGES]
                    ],
                }
            )
        return summary

    def _point(self, check_id: str, at: datetime) -> None:
        minute = at.replace(second=0, microsecond=0)
        series = self._series[check_id]
        rate = self.pass_rate(check_id)
        if series and series[-1][0] == minute:
            series[-1] = (minute, rate)
        else:
            series.append((minute, rate))
            if len(series) > defaults.SERVE_SERIES_POINTS:
                # Merge the two oldest points: the start of a long session gets coarser.
                del series[1]


class ClassView:
    """Every lab of a class through every lens, fed the class's attempts in order."""

    def __init__(
        self,
        class_id: int,
        name: str,
        roster: Sequence[str],
        labs: dict[str, Sequence[str]],
    ) -> None:
        self.class_id = class_id
        self.name = name
        self.roster = tuple(roster)
        self.labs = dict(labs)
        self.views = {
            (lab, source): LabView(roster, checks, source)
            for lab, checks in labs.items()
            for source in SOURCES
        }
        self._seen: set[int] = set()

    def add(self, attempt: StoredAttempt) -> list[str]:
        """Take ``attempt`` into account (once); the lenses it changed."""
        if attempt.id in self._seen or attempt.lab not in self.labs:
            return []
        self._seen.add(attempt.id)
        return [source for source in SOURCES if self.views[(attempt.lab, source)].add(attempt)]

    def view(self, lab: str, source: str) -> LabView:
        return self.views[(lab, source)]
