"""The course authors' commands: ``selftest`` (prove a lab's checks with mutants) and ``new``
(scaffold a lab)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from grader import defaults
from grader.cli._app import app
from grader.cli.common import (
    CourseKeyOption,
    HostOption,
    LangOption,
    ParamOption,
    ProbeImageOption,
    StandInsOption,
    console,
    errors_as_exit_codes,
    lang_of,
    pairs,
)
from grader.errors import UsageError
from grader.i18n import Text


@app.command("selftest")
def selftest_command(
    exercise_id: Annotated[str, typer.Argument(metavar="EXERCISE", help="Exercise id.")],
    json_path: Annotated[
        Optional[str],  # noqa: UP045 - typer reads the annotation at runtime
        typer.Option("--json", help="Write the selftest's JSON report here (- for stdout)."),
    ] = None,
    stand_ins: StandInsOption = False,
    jobs: Annotated[
        int, typer.Option("--jobs", "-j", min=1, help="Mutants set up and graded at once.")
    ] = defaults.SELFTEST_JOBS,
    student: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option("--student", help="With a course key: self-test this student's variant."),
    ] = None,
    course_key_file: CourseKeyOption = None,
    lang: LangOption = defaults.DEFAULT_LANG,
    host: HostOption = None,
    probe_image: ProbeImageOption = defaults.PROBE_IMAGE,
    param: ParamOption = None,
) -> None:
    """Prove EXERCISE's checks: its reference solution scores full marks, nothing set up scores
    0, each declared mutant misses exactly its checks, each generated mutant is caught."""
    from grader.engine.connection import choose_endpoint, connect
    from grader.exercise.catalog import find
    from grader.exercise.variants import course_key
    from grader.report import selftest as selftest_report
    from grader.report.files import as_target, check_reports, write_report
    from grader.selftest.run import MutantRun, selftest

    chosen = lang_of(lang)
    overrides = pairs(param, "--param")
    target = as_target(json_path) if json_path is not None else None
    to_stdout = target == "-"
    out = console(stderr=to_stdout)
    with errors_as_exit_codes(chosen):
        problem = check_reports({"--json": target})
        if problem is not None:
            raise UsageError(problem)
        exercise = find(exercise_id)
        if student is not None:
            variant = exercise.variant(student, course_key(course_key_file))
            overrides = {**variant.overrides(), **overrides}
        exercise.params.with_overrides(overrides)  # bad parameters fail before any setup
        url = choose_endpoint(host).url
        engine = connect(url)

        def told(run: MutantRun) -> None:
            mark = "·" if run.error is None else "⚠"
            out.print(f"[dim]{mark} {run.id}[/]", highlight=False)

        try:
            with out.status(Text(fr="Auto-test", en="Selftest").render(chosen)):
                report = selftest(
                    exercise, engine=engine, host=url, probe_image=probe_image,
                    stand_ins=stand_ins, param_overrides=overrides, jobs=jobs, on_run=told,
                )  # fmt: skip
        finally:
            engine.close()
        if target is not None:
            try:
                write_report(target, selftest_report.dumps(report, chosen))
            except OSError as exc:
                raise UsageError(
                    Text(
                        fr=f"rapport impossible à écrire : {exc.filename}: {exc.strerror}",
                        en=f"cannot write report: {exc.filename}: {exc.strerror}",
                    )
                ) from exc
        selftest_report.render(report, out, chosen)
    raise typer.Exit(0 if report.ok else 1)


@app.command("new")
def new_command(
    name: Annotated[str, typer.Argument(metavar="NAME", help="The new lab's id.")],
    into: Annotated[
        Optional[Path],  # noqa: UP045
        typer.Option(
            "--into",
            help="A course folder (used with GRADER_PATH) to write exercises/NAME and "
            "rubrics/NAME.yaml into. Default: the current folder.",
            file_okay=False,
        ),
    ] = None,
    lang: LangOption = defaults.DEFAULT_LANG,
) -> None:
    """Scaffold a small working lab (one network, two containers, a DNS and a TCP check) that
    passes `grade selftest` as generated."""
    from grader.exercise.scaffold import scaffold

    chosen = lang_of(lang)
    with errors_as_exit_codes(chosen):
        written = scaffold(name, (into or Path(".")).expanduser())
    for path in written:
        typer.echo(str(path))
