"""Whose fault a failed observation is, decided on a fake engine (the engine tests make the
crash loops and pauses for real): the student's container that stopped or restarted is a
``failed`` check; the grader's own problems stay ``error``."""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field, replace

import pytest

from grader.engine.facts import ContainerFacts, ImageFacts
from grader.engine.probe import ProbeOutput, ProbeSpec
from grader.errors import ObservationError
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
    """A fake engine where the container becomes ``then`` once a probe is tried."""

    then: ContainerFacts | None = None

    def _change(self) -> None:
        self.containers_ = [self.then] if self.then is not None else []


@dataclass
class Locked(Changing):
    """The engine answers nothing about the container any more."""

    released: threading.Event = field(default_factory=threading.Event)

    def container(self, ref: str) -> ContainerFacts | None:
        self.released.wait(5)
        return super().container(ref)


def lab_on(engine: Changing, step_says: str | None = None) -> Lab:
    """A lab whose probes fail (the container changing meanwhile), or whose one step prints
    ``step_says`` and exits 1."""

    def probe(spec: ProbeSpec) -> ProbeOutput:
        engine._change()
        if step_says is None:
            raise ObservationError(Text.same("cannot join namespace of a non running container"))
        nonce = re.search(r"@@(\w+):begin 0", spec.script)
        assert nonce is not None
        frame = f"@@{nonce[1]}:begin 0\n{step_says}\n@@{nonce[1]}:end 0 1 {len(step_says)}\n"
        return ProbeOutput(frame.encode(), b"", truncated=False, duration_s=0.1)

    engine.containers_ = [APP]
    engine.images_ = [ImageFacts("sha256:bb", ("busybox:1.36.1",))]
    engine.probe_handler = probe
    return Lab(engine, ExactNames(engine), Prober(engine), reinspect_wait_s=0.2)


def failure(call: object) -> str:
    with pytest.raises(CheckFailed) as caught:
        call()  # type: ignore[operator]
    return caught.value.text.en


CHANGES = [
    (replace(APP, status="restarting", restart_count=3), "keeps restarting (restarted 3"),
    (replace(APP, restart_count=1), "keeps restarting (restarted 1"),
    (replace(APP, status="paused"), "is paused"),
    (replace(APP, status="exited"), "is not running (state: exited)"),
    (None, "disappeared during grading"),
]


@pytest.mark.parametrize(("then", "message"), CHANGES)
def test_probe_failing_on_a_container_that_changed_is_the_students(
    then: ContainerFacts | None, message: str
) -> None:
    lab = lab_on(Changing(then=then))

    assert message in failure(lambda: lab.from_inside(APP, DnsLookup("redis")))


@pytest.mark.parametrize(("then", "message"), CHANGES)
def test_user_probe_failing_on_a_container_that_changed_is_the_students(
    then: ContainerFacts | None, message: str
) -> None:
    lab = lab_on(Changing(then=then))

    assert message in failure(lambda: lab.main_process_user(APP))


def test_probe_failing_on_a_container_that_still_runs_stays_an_error() -> None:
    lab = lab_on(Changing(then=APP))

    with pytest.raises(ObservationError, match="non running container"):
        lab.from_inside(APP, DnsLookup("redis"))
    with pytest.raises(ObservationError, match="non running container"):
        lab.main_process_user(APP)


def test_user_probe_that_reads_no_uid_of_a_running_container_is_an_error() -> None:
    """The probe ran but could not read the status (nothing the container can cause while it
    runs: its PID 1 is there as long as it runs)."""
    lab = lab_on(Changing(then=APP), step_says="cat: can't open '/proc/1/status'")

    with pytest.raises(ObservationError, match="could not read /proc/1/status of moby-counter"):
        lab.main_process_user(APP)


def test_user_probe_that_reads_no_uid_of_a_stopped_container_is_the_students() -> None:
    lab = lab_on(Changing(then=replace(APP, status="exited")), step_says="cat: no such file")

    assert "is not running (state: exited)" in failure(lambda: lab.main_process_user(APP))


def test_probe_failing_while_the_engine_does_not_answer_stays_an_error() -> None:
    engine = Locked(then=None)
    lab = lab_on(engine)
    try:
        with pytest.raises(ObservationError):
            lab.from_inside(APP, DnsLookup("redis"))
    finally:
        engine.released.set()


def test_user_of_a_container_sharing_a_pid_namespace_is_not_probed() -> None:
    engine = Changing(then=APP)
    lab = lab_on(engine)
    sharing = replace(APP, pid_mode="container:honest")

    user = lab.main_process_user(sharing)

    assert (user.uids, user.pid_namespace_of) == (None, "honest")
    assert engine.probes_run == []


def _raise_assertion_here() -> None:
    raise AssertionError("an exercise's own assert")


def test_assertion_error_of_the_grader_is_an_error() -> None:
    with pytest.raises(AssertionError) as caught:
        FakeEngine().broken_invariant()  # raises AssertionError inside grader/

    assert raised_in_grader(caught.value)
    status, text = classify(caught.value)
    assert status is CheckStatus.ERROR
    assert text.en == "internal error in the check (AssertionError: FakeEngine invariant broken)"


def test_assertion_error_outside_the_grader_is_a_miss() -> None:
    with pytest.raises(AssertionError) as caught:
        _raise_assertion_here()

    assert not raised_in_grader(caught.value)
    status, text = classify(caught.value)
    assert (status, text.en) == (CheckStatus.FAILED, "an exercise's own assert")
