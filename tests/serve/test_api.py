"""The class server's HTTP surface, on SQLite and on PostgreSQL: what a student token may do
(send its own reports, nothing else), every refusal (a clear reason, nothing stored), what the
teacher reads (the grid, the stuck, a timeline, the live stream, the exports)."""

from __future__ import annotations

import csv
import io
import json
import socket
import threading
import time
from typing import Any

import pytest

from grader import defaults
from grader.classroom.store.database import open_database
from grader.classroom.store.models import Base
from grader.exercise.catalog import find
from grader.report.gradebook import gradebook_csv
from tests.support.class_server import (
    ServerProcess,
    class_state,
    http,
    login,
    make_class,
    push,
    report,
)
from tests.support.wait import wait_for

#: Its tests share module fixtures: on one worker of a parallel run (tests/support/workers.py).
pytestmark = pytest.mark.xdist_group("serve-api")

MISSING = "container 'redis' is not connected to network 'moby-network' (its networks: bridge)"


def attempts_of(server: ServerProcess, teacher: str, student: str) -> int:
    rows = class_state(server.url, teacher)["rows"]
    return next(row["attempts"] for row in rows if row["student"] == student)


# -- students: their own reports, nothing else -------------------------------------------------
def test_a_report_is_stored_and_shown(server: ServerProcess) -> None:
    room = make_class(server.db_url)

    reply = push(server.url, room.tokens["ada"], report("ada", {"redis-attache": MISSING}))

    assert reply.status == 201, reply
    assert reply.body["status"] == "stored"
    assert reply.body["class"] == room.name
    state = class_state(server.url, room.teacher)
    ada = next(row for row in state["rows"] if row["student"] == "ada")
    assert (ada["attempts"], ada["reported"], ada["score"], ada["max_score"]) == (1, 1, 12, 20)
    assert ada["cells"]["redis-attache"] == {
        "status": "failed",
        "message": MISSING,
        "source": "reported",
    }
    assert ada["cells"]["reseau-cree"]["status"] == "passed"
    # Prerequisites apply as grading applies them: redis-attache failed, dns-redis is skipped.
    assert ada["cells"]["dns-redis"]["status"] == "skipped"
    assert [row["attempts"] for row in state["rows"] if row["student"] != "ada"] == [0, 0]


def test_the_same_report_twice_is_stored_once(server: ServerProcess) -> None:
    room = make_class(server.db_url)
    body = report("ada")

    first = push(server.url, room.tokens["ada"], body)
    again = push(server.url, room.tokens["ada"], body)

    assert first.status == 201
    assert again.status == 409
    assert again.body["status"] == "duplicate"
    assert "already stored" in again.error
    assert attempts_of(server, room.teacher, "ada") == 1


def test_the_score_is_the_rubrics_not_the_reports(server: ServerProcess) -> None:
    room = make_class(server.db_url)
    claimed = report("ada", {"redis-attache": MISSING}) | {"score": 20}

    assert push(server.url, room.tokens["ada"], claimed).status == 201

    ada = class_state(server.url, room.teacher)["rows"][0]
    assert ada["score"] == 12


def broken(body: dict[str, Any], **changes: Any) -> dict[str, Any]:
    return body | changes


REFUSALS: dict[str, tuple[Any, int, str]] = {
    "not JSON": (b"{'schema':", 400, "not JSON"),
    "an array": (b"[]", 422, "expected a JSON object"),
    "another schema": (lambda: broken(report("ada"), schema="tp-grader.report/2"), 422, "schema"),
    "a missing field": (
        lambda: {k: v for k, v in report("ada").items() if k != "checks"},
        422,
        "checks: Field required",
    ),
    "a score as text": (lambda: broken(report("ada"), score="20"), 422, "score"),
    "an unknown status": (
        lambda: broken(report("ada"), checks=[{**report("ada")["checks"][0], "status": "won"}]),
        422,
        "checks.0.status",
    ),
    "a message too long": (
        lambda: broken(
            report("ada"),
            checks=[
                {**c, "message": "x" * (defaults.SERVE_MAX_TEXT + 1)}
                for c in report("ada")["checks"]
            ],
        ),
        422,
        "message",
    ),
    "an infinite number": (
        lambda: json.dumps(report("ada") | {"score": float("inf")}).encode(),
        422,
        "score",
    ),
    "an unknown lab": (
        lambda: report("ada", lab="tp-volumes"),
        422,
        "'tp-volumes' is not a lab of class",
    ),
    "a check of another lab": (
        lambda: broken(
            report("ada"),
            checks=[
                *report("ada")["checks"][:-1],
                {**report("ada")["checks"][-1], "id": "bind-mount"},
            ],
        ),
        422,
        "unknown: bind-mount; missing: sans-link",
    ),
    "another student's id": (lambda: report("bob"), 403, "this token is ada's"),
}


@pytest.mark.parametrize("case", list(REFUSALS))
def test_refusals_say_why_and_store_nothing(server: ServerProcess, case: str) -> None:
    room = make_class(server.db_url)
    body, status, reason = REFUSALS[case]

    reply = push(server.url, room.tokens["ada"], body() if callable(body) else body)

    assert reply.status == status, reply
    assert reason in reply.error, reply.error
    assert attempts_of(server, room.teacher, "ada") == 0


def test_unknown_or_missing_token_is_401(server: ServerProcess) -> None:
    make_class(server.db_url)

    assert push(server.url, "not-a-token", report("ada")).status == 401
    reply = http(f"{server.url}/api/reports", data=json.dumps(report("ada")).encode())
    assert reply.status == 401
    assert reply.headers["www-authenticate"] == "Bearer"


def test_a_body_over_the_limit_is_413(server: ServerProcess) -> None:
    room = make_class(server.db_url)
    body = report("ada") | {"notes": ["x" * defaults.SERVE_MAX_REPORT_BYTES]}

    reply = push(server.url, room.tokens["ada"], body)

    assert reply.status == 413
    assert "too large" in reply.error


def test_a_body_sent_without_length_is_cut_at_the_limit(server: ServerProcess) -> None:
    """Chunked, no Content-Length: the server stops reading past the limit."""
    room = make_class(server.db_url)
    host, port = server.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(
            (
                "POST /api/reports HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                f"Authorization: Bearer {room.tokens['ada']}\r\nTransfer-Encoding: chunked\r\n\r\n"
            ).encode()
        )
        chunk = b"x" * 65536
        answer = b""
        for _ in range(defaults.SERVE_MAX_REPORT_BYTES // len(chunk) + 2):
            try:
                sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            except OSError:  # the server answered and closed
                break
        sock.settimeout(10)
        answer = sock.recv(200)
    assert answer.startswith(b"HTTP/1.1 413"), answer


def test_a_token_past_its_rate_gets_429(server: ServerProcess) -> None:
    room = make_class(server.db_url)
    burst = [
        push(server.url, room.tokens["cy"], report("cy")).status
        for _ in range(defaults.SERVE_RATE_BURST)
    ]
    # The bucket refills one report every 3 s: on a slow machine the burst may have earned
    # one or two more; past them, 429.
    more = [push(server.url, room.tokens["cy"], report("cy")) for _ in range(4)]

    assert burst == [201] * defaults.SERVE_RATE_BURST
    reply = more[-1]
    assert reply.status == 429
    assert int(reply.headers["retry-after"]) >= 1
    # Another student is not slowed by cy.
    assert push(server.url, room.tokens["bob"], report("bob")).status == 201


def test_a_student_token_reads_nothing(server: ServerProcess) -> None:
    room = make_class(server.db_url)
    token = room.tokens["ada"]
    assert push(server.url, token, report("ada")).status == 201

    for path in (
        "/api/class",
        "/api/timeline?student=ada",
        "/api/events",
        "/export/gradebook.csv",
        "/export/attempts.json",
    ):
        reply = http(f"{server.url}{path}", token=token)
        assert reply.status == 401, path
    assert http(f"{server.url}/", token=token).status == 303  # to the login form
    me = http(f"{server.url}/api/me", token=token)
    assert me.body == {"class": room.name, "student": "ada", "labs": ["tp-reseau"]}


def test_a_variant_that_is_not_the_students_is_flagged(server: ServerProcess) -> None:
    key = b"k" * 32
    room = make_class(server.db_url, key=key)
    reseau = find("tp-reseau")
    own = reseau.variant("ada", key).fingerprint
    other = reseau.variant("bob", key).fingerprint

    good = push(server.url, room.tokens["ada"], report("ada", variant=own))
    bad = push(server.url, room.tokens["bob"], report("bob", variant=own))
    none = push(server.url, room.tokens["cy"], report("cy"))

    assert (good.status, bad.status, none.status) == (201, 201, 201)
    assert (good.body["variant_ok"], bad.body["variant_ok"], none.body["variant_ok"]) == (
        True,
        False,
        False,
    )
    assert own != other
    rows = {row["student"]: row for row in class_state(server.url, room.teacher)["rows"]}
    assert [rows[s]["variant_ok"] for s in ("ada", "bob", "cy")] == [True, False, False]


# -- the teacher ---------------------------------------------------------------------------------
def test_login_session_and_logout(server: ServerProcess) -> None:
    room = make_class(server.db_url)

    wrong = http(
        f"{server.url}/login",
        data=b"token=nope",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert wrong.status == 401
    assert "no class" in wrong.body

    reply = http(
        f"{server.url}/login",
        data=f"token={room.teacher}".encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert reply.status == 303
    set_cookie = reply.headers["set-cookie"]
    assert "httponly" in set_cookie.lower()
    assert "samesite=strict" in set_cookie.lower()
    cookie = set_cookie.split(";", 1)[0]
    page = http(f"{server.url}/", cookie=cookie)
    assert page.status == 200
    assert room.name in page.body
    assert "content-security-policy" in page.headers
    assert http(f"{server.url}/api/class", cookie=cookie).status == 200

    assert http(f"{server.url}/logout", data=b"", cookie=cookie, method="POST").status == 303
    assert http(f"{server.url}/api/class", cookie=cookie).status == 401
    assert http(f"{server.url}/", cookie=cookie).status == 303


def test_a_teacher_sees_only_their_class(server: ServerProcess) -> None:
    mine, theirs = make_class(server.db_url), make_class(server.db_url, students=("zoe",))
    assert push(server.url, theirs.tokens["zoe"], report("zoe")).status == 201

    state = class_state(server.url, mine.teacher)

    assert state["class"] == mine.name
    assert [row["student"] for row in state["rows"]] == ["ada", "bob", "cy"]


def test_stuck_students_on_top_and_grouped_messages(server: ServerProcess) -> None:
    room = make_class(server.db_url, students=("ada", "bob", "cy", "dan", "eve"))
    for student in ("ada", "bob", "eve"):
        assert push(server.url, room.tokens[student], report(student)).status == 201
    for n in range(defaults.STUCK_ATTEMPTS):
        failing = {"redis-attache": f"{MISSING}, {n + 1} s ago"}
        assert push(server.url, room.tokens["dan"], report("dan", failing)).status == 201
    cy = report("cy", {"redis-attache": f"{MISSING}, 12 s ago"})
    assert push(server.url, room.tokens["cy"], cy).status == 201

    state = class_state(server.url, room.teacher)

    assert [(s["student"], s["check"], s["attempts"]) for s in state["stuck"]] == [
        ("dan", "redis-attache", defaults.STUCK_ATTEMPTS)
    ]
    assert [row["student"] for row in state["rows"]] == ["dan", "ada", "bob", "cy", "eve"]
    assert state["rows"][0]["stuck"] == ["redis-attache"]
    check = next(c for c in state["per_check"] if c["id"] == "redis-attache")
    assert (check["passed"], check["tried"]) == (3, 5)
    # One remark answers both: the messages differ only by a number, so they are grouped.
    assert [(m["count"], m["students"]) for m in check["messages"]] == [(2, ["cy", "dan"])]
    assert check["series"]


def test_timeline_of_one_student(server: ServerProcess) -> None:
    room = make_class(server.db_url)
    token = room.tokens["bob"]
    for failing in ({"redis-attache": MISSING}, {"isolation": "redis answers 10.0.0.2"}, {}):
        assert push(server.url, token, report("bob", failing)).status == 201

    reply = http(f"{server.url}/api/timeline?student=bob", token=room.teacher)

    assert reply.status == 200
    attempts = reply.body["attempts"]
    assert [a["score"] for a in attempts] == [12, 19, 20]
    assert [m["check"] for m in attempts[0]["misses"]] == ["redis-attache"]
    assert attempts[1]["misses"][0]["message"] == "redis answers 10.0.0.2"
    assert http(f"{server.url}/api/timeline?student=nobody", token=room.teacher).status == 404


def test_gradebook_export_in_batch_columns(server: ServerProcess) -> None:
    room = make_class(server.db_url)
    token = room.tokens["ada"]
    assert push(server.url, token, report("ada")).status == 201
    assert push(server.url, token, report("ada", {"redis-attache": MISSING})).status == 201
    assert push(server.url, room.tokens["bob"], report("bob", {"sans-link": "links"})).status == 201

    best = http(f"{server.url}/export/gradebook.csv?pick=best", token=room.teacher)
    last = http(f"{server.url}/export/gradebook.csv?pick=last", token=room.teacher)

    assert best.status == 200
    assert best.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(best.body)))
    batch_header = next(
        csv.reader(io.StringIO(gradebook_csv(find("tp-reseau").rubric, [], id_column="idnumber")))
    )
    assert rows[0] == batch_header
    by_id = {row[0]: dict(zip(rows[0], row, strict=True)) for row in rows[1:]}
    assert (by_id["ada"]["score"], by_id["ada"]["status"]) == ("20", "graded")
    assert by_id["ada"]["flags"] == "reported"
    assert (by_id["bob"]["score"], by_id["bob"]["sans-link"]) == ("18", "-2")
    assert (by_id["cy"]["status"], by_id["cy"]["feedback"]) == ("error", "no attempt")
    last_rows = {row[0]: row for row in csv.reader(io.StringIO(last.body))}
    assert last_rows["ada"][1] == "12"


def test_every_attempt_as_json(server: ServerProcess) -> None:
    room = make_class(server.db_url)
    sent = [report("ada"), report("bob", {"redis-attache": MISSING})]
    for body in sent:
        assert push(server.url, room.tokens[body["student"]], body).status == 201

    reply = http(f"{server.url}/export/attempts.json", token=room.teacher)

    assert reply.status == 200
    assert reply.body["class"] == room.name
    got = reply.body["attempts"]
    assert [(a["student"], a["source"]) for a in got] == [("ada", "reported"), ("bob", "reported")]
    assert got[1]["report"]["checks"][1]["message"] == MISSING
    assert got[1]["report"] == sent[1] | {"score": 12}  # as sent (fields of the schema)


def test_the_live_stream_tells_the_page(server: ServerProcess) -> None:
    room = make_class(server.db_url)
    cookie = login(server.url, room.teacher)
    events: list[tuple[str, dict[str, Any]]] = []
    host, port = server.url.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)), timeout=10)
    sock.sendall(
        f"GET /api/events HTTP/1.1\r\nHost: x\r\nCookie: {cookie}\r\n"
        "Accept: text/event-stream\r\n\r\n".encode()
    )

    def read() -> None:
        buffer = b""
        while True:
            try:
                chunk = sock.recv(65536)
            except OSError:
                return
            if not chunk:
                return
            buffer += chunk
            for block in buffer.split(b"\n\n")[:-1]:
                fields = dict(
                    line.split(": ", 1) for line in block.decode().splitlines() if ": " in line
                )
                if "event" in fields:
                    events.append((fields["event"], json.loads(fields["data"])))
            buffer = buffer.split(b"\n\n")[-1]

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        wait_for(lambda: any(kind == "hello" for kind, _ in events), timeout_s=10, what="hello")
        sent_at = time.monotonic()
        assert push(server.url, room.tokens["ada"], report("ada")).status == 201
        wait_for(lambda: any(k == "attempt" for k, _ in events), timeout_s=5, what="the event")
        assert time.monotonic() - sent_at < 2
    finally:
        sock.close()
    _, data = next(event for event in events if event[0] == "attempt")
    assert (data["student"], data["lab"], data["source"]) == ("ada", "tp-reseau", "reported")
    assert data["rows"]["all"]["cells"]["reseau-cree"]["status"] == "passed"
    assert data["rows"]["reported"]["attempts"] == 1


def test_tokens_are_stored_only_as_hashes(server: ServerProcess) -> None:
    room = make_class(server.db_url)
    cookie = login(server.url, room.teacher)
    secrets_given = [room.teacher, *room.tokens.values(), cookie.split("=", 1)[1]]
    assert all(len(token) >= 22 for token in secrets_given)  # at least 128 bits

    database = open_database(server.db_url)
    try:
        with database.engine.connect() as connection:
            stored = [
                str(value)
                for table in Base.metadata.sorted_tables
                for row in connection.execute(table.select())
                for value in row
            ]
    finally:
        database.close()
    assert not [value for value in stored if any(token in value for token in secrets_given)]
