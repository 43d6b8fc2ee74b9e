"""Whose fault a failed observation is, decided on a fake engine (the engine tests make the
crash loops, pauses and hangs for real): the student's container that stopped, restarted or
hung is a ``failed`` check; the grader's own problems stay ``error``."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field, replace

import pytest

from grader.engine.facts import ContainerFacts, ImageFacts
from grader.engine.probe import ProbeOutput, ProbeSpec
from grader.errors import ObservationError, ProbeTimeout
from grader.harness.plugin import classify, raised_in_grader
from grader.i18n import Text
from grader.judge.lab import Lab
from grader.judge.outcome import CheckFailed, CheckStatus
from grader.observe.dns import DnsLookup
from grader.observe.names import ExactNames
from grader.observe.prober import Prober
from tests.support.fake_engine import FakeEngine

APP = ContainerFacts(
    id="a" * 64, name="moby-counter", image="app", image_id="sha256:aa", status="running"
)


@dataclass
class Changing(FakeEngine):
    """A fake engine where the container becomes ``then`` once a probe or exec is tried."""

    then: ContainerFacts | None = None
    exec_error: ObservationError | None = None

    def _change(self) -> None:
        self.containers_ = [self.then] if self.then is not None else []

    def exec_in(self, container_id: str, argv: list[str], deadline_s: float) -> tuple[int, bytes]:
        self._change()
        raise self.exec_error or ObservationError(Text.same("exec refused"))


@dataclass
class Locked(Changing):
    """The engine answers nothing about the container once a command is stuck in it."""

    released: threading.Event = field(default_factory=threading.Event)

    def container(self, ref: str) -> ContainerFacts | None:
        if self.exec_error is not None or self.then is None:
            self.released.wait(5)
        return super().container(ref)


def lab_on(engine: Changing) -> Lab:
    def probe_fails(spec: ProbeSpec) -> ProbeOutput:
        engine._change()
        raise ObservationError(Text.same("cannot join network of a non running container"))

    engine.containers_ = [APP]
    engine.images_ = [ImageFacts("sha256:bb", ("busybox:1.36.1",))]
    engine.probe_handler = probe_fails
    return Lab(engine, ExactNames(engine), Prober(engine), exec_deadline_s=10, reinspect_wait_s=0.2)


def failure(call: object) -> str:
    with pytest.raises(CheckFailed) as caught:
        call()  # type: ignore[operator]
    return caught.value.text.en


@pytest.mark.parametrize(
    ("then", "message"),
    [
        (replace(APP, status="restarting", restart_count=3), "keeps restarting (restarted 3"),
        (replace(APP, restart_count=1), "keeps restarting (restarted 1"),
        (replace(APP, status="paused"), "is paused"),
        (replace(APP, status="exited"), "is not running (state: exited)"),
        (None, "disappeared during grading"),
    ],
)
def test_probe_failing_on_a_container_that_changed_is_the_students(
    then: ContainerFacts | None, message: str
) -> None:
    lab = lab_on(Changing(then=then))

    assert message in failure(lambda: lab.from_inside(APP, DnsLookup("redis")))


def test_probe_failing_on_a_container_that_still_runs_stays_an_error() -> None:
    lab = lab_on(Changing(then=APP))

    with pytest.raises(ObservationError, match="non running container"):
        lab.from_inside(APP, DnsLookup("redis"))


def test_command_that_does_not_finish_in_a_running_container_is_the_students() -> None:
    lab = lab_on(Changing(then=APP, exec_error=ProbeTimeout("cat /proc/1/status", 10)))

    assert failure(lambda: lab.main_process_user(APP)) == (
        "container 'moby-counter' does not respond: a command run in it did not finish within 10 s"
    )


def test_command_stuck_so_that_the_engine_cannot_describe_the_container() -> None:
    engine = Locked(then=APP, exec_error=ProbeTimeout("cat /proc/1/status", 10))
    lab = lab_on(engine)
    try:
        assert "does not respond" in failure(lambda: lab.main_process_user(APP))
    finally:
        engine.released.set()


def test_probe_failing_while_the_engine_does_not_answer_stays_an_error() -> None:
    engine = Locked(then=None)
    lab = lab_on(engine)
    try:
        with pytest.raises(ObservationError):
            lab.from_inside(APP, DnsLookup("redis"))
    finally:
        engine.released.set()


def test_command_refused_by_the_engine_in_a_running_container_stays_an_error() -> None:
    lab = lab_on(Changing(then=APP))

    with pytest.raises(ObservationError, match="exec refused"):
        lab.main_process_user(APP)


def test_command_failing_because_the_container_crashed_is_the_students() -> None:
    lab = lab_on(Changing(then=replace(APP, status="restarting", restart_count=1)))

    assert "keeps restarting" in failure(lambda: lab.main_process_user(APP))


def _raise_assertion_here() -> None:
    raise AssertionError("an exercise's own assert")


def test_assertion_error_of_the_grader_is_an_error() -> None:
    with pytest.raises(AssertionError) as caught:
        FakeEngine().exec_in("x", ["true"], 1.0)  # raises AssertionError inside grader/

    assert raised_in_grader(caught.value)
    status, text = classify(caught.value)
    assert status is CheckStatus.ERROR
    assert text.en == "internal error in the check (AssertionError: FakeEngine does not exec)"


def test_assertion_error_outside_the_grader_is_a_miss() -> None:
    with pytest.raises(AssertionError) as caught:
        _raise_assertion_here()

    assert not raised_in_grader(caught.value)
    status, text = classify(caught.value)
    assert (status, text.en) == (CheckStatus.FAILED, "an exercise's own assert")
