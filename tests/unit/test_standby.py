"""Which runs a standby probe serves (pure logic: the engine side is in
tests/engine/test_probes.py)."""

from __future__ import annotations

import pytest

from grader.engine.probe import ProbeSpec, start_standby
from grader.observe.dns import DnsLookup
from grader.observe.prober import Prober
from grader.observe.steps import ENGINE_HOST, ProbeSite
from tests.support.fake_engine import FakeEngine
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
