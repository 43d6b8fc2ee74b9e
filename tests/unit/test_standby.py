"""Which runs a standby probe serves (pure logic: the engine side is in
tests/engine/test_probes.py)."""

from __future__ import annotations

import threading
from collections.abc import Collection

import pytest

from grader import defaults
from grader.engine.base import LabelSelector
from grader.engine.probe import ProbeSpec, Standby, start_standby
from grader.harness.run import INTERNAL_ERROR, USAGE_ERROR
from grader.observe.dns import DnsLookup
from grader.observe.prober import Prober
from grader.observe.steps import ENGINE_HOST, ProbeSite
from tests.support.fake_engine import FakeEngine, fake_standby
from tests.unit.test_unforgeable import framed

NETNS = ProbeSite(network_mode="container:app-id", description="netns app")


def prober_on(engine: FakeEngine) -> Prober:
    engine.probe_handler = lambda spec: framed(spec, ("Name: redis\nAddress: 10.0.0.2\n", 0))
    return Prober(engine)


def test_the_first_run_at_a_site_is_the_standbys_and_only_the_first() -> None:
    engine = FakeEngine()
    prober = prober_on(engine)
    prober.start_ahead(NETNS)

    prober.run(NETNS, [DnsLookup("redis")])
    prober.run(NETNS, [DnsLookup("redis")])
    prober.run(ENGINE_HOST, [DnsLookup("redis")])

    assert [spec.network_mode for spec in engine.standbys_started] == ["container:app-id"]
    assert engine.standbys_used == ["standby-1"]
    assert len(engine.probes_run) == 3


def test_a_site_in_another_containers_pid_namespace_gets_no_standby() -> None:
    engine = FakeEngine()
    prober = prober_on(engine)

    prober.start_ahead(ProbeSite(pid_mode="container:app-id", description="pid app"))

    assert engine.standbys_started == []


def test_the_engine_layer_refuses_a_standby_in_another_pid_namespace() -> None:
    spec = ProbeSpec(image="busybox", script="", purpose="pid app", pid_mode="container:app-id")

    with pytest.raises(ValueError, match="PID namespace of its own"):
        start_standby(None, spec, 60)  # type: ignore[arg-type]  # refused before any call


class _RefusingEngine(FakeEngine):
    def start_standby_probe(self, spec: ProbeSpec, lifetime_s: int) -> Standby:
        raise ConnectionError("the engine timed out")  # as requests would, not the SDK


def test_a_standby_the_engine_could_not_start_is_made_up_by_a_probe_of_its_own() -> None:
    engine = _RefusingEngine()
    prober = prober_on(engine)
    prober.start_ahead(NETNS)

    (answer,) = prober.run(NETNS, [DnsLookup("redis")])

    assert answer.has("10.0.0.2")
    assert engine.standbys_used == []
    assert len(engine.probes_run) == 1


def test_a_standby_without_time_left_for_a_whole_run_is_not_used(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(defaults, "STANDBY_PROBE_LIFETIME_S", 5)  # under the 20 s deadline
    engine = FakeEngine()
    prober = prober_on(engine)
    prober.start_ahead(NETNS)

    prober.run(NETNS, [DnsLookup("redis")])

    assert len(engine.standbys_started) == 1
    assert engine.standbys_used == []


class _SlowToStartEngine(FakeEngine):
    def __init__(self) -> None:
        super().__init__()
        self.release = threading.Event()
        self.events: list[str] = []

    def start_standby_probe(self, spec: ProbeSpec, lifetime_s: int) -> Standby:
        assert self.release.wait(10)
        self.events.append("started")
        return fake_standby("standby-slow")

    def remove_containers(self, labels: LabelSelector, sparing: Collection[str] = ()) -> int:
        self.events.append("swept")
        return 0


def test_close_waits_for_a_standby_still_starting_then_sweeps() -> None:
    engine = _SlowToStartEngine()
    prober = Prober(engine)
    prober.start_ahead(NETNS)
    threading.Timer(0.2, engine.release.set).start()

    prober.close()

    assert engine.events == ["started", "swept"]


def test_pytests_exit_codes_are_the_harness_own() -> None:
    assert (INTERNAL_ERROR, USAGE_ERROR) == (
        pytest.ExitCode.INTERNAL_ERROR,
        pytest.ExitCode.USAGE_ERROR,
    )


class _SweepRecordingEngine(FakeEngine):
    def __init__(self) -> None:
        super().__init__()
        self.spared: list[set[str]] = []

    def remove_containers(self, labels: LabelSelector, sparing: Collection[str] = ()) -> int:
        self.spared.append(set(sparing))
        return 0


def test_close_spares_only_the_standbys_whose_script_ran_to_its_end() -> None:
    """Those end by themselves (the engine removes them): the sweep does not wait for them.
    One no check came to is swept, as every other probe of the run."""
    engine = _SweepRecordingEngine()
    prober = prober_on(engine)
    prober.start_ahead(NETNS)
    prober.start_ahead(ENGINE_HOST)

    prober.run(NETNS, [DnsLookup("redis")])
    prober.close()

    assert len(engine.standbys_started) == 2
    assert len(engine.standbys_used) == 1
    assert engine.spared == [set(engine.standbys_used)]
