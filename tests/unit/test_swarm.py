"""Swarm labs, pure logic: service and task facts, the bounded wait for a service to converge,
the checks' view of it (whose fault), a stack file turned into engine calls, the swarm a run
holds, and batch replay's refusal. The engine tests (tests/engine/test_tp_overlay.py) prove it
on a real swarm."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pytest
from typer.testing import CliRunner

from grader.batch.run import ensure_replayable
from grader.cli import app
from grader.engine.facts import (
    COMPOSE_NETWORK,
    COMPOSE_PROJECT,
    COMPOSE_SERVICE,
    COMPOSE_VOLUME,
    ServiceFacts,
    SwarmFacts,
    TaskFacts,
)
from grader.engine.swarm import ContainerSpec, ServiceSpec
from grader.errors import ObservationError, SetupFailed, UsageError
from grader.exercise.catalog import find
from grader.i18n import Text
from grader.judge.lab import Lab
from grader.judge.outcome import CheckFailed
from grader.observe.names import ComposeNames, ExactNames
from grader.observe.prober import Prober
from grader.observe.swarm import service_state, settle
from grader.setup.stack import GATEWAY_BRIDGE, deploy, swarm_for_a_run
from tests.support.fake_engine import FakeEngine

MANAGER = SwarmFacts("active", control_available=True, node_id="n1")


def task(slot: int, state: str = "running", desired: str = "running", **kw: Any) -> TaskFacts:
    return TaskFacts(f"t{slot}-{state}", "s1", slot, desired, state, container_id=f"c{slot}", **kw)


SERVICE_INSPECT: dict[str, Any] = {
    # As a 20.10 engine answers GET /services/{id} for
    # `docker service create --name moby-counter --replicas 2 --network name=ov,alias=app
    #  --publish 8080:80 IMAGE`, trimmed.
    "ID": "d9b0iye9f8pg",
    "Spec": {
        "Name": "moby-counter",
        "Labels": {"a": "b"},
        "TaskTemplate": {
            "ContainerSpec": {"Image": "sha256:3035"},
            "Networks": [{"Target": "pi4391ogu0hk", "Aliases": ["app"]}],
        },
        "Mode": {"Replicated": {"Replicas": 2}},
        "EndpointSpec": {"Mode": "vip", "Ports": [{"TargetPort": 80, "PublishedPort": 8080}]},
    },
    "Endpoint": {
        "Spec": {"Mode": "vip"},
        "Ports": [
            {"Protocol": "tcp", "TargetPort": 80, "PublishedPort": 8080, "PublishMode": "ingress"}
        ],
        "VirtualIPs": [
            {"NetworkID": "zx161oj5cey6", "Addr": "10.0.0.3/24"},
            {"NetworkID": "pi4391ogu0hk", "Addr": "10.0.1.4/24"},
        ],
    },
}


# -- facts ------------------------------------------------------------------------------------
def test_service_facts_from_inspect() -> None:
    service = ServiceFacts.from_inspect(SERVICE_INSPECT)

    assert (service.name, service.replicas, service.endpoint_mode) == ("moby-counter", 2, "vip")
    assert service.networks == ("pi4391ogu0hk",)
    assert service.aliases == {"pi4391ogu0hk": ("app",)}
    assert [(p.target, p.published, p.mode) for p in service.ports] == [(80, 8080, "ingress")]
    assert service.vip_on("pi4391ogu0hk") == "10.0.1.4"
    assert service.vip_on("elsewhere") is None


def test_global_and_dnsrr_services() -> None:
    data = {"ID": "g", "Spec": {"Name": "g", "Mode": {"Global": {}}}, "Endpoint": {}}
    service = ServiceFacts.from_inspect(data)
    assert service.replicas is None
    dnsrr = {"ID": "r", "Spec": {"Name": "r", "EndpointSpec": {"Mode": "dnsrr"}}}
    assert ServiceFacts.from_inspect(dnsrr).endpoint_mode == "dnsrr"
    assert ServiceFacts.from_inspect(dnsrr).virtual_ips == ()


def test_swarm_facts() -> None:
    assert MANAGER.manager
    assert not SwarmFacts("active", control_available=False).manager  # a worker
    assert not SwarmFacts("pending", control_available=True).manager


# -- convergence ------------------------------------------------------------------------------
def test_service_state_converged_pending_restarting() -> None:
    service = ServiceFacts("s1", "web", replicas=2)

    assert service_state(service, [task(1), task(2)], 0.0).converged
    half = service_state(service, [task(1), task(2, "preparing")], 0.0)
    assert not half.converged
    assert [t.state for t in half.pending] == ["preparing"]
    failing = service_state(service, [task(1), task(2, "failed", "shutdown", error="exit 1")], 0)
    assert failing.restarting
    # History of a service that converged since is not held against it.
    assert not service_state(
        service, [task(1), task(2), task(3, "failed", "shutdown")], 0.0
    ).restarting
    # A task that runs but has no container yet is not counted as running.
    assert not service_state(service, [task(1), replace_container(task(2))], 0.0).converged


def replace_container(t: TaskFacts) -> TaskFacts:
    return TaskFacts(t.id, t.service_id, t.slot, t.desired_state, t.state)


@dataclass
class Clock:
    now: float = 0.0
    pauses: list[float] = field(default_factory=list)

    def __call__(self) -> float:
        return self.now

    def pause(self, seconds: float) -> None:
        self.pauses.append(seconds)
        self.now += seconds


def test_settle_waits_until_converged() -> None:
    service = ServiceFacts("s1", "web", replicas=2)
    engine = FakeEngine(tasks_=[task(1)])
    clock = Clock()

    def pause(seconds: float) -> None:
        clock.pause(seconds)
        if clock.now >= 2.0:
            engine.tasks_ = [task(1), task(2)]

    state = settle(engine, service, deadline_s=30, interval_s=0.5, clock=clock, pause=pause)

    assert state.converged
    assert state.waited_s == 2.0


def test_settle_stops_at_its_deadline() -> None:
    service = ServiceFacts("s1", "web", replicas=2)
    engine = FakeEngine(tasks_=[task(1), task(2, "pending")])
    clock = Clock()

    state = settle(engine, service, deadline_s=5, interval_s=0.5, clock=clock, pause=clock.pause)

    assert not state.converged
    assert state.waited_s == 5.0
    assert len(clock.pauses) == 10


# -- the checks' view: whose fault --------------------------------------------------------------
def lab_on(engine: FakeEngine, converge_s: float = 0.0) -> Lab:
    lab = Lab(engine, ExactNames(engine), Prober(engine, image="busybox"))
    lab.converge_deadline_s = converge_s
    return lab


def failure(run: Any) -> str:
    with pytest.raises(CheckFailed) as caught:
        run()
    return caught.value.text.en


def test_no_swarm_is_the_students() -> None:
    lab = lab_on(FakeEngine())
    assert "not a swarm manager (state: inactive)" in failure(lambda: lab.service("redis"))
    assert lab.find_service("redis") is None  # never asked of an engine that cannot answer


def test_missing_converging_and_restarting_services() -> None:
    web = ServiceFacts("s1", "web", replicas=2)
    engine = FakeEngine(swarm_=MANAGER, services_=[web])
    lab = lab_on(engine)
    assert "service 'redis' does not exist" in failure(lambda: lab.running_service("redis"))

    engine.tasks_ = [task(1), task(2, "pending", message="no suitable node")]
    message = failure(lambda: lab_on(engine).running_service("web"))
    assert "still converging after 0 s: 1/2 tasks running (pending: no suitable node)" in message

    engine.tasks_ = [task(1), task(2, "failed", "shutdown", error="task: non-zero exit (1)")]
    message = failure(lambda: lab_on(engine).running_service("web"))
    assert "stop and the swarm starts them again" in message
    assert "non-zero exit (1)" in message

    engine.tasks_ = [task(1), task(2)]
    assert len(lab_on(engine).running_service("web").running) == 2


def test_services_by_project_labels_or_exact_name() -> None:
    mine = ServiceFacts("s1", "p_redis", {COMPOSE_PROJECT: "p", COMPOSE_SERVICE: "redis"})
    other = ServiceFacts("s2", "redis")
    engine = FakeEngine(swarm_=MANAGER, services_=[mine, other])

    assert ComposeNames(engine, "p", fall_back_to_exact=False).service("redis") == mine
    assert ComposeNames(engine, "q", fall_back_to_exact=False).service("redis") is None
    assert ExactNames(engine).service("redis") == other
    assert ExactNames(engine).service("s1") is None  # an id is not a logical name


def test_notes_are_kept_once() -> None:
    lab = lab_on(FakeEngine())
    note = Text(fr="non observé", en="not observed")
    lab.note(note)
    lab.note(note)
    assert lab.notes == (note,)


# -- a stack file, set up ---------------------------------------------------------------------
@dataclass
class RecordingEngine(FakeEngine):
    """Records what a setup asks the engine to make."""

    made: list[tuple[str, Any]] = field(default_factory=list)
    refuse: str = ""

    def _made(self, what: str, spec: Any) -> str:
        if self.refuse and self.refuse in repr(spec):
            raise ObservationError(Text(fr="refusé", en="refused"))
        self.made.append((what, spec))
        return what

    def create_network(
        self, name: str, driver: str, *, attachable: bool, labels: Mapping[str, str]
    ) -> str:
        return self._made("network", (name, driver, attachable, dict(labels)))

    def create_volume(
        self, name: str, driver: str, options: Mapping[str, str], labels: Mapping[str, str]
    ) -> None:
        self._made("volume", (name, driver, dict(options), dict(labels)))

    def create_service(self, spec: ServiceSpec) -> str:
        return self._made("service", spec)

    def start_container(self, spec: ContainerSpec) -> str:
        return self._made("container", spec)

    def init_swarm(self) -> None:
        self.made.append(("init", None))
        self.swarm_ = MANAGER

    def leave_swarm(self) -> None:
        self.made.append(("leave", None))
        self.swarm_ = SwarmFacts("inactive")

    def remove_network(self, name: str) -> bool:
        self.made.append(("remove-network", name))
        return True


STACK: dict[str, Any] = {
    "services": {
        "redis": {
            "image": "redis",
            "deploy": {"replicas": 1, "endpoint_mode": "dnsrr"},
            "networks": {"ov": {}},
        },
        "app": {
            "image": "app",
            "deploy": {"replicas": 2},
            "healthcheck": {"disable": True},
            "networks": {"ov": {"aliases": ["counter"]}},
            "ports": [{"target": 80, "published": "8080", "mode": "host"}],
        },
        "debug": {
            "image": "app",
            "command": ["sleep", "infinity"],
            "networks": {"ov": None},
            "volumes": [{"type": "volume", "source": "cache", "target": "/cache"}],
        },
    },
    "networks": {"ov": {"driver": "overlay", "attachable": True}, "default": {}},
    "volumes": {"cache": {"driver": "local", "driver_opts": {"type": "tmpfs", "o": "size=1m"}}},
}


def images() -> list[Any]:
    from grader.engine.facts import ImageFacts

    return [ImageFacts("sha256:r", ("redis:latest", "redis")), ImageFacts("sha256:a", ("app",))]


def test_a_stack_becomes_services_and_containers_of_the_run() -> None:
    engine = RecordingEngine(images_=images())

    deploy(engine, STACK, project="p", labels={"role": "demo"}, problems=None)

    made = dict((what, []) for what, _ in engine.made)
    for what, spec in engine.made:
        made[what].append(spec)
    own = {"role": "demo", COMPOSE_PROJECT: "p"}
    assert made["network"] == [("p_ov", "overlay", True, {**own, COMPOSE_NETWORK: "ov"})]
    assert made["volume"] == [
        ("p_cache", "local", {"type": "tmpfs", "o": "size=1m"}, {**own, COMPOSE_VOLUME: "cache"})
    ]
    redis, app_service = made["service"]
    assert (redis.name, redis.image, redis.replicas, redis.endpoint_mode) == (
        "p_redis", "sha256:r", 1, "dnsrr",
    )  # fmt: skip
    assert redis.labels == {**own, COMPOSE_SERVICE: "redis"}
    assert [(n.network, n.aliases) for n in app_service.networks] == [("p_ov", ("app", "counter"))]
    assert [(p.target, p.published, p.mode) for p in app_service.ports] == [(80, 8080, "host")]
    assert app_service.no_healthcheck
    (debug,) = made["container"]
    assert (debug.name, debug.image, debug.command) == (
        "p-debug-1",
        "sha256:a",
        ("sleep", "infinity"),
    )
    assert [(m.source, m.target, m.type) for m in debug.mounts] == [("p_cache", "/cache", "volume")]


def test_a_mutant_that_does_not_come_up_is_graded_as_it_is() -> None:
    engine = RecordingEngine(images_=images(), refuse="p-debug-1")
    problems: list[str] = []

    deploy(engine, STACK, project="p", labels={}, problems=problems)

    assert problems == ["container debug: refused"]
    assert [what for what, _ in engine.made].count("service") == 2
    with pytest.raises(SetupFailed, match="did not come up"):
        deploy(RecordingEngine(images_=images(), refuse="p-debug-1"), STACK, project="p",
               labels={}, problems=None)  # fmt: skip


def test_a_run_joins_a_swarm_and_leaves_it_or_uses_the_one_there() -> None:
    engine = RecordingEngine()
    with swarm_for_a_run(engine) as swarm:
        assert swarm.manager
    assert engine.made == [("init", None), ("leave", None), ("remove-network", GATEWAY_BRIDGE)]

    there = RecordingEngine(swarm_=MANAGER)
    with swarm_for_a_run(there):
        pass
    assert there.made == []

    for state in (SwarmFacts("active", control_available=False), SwarmFacts("pending")):
        with pytest.raises(SetupFailed, match="without being a manager"):  # noqa: SIM117
            with swarm_for_a_run(RecordingEngine(swarm_=state)):
                pass


# -- batch ------------------------------------------------------------------------------------
def test_a_swarm_lab_is_graded_in_place_only() -> None:
    with pytest.raises(UsageError) as refused:
        ensure_replayable(find("tp-overlay"))
    assert "graded in place only (--hosts)" in refused.value.text.en
    ensure_replayable(find("tp-reseau"))  # a Compose lab replays


@pytest.mark.parametrize("args", [[], ["/tmp"]])
def test_grade_batch_of_a_swarm_lab_says_so(args: list[str]) -> None:
    result = CliRunner().invoke(app, ["batch", "tp-overlay", *args, "--lang", "en"])

    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    assert "tp-overlay is graded in place only (--hosts)" in lines[0]
    assert "Traceback" not in result.output


def test_a_step_a_check_can_do_without_is_not_tried_again() -> None:
    from grader.observe.http import HttpGet, HttpResult
    from grader.observe.retry import transient
    from grader.observe.tcp import TcpConnect, TcpResult

    missed = TcpResult("10.0.1.2", 6379, connected=False)
    assert transient(TcpConnect("10.0.1.2", 6379), missed)
    assert not transient(TcpConnect("10.0.1.2", 6379, retried=False), missed)
    silent = HttpResult("http://127.0.0.1:8080/", None)
    assert transient(HttpGet("http://127.0.0.1:8080/"), silent)
    assert not transient(HttpGet("http://127.0.0.1:8080/", retried=False), silent)
