"""The class database, on SQLite and on PostgreSQL: the migrations make exactly the models'
schema; what was answered 2xx survives the server being killed; concurrent reports are all
stored, each once; a session outlives a restart."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from grader.classroom.store.database import open_database
from grader.classroom.store.models import Base
from tests.support.class_server import (
    ServerProcess,
    class_state,
    http,
    login,
    make_class,
    push,
    report,
)

#: Its tests share module fixtures: on one worker of a parallel run (tests/support/workers.py).
pytestmark = pytest.mark.xdist_group("serve-storage")


def test_migrations_make_the_models_schema(server: ServerProcess) -> None:
    database = open_database(server.db_url)  # the server migrated it; migrating again is a no-op
    try:
        database.migrate()
        with database.engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            assert compare_metadata(context, Base.metadata) == []
            assert context.get_current_revision() == "0001"
            if database.is_sqlite:
                assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
                assert connection.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
    finally:
        database.close()


def test_concurrent_reports_are_all_stored_once(server: ServerProcess) -> None:
    students = [f"s{n:02d}" for n in range(12)]
    room = make_class(server.db_url, students=students)
    bodies = [(student, report(student)) for student in students for _ in range(4)]

    def send(item: tuple[str, dict[str, object]]) -> int:
        student, body = item
        return push(server.url, room.tokens[student], body).status

    with ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(send, bodies + bodies[:10]))  # the last 10: sent twice

    assert statuses[: len(bodies)].count(201) == len(bodies)
    assert set(statuses[len(bodies) :]) == {409}
    rows = class_state(server.url, room.teacher)["rows"]
    assert {row["student"]: row["attempts"] for row in rows} == dict.fromkeys(students, 4)


def test_nothing_answered_is_lost_when_the_server_is_killed(server: ServerProcess) -> None:
    room = make_class(server.db_url)
    cookie = login(server.url, room.teacher)
    answered = [push(server.url, room.tokens["ada"], report("ada")).status for _ in range(5)]
    assert answered == [201] * 5

    server.kill()
    server.restart()

    rows = class_state(server.url, room.teacher)["rows"]
    assert next(row for row in rows if row["student"] == "ada")["attempts"] == 5
    # The teacher's session survives the restart: the page reconnects without a new login.
    assert http(f"{server.url}/api/class", cookie=cookie).status == 200
    assert push(server.url, room.tokens["ada"], report("ada")).status == 201
