"""The terminal report: live progress while checks run, then one line per check and the
hint under each miss, then the total."""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType
from typing import TYPE_CHECKING

from grader.i18n import Lang, Text
from grader.judge.outcome import CheckOutcome, CheckStatus
from grader.judge.rubric import Rubric
from grader.report.sanitize import clean_text
from grader.result import GradeResult, RunStatus

if TYPE_CHECKING:
    from rich.console import Console
    from rich.status import Status

MARKS = {
    CheckStatus.PASSED: ("✔", "green"),
    CheckStatus.FAILED: ("✘", "red"),
    CheckStatus.SKIPPED: ("○", "yellow"),
    CheckStatus.ERROR: ("⚠", "magenta"),
}

WORDS = {
    # French puts a space before a colon, English does not.
    "student": Text(fr="élève :", en="student:"),
    "total": Text(fr="Total :", en="Total:"),
    "hint": Text(fr="Piste :", en="Hint:"),
    "harness": Text(
        fr="erreur du correcteur, pas de votre faute",
        en="grader error, not your fault",
    ),
    "checking": Text(fr="Vérification", en="Checking"),
    "interrupted": Text(fr="Correction interrompue", en="Grading interrupted"),
    "refused": Text(fr="Soumission refusée", en="Submission refused"),
    "error": Text(fr="Correction impossible", en="Could not grade"),
    "project": Text(fr="projet Compose", en="Compose project"),
    "exam": Text(fr="examen : pas de pistes", en="exam: no hints"),
    "variant": Text(fr="variante", en="variant"),
}


def _fmt(value: float) -> str:
    return f"{value:g}"


def render(result: GradeResult, console: Console) -> None:
    from rich.markup import escape
    from rich.table import Table

    lang = result.lang
    word = {key: text.render(lang) for key, text in WORDS.items()}
    _header(result, console, word)
    table = Table(box=None, show_header=False, padding=(0, 1), expand=False)
    table.add_column(no_wrap=True)
    table.add_column(no_wrap=True)
    table.add_column(ratio=1, overflow="fold")
    table.add_column(justify="right", no_wrap=True)
    for check in result.sheet.checks:
        mark, colour = MARKS[check.status]
        if check.entry.is_penalty:
            points = _fmt(check.points) if check.points else "—"
        else:
            points = f"{_fmt(check.points)}/{_fmt(check.max_points)}"
        table.add_row(
            f"[{colour}]{mark}[/]",
            check.check_id,
            escape(check.entry.title.render(lang)),
            f"[bold]{points}[/]",
        )
        if check.status is CheckStatus.PASSED:
            continue
        if check.outcome.message is not None:
            message = escape(clean_text(check.outcome.message.render(lang)))
            if check.status is CheckStatus.ERROR:
                message += f" [magenta]({word['harness']})[/]"
            table.add_row("", "", f"[dim]↳[/] {message}", "")
        if check.status is CheckStatus.FAILED and result.hints_shown:
            hint = escape(check.entry.hint.render(lang))
            table.add_row("", "", f"[cyan]{word['hint']}[/] {hint}", "")
    console.print(table)
    if result.interrupted:
        console.print(f"[bold yellow]{word['interrupted']}[/]")
    console.print(f"[bold]{word['total']} {_fmt(result.score)}/{_fmt(result.max_score)}[/]")


def _header(result: GradeResult, console: Console, word: dict[str, str]) -> None:
    """Title, student (and project, variant), exam rules, status and notes."""
    from rich.markup import escape

    lang = result.lang
    header = f"[bold]{escape(result.exercise_title.render(lang))}[/]"
    header += f"\n[dim]{word['student']} {escape(clean_text(result.student, 80))}"
    if result.project:
        header += f" · {word['project']} {escape(result.project)}"
    if result.variant:
        header += f" · {word['variant']} {escape(result.variant)}"
    console.print(header + "[/]")
    if result.exam:
        console.print(f"[bold yellow]{word['exam']}[/]")
    if result.status is not RunStatus.GRADED:
        console.print(f"[bold red]{word[result.status.value]}[/]")
    for note in result.notes:
        console.print(f"[dim]• {escape(clean_text(note.render(lang)))}[/]")


class LiveProgress:
    """A :class:`~grader.harness.plugin.RunObserver` showing the running check on a spinner
    line (on a terminal only; silent when output is piped or in CI).

    It asks for its console (``console()``, which loads rich) when the first check starts,
    not before: a grading's probes start first, while rich loads."""

    def __init__(self, console: Callable[[], Console], rubric: Rubric, lang: Lang) -> None:
        self._console = console
        self._rubric = rubric
        self._lang = lang
        self._status: Status | None = None
        self._shown = False
        self._done = 0

    def __enter__(self) -> LiveProgress:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._status is not None:
            self._status.stop()

    def check_started(self, check_id: str) -> None:
        if not self._shown:
            self._shown = True
            console = self._console()
            if console.is_terminal:
                self._status = console.status(WORDS["checking"].render(self._lang))
                self._status.start()
        if self._status is not None:
            total = len(self._rubric.entries)
            title = self._rubric.entry(check_id).title.render(self._lang)
            self._status.update(f"[{self._done + 1}/{total}] {check_id} — {title}")

    def check_finished(self, outcome: CheckOutcome) -> None:
        self._done += 1
