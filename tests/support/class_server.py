"""The class server as the tests meet it: the real ``grade serve`` command in a process of its
own (Uvicorn, a real socket, a real database), started, killed and started again at will; a
class made the way ``grade class create`` makes it; reports shaped as ``grade check`` writes
them; students' HTTP calls; the databases to run on (SQLite, and PostgreSQL from
``TPG_TEST_POSTGRES_DSN``, which ``.ci/run`` sets)."""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from grader.batch.roster import RosterEntry
from grader.classroom import classes
from grader.classroom.store.database import Database, open_database
from grader.exercise.catalog import find
from grader.i18n import Text
from grader.judge.outcome import CheckOutcome, CheckStatus
from grader.judge.scoring import score
from grader.report.json_report import to_dict
from grader.result import GradeResult
from tests.support.wait import wait_for

POSTGRES_DSN_ENV = "TPG_TEST_POSTGRES_DSN"


# -- databases -----------------------------------------------------------------------------------
@contextlib.contextmanager
def postgres_database() -> Iterator[str]:
    """A fresh PostgreSQL database of its own on the cluster of ``TPG_TEST_POSTGRES_DSN``,
    dropped afterwards. Without that variable the test fails: CI must run these."""
    import sqlalchemy as sa

    admin = os.environ.get(POSTGRES_DSN_ENV)
    if not admin:
        raise AssertionError(
            f"{POSTGRES_DSN_ENV} is not set: these tests need a PostgreSQL cluster "
            "(.ci/postgres-cluster start prints the DSN to export)"
        )
    name = f"tpg_test_{secrets.token_hex(4)}"
    engine = sa.create_engine(admin, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    url = sa.engine.make_url(admin).set(database=name).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        with engine.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        engine.dispose()


@contextlib.contextmanager
def database_url(kind: str, folder: Path) -> Iterator[str]:
    if kind == "sqlite":
        folder.mkdir(parents=True, exist_ok=True)
        yield f"sqlite:///{folder / 'class-view.sqlite3'}"
    else:
        with postgres_database() as url:
            yield url


# -- the server ----------------------------------------------------------------------------------
class ServerProcess:
    """``grade serve`` in a process of its own."""

    def __init__(self, db_url: str, *, extra: Sequence[str] = (), env: Mapping[str, str] = {}):
        self.db_url = db_url
        self.extra = list(extra)
        self.env = {**os.environ, **env}
        self.port = 0
        self.url = ""
        self.process: subprocess.Popen[str] | None = None

    def start(self) -> ServerProcess:
        command = [
            sys.executable, "-m", "grader", "serve", "--db", self.db_url,
            "--port", str(self.port), "--lang", "en", *self.extra,
        ]  # fmt: skip
        self.process = subprocess.Popen(
            command,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            text=True,
            env=self.env,
        )
        line = self.process.stdout.readline() if self.process.stdout else ""
        if "class view: http://" not in line:
            self.process.kill()
            rest = self.process.communicate(timeout=10)[0]
            raise AssertionError(f"grade serve did not start: {line}{rest}")
        self.url = line.split("class view: ", 1)[1].split(" ", 1)[0]
        self.port = int(self.url.rsplit(":", 1)[1])
        return self

    def kill(self) -> None:
        """SIGKILL: the server dies mid-work, as a crash or a power cut would end it."""
        if self.process is not None:
            self.process.kill()
            self.process.wait(10)
            self.process = None

    def stop(self) -> None:
        if self.process is not None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
            self.process = None

    def restart(self) -> None:
        self.start()


@contextlib.contextmanager
def running_server(db_url: str, **options: Any) -> Iterator[ServerProcess]:
    server = ServerProcess(db_url, **options).start()
    try:
        yield server
    finally:
        server.stop()


# -- a class ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class MadeClass:
    name: str
    teacher: str
    tokens: dict[str, str]


def make_class(
    db_url: str,
    students: Sequence[str] = ("ada", "bob", "cy"),
    labs: Sequence[str] = ("tp-reseau",),
    key: bytes | None = None,
    name: str | None = None,
) -> MadeClass:
    """A class, made as ``grade class create`` makes it (straight into the database: the
    server finds it there)."""
    database: Database = open_database(db_url)
    try:
        made = classes.create(
            database,
            name or f"class-{secrets.token_hex(3)}",
            [RosterEntry(s, s) for s in students],
            [find(lab) for lab in labs],
            key,
        )
    finally:
        database.close()
    return MadeClass(made.name, made.teacher_token, dict(made.students))


# -- reports ------------------------------------------------------------------------------------
_moment = [datetime(2026, 1, 5, 9, 0, tzinfo=timezone.utc)]


def report(
    student: str,
    failing: Mapping[str, str] | None = None,
    *,
    lab: str = "tp-reseau",
    variant: str | None = None,
    lang: str = "en",
) -> dict[str, Any]:
    """A JSON report as ``grade check`` writes it: every check passed but ``failing`` (check
    id -> message). Each call is a new grading (a later start), so no two are the same."""
    exercise = find(lab)
    failing = dict(failing or {})
    outcomes = [
        CheckOutcome(
            check_id,
            CheckStatus.FAILED if check_id in failing else CheckStatus.PASSED,
            Text.same(failing[check_id]) if check_id in failing else None,
            0.05,
        )
        for check_id in exercise.rubric.check_ids
    ]
    _moment[0] += timedelta(seconds=1)
    result = GradeResult(
        exercise_id=exercise.id,
        exercise_title=exercise.title,
        student=student,
        sheet=score(exercise.rubric_with(), outcomes),
        started_at=_moment[0],
        duration_s=1.25,
        lang=lang,  # type: ignore[arg-type]
        variant=variant,
    )
    return to_dict(result)


# -- HTTP as a student or a script would speak it ----------------------------------------------
@dataclass(frozen=True)
class Reply:
    status: int
    body: Any
    headers: Mapping[str, str]

    @property
    def error(self) -> str:
        return str(self.body.get("error", "")) if isinstance(self.body, dict) else ""


def http(
    url: str,
    *,
    token: str | None = None,
    data: bytes | None = None,
    method: str | None = None,
    headers: Mapping[str, str] | None = None,
    cookie: str | None = None,
    timeout_s: float = 10,
) -> Reply:
    sent = {"Content-Type": "application/json"} if data is not None else {}
    if token is not None:
        sent["Authorization"] = f"Bearer {token}"
    if cookie is not None:
        sent["Cookie"] = cookie
    sent.update(headers or {})
    request = urllib.request.Request(url, data=data, method=method, headers=sent)
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        with opener.open(request, timeout=timeout_s) as answer:
            raw, status, got = answer.read(), answer.status, dict(answer.headers)
    except urllib.error.HTTPError as exc:
        raw, status, got = exc.read(), exc.code, dict(exc.headers)
    try:
        body: Any = json.loads(raw)
    except ValueError:
        body = raw.decode("utf-8", "replace")
    return Reply(status, body, {k.lower(): v for k, v in got.items()})


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def push(server_url: str, token: str, body: dict[str, Any] | bytes) -> Reply:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    return http(f"{server_url}/api/reports", token=token, data=data)


def login(server_url: str, teacher_token: str) -> str:
    """Log in as the page's form does; the session cookie (``name=value``)."""
    reply = http(
        f"{server_url}/login",
        data=f"token={teacher_token}".encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert reply.status == 303, reply
    cookie = reply.headers["set-cookie"]
    return cookie.split(";", 1)[0]


def class_state(server_url: str, teacher_token: str, **query: str) -> dict[str, Any]:
    params = "&".join(f"{k}={v}" for k, v in query.items())
    reply = http(f"{server_url}/api/class?{params}", token=teacher_token)
    assert reply.status == 200, reply
    return reply.body


def wait_for_attempts(server_url: str, teacher: str, count: int, **query: str) -> dict[str, Any]:
    return wait_for(
        lambda: (
            (s := class_state(server_url, teacher, **query))
            and sum(r["attempts"] for r in s["rows"]) >= count
            and s
        ),
        timeout_s=10,
        what=f"{count} attempts on the class view",
    )
