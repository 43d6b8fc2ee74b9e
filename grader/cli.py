"""The ``grade`` command: a thin typer adapter over the core.

Each command parses options, calls one core function, renders its result and maps it to an
exit code: 0 every check passed, 1 graded with misses, 2 usage error, 3 environment error
(engine unreachable, probe image missing...), 130 interrupted. ``grade EXERCISE`` is short
for ``grade check EXERCISE``.
"""

from __future__ import annotations

import getpass
import os
import sys
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer
from typer.core import TyperGroup

from grader import defaults
from grader._version import __version__
from grader.errors import GraderError, UsageError
from grader.i18n import LANGS, Lang, Text, as_lang

if TYPE_CHECKING:
    from rich.console import Console

    from grader.engine.base import Engine
    from grader.exercise.model import Exercise
    from grader.harness.plugin import RunObserver
    from grader.result import GradeResult

EXIT_INTERRUPTED = 130


@dataclass(frozen=True)
class _Session:
    """What a grading command's core call gets from the CLI."""

    engine: Engine
    observer: RunObserver | None
    on_progress: Callable[[str], None] | None


class _ShortcutGroup(TyperGroup):
    """Treats ``grade EXERCISE ...`` as ``grade check EXERCISE ...``."""

    def resolve_command(self, ctx: Any, args: list[str]) -> Any:
        if args and not args[0].startswith("-") and args[0] not in self.commands:
            return "check", self.commands["check"], args
        return super().resolve_command(ctx, args)


app = typer.Typer(
    cls=_ShortcutGroup,
    help="Grade hands-on Docker labs by observing the live Docker Engine. "
    "`grade EXERCISE` is short for `grade check EXERCISE`.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=True,
)

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
JsonOption = Annotated[
    Optional[Path],  # noqa: UP045
    typer.Option("--json", help="Write the JSON score report to this file.", dir_okay=False),
]
JunitOption = Annotated[
    Optional[Path],  # noqa: UP045
    typer.Option("--junit", help="Write the JUnit XML report to this file.", dir_okay=False),
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
    Optional[Path],  # noqa: UP045
    typer.Option(
        "--gradescope", help="Write Gradescope's results.json to this file.", dir_okay=False
    ),
]
SummaryMdOption = Annotated[
    Optional[Path],  # noqa: UP045
    typer.Option(
        "--summary-md",
        help="Append a Markdown table of the run to this file (also done to "
        "$GITHUB_STEP_SUMMARY when it is set).",
        dir_okay=False,
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


def _version(value: bool) -> None:
    if value:
        typer.echo(f"tp-grader {__version__}")
        raise typer.Exit()


@app.callback()
def main_options(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Show the version."),
    ] = False,
) -> None:
    """Grade hands-on Docker labs by observing the live Docker Engine."""


# -- helpers ---------------------------------------------------------------------------------
def _console(stderr: bool = False) -> Console:
    from rich.console import Console

    return Console(stderr=stderr, highlight=False, soft_wrap=False)


def _lang(value: str) -> Lang:
    try:
        return as_lang(value)
    except ValueError:
        raise typer.BadParameter(f"use one of {', '.join(LANGS)}", param_hint="--lang") from None


def _pairs(values: list[str] | None, option: str) -> dict[str, str]:
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
def _errors_as_exit_codes(lang: Lang) -> Iterator[None]:
    """One clear line and the right exit code for every expected failure; no traceback."""
    try:
        yield
    except GraderError as exc:
        prefix = "erreur" if lang == "fr" else "error"
        _console(stderr=True).print(
            f"[bold red]{prefix}:[/] {escape(exc.text.render(lang))}", soft_wrap=True
        )
        raise typer.Exit(exc.exit_code) from None
    except KeyboardInterrupt:
        _console(stderr=True).print(Text(fr="interrompu", en="interrupted").render(lang))
        raise typer.Exit(EXIT_INTERRUPTED) from None


@dataclass(frozen=True)
class _Reports:
    """The files a grading command writes, and how its exit code is decided."""

    json: Path | None = None
    junit: Path | None = None
    junit_flavor: str = "standard"
    gradescope: Path | None = None
    summary_md: Path | None = None
    min_score: float | None = None

    def check(self) -> None:
        """Refuse, before grading, a flavour we do not know or a file we cannot write."""
        from grader.report.files import check_writable
        from grader.report.junit import FLAVORS

        if self.junit_flavor not in FLAVORS:
            raise typer.BadParameter(
                f"use one of {', '.join(FLAVORS)}", param_hint="--junit-flavor"
            )
        for path in (self.json, self.junit, self.gradescope, self.summary_md):
            problem = check_writable(path) if path is not None else None
            if problem is not None:
                raise UsageError(
                    Text(
                        fr=f"rapport impossible à écrire : {problem}",
                        en=f"cannot write report: {problem}",
                    )
                )

    def write(self, result: GradeResult) -> None:
        from grader.report import gradescope, json_report, junit, markdown

        step_summary = os.environ.get("GITHUB_STEP_SUMMARY")
        try:
            if self.json is not None:
                json_report.write_json(result, self.json)
            if self.junit is not None:
                junit.write_junit(result, self.junit, self.junit_flavor)  # type: ignore[arg-type]
            if self.gradescope is not None:
                gradescope.write_gradescope(result, self.gradescope)
            for summary in filter(None, (self.summary_md, step_summary and Path(step_summary))):
                markdown.append_markdown(result, summary)
        except OSError as exc:
            raise UsageError(
                Text(
                    fr=f"rapport impossible à écrire : {exc.filename}: {exc.strerror}",
                    en=f"cannot write report: {exc.filename}: {exc.strerror}",
                )
            ) from exc

    def exit_code(self, result: GradeResult) -> int:
        if result.interrupted:
            return EXIT_INTERRUPTED
        if self.min_score is not None:
            return 0 if result.score >= self.min_score else 1
        return 0 if result.sheet.all_passed else 1


def _graded(
    run: Callable[[Exercise, _Session], GradeResult],
    *,
    exercise_id: str,
    lang: Lang,
    host: str | None,
    quiet: bool,
    reports: _Reports,
) -> None:
    """Find the exercise, connect, run ``run(exercise, engine)`` with live progress, write the
    reports, print the result and exit with its code."""
    from grader.engine.connection import connect
    from grader.exercise.catalog import find
    from grader.report.terminal import LiveProgress, render

    with _errors_as_exit_codes(lang):
        reports.check()
        exercise = find(exercise_id)
        engine = connect(host)
        try:
            if quiet:
                result = run(exercise, _Session(engine, None, None))
            else:
                err = _console(stderr=True)
                with LiveProgress(err, exercise.rubric, lang) as progress:
                    result = run(exercise, _Session(engine, progress, err.print))
        finally:
            engine.close()
        reports.write(result)
        if not quiet:
            render(result, _console())
    raise typer.Exit(reports.exit_code(result))


# -- commands --------------------------------------------------------------------------------
@app.command("list")
def list_exercises(lang: LangOption = defaults.DEFAULT_LANG) -> None:
    """List the exercises that can be graded."""
    from grader.exercise.catalog import available, find

    chosen = _lang(lang)
    with _errors_as_exit_codes(chosen):
        for exercise_id in available():
            exercise = find(exercise_id)
            typer.echo(
                f"{exercise_id}\t{exercise.title.render(chosen)} "
                f"({exercise.rubric.max_score:g} points)"
            )


@app.command("show")
def show(
    exercise_id: Annotated[str, typer.Argument(metavar="EXERCISE", help="Exercise id.")],
    lang: LangOption = defaults.DEFAULT_LANG,
    param: ParamOption = None,
) -> None:
    """Show an exercise's prompt."""
    from rich.markdown import Markdown

    from grader.exercise.catalog import find

    chosen = _lang(lang)
    with _errors_as_exit_codes(chosen):
        exercise = find(exercise_id)
        params = exercise.params.with_overrides(_pairs(param, "--param"))
        text = exercise.prompt(chosen, params)
    console = _console()
    if console.is_terminal:
        console.print(Markdown(text))
    else:
        typer.echo(text, nl=False)


@app.command("check")
def check(
    exercise_id: Annotated[str, typer.Argument(metavar="EXERCISE", help="Exercise id.")],
    student: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option("--student", help="Student id in the reports. Default: the OS user."),
    ] = None,
    json_path: JsonOption = None,
    junit_path: JunitOption = None,
    junit_flavor: JunitFlavorOption = "standard",
    gradescope_path: GradescopeOption = None,
    summary_md: SummaryMdOption = None,
    min_score: MinScoreOption = None,
    lang: LangOption = defaults.DEFAULT_LANG,
    host: HostOption = None,
    project: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option("--project", help="Resolve names through this Docker Compose project."),
    ] = None,
    probe_image: ProbeImageOption = defaults.PROBE_IMAGE,
    param: ParamOption = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print nothing.")] = False,
) -> None:
    """Grade your live Docker setup for EXERCISE."""
    from grader.harness.run import grade

    chosen = _lang(lang)
    overrides = _pairs(param, "--param")

    def run(exercise: Exercise, session: _Session) -> GradeResult:
        return grade(
            exercise,
            engine=session.engine,
            student=student or _os_user(),
            lang=chosen,
            project=project,
            probe_image=probe_image,
            param_overrides=overrides,
            observer=session.observer,
            on_pull_progress=session.on_progress,
        )

    _graded(
        run,
        exercise_id=exercise_id,
        lang=chosen,
        host=host,
        quiet=quiet,
        reports=_Reports(
            json_path, junit_path, junit_flavor, gradescope_path, summary_md, min_score
        ),
    )


@app.command("demo")
def demo(
    exercise_id: Annotated[str, typer.Argument(metavar="EXERCISE", help="Exercise id.")],
    image: Annotated[
        Optional[list[str]],  # noqa: UP045
        typer.Option("--image", help="Use another image: NAME=REF (repeatable)."),
    ] = None,
    stand_ins: Annotated[
        bool,
        typer.Option(
            "--stand-ins",
            help="Offline: build the exercise's small stand-in images from the probe image.",
        ),
    ] = False,
    json_path: JsonOption = None,
    junit_path: JunitOption = None,
    junit_flavor: JunitFlavorOption = "standard",
    gradescope_path: GradescopeOption = None,
    summary_md: SummaryMdOption = None,
    min_score: MinScoreOption = None,
    lang: LangOption = defaults.DEFAULT_LANG,
    host: HostOption = None,
    probe_image: ProbeImageOption = defaults.PROBE_IMAGE,
    param: ParamOption = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print nothing.")] = False,
) -> None:
    """Set up the reference solution in a Compose project of its own, grade it, remove it."""
    from grader.demo import run_demo

    chosen = _lang(lang)
    images = _pairs(image, "--image")
    overrides = _pairs(param, "--param")

    def run(exercise: Exercise, session: _Session) -> GradeResult:
        return run_demo(
            exercise,
            engine=session.engine,
            host=host,
            image_overrides=images,
            stand_ins=stand_ins,
            probe_image=probe_image,
            lang=chosen,
            param_overrides=overrides,
            observer=session.observer,
            on_progress=session.on_progress,
        )

    _graded(
        run,
        exercise_id=exercise_id,
        lang=chosen,
        host=host,
        quiet=quiet,
        reports=_Reports(
            json_path, junit_path, junit_flavor, gradescope_path, summary_md, min_score
        ),
    )


@app.command("doctor")
def doctor(
    host: HostOption = None,
    probe_image: ProbeImageOption = defaults.PROBE_IMAGE,
    lang: LangOption = defaults.DEFAULT_LANG,
) -> None:
    """Check that grading can work here: engine, API version, compose, probe image."""
    from grader.doctor import diagnose

    chosen = _lang(lang)
    console = _console()
    findings = diagnose(host, probe_image)
    for finding in findings:
        mark = "[green]✔[/]" if finding.ok else "[red]✘[/]"
        console.print(f"{mark} {finding.what.render(chosen)}: {finding.detail}", markup=True)
    raise typer.Exit(0 if all(f.ok for f in findings) else 3)


@app.command("batch")
def batch(
    exercise_id: Annotated[str, typer.Argument(metavar="EXERCISE", help="Exercise id.")],
    submissions: Annotated[
        Optional[Path],  # noqa: UP045
        typer.Argument(
            metavar="[SUBMISSIONS_DIR]",
            help="One sub-folder per student (its name is the id), holding a compose file.",
            file_okay=False,
        ),
    ] = None,
    out: Annotated[
        Path, typer.Option("--out", help="Folder for reports, gradebook, summary.")
    ] = Path("grades"),
    hosts: Annotated[
        Optional[Path],  # noqa: UP045
        typer.Option(
            "--hosts", help="Grade in place: CSV rows student,docker_host.", dir_okay=False
        ),
    ] = None,
    host: Annotated[
        Optional[list[str]],  # noqa: UP045
        typer.Option("--host", help="Engine to replay on; repeat to spread over several."),
    ] = None,
    jobs: Annotated[
        int, typer.Option("--jobs", "-j", min=1, help="Submissions at once per engine.")
    ] = 1,
    resume: Annotated[
        bool, typer.Option("--resume", help="Skip students already graded in --out.")
    ] = False,
    id_column: Annotated[
        str,
        typer.Option(
            "--id-column", help="Gradebook id column, as Moodle maps it: idnumber or email."
        ),
    ] = defaults.GRADEBOOK_ID_COLUMN,
    max_services: Annotated[
        int, typer.Option("--max-services", min=1, help="Refuse submissions with more services.")
    ] = defaults.BATCH_MAX_SERVICES,
    lang: LangOption = defaults.DEFAULT_LANG,
    probe_image: ProbeImageOption = defaults.PROBE_IMAGE,
) -> None:
    """Grade a class: replay submission folders, or grade students' engines in place."""
    from grader.batch.run import EngineTarget, grade_in_place, replay_batch
    from grader.batch.submissions import find_submissions, read_hosts
    from grader.engine.connection import connect
    from grader.exercise.catalog import find
    from grader.report.progress import BatchProgress

    chosen = _lang(lang)
    if (submissions is None) == (hosts is None):
        raise typer.BadParameter("give SUBMISSIONS_DIR or --hosts, not both", param_hint="--hosts")
    if hosts is not None and host:
        raise typer.BadParameter(
            "--host replays submissions; --hosts grades in place", param_hint="--host"
        )
    if id_column not in ("idnumber", "email", "username"):
        raise typer.BadParameter("use idnumber, email or username", param_hint="--id-column")
    with _errors_as_exit_codes(chosen):
        exercise = find(exercise_id)
        stop = threading.Event()
        with BatchProgress(_console(stderr=True), chosen) as progress:
            if hosts is not None:
                report = grade_in_place(
                    exercise, read_hosts(hosts), out_dir=out, connect=connect, jobs=jobs,
                    resume=resume, lang=chosen, probe_image=probe_image, id_column=id_column,
                    observer=progress, stop=stop,
                )  # fmt: skip
            else:
                assert submissions is not None
                targets = [EngineTarget(connect(url), url) for url in (host or [None])]
                try:
                    report = replay_batch(
                        exercise, find_submissions(submissions), targets=targets, out_dir=out,
                        jobs=jobs, resume=resume, lang=chosen, probe_image=probe_image,
                        id_column=id_column, max_services=max_services, observer=progress,
                        stop=stop,
                    )  # fmt: skip
                finally:
                    for target in targets:
                        target.engine.close()
    _batch_summary(report.results, out, chosen)
    if report.interrupted:
        raise typer.Exit(EXIT_INTERRUPTED)
    raise typer.Exit(1 if any(r.status.value == "error" for r in report.results) else 0)


def _batch_summary(results: Iterable[GradeResult], out: Path, lang: Lang) -> None:
    counts = Counter(result.status.value for result in results)
    line = Text(
        fr="{graded} corrigées, {refused} refusées, {error} en erreur — bilan : {summary}",
        en="{graded} graded, {refused} refused, {error} errors — summary: {summary}",
    ).format(
        graded=counts["graded"],
        refused=counts["refused"],
        error=counts["error"],
        summary=out / "summary.html",
    )
    _console().print(line.render(lang), highlight=False, markup=False)


@app.command("rescore")
def rescore_command(
    out: Annotated[
        Path, typer.Argument(metavar="OUT_DIR", help="A batch's output folder.", file_okay=False)
    ],
    rubric: Annotated[
        Optional[Path],  # noqa: UP045
        typer.Option(
            "--rubric", help="The changed rubric (default: the exercise's).", dir_okay=False
        ),
    ] = None,
    lang: LangOption = defaults.DEFAULT_LANG,
) -> None:
    """Recompute a batch's scores from its stored outcomes, with no engine."""
    from grader.batch.rescore import rescore

    chosen = _lang(lang)
    with _errors_as_exit_codes(chosen):
        results = rescore(out, rubric)
    _batch_summary(results, out, chosen)


@app.command("clean")
def clean_command(
    host: Annotated[
        Optional[list[str]],  # noqa: UP045
        typer.Option(
            "--host", help="Engine to clean; repeat for several (default: the usual one)."
        ),
    ] = None,
    probe_image: ProbeImageOption = defaults.PROBE_IMAGE,
    lang: LangOption = defaults.DEFAULT_LANG,
) -> None:
    """Remove what interrupted tp-grader runs left: containers, networks, volumes, images."""
    from grader.batch.clean import clean
    from grader.engine.connection import connect

    chosen = _lang(lang)
    with _errors_as_exit_codes(chosen):
        for url in host or [None]:
            engine = connect(url)
            try:
                cleaned = clean(engine, probe_image)
            finally:
                engine.close()
            removed = cleaned.removed
            _console().print(
                f"{engine.info.endpoint}: {removed.containers} containers, {removed.networks} "
                f"networks, {removed.volumes} volumes, {cleaned.images} images"
            )


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return os.environ.get("USER", "student")


def main() -> None:
    """Console-script entry point."""
    app(prog_name="grade")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
