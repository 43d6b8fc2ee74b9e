"""The class view's commands: ``serve`` and ``class`` (the teacher's), ``join``, ``push`` and
``leave`` (the students').

The teacher's need the server's packages (``pip install 'tp-grader[serve]'``); without them
they say so in one line (exit 3). The students' use the standard library only.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, NoReturn, Optional

import typer

from grader import defaults
from grader.cli._app import app
from grader.cli.common import (
    CourseKeyOption,
    LangOption,
    ProbeImageOption,
    console,
    errors_as_exit_codes,
    escape,
    lang_of,
)
from grader.errors import EnvironmentProblem, UsageError
from grader.i18n import Lang, Text

EXIT_ENVIRONMENT = 3
#: What the server imports; checked up front so a missing one is one line, not a traceback.
SERVER_PACKAGES = ("starlette", "uvicorn", "sqlalchemy", "alembic", "pydantic", "jinja2")

DataOption = Annotated[
    Optional[Path],  # noqa: UP045
    typer.Option(
        "--data",
        envvar=defaults.SERVE_DATA_ENV,
        help="Folder of the embedded SQLite database (default: "
        "$XDG_DATA_HOME/tp-grader/class-view).",
        file_okay=False,
    ),
]
DbOption = Annotated[
    Optional[str],  # noqa: UP045
    typer.Option(
        "--db",
        envvar=defaults.SERVE_DB_ENV,
        help="Database URL instead of --data, e.g. postgresql+psycopg://user@host/db.",
    ),
]

class_app = typer.Typer(
    help="Classes of the class view: create one, list them, replace a lost token.",
    no_args_is_help=True,
)
app.add_typer(class_app, name="class")


def _need_server_packages(lang: Lang) -> None:
    import importlib.util

    missing = [name for name in SERVER_PACKAGES if importlib.util.find_spec(name) is None]
    if missing:
        text = Text(
            fr="la vue de classe a besoin de paquets absents ({missing}) : "
            "pip install 'tp-grader[serve]'",
            en="the class view needs packages that are missing ({missing}): "
            "pip install 'tp-grader[serve]'",
        ).format(missing=", ".join(missing))
        console(stderr=True).print(escape(text.render(lang)), soft_wrap=True)
        raise typer.Exit(EXIT_ENVIRONMENT)


def _say(text: Text, lang: Lang) -> None:
    console().print(escape(text.render(lang)), soft_wrap=True)


# -- the teacher --------------------------------------------------------------------------------
@app.command("serve")
def serve(
    data: DataOption = None,
    db: DbOption = None,
    host: Annotated[
        str,
        typer.Option("--host", help="Address to listen on (this machine only by default)."),
    ] = defaults.SERVE_HOST,
    port: Annotated[
        int, typer.Option("--port", min=0, max=65535, help="Port (0: any free port).")
    ] = defaults.SERVE_PORT,
    stuck_attempts: Annotated[
        int,
        typer.Option(
            "--stuck-attempts", min=1, help="Stuck: the same check failed this many times in a row"
        ),
    ] = defaults.STUCK_ATTEMPTS,
    stuck_minutes: Annotated[
        float,
        typer.Option(
            "--stuck-minutes", min=0.1, help="... or for this many minutes, while most passed it."
        ),
    ] = defaults.STUCK_MINUTES,
    hosts: Annotated[
        Optional[Path],  # noqa: UP045
        typer.Option(
            "--hosts",
            help="Also grade each student's engine in place: CSV rows student,docker_host.",
            dir_okay=False,
        ),
    ] = None,
    every: Annotated[
        float,
        typer.Option("--every", min=5, help="Seconds between two rounds of --hosts gradings."),
    ] = defaults.SERVE_OBSERVE_EVERY_S,
    class_name: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option("--class", help="The class --hosts grades (default: the only one)."),
    ] = None,
    jobs: Annotated[
        int, typer.Option("--jobs", "-j", min=1, help="--hosts gradings at once.")
    ] = defaults.SERVE_OBSERVE_JOBS,
    course_key_file: CourseKeyOption = None,
    probe_image: ProbeImageOption = defaults.PROBE_IMAGE,
    access_log: Annotated[
        bool, typer.Option("--access-log", help="Print a line per request.")
    ] = False,
    lang: LangOption = defaults.DEFAULT_LANG,
) -> None:
    """Serve the class view: students' reports in, the teacher's live page out."""
    chosen = lang_of(lang)
    _need_server_packages(chosen)
    from grader.batch.submissions import read_hosts
    from grader.classroom.observed import ObservePlan
    from grader.classroom.server.app import ServeSettings
    from grader.classroom.server.run import Listening
    from grader.classroom.server.run import serve as run_server
    from grader.classroom.state import StuckRule
    from grader.classroom.store import queries
    from grader.classroom.store.database import database_url, open_database
    from grader.exercise.variants import course_key

    if db is not None and data is not None:
        raise typer.BadParameter("give --data or --db, not both", param_hint="--db")
    url = database_url(data=data, db=db)
    with errors_as_exit_codes(chosen):
        plan = None
        if hosts is not None:
            students = read_hosts(hosts)
            database = open_database(url)
            try:
                classes = [c.name for c in queries.list_classes(database)]
            finally:
                database.close()
            if class_name is None and len(classes) != 1:
                raise UsageError(
                    Text(
                        fr="--hosts : dites quelle classe avec --class",
                        en="--hosts: say which class with --class",
                    )
                )
            chosen_class = class_name or classes[0]
            if chosen_class not in classes:
                raise UsageError(
                    Text(fr=f"pas de classe {chosen_class}", en=f"no class {chosen_class}")
                )
            plan = ObservePlan(
                class_name=chosen_class, hosts=tuple(students), every_s=every, jobs=jobs,
                lang=chosen, probe_image=probe_image, key=course_key(course_key_file),
            )  # fmt: skip

        def ready(listening: Listening) -> None:
            _say(
                Text(
                    fr=f"vue de classe : {listening.url} (base : {listening.database}) ; Ctrl-C "
                    "pour arrêter",
                    en=f"class view: {listening.url} (database: {listening.database}); Ctrl-C "
                    "to stop",
                ),
                chosen,
            )

        run_server(
            database_url=url,
            host=host,
            port=port,
            settings=ServeSettings(
                lang=chosen, stuck=StuckRule(attempts=stuck_attempts, minutes=stuck_minutes)
            ),
            observe=plan,
            access_log=access_log,
            on_ready=ready,
        )


@class_app.command("create")
def class_create(
    name: Annotated[str, typer.Argument(metavar="NAME", help="The class's name.")],
    roster: Annotated[
        Path,
        typer.Option(
            "--roster", help="CSV of the class: a student (or id) column.", dir_okay=False
        ),
    ],
    lab: Annotated[list[str], typer.Option("--lab", help="A lab of the class (repeatable).")],
    server: Annotated[
        str,
        typer.Option("--server", help="The address students join (written in the handout)."),
    ] = f"http://{defaults.SERVE_HOST}:{defaults.SERVE_PORT}",
    out: Annotated[
        Optional[Path],  # noqa: UP045
        typer.Option(
            "--out",
            help="The handout CSV (student, token, join command); default NAME-tokens.csv",
            dir_okay=False,
        ),
    ] = None,
    data: DataOption = None,
    db: DbOption = None,
    course_key_file: CourseKeyOption = None,
    lang: LangOption = defaults.DEFAULT_LANG,
) -> None:
    """Create a class: a teacher token (printed once) and an enrolment token per student (in
    the handout CSV). With a course key, the server knows each student's exam variant."""
    chosen = lang_of(lang)
    _need_server_packages(chosen)
    from grader.batch.roster import read_roster
    from grader.classroom import classes
    from grader.classroom.client import check_server_url
    from grader.classroom.membership import write_private
    from grader.classroom.store.database import database_url, open_database
    from grader.exercise.catalog import find
    from grader.exercise.variants import course_key

    if db is not None and data is not None:
        raise typer.BadParameter("give --data or --db, not both", param_hint="--db")
    try:
        address = check_server_url(server)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--server") from None
    with errors_as_exit_codes(chosen):
        classes.check_name(name)
        handout_path = out or Path(f"{name.replace(' ', '_')}-tokens.csv")
        if handout_path.exists():
            raise UsageError(
                Text(
                    fr=f"{handout_path} existe déjà (il a peut-être les jetons d'une classe)",
                    en=f"{handout_path} already exists (it may hold a class's tokens)",
                )
            )
        entries = read_roster(roster)
        exercises = [find(one) for one in dict.fromkeys(lab)]
        key = course_key(course_key_file)
        database = open_database(database_url(data=data, db=db))
        try:
            made = classes.create(database, name, entries, exercises, key)
        finally:
            database.close()
        handout_path.parent.mkdir(parents=True, exist_ok=True)
        write_private(handout_path, classes.handout(made, address).encode())
    variants = (
        Text(fr=" ; variantes d'examen connues", en="; exam variants known")
        if made.with_variants
        else Text.same("")
    )
    _say(
        Text(
            fr=f"classe {made.name} créée : {len(made.students)} élèves, TP {', '.join(made.labs)}",
            en=f"class {made.name} created: {len(made.students)} students, labs "
            f"{', '.join(made.labs)}",
        )
        + variants,
        chosen,
    )
    _say(
        Text(
            fr=f"jetons des élèves : {handout_path} (à distribuer : chacun le sien)",
            en=f"students' tokens: {handout_path} (hand each student their own)",
        ),
        chosen,
    )
    _say(
        Text(
            fr="jeton enseignant (affiché une seule fois ; connexion à la page) : ",
            en="teacher token (shown once; it logs in to the page): ",
        )
        + Text.same(made.teacher_token),
        chosen,
    )


@class_app.command("list")
def class_list(
    data: DataOption = None,
    db: DbOption = None,
    lang: LangOption = defaults.DEFAULT_LANG,
) -> None:
    """List the classes, with their labs, students and attempts."""
    chosen = lang_of(lang)
    _need_server_packages(chosen)
    from grader.classroom.store import queries
    from grader.classroom.store.database import database_url, open_database

    with errors_as_exit_codes(chosen):
        database = open_database(database_url(data=data, db=db))
        try:
            for info in queries.list_classes(database):
                count = queries.count_attempts(database, info.id)
                typer.echo(
                    f"{info.name}\t{','.join(info.labs)}\t{len(info.students)} students\t"
                    f"{count} attempts"
                )
        finally:
            database.close()


@class_app.command("reissue")
def class_reissue(
    name: Annotated[str, typer.Argument(metavar="NAME", help="The class's name.")],
    student: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option("--student", help="A new token for this student (the old one stops)."),
    ] = None,
    teacher: Annotated[
        bool, typer.Option("--teacher", help="A new teacher token (every session ends).")
    ] = False,
    data: DataOption = None,
    db: DbOption = None,
    lang: LangOption = defaults.DEFAULT_LANG,
) -> None:
    """Replace a lost token: tokens are stored only as hashes, never read back."""
    chosen = lang_of(lang)
    if (student is None) == (not teacher):
        raise typer.BadParameter("give --student ID or --teacher", param_hint="--student")
    _need_server_packages(chosen)
    from grader.classroom import classes
    from grader.classroom.store.database import database_url, open_database

    with errors_as_exit_codes(chosen):
        database = open_database(database_url(data=data, db=db))
        try:
            token = classes.reissue(database, name, student=student)
        finally:
            database.close()
    typer.echo(token)


# -- students -----------------------------------------------------------------------------------
@app.command("join")
def join(
    url: Annotated[str, typer.Argument(metavar="URL", help="The class server's address.")],
    token: Annotated[str, typer.Option("--token", help="Your enrolment token.")],
    lang: LangOption = defaults.DEFAULT_LANG,
) -> None:
    """Join a class: from now on, `grade check` sends each report to it."""
    from grader.classroom import client, membership

    chosen = lang_of(lang)
    try:
        server = client.check_server_url(url)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="URL") from None
    with errors_as_exit_codes(chosen):
        try:
            answer = client.whoami(server, token.strip())
        except client.ServerProblem as exc:
            raise EnvironmentProblem(
                Text(
                    fr=f"serveur de classe injoignable ({server}) : {exc}",
                    en=f"class server not reachable ({server}): {exc}",
                )
            ) from None
        if answer.status != 200 or not isinstance(answer.body.get("class"), str):
            raise UsageError(
                Text(
                    fr=f"jeton refusé par {server} : {answer.reason}",
                    en=f"token refused by {server}: {answer.reason}",
                )
            )
        before = membership.joined()
        joined = membership.Membership(
            server=server,
            token=token.strip(),
            class_name=str(answer.body["class"]),
            student=str(answer.body.get("student", "")),
            labs=tuple(str(lab) for lab in answer.body.get("labs") or ()),
        )
        if before is not None and (before.server, before.class_name) != (
            joined.server,
            joined.class_name,
        ):
            _had, dropped = membership.forget_membership()
            if dropped:
                _say(
                    Text(
                        fr=f"classe {before.class_name} quittée ({dropped} rapport(s) non "
                        "envoyé(s) abandonné(s))",
                        en=f"left class {before.class_name} ({dropped} unsent report(s) dropped)",
                    ),
                    chosen,
                )
        path = membership.save_membership(joined)
    _say(
        Text(
            fr=f"classe {joined.class_name} rejointe comme {joined.student} ; chaque grade "
            f"check lui envoie son rapport ({path})",
            en=f"joined class {joined.class_name} as {joined.student}; each grade check sends "
            f"it its report ({path})",
        ),
        chosen,
    )
    if not client.is_loopback(server) and server.startswith("http://"):
        _say(
            Text(
                fr="attention : http:// transmet votre jeton en clair ; demandez une adresse "
                "https://",
                en="warning: http:// sends your token in clear; ask for an https:// address",
            ),
            chosen,
        )


@app.command("push")
def push(lang: LangOption = defaults.DEFAULT_LANG) -> None:
    """Send the reports still waiting for the class server (oldest first)."""
    from grader.classroom import client, membership

    chosen = lang_of(lang)
    try:
        joined = membership.read_membership()
    except ValueError as exc:
        _fail(Text(fr=f"adhésion illisible : {exc}", en=f"unreadable membership: {exc}"), 2, chosen)
    if joined is None:
        _fail(
            Text(fr="aucune classe rejointe (grade join)", en="no class joined (grade join)"),
            2,
            chosen,
        )
    before = len(membership.pending())
    delivery = client.deliver(joined, None, deadline_s=max(10.0, defaults.PUSH_DEADLINE_S))
    left = delivery.waiting()
    _say(
        Text(
            fr=f"classe {joined.class_name} : {delivery.sent} envoyé(s), {left} en attente",
            en=f"class {joined.class_name}: {delivery.sent} sent, {left} waiting",
        ),
        chosen,
    )
    for reason in delivery.refused:
        _say(Text(fr="refusé : ", en="refused: ") + reason, chosen)
    if left and delivery.problem:
        _fail(Text.same(delivery.problem), EXIT_ENVIRONMENT, chosen)
    raise typer.Exit(0 if left == 0 and not delivery.refused else 1 if before else 0)


@app.command("leave")
def leave(lang: LangOption = defaults.DEFAULT_LANG) -> None:
    """Leave the class: `grade check` sends nothing any more (reports not yet sent are tried
    once more, then dropped)."""
    from grader.classroom import client, membership

    chosen = lang_of(lang)
    joined = membership.joined()
    if joined is not None and membership.pending():
        client.deliver(joined, None)
    had, dropped = membership.forget_membership()
    if not had:
        _say(Text(fr="aucune classe rejointe", en="no class joined"), chosen)
        return
    name = joined.class_name if joined else "?"
    _say(
        Text(
            fr=f"classe {name} quittée"
            + (f" ({dropped} rapport(s) abandonné(s))" if dropped else ""),
            en=f"left class {name}" + (f" ({dropped} report(s) dropped)" if dropped else ""),
        ),
        chosen,
    )


def _fail(text: Text, code: int, lang: Lang) -> NoReturn:
    prefix = "erreur" if lang == "fr" else "error"
    console(stderr=True).print(
        f"[bold red]{prefix}:[/] {escape(text.render(lang))}", soft_wrap=True
    )
    raise typer.Exit(code)
