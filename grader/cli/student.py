"""The students' commands: ``list``, ``show``, ``check`` (and ``grade EXERCISE``), ``demo``,
``doctor``, ``probe-image build``."""

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
from grader.i18n import Text

if TYPE_CHECKING:
    from grader.classroom.membership import Membership
    from grader.exercise.model import Exercise
    from grader.result import GradeResult


@app.command("list")
def list_exercises(lang: LangOption = defaults.DEFAULT_LANG) -> None:
    """List the exercises that can be graded."""
    from grader.exercise.catalog import available, listing

    chosen = lang_of(lang)
    with errors_as_exit_codes(chosen):
        for exercise_id in available():
            listed = listing(exercise_id)
            typer.echo(f"{listed.id}\t{listed.title.render(chosen)} ({listed.max_score:g} points)")


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
    no_push: Annotated[
        bool,
        typer.Option("--no-push", help="Do not send this report to the class joined."),
    ] = False,
) -> None:
    """Grade your live Docker setup for EXERCISE (and, once you joined a class with `grade
    join`, send the report to it)."""
    from grader.classroom.membership import joined
    from grader.harness.run import GradeRequest, grade

    chosen = lang_of(lang)
    overrides = pairs(param, "--param")
    # Once a class is joined, its student id is the default one (the class knows no other).
    membership = joined()
    who = student or (membership.student if membership else None) or os_user()

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
            from grader.compose import find_project

            found = find_project(Path.cwd(), os.environ)
            graded_project, notes = found.name, (found.note,)
        request = GradeRequest(
            exercise,
            student=who,
            lang=chosen,
            project=graded_project,
            strict_project=exercise.compose_project,
            notes=notes,
            probe_image=probe_image,
            param_overrides=settings.overrides,
            variant=settings.fingerprint,
            exam=settings.exam,
        )
        return grade(
            request,
            engine=session.engine,
            observer=session.observer,
            on_pull_progress=session.on_progress,
        )

    def push(result: GradeResult) -> Text | None:
        if membership is None or no_push or result.interrupted:
            return None
        return push_to_class(result, membership)

    graded(
        run,
        exercise_id=exercise_id,
        lang=chosen,
        host=host,
        quiet=quiet,
        reports=Reports(
            json_path, junit_path, junit_flavor, gradescope_path, summary_md, min_score
        ),
        after=push,
    )


def push_to_class(result: GradeResult, membership: Membership) -> Text:
    """Send the report to the class joined; never raises (grading is done, and stays so)."""
    try:
        from grader.classroom.client import push
        from grader.report.json_report import to_dict

        return push(to_dict(result), membership)
    except Exception as exc:  # a push problem never fails the grading
        detail = f"{type(exc).__name__}: {exc}"[:200]
        return Text(
            fr=f"non envoyé à la classe {membership.class_name} : {detail}",
            en=f"not sent to class {membership.class_name}: {detail}",
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


probe_image_app = typer.Typer(
    help="The probe image: `grade probe-image build` makes one here, offline.",
    no_args_is_help=True,
)
app.add_typer(probe_image_app, name="probe-image")


@probe_image_app.command("build")
def probe_image_build(
    tag: Annotated[
        str,
        typer.Option(
            "--tag",
            envvar=defaults.PROBE_IMAGE_ENV,
            help="Tag of the image built: the probe image grading uses by default.",
            show_default=True,
        ),
    ] = defaults.PROBE_IMAGE,
    busybox: Annotated[
        Optional[Path],  # noqa: UP045
        typer.Option(
            "--busybox",
            metavar="PATH",
            help="The static busybox to build from. Default: Debian's busybox-static "
            "(/bin/busybox), else the first static busybox on PATH.",
            dir_okay=False,
        ),
    ] = None,
    replace: Annotated[
        bool,
        typer.Option("--replace", help="Build it anew when the engine already has the tag."),
    ] = False,
    host: HostOption = None,
    lang: LangOption = defaults.DEFAULT_LANG,
) -> None:
    """Build the probe image from this machine's static busybox, offline.

    Tagged as the probe image grading uses by default, so every command works afterwards."""
    from grader.engine.connection import connect
    from grader.setup.probe_image import build_probe_image, find_busybox

    chosen = lang_of(lang)
    with errors_as_exit_codes(chosen):
        found = find_busybox(busybox)  # refused before the engine is asked anything
        engine = connect(host)
        try:
            built = build_probe_image(engine, found, tag, replace=replace)
        finally:
            engine.close()
    if built is None:
        typer.echo(
            Text(
                fr=f"{tag} est déjà sur le moteur : rien construit (--replace la reconstruit)",
                en=f"{tag} is already on the engine: nothing built (--replace builds it anew)",
            ).render(chosen)
        )
        return
    short = built.image_id.removeprefix("sha256:")[:12]
    typer.echo(
        Text(
            fr=f"{tag} construite ({short}) depuis {found.path} (BusyBox {found.version})",
            en=f"built {tag} ({short}) from {found.path} (BusyBox {found.version})",
        ).render(chosen)
    )
