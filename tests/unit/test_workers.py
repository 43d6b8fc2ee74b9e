"""Worker processes killed at their deadline (real processes), and observations tried again
within their window (pure logic over real step types)."""

from __future__ import annotations

import os
import time
from typing import Any

import pytest

from grader import defaults
from grader.errors import ProbeTimeout
from grader.harness.workers import CallFailed, CallTimedOut, DeadlineWorkers
from grader.observe.dns import DnsAnswer, DnsLookup
from grader.observe.retry import reading_for_a_check, run_with_retries
from grader.observe.tcp import TcpConnect, TcpResult
from tests.support import calls


@pytest.fixture
def workers() -> Any:
    with DeadlineWorkers(1) as pool:
        yield pool


def test_a_call_past_its_deadline_is_killed_and_the_pool_goes_on(workers: DeadlineWorkers) -> None:
    first = workers.call(calls.pid, deadline_s=30)
    lost: list[bool] = []

    started = time.monotonic()
    with pytest.raises(CallTimedOut):
        workers.call(calls.busy_for, 60, deadline_s=1, on_lost=lambda: lost.append(True))

    assert time.monotonic() - started < 15
    assert lost == [True]
    with pytest.raises(ProcessLookupError):
        os.kill(first, 0)  # the worker that ran it is gone
    assert workers.call(calls.busy_for, 0.01, deadline_s=30) == "done"  # a fresh one


def test_what_a_call_raises_comes_back_as_its_text(workers: DeadlineWorkers) -> None:
    with pytest.raises(CallFailed) as refused:
        workers.call(calls.refuses, deadline_s=30)
    assert refused.value.text.en == "no"
    with pytest.raises(CallFailed) as broken:
        workers.call(calls.breaks, deadline_s=30)
    assert "ValueError: a bug" in broken.value.text.en


# -- retries ------------------------------------------------------------------------------------
DNS = DnsLookup("redis")
TCP = TcpConnect("172.18.0.2", 6379)


def scripted(*answers: dict[Any, Any] | Exception) -> tuple[Any, list[list[Any]]]:
    """A run function answering each call from ``answers`` in turn (an exception is raised);
    and the calls made."""
    made: list[list[Any]] = []

    def run(steps: Any) -> list[Any]:
        made.append(list(steps))
        answer = answers[min(len(made), len(answers)) - 1]
        if isinstance(answer, Exception):
            raise answer
        return [answer[step] for step in steps]

    return run, made


def test_a_transient_miss_is_tried_again_until_it_passes() -> None:
    answered = DnsAnswer("redis", "answered", ("172.18.0.2",))
    run, made = scripted(
        {DNS: answered, TCP: TcpResult("172.18.0.2", 6379, False)},
        {TCP: TcpResult("172.18.0.2", 6379, False)},
        {TCP: TcpResult("172.18.0.2", 6379, True)},
    )

    results, attempts = run_with_retries(run, [DNS, TCP], window_s=10, pause_s=0.01)

    assert results == [answered, TcpResult("172.18.0.2", 6379, True)]
    assert attempts == [1, 3]
    assert made == [[DNS, TCP], [TCP], [TCP]]  # only what missed runs again


def test_a_wrong_answer_is_never_tried_again() -> None:
    nxdomain = DnsAnswer("redis", "nxdomain")
    run, made = scripted({DNS: nxdomain})

    assert run_with_retries(run, [DNS], window_s=10, pause_s=0.01) == ([nxdomain], [1])
    assert len(made) == 1


def test_a_miss_that_lasts_ends_with_the_window() -> None:
    run, _ = scripted({TCP: TcpResult("172.18.0.2", 6379, False)})

    started = time.monotonic()
    results, attempts = run_with_retries(run, [TCP], window_s=0.5, pause_s=0.1)

    assert results[0].connected is False
    assert 3 <= attempts[0] <= 7
    assert time.monotonic() - started < 2


def test_a_miss_is_seen_a_few_times_however_slow_each_probe_is() -> None:
    run, made = scripted({TCP: TcpResult("172.18.0.2", 6379, False)})

    results, attempts = run_with_retries(run, [TCP], window_s=0, pause_s=0.01)

    assert results[0].connected is False
    assert attempts == [defaults.RETRY_MIN_ATTEMPTS] == [len(made)]


def test_a_probe_that_could_not_run_is_run_again() -> None:
    answered = DnsAnswer("redis", "answered", ("172.18.0.2",))
    run, made = scripted(
        ProbeTimeout("in redis2", 15),
        {DNS: answered, TCP: TcpResult("172.18.0.2", 6379, False)},
        ProbeTimeout("in redis2", 15),
        {TCP: TcpResult("172.18.0.2", 6379, True)},
    )

    results, attempts = run_with_retries(run, [DNS, TCP], window_s=10, pause_s=0.01)

    assert results == [answered, TcpResult("172.18.0.2", 6379, True)]
    assert attempts == [1, 2]  # the runs that raised saw nothing
    assert made == [[DNS, TCP], [DNS, TCP], [TCP], [TCP]]


def test_a_probe_that_never_runs_is_the_graders_error() -> None:
    run, made = scripted(ProbeTimeout("in redis2", 15))

    with pytest.raises(ProbeTimeout):
        run_with_retries(run, [DNS], window_s=0.2, pause_s=0.05)
    assert len(made) >= defaults.RETRY_MIN_ATTEMPTS


def test_a_check_knows_how_often_what_it_read_was_tried() -> None:
    from grader.judge.lab import Observation

    seen = Observation.ready([DNS, TCP], ["dns", "tcp"], [1, 4])
    with reading_for_a_check() as read:
        seen.of(TCP)
    assert read == [4]
