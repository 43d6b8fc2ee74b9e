"""The teachers' commands: ``batch`` (a class, replayed or in place), ``rescore``, ``clean``."""

from __future__ import annotations

import threading
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer

from grader import defaults
from grader.cli._app import app
from grader.cli.common import (
    EXIT_INTERRUPTED,
    CourseConfigOption,
    CourseKeyOption,
    ExamOption,
    LangOption,
    ProbeImageOption,
    console,
    errors_as_exit_codes,
    lang_of,
)
from grader.errors import UsageError
from grader.i18n import Lang, Text

if TYPE_CHECKING:
    from grader.batch.run import BatchReport


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
    registry: Annotated[
        Optional[list[str]],  # noqa: UP045
        typer.Option(
            "--registry",
            help="Also allow images from this registry host (repeatable; Docker Hub, ghcr.io, "
            "quay.io... are allowed by default).",
        ),
    ] = None,
    roster: Annotated[
        Optional[Path],  # noqa: UP045
        typer.Option(
            "--roster",
            help="CSV of the class: a student (or id) column, and optionally a folder column "
            "(the submission folder, when it is not the id). Default: the folder names.",
            dir_okay=False,
        ),
    ] = None,
    course_key_file: CourseKeyOption = None,
    exam: ExamOption = False,
    course_config: CourseConfigOption = None,
    lang: LangOption = defaults.DEFAULT_LANG,
    probe_image: ProbeImageOption = defaults.PROBE_IMAGE,
) -> None:
    """Grade a class: replay submission folders, or grade students' engines in place. With a
    course key, each student is graded against their own exam variant."""
    from grader.batch.outputs import BatchOutputs
    from grader.batch.replay import EngineTarget
    from grader.batch.roster import read_roster
    from grader.batch.run import ensure_replayable, grade_in_place, replay_batch
    from grader.batch.submissions import find_submissions, read_hosts, roster_submissions
    from grader.engine.connection import choose_endpoint, connect
    from grader.exercise.catalog import find
    from grader.exercise.course import load_course_config
    from grader.exercise.variants import course_key
    from grader.report.progress import BatchProgress

    chosen = lang_of(lang)
    if hosts is None:
        with errors_as_exit_codes(chosen):  # a lab graded in place only says so first
            ensure_replayable(find(exercise_id))
    if (submissions is None) == (hosts is None):
        raise typer.BadParameter("give SUBMISSIONS_DIR or --hosts, not both", param_hint="--hosts")
    if hosts is not None and host:
        raise typer.BadParameter(
            "--host replays submissions; --hosts grades in place", param_hint="--host"
        )
    if id_column not in ("idnumber", "email", "username"):
        raise typer.BadParameter("use idnumber, email or username", param_hint="--id-column")
    with errors_as_exit_codes(chosen):
        exercise = find(exercise_id)
        BatchOutputs(out).check_writable()  # before any engine or student is touched
        stop = threading.Event()
        key = course_key(course_key_file)
        exam_rules = exam or load_course_config(course_config).exam
        entries = read_roster(roster) if roster is not None else None
        if hosts is not None:
            students = read_hosts(hosts)
            ids = [e.student for e in entries] if entries else [s.student for s in students]
            variants = {student: exercise.variant(student, key) for student in ids}
            with BatchProgress(console(stderr=True), chosen) as progress:
                report = grade_in_place(
                    exercise, students, out_dir=out, jobs=jobs, resume=resume, lang=chosen,
                    probe_image=probe_image, id_column=id_column, observer=progress, stop=stop,
                    variants=variants, exam=exam_rules,
                )  # fmt: skip
        elif submissions is not None:  # one of the two is given: checked above
            # A wrong folder is a usage error, found before any engine is reached.
            found = (
                roster_submissions(submissions, entries)
                if entries is not None
                else find_submissions(submissions)
            )
            variants = {s.student: exercise.variant(s.student, key) for s in found}
            # Each URL explicit: Compose and the grading workers are told where to go.
            # Once each: an engine given twice would get two image-cache guards
            # (grader.engine.cache_guard), which do not order each other.
            urls = list(dict.fromkeys(choose_endpoint(url).url for url in (host or [None])))
            targets: list[EngineTarget] = []
            try:
                targets += [EngineTarget(connect(url), url) for url in urls]
                with BatchProgress(console(stderr=True), chosen) as progress:
                    report = replay_batch(
                        exercise, found, targets=targets, out_dir=out, jobs=jobs,
                        resume=resume, lang=chosen, probe_image=probe_image,
                        id_column=id_column, max_services=max_services, observer=progress,
                        registries=(*defaults.BATCH_REGISTRIES, *(registry or ())),
                        stop=stop, variants=variants, exam=exam_rules,
                    )  # fmt: skip
            finally:
                for target in targets:
                    target.engine.close()
    _batch_summary(report, out, chosen)
    if report.interrupted:
        raise typer.Exit(EXIT_INTERRUPTED)
    raise typer.Exit(1 if report.to_look_at or report.problems else 0)


def _batch_summary(report: BatchReport, out: Path, lang: Lang) -> None:
    from grader.report.sanitize import clean_text

    def say(text: Text) -> None:
        console().print(text.render(lang), highlight=False, markup=False)

    def ids(students: list[str]) -> str:
        shown = [clean_text(student, 80) for student in students[:20]]
        return ", ".join(shown) + (" …" if len(students) > 20 else "")

    counts = Counter(result.status.value for result in report.results)
    summary = (report.written_to or out) / "summary.html"
    say(
        Text(
            fr="{graded} corrigées, {refused} refusées, {error} en erreur — bilan : {summary}",
            en="{graded} graded, {refused} refused, {error} errors — summary: {summary}",
        ).format(
            graded=counts["graded"],
            refused=counts["refused"],
            error=counts["error"],
            summary=summary,
        )
    )
    for problem in report.problems:
        say(Text(fr="problème : ", en="problem: ") + problem)
    if report.not_graded:
        listing = ids(list(report.not_graded))
        say(
            Text(
                fr=f"non corrigées ({len(report.not_graded)}, --resume les corrigera) : {listing}",
                en=f"not graded ({len(report.not_graded)}, --resume grades them): {listing}",
            )
        )
    flagged = [f"{r.student} ({' '.join(r.flags)})" for r in report.results if r.flags]
    if flagged:
        listing = ids(flagged)
        say(Text(fr=f"signalés : {listing}", en=f"flagged: {listing}"))
    look = [r.student for r in report.to_look_at]
    if look:
        listing = ids(look)
        say(Text(fr=f"à examiner : {listing}", en=f"to look at: {listing}"))


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

    chosen = lang_of(lang)
    from grader.batch.run import BatchReport

    with errors_as_exit_codes(chosen):
        results = rescore(out, rubric)
    _batch_summary(BatchReport(tuple(results)), out, chosen)


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

    chosen = lang_of(lang)
    with errors_as_exit_codes(chosen):
        for url in host or [None]:
            engine = connect(url)
            try:
                cleaned = clean(engine, probe_image)
            finally:
                engine.close()
            removed = cleaned.removed
            console().print(
                f"{engine.info.endpoint}: {removed.containers} containers, {removed.networks} "
                f"networks, {removed.volumes} volumes, {cleaned.images} images"
            )


@app.command("variant")
def variant_command(
    exercise_id: Annotated[str, typer.Argument(metavar="EXERCISE", help="Exercise id.")],
    student: Annotated[str, typer.Option("--student", help="The student's id.")],
    as_json: Annotated[
        bool,
        typer.Option(
            "--json",
            help="One JSON object on stdout: exercise, student, course_key, fingerprint, "
            "parameters (name -> value), varying (names).",
        ),
    ] = False,
    course_key_file: CourseKeyOption = None,
    lang: LangOption = defaults.DEFAULT_LANG,
) -> None:
    """Every parameter of EXERCISE for STUDENT (with a course key: their variant's values;
    without: the defaults), the ones that vary per student marked."""
    import json

    from grader.exercise.catalog import find
    from grader.exercise.variants import course_key

    chosen = lang_of(lang)
    with errors_as_exit_codes(chosen):
        exercise = find(exercise_id)
        key = course_key(course_key_file)
        variant = exercise.variant(student, key)
        # Typed as the lab declares them (a port stays an integer in the JSON).
        values = dict(exercise.params.with_overrides(variant.overrides()))
    declared = {v.parameter for v in exercise.variations}
    varying = [name for name in values if name in declared]  # in the lab's order
    if key is None:
        # On stderr: standard output holds the values and nothing else (the JSON stays whole).
        where = f"--course-key-file, ${defaults.COURSE_KEY_ENV}"
        typer.echo(
            Text(
                fr=f"pas de clé de cours ({where}) : les valeurs par défaut, celles de tous",
                en=f"no course key is set ({where}): the default values, everyone's",
            ).render(chosen),
            err=True,
        )
    if as_json:
        shown = {
            "exercise": exercise.id,
            "student": student,
            "course_key": key is not None,
            "fingerprint": variant.fingerprint,
            "parameters": values,
            "varying": varying,
        }
        typer.echo(json.dumps(shown, ensure_ascii=False))
        return
    mark = Text(fr="  (varie)", en="  (varies)").render(chosen)
    width = max((len(name) for name in values), default=0)
    for name, value in values.items():
        typer.echo(f"{name.ljust(width)} = {value}{mark if name in varying else ''}")


@app.command("variants")
def variants_command(
    exercise_id: Annotated[str, typer.Argument(metavar="EXERCISE", help="Exercise id.")],
    roster: Annotated[
        Path, typer.Option("--roster", help="CSV with a student (or id) column.", dir_okay=False)
    ],
    out: Annotated[
        str, typer.Option("--out", help="The answer key CSV to write (-: standard output).")
    ],
    course_key_file: CourseKeyOption = None,
    lang: LangOption = defaults.DEFAULT_LANG,
) -> None:
    """The teacher's answer key: one row per student of the roster, with their values."""
    import csv
    import io

    from grader.batch.roster import read_roster
    from grader.exercise.catalog import find
    from grader.exercise.variants import course_key
    from grader.report.files import as_target, write_report

    chosen = lang_of(lang)
    with errors_as_exit_codes(chosen):
        exercise = find(exercise_id)
        key = course_key(course_key_file)
        if key is None:
            where = f"--course-key-file, ${defaults.COURSE_KEY_ENV}"
            raise UsageError(
                Text(
                    fr=f"il faut une clé de cours ({where})", en=f"a course key is needed ({where})"
                )
            )
        parameters = [v.parameter for v in exercise.variations]
        table = io.StringIO()
        writer = csv.writer(table, lineterminator="\n")
        writer.writerow(["student", "variant", *parameters])
        for entry in read_roster(roster):
            variant = exercise.variant(entry.student, key)
            writer.writerow(
                [entry.student, variant.fingerprint, *(variant.values[p] for p in parameters)]
            )
        try:
            write_report(as_target(out), table.getvalue())
        except OSError as exc:
            raise UsageError(
                Text(
                    fr=f"clé impossible à écrire : {exc.filename}: {exc.strerror}",
                    en=f"cannot write the answer key: {exc.filename}: {exc.strerror}",
                )
            ) from exc
