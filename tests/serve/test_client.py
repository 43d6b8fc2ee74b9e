"""A student's side against the real server: ``grade join`` (a private config file), the push
after grading (one line, a short deadline, never a failure), the outbox (oldest first, each
report exactly once, kept until the server has it), ``grade push`` and ``grade leave``.

The client's behaviour does not depend on the server's database: these run on SQLite only."""

from __future__ import annotations

import json
import socket
import stat
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from typer.testing import CliRunner

from grader import defaults
from grader.classroom import client, membership
from grader.classroom.store.database import open_database
from grader.cli import app
from tests.support.class_server import (
    MadeClass,
    ServerProcess,
    class_state,
    database_url,
    http,
    make_class,
    report,
)

#: Its tests share module fixtures: on one worker of a parallel run (tests/support/workers.py).
pytestmark = pytest.mark.xdist_group("serve-client")

runner = CliRunner()
MISSING = "container 'redis' is not connected to network 'moby-network'"


@pytest.fixture(scope="module")
def db_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with database_url("sqlite", tmp_path_factory.mktemp("client")) as url:
        yield url


def join(server: ServerProcess, room: MadeClass, student: str = "ada") -> membership.Membership:
    done = runner.invoke(
        app, ["join", server.url, f"--token={room.tokens[student]}", "--lang", "en"]
    )
    assert done.exit_code == 0, done.output
    assert f"joined class {room.name} as {student}" in done.output
    joined = membership.joined()
    assert joined is not None
    return joined


def timeline(server: ServerProcess, room: MadeClass, student: str) -> list[dict[str, object]]:
    reply = http(f"{server.url}/api/timeline?student={student}", token=room.teacher)
    return reply.body["attempts"]


def dead_address() -> str:
    """An address where nothing listens (connection refused at once)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def test_join_keeps_a_private_config(server: ServerProcess, config_dir: Path) -> None:
    room = make_class(server.db_url)

    joined = join(server, room)

    path = config_dir / "class.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(config_dir.stat().st_mode) == 0o700
    assert (joined.server, joined.class_name, joined.student, joined.labs) == (
        server.url,
        room.name,
        "ada",
        ("tp-reseau",),
    )
    assert json.loads(path.read_text())["token"] == room.tokens["ada"]


def test_join_refuses_a_wrong_token_and_an_unreachable_server(
    server: ServerProcess, config_dir: Path
) -> None:
    wrong = runner.invoke(app, ["join", server.url, "--token", "nope", "--lang", "en"])
    away = runner.invoke(app, ["join", dead_address(), "--token", "x", "--lang", "en"])
    bad = runner.invoke(app, ["join", "ftp://x", "--token", "x", "--lang", "en"])

    assert (wrong.exit_code, away.exit_code, bad.exit_code) == (2, 3, 2)
    assert "token refused" in wrong.output
    assert "not reachable" in away.output
    assert "Traceback" not in wrong.output + away.output + bad.output
    assert not (config_dir / "class.json").exists()


def test_a_push_says_one_line_and_is_stored_once(server: ServerProcess, config_dir: Path) -> None:
    room = make_class(server.db_url)
    joined = join(server, room)

    line = client.push(report("ada"), joined)

    assert line.en == f"sent to class {room.name}"
    assert membership.pending() == []
    assert len(timeline(server, room, "ada")) == 1


def test_an_unreachable_server_queues_at_once_and_a_later_run_sends_oldest_first(
    server: ServerProcess, config_dir: Path
) -> None:
    room = make_class(server.db_url)
    joined = join(server, room)
    away = replace(joined, server=dead_address())
    scores = []
    for failing in ({"redis-attache": MISSING}, {"isolation": "x"}, {}):
        body = report("ada", failing)
        scores.append(body["score"])
        started = time.monotonic()
        line = client.push(body, away)
        assert time.monotonic() - started < defaults.PUSH_DEADLINE_S  # refused: no deadline wait
        assert "not reachable now: report kept" in line.en

    assert len(membership.pending()) == 3
    line = client.push(report("ada"), joined)

    assert line.en == f"sent to class {room.name}"
    assert membership.pending() == []
    assert [a["score"] for a in timeline(server, room, "ada")] == [*scores, 20]


def test_a_server_that_never_answers_costs_the_deadline_only(
    server: ServerProcess, config_dir: Path
) -> None:
    room = make_class(server.db_url)
    joined = join(server, room)
    with socket.socket() as silent:  # accepts connections (backlog), never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(5)
        away = replace(joined, server=f"http://127.0.0.1:{silent.getsockname()[1]}")

        started = time.monotonic()
        line = client.push(report("ada"), away)
        spent = time.monotonic() - started

    assert defaults.PUSH_DEADLINE_S - 0.2 < spent < defaults.PUSH_DEADLINE_S + 2.0
    assert "report kept, 1 waiting" in line.en
    assert len(membership.pending()) == 1


def test_already_stored_counts_as_delivered(server: ServerProcess, config_dir: Path) -> None:
    """The server stored a report but its answer was lost: the next send hears 409 and the
    report leaves the outbox, stored once."""
    room = make_class(server.db_url)
    joined = join(server, room)
    body = json.dumps(report("ada")).encode()
    assert http(f"{server.url}/api/reports", token=joined.token, data=body).status == 201
    membership.enqueue(body)

    delivery = client.deliver(joined, None)

    assert (delivery.sent, membership.pending()) == (1, [])
    assert len(timeline(server, room, "ada")) == 1


def test_a_report_refused_for_good_is_set_aside(server: ServerProcess, config_dir: Path) -> None:
    room = make_class(server.db_url)
    joined = join(server, room)
    membership.enqueue(json.dumps(report("bob")).encode())  # not ada's: refused, never resent
    membership.enqueue(json.dumps(report("ada")).encode())

    delivery = client.deliver(joined, None)

    assert delivery.sent == 1
    assert [reason.en for reason in delivery.refused] == [
        "this token is ada's: it cannot send a report of student 'bob'"
    ]
    assert membership.pending() == []
    assert len(list((config_dir / "outbox" / "refused").iterdir())) == 1
    assert "not sent to class" in client.one_line(joined, delivery).en


def test_a_replaced_token_keeps_the_outbox(server: ServerProcess, config_dir: Path) -> None:
    from grader.classroom import classes

    room = make_class(server.db_url)
    joined = join(server, room)
    database = open_database(server.db_url)
    try:
        classes.reissue(database, room.name, student="ada")
    finally:
        database.close()

    line = client.push(report("ada"), joined)

    assert "the server refused the token" in line.en
    assert len(membership.pending()) == 1


def test_grade_push_and_leave(server: ServerProcess, config_dir: Path) -> None:
    room = make_class(server.db_url)
    joined = join(server, room)
    client.push(report("ada"), replace(joined, server=dead_address()))

    pushed = runner.invoke(app, ["push", "--lang", "en"])
    left = runner.invoke(app, ["leave", "--lang", "en"])
    again = runner.invoke(app, ["push", "--lang", "en"])

    assert pushed.exit_code == 0, pushed.output
    assert f"class {room.name}: 1 sent, 0 waiting" in pushed.output
    assert left.exit_code == 0
    assert f"left class {room.name}" in left.output
    assert not (config_dir / "class.json").exists()
    assert again.exit_code == 2
    assert "no class joined" in again.output
    assert sum(r["attempts"] for r in class_state(server.url, room.teacher)["rows"]) == 1
