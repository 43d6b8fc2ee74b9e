"""The batch's progress on the terminal: a bar with counts and ETA on a terminal, one line per
student otherwise (CI logs)."""

from __future__ import annotations

from types import TracebackType
from typing import TYPE_CHECKING

from grader.i18n import Lang
from grader.report.sanitize import clean_text
from grader.result import GradeResult, RunStatus

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Progress, TaskID


class BatchProgress:
    """A :class:`~grader.batch.run.BatchObserver` for the terminal."""

    def __init__(self, console: Console, lang: Lang) -> None:
        self._console = console
        self._lang = lang
        self._progress: Progress | None = None
        self._task: TaskID | None = None

    def __enter__(self) -> BatchProgress:
        if self._console.is_terminal:
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )

            self._progress = Progress(
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                TextColumn("ETA" if self._lang == "en" else "reste"),
                TimeRemainingColumn(),
                console=self._console,
            )
            self._progress.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._progress is not None:
            self._progress.stop()

    def planned(self, total: int, skipped: int) -> None:
        label = "copies" if self._lang == "fr" else "submissions"
        if self._progress is not None:
            self._task = self._progress.add_task(label, total=total, completed=skipped)
        elif skipped:
            done = "déjà corrigées" if self._lang == "fr" else "already graded"
            self._console.print(f"{skipped}/{total} {label} {done}")

    def finished(self, result: GradeResult) -> None:
        student = clean_text(result.student, 60)
        line = f"{student}: {result.score:g}/{result.max_score:g} {result.status.value}"
        if result.status is not RunStatus.GRADED and result.notes:
            line += f" — {clean_text(result.notes[0].render(self._lang), 160)}"
        if self._progress is not None and self._task is not None:
            self._progress.update(self._task, advance=1, description=student)
            self._progress.console.print(line, highlight=False, markup=False)
        else:
            self._console.print(line, highlight=False, markup=False)
