"""The students' commands: ``list``, ``show``, ``check`` (and ``grade EXERCISE``), ``demo``,
``doctor``."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer

from grader import defaults
from grader.cli._app import app
from grader.cli.common import (
    CourseConfigOption,
    CourseKeyOption,
    ExamOption,
    GradescopeOption,
    HostOption,
    JsonOption,
    JunitFlavorOption,
    JunitOption,
    LangOption,
    MinScoreOption,
    ParamOption,
    ProbeImageOption,
    Reports,
    Session,
    StandInsOption,
    StudentOption,
    SummaryMdOption,
    console,
    errors_as_exit_codes,
    escape,
    exam_settings,
    graded,
    lang_of,
    os_user,
    pairs,
)

if TYPE_CHECKING:
    from grader.exercise.model import Exercise
    from grader.i18n import Text
    from grader.result import GradeResult


@app.command("list")
def list_exercises(lang: LangOption = defaults.DEFAULT_LANG) -> None:
    """List the exercises that can be graded."""
    from grader.exercise.catalog import available, find

    chosen = lang_of(lang)
    with errors_as_exit_codes(chosen):
        for exercise_id in available():
            exercise = find(exercise_id)
            typer.echo(
                f"{exercise_id}\t{exercise.title.render(chosen)} "
                f"({exercise.rubric.max_score:g} points)"
            )


@app.command("show")
def show(
    exercise_id: Annotated[str, typer.Argument(metavar="EXERCISE", help="Exercise id.")],
    student: StudentOption = None,
    course_key_file: CourseKeyOption = None,
    lang: LangOption = defaults.DEFAULT_LANG,
    param: ParamOption = None,
) -> None:
    """Show an exercise's prompt (with a course key: STUDENT's variant of it)."""
    from rich.markdown import Markdown

    from grader.exercise.catalog import find
    from grader.exercise.variants import course_key

    chosen = lang_of(lang)
    with errors_as_exit_codes(chosen):
        exercise = find(exercise_id)
        variant = exercise.variant(student or os_user(), course_key(course_key_file))
        overrides = {**variant.overrides(), **pairs(param, "--param")}
        text = exercise.prompt(chosen, exercise.params.with_overrides(overrides))
    out = console()
    if out.is_terminal:
        out.print(Markdown(text))
    else:
        typer.echo(text, nl=False)


@app.command("check")
def check(
    exercise_id: Annotated[str, typer.Argument(metavar="EXERCISE", help="Exercise id.")],
    student: StudentOption = None,
    course_key_file: CourseKeyOption = None,
    exam: ExamOption = False,
    course_config: CourseConfigOption = None,
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
    from grader.compose import find_project
    from grader.harness.run import grade

    chosen = lang_of(lang)
    overrides = pairs(param, "--param")
    who = student or os_user()

    def run(exercise: Exercise, session: Session) -> GradeResult:
        settings = exam_settings(
            exercise, who, key_file=course_key_file, exam=exam, course_config=course_config,
            param_overrides=overrides,
        )  # fmt: skip
        # A lab whose names are one Compose project's keys grades, by default, the project
        # Compose made in this folder.
        notes: tuple[Text, ...]
        graded_project, notes = project, ()
        if exercise.compose_project and project is None:
            found = find_project(Path.cwd(), os.environ)
            graded_project, notes = found.name, (found.note,)
        return grade(
            exercise,
            engine=session.engine,
            student=who,
            lang=chosen,
            project=graded_project,
            strict_project=exercise.compose_project,
            notes=notes,
            probe_image=probe_image,
            param_overrides=settings.overrides,
            observer=session.observer,
            on_pull_progress=session.on_progress,
            variant=settings.fingerprint,
            exam=settings.exam,
        )

    graded(
        run,
        exercise_id=exercise_id,
        lang=chosen,
        host=host,
        quiet=quiet,
        reports=Reports(
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
    stand_ins: StandInsOption = False,
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

    chosen = lang_of(lang)
    images = pairs(image, "--image")
    overrides = pairs(param, "--param")

    def run(exercise: Exercise, session: Session) -> GradeResult:
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

    graded(
        run,
        exercise_id=exercise_id,
        lang=chosen,
        host=host,
        quiet=quiet,
        reports=Reports(
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

    chosen = lang_of(lang)
    out = console()
    findings = diagnose(host, probe_image)
    marks = {"ok": "[green]✔[/]", "note": "[yellow]•[/]", "problem": "[red]✘[/]"}
    colon = " :" if chosen == "fr" else ":"  # French puts a space before a colon
    for finding in findings:
        out.print(
            f"{marks[finding.level.value]} {finding.what.render(chosen)}{colon} "
            f"{escape(finding.detail.render(chosen))}",
            markup=True,
            soft_wrap=True,
        )
    raise typer.Exit(0 if all(f.ok for f in findings) else 3)
