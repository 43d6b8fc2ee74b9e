"""The class view's arithmetic, on made-up attempts: who is stuck (N attempts, M minutes,
while most of the class passed), rows' order, failure messages grouped, lenses by source."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from grader.classroom.state import ClassView, LabView, StuckRule, message_key
from grader.classroom.store.queries import CheckRow, StoredAttempt

CHECKS = ("net", "redis", "dns")
START = datetime(2026, 1, 5, 9, 0, tzinfo=timezone.utc)
_ids = iter(range(1, 10_000))


def attempt(
    student: str,
    minute: float,
    failed: dict[str, str] | None = None,
    *,
    skipped: tuple[str, ...] = (),
    source: str = "reported",
) -> StoredAttempt:
    failed = failed or {}
    checks = tuple(
        CheckRow(
            check,
            "failed" if check in failed else "skipped" if check in skipped else "passed",
            0.0,
            failed.get(check, ""),
        )
        for check in CHECKS
    )
    at = START + timedelta(minutes=minute)
    return StoredAttempt(
        next(_ids), 1, student, "lab", source, at, at, "graded", 0.0, 3.0, None, None, checks
    )


def view(*attempts: StoredAttempt, roster: tuple[str, ...] = ("a", "b", "c", "d")) -> LabView:
    lab = LabView(roster, CHECKS)
    for one in attempts:
        lab.add(one)
    return lab


RULE = StuckRule(attempts=3, minutes=10, share=0.5)


def test_stuck_after_n_failed_attempts_while_most_passed() -> None:
    lab = view(
        attempt("a", 0), attempt("b", 0),
        attempt("c", 1, {"redis": "no"}), attempt("c", 2, {"redis": "no"}),
    )  # fmt: skip
    assert lab.stuck(START + timedelta(minutes=3), RULE) == []

    lab.add(attempt("c", 3, {"redis": "still no"}))

    assert lab.stuck(START + timedelta(minutes=3), RULE) == [
        {"student": "c", "check": "redis", "attempts": 3, "minutes": 2.0, "message": "still no"}
    ]


def test_stuck_after_m_minutes_on_one_attempt() -> None:
    lab = view(attempt("a", 0), attempt("b", 0), attempt("c", 0, {"redis": "no"}))

    assert lab.stuck(START + timedelta(minutes=9), RULE) == []
    assert [s["student"] for s in lab.stuck(START + timedelta(minutes=10), RULE)] == ["c"]


def test_not_stuck_where_most_of_the_class_has_not_passed_either() -> None:
    failing = {"redis": "no"}
    lab = view(
        attempt("a", 0), attempt("b", 0, failing),
        *(attempt("c", m, failing) for m in range(3)),
    )  # fmt: skip

    assert lab.pass_rate("redis") == 1 / 3
    assert lab.stuck(START + timedelta(minutes=30), RULE) == []


def test_a_pass_ends_the_streak_and_skipped_is_not_a_failure() -> None:
    lab = view(
        attempt("a", 0), attempt("b", 0),
        attempt("c", 1, {"net": "no"}), attempt("c", 2, {"net": "no"}),
        attempt("c", 3), attempt("c", 4, {"net": "no"}),
        attempt("d", 0, {"net": "x"}, skipped=("redis",)),
    )  # fmt: skip

    stuck = lab.stuck(START + timedelta(minutes=5), RULE)

    assert stuck == []
    assert lab.students["c"].failing["net"].count == 1


def test_rows_put_the_stuck_first_then_the_roster_order() -> None:
    lab = view(
        attempt("a", 0), attempt("b", 0), attempt("c", 0),
        *(attempt("d", m, {"dns": "no"}) for m in range(3)),
    )  # fmt: skip

    rows = lab.rows(START + timedelta(minutes=3), RULE)

    assert [row["student"] for row in rows] == ["d", "a", "b", "c"]
    assert rows[0]["stuck"] == ["dns"]
    assert rows[0]["cells"]["dns"] == {"status": "failed", "message": "no", "source": "reported"}
    assert rows[1]["stuck"] == []


def test_failure_messages_grouped_by_their_text_less_numbers() -> None:
    lab = view(
        attempt("a", 0, {"dns": "redis answers 10.0.0.3, not 10.0.1.2"}),
        attempt("b", 0, {"dns": "redis answers 10.0.0.9, not 10.0.1.4"}),
        attempt("c", 0, {"dns": "no answer"}),
    )

    dns = next(check for check in lab.checks_summary() if check["id"] == "dns")

    assert [(m["count"], m["students"]) for m in dns["messages"]] == [(2, ["a", "b"]), (1, ["c"])]
    assert message_key("answers 10.0.0.3:6379 after 2.5 s") == "answers # after # s"


def test_pass_rate_series_one_point_a_minute() -> None:
    lab = view(attempt("a", 0, {"net": "no"}), attempt("b", 0.5), attempt("a", 2))

    series = next(c for c in lab.checks_summary() if c["id"] == "net")["series"]

    assert [rate for _, rate in series] == [0.5, 1.0]


def test_lenses_by_source() -> None:
    room = ClassView(1, "c", ("a",), {"lab": CHECKS})

    changed = room.add(attempt("a", 0, {"net": "no"}, source="observed"))
    room.add(attempt("a", 1, source="reported"))

    assert changed == ["all", "observed"]
    assert room.view("lab", "observed").row("a")["cells"]["net"]["status"] == "failed"
    assert room.view("lab", "all").row("a")["cells"]["net"]["status"] == "passed"
    assert room.view("lab", "all").row("a")["observed"] == 1


def test_an_attempt_is_taken_once() -> None:
    room = ClassView(1, "c", ("a",), {"lab": CHECKS})
    once = attempt("a", 0)

    assert room.add(once) == ["all", "reported"]
    assert room.add(once) == []
    assert room.view("lab", "all").row("a")["attempts"] == 1
