"""What the ``grade`` commands share: options (one home for each help text and default),
the mapping of errors to exit codes, the reports a grading writes, and the run of one grading
with its live progress."""

from __future__ import annotations

import functools
import getpass
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer

from grader import defaults
from grader.errors import GraderError, UsageError
from grader.i18n import LANGS, Lang, Text, as_lang

if TYPE_CHECKING:
    from rich.console import Console

    from grader.engine.base import Engine
    from grader.exercise.model import Exercise
    from grader.harness.observer import RunObserver
    from grader.report.files import Target
    from grader.result import GradeResult

EXIT_INTERRUPTED = 130

#: How long the end of a grading waits for its last worker threads to end before the process
#: may leave at once (:func:`leave_now_if_done`).
_THREADS_END_S = 0.1


#: Set by :func:`graded` once a grading command has nothing left to do but exit; read, and
#: reset, by the entry point (:func:`grader.cli.main`).
finished_grading = False


def leave_now_if_done(code: int | str | None) -> None:
    """End the process now with ``code``, skipping Python's finalisation, when a grading
    command finished (reports written, probes gone, engine closed) and no worker thread of its
    is still running: unloading what a grading loaded (pytest, the Docker SDK, rich) takes
    ~0.2 s, a fifth of a self-check. Anything else exits the usual way."""
    if not finished_grading or not isinstance(code, int):
        return
    deadline = time.monotonic() + _THREADS_END_S
    for thread in threading.enumerate():
        if thread is not threading.main_thread() and not thread.daemon:
            thread.join(max(0.0, deadline - time.monotonic()))
            if thread.is_alive():  # a probe thread still at work: let it finish, as usual
                return
    for stream in (sys.stdout, sys.stderr):
        with suppress(OSError, ValueError):  # a reader gone (`grade | head`), a closed stream
            stream.flush()
    os._exit(code)


@dataclass(frozen=True)
class Session:
    """What a grading command's core call gets from the CLI."""

    engine: Engine
    observer: RunObserver | None
    on_progress: Callable[[str], None] | None


# -- shared options (one home for each help text and default) ---------------------------------
LangOption = Annotated[
    str,
    typer.Option(
        "--lang",
        envvar="GRADER_LANG",
        help="Language of messages and hints: fr or en.",
        show_default=True,
    ),
]
HostOption = Annotated[
    Optional[str],  # noqa: UP045 - typer reads the annotation at runtime
    typer.Option(
        "--host",
        help="Docker Engine to grade (unix://, tcp://, ssh://). "
        "Default: DOCKER_HOST, the Docker CLI context, then the local socket.",
    ),
]
ProbeImageOption = Annotated[
    str,
    typer.Option(
        "--probe-image",
        envvar=defaults.PROBE_IMAGE_ENV,
        help="busybox image of the probe containers.",
        show_default=True,
    ),
]
ParamOption = Annotated[
    Optional[list[str]],  # noqa: UP045
    typer.Option("--param", help="Override an exercise parameter: KEY=VALUE (repeatable)."),
]
# Report paths are strings, not Paths: only the string "-" means standard output, and a Path
# would make "./-" (a file named "-") the same as "-".
_REPORT_PATH = "PATH"
JsonOption = Annotated[
    Optional[str],  # noqa: UP045
    typer.Option(
        "--json",
        metavar=_REPORT_PATH,
        help="Write the JSON score report to this file (-: standard output).",
    ),
]
JunitOption = Annotated[
    Optional[str],  # noqa: UP045
    typer.Option(
        "--junit",
        metavar=_REPORT_PATH,
        help="Write the JUnit XML report to this file (-: standard output).",
    ),
]
JunitFlavorOption = Annotated[
    str,
    typer.Option(
        "--junit-flavor",
        help="JUnit for Jenkins and GitLab (standard), or for CodeGrade (codegrade).",
        show_default=True,
    ),
]
GradescopeOption = Annotated[
    Optional[str],  # noqa: UP045
    typer.Option(
        "--gradescope",
        metavar=_REPORT_PATH,
        help="Write Gradescope's results.json to this file (-: standard output).",
    ),
]
SummaryMdOption = Annotated[
    Optional[str],  # noqa: UP045
    typer.Option(
        "--summary-md",
        metavar=_REPORT_PATH,
        help="Append a Markdown table of the run to this file (-: print it; also done to "
        "$GITHUB_STEP_SUMMARY when it is set).",
    ),
]
MinScoreOption = Annotated[
    Optional[float],  # noqa: UP045
    typer.Option(
        "--min-score",
        help="CI threshold: exit 0 when the score reaches it, 1 below (instead of requiring "
        "every check).",
    ),
]
StandInsOption = Annotated[
    bool,
    typer.Option(
        "--stand-ins",
        help="Offline: build the exercise's small stand-in images from the probe image.",
    ),
]
StudentOption = Annotated[
    Optional[str],  # noqa: UP045
    typer.Option(
        "--student",
        help="Student id: in the reports, and (with a course key) the exam variant graded. "
        "Default: the OS user.",
    ),
]
CourseKeyOption = Annotated[
    Optional[Path],  # noqa: UP045
    typer.Option(
        "--course-key-file",
        help=f"The course key that derives each student's exam variant (also "
        f"${defaults.COURSE_KEY_ENV}). Without one, every student gets the default names.",
        dir_okay=False,
    ),
]
ExamOption = Annotated[
    bool,
    typer.Option(
        "--exam",
        help="Exam rules: no hint in any report (also `exam: true` in the course's course.yaml).",
    ),
]
CourseConfigOption = Annotated[
    Optional[Path],  # noqa: UP045
    typer.Option(
        "--course-config",
        help=f"The course's configuration file (also ${defaults.COURSE_CONFIG_ENV}; default: "
        "course.yaml in a GRADER_PATH folder).",
        dir_okay=False,
    ),
]


@dataclass(frozen=True)
class Exam:
    """A student's variant and the exam rules, as the command line and course config say."""

    overrides: dict[str, str]
    fingerprint: str | None
    exam: bool


def exam_settings(
    exercise: Exercise,
    student: str,
    *,
    key_file: Path | None,
    exam: bool,
    course_config: Path | None,
    param_overrides: dict[str, str],
) -> Exam:
    """The parameters ``student`` is graded with (their variant, then ``--param``), and
    whether exam rules apply."""
    from grader.exercise.course import load_course_config
    from grader.exercise.variants import course_key

    variant = exercise.variant(student, course_key(key_file))
    config = load_course_config(course_config)
    return Exam(
        {**variant.overrides(), **param_overrides}, variant.fingerprint, exam or config.exam
    )


# -- helpers ---------------------------------------------------------------------------------
def console(stderr: bool = False) -> Console:
    from rich.console import Console

    return Console(stderr=stderr, highlight=False, soft_wrap=False)


def lang_of(value: str) -> Lang:
    try:
        return as_lang(value)
    except ValueError:
        raise typer.BadParameter(f"use one of {', '.join(LANGS)}", param_hint="--lang") from None


def pairs(values: list[str] | None, option: str) -> dict[str, str]:
    pairs: dict[str, str] = {}
    for value in values or ():
        key, sep, text = value.partition("=")
        if not sep or not key:
            raise typer.BadParameter(f"expected KEY=VALUE, got {value!r}", param_hint=option)
        pairs[key.strip()] = text
    return pairs


def escape(text: str) -> str:
    from rich.markup import escape as rich_escape

    return rich_escape(text)


@contextmanager
def errors_as_exit_codes(lang: Lang) -> Iterator[None]:
    """One clear line and the right exit code for every expected failure; no traceback."""
    try:
        yield
    except GraderError as exc:
        prefix = "erreur" if lang == "fr" else "error"
        from grader.report.sanitize import clean_text

        # An error may quote what a tool printed (Compose, a build): cleaned like any report.
        message = escape(clean_text(exc.text.render(lang)))
        console(stderr=True).print(f"[bold red]{prefix}:[/] {message}", soft_wrap=True)
        raise typer.Exit(exc.exit_code) from None
    except KeyboardInterrupt:
        console(stderr=True).print(Text(fr="interrompu", en="interrupted").render(lang))
        raise typer.Exit(EXIT_INTERRUPTED) from None


@dataclass(frozen=True)
class Reports:
    """The reports a grading command writes (each a path, or ``-`` for standard output), and
    how its exit code is decided."""

    json: str | Path | None = None
    junit: str | Path | None = None
    junit_flavor: str = "standard"
    gradescope: str | Path | None = None
    summary_md: str | Path | None = None
    min_score: float | None = None

    def targets(self) -> dict[str, Target | None]:
        """Each report option and where it goes."""
        from grader.report.files import as_target
        from grader.report.outputs import output

        values = {
            "json": self.json,
            "junit": self.junit,
            "gradescope": self.gradescope,
            "summary-md": self.summary_md,
        }
        return {
            output(name).option: None if value is None else as_target(value)
            for name, value in values.items()
        }

    @property
    def to_stdout(self) -> bool:
        """Whether a report takes standard output, as ``-`` or a path to it such as
        ``/dev/stdout`` (so the terminal report must not)."""
        if self._none_asked():
            return False
        from grader.report.files import goes_to_stdout

        return any(goes_to_stdout(t) for t in self.targets().values() if t is not None)

    def check(self) -> None:
        """Refuse, before grading, a flavour we do not know, two reports on standard output,
        or a file we cannot write."""
        if self.junit_flavor == Reports.junit_flavor and self._none_asked():
            return  # nor are the report modules loaded
        from grader.report.files import check_reports
        from grader.report.junit import FLAVORS

        if self.junit_flavor not in FLAVORS:
            raise typer.BadParameter(
                f"use one of {', '.join(FLAVORS)}", param_hint="--junit-flavor"
            )
        problem = check_reports(self.targets())
        if problem is not None:
            raise UsageError(problem)

    def write(self, result: GradeResult) -> None:
        """Write every report (one that fails does not stop the others), then raise a
        :class:`UsageError` for the first that failed."""
        step_summary = os.environ.get("GITHUB_STEP_SUMMARY")
        if not step_summary and self._none_asked():
            return  # nor are the report modules loaded
        from grader.report.outputs import OUTPUTS, output, write_outputs

        targets = self.targets()
        wanted = [(o, target) for o in OUTPUTS if (target := targets.get(o.option)) is not None]
        if step_summary:
            # A path by GitHub's contract, never standard output.
            wanted.append((output("summary-md"), Path(step_summary)))
        failed = write_outputs(result, wanted, flavor=self.junit_flavor)
        if failed is not None:
            raise UsageError(failed)

    def _none_asked(self) -> bool:
        return all(
            path is None for path in (self.json, self.junit, self.gradescope, self.summary_md)
        )

    def exit_code(self, result: GradeResult) -> int:
        if result.interrupted:
            return EXIT_INTERRUPTED
        if self.min_score is not None:
            return 0 if result.score >= self.min_score else 1
        return 0 if result.sheet.all_passed else 1


def graded(
    run: Callable[[Exercise, Session], GradeResult],
    *,
    exercise_id: str,
    lang: Lang,
    host: str | None,
    quiet: bool,
    reports: Reports,
    after: Callable[[GradeResult], Text | None] | None = None,
) -> None:
    """Find the exercise, connect, run ``run(exercise, engine)`` with live progress, write the
    reports, print the result and exit with its code. ``after`` runs last (the class push): a
    line it returns is printed with the result; it never changes the exit code."""
    from grader.engine.connection import connect
    from grader.exercise.catalog import find
    from grader.report.terminal import LiveProgress, render

    with errors_as_exit_codes(lang):
        reports.check()
        exercise = find(exercise_id)
        engine = connect(host)
        try:
            if quiet:
                result = run(exercise, Session(engine, None, None))
            else:
                # rich loads once the probes start (LiveProgress asks for its console then).
                err = functools.cache(lambda: console(stderr=True))
                with LiveProgress(err, exercise.rubric_with(), lang) as progress:
                    result = run(
                        exercise, Session(engine, progress, lambda line: err().print(line))
                    )
        finally:
            engine.close()
        reports.write(result)
        if not quiet:
            # With a report on standard output, that output holds the report and nothing else.
            render(result, console(stderr=reports.to_stdout))
    line = after(result) if after is not None else None
    if line is not None and not quiet:
        console(stderr=reports.to_stdout).print(escape(line.render(lang)), soft_wrap=True)
    global finished_grading  # noqa: PLW0603 - one process, one command
    finished_grading = True
    raise typer.Exit(reports.exit_code(result))


def os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return os.environ.get("USER", "student")
