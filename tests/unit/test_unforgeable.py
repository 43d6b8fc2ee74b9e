"""Observations a submission cannot forge, as pure logic on a fake engine (the engine tests
make the forgeries for real): a TCP check connects to the address the engine gave the named
container, never to a name the connecting container resolves; the main process's user is read
by a probe of the grader's, in the container's PID namespace, never by a program of the
student's image."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest

from grader.engine.facts import ContainerFacts, Endpoint, ImageFacts, NetworkFacts
from grader.engine.probe import ProbeOutput, ProbeSpec
from grader.judge import expect
from grader.judge.lab import Lab
from grader.judge.outcome import CheckFailed
from grader.observe.dns import DnsAnswer, DnsLookup
from grader.observe.names import ExactNames
from grader.observe.prober import Prober
from grader.observe.process import ProcessStatus, Uids, main_process
from grader.observe.steps import StepOutput
from grader.observe.tcp import TcpResult, TcpToContainer
from tests.support.fake_engine import FakeEngine

NET = NetworkFacts("n" * 64, "moby-network", "bridge")
APP = ContainerFacts(
    id="a" * 64, name="moby-counter", image="app", image_id="sha256:aa", status="running",
    endpoints=(Endpoint(NET.id, NET.name, "172.18.0.3"),),
)  # fmt: skip
REDIS = replace(
    APP,
    id="b" * 64,
    name="redis",
    image="redis",
    endpoints=(Endpoint(NET.id, NET.name, "10.9.0.2"),),
)
TO_REDIS = TcpToContainer("redis", 6379, network="moby-network")


def framed(spec: ProbeSpec, *outputs: tuple[str, int]) -> ProbeOutput:
    """What a probe running ``spec`` prints when its steps print ``outputs`` (text, status)."""
    found = re.search(r"@@(\w+):begin 0", spec.script)
    assert found is not None
    nonce = found[1]
    frames = "".join(
        f"@@{nonce}:begin {i}\n{text}\n@@{nonce}:end {i} {status} {len(text)}\n"
        for i, (text, status) in enumerate(outputs)
    )
    return ProbeOutput(frames.encode(), b"", truncated=False, duration_s=0.1)


def lab_with(*containers: ContainerFacts, outputs: tuple[tuple[str, int], ...] = ()) -> Lab:
    engine = FakeEngine(containers_=list(containers), networks_=[NET])
    engine.images_ = [ImageFacts("sha256:bb", ("busybox:1.36.1",))]
    engine.probe_handler = lambda spec: framed(spec, *outputs)
    return Lab(engine, ExactNames(engine), Prober(engine), reinspect_wait_s=0.2)


def probes(lab: Lab) -> list[ProbeSpec]:
    engine = lab.engine
    assert isinstance(engine, FakeEngine)
    return engine.probes_run


# -- TCP: to the engine's address of the named container ----------------------------------------
def test_the_connection_goes_to_the_engines_address_never_to_the_name() -> None:
    lab = lab_with(APP, REDIS, outputs=(("", 0),))

    result = lab.observe_from("moby-counter", TO_REDIS).of(TO_REDIS)

    (probe,) = probes(lab)
    assert probe.network_mode == f"container:{APP.id}"
    assert "nc -w 3 10.9.0.2 6379 -e true" in probe.script
    assert " redis " not in probe.script
    assert result == TcpResult("10.9.0.2", 6379, True, "", target="redis", network="moby-network")
    expect.reaches(result, where="moby-counter")


@pytest.mark.parametrize(
    ("redis", "message"),
    [
        (None, "container 'redis' does not exist"),
        (replace(REDIS, status="exited"), "container 'redis' is not running (state: exited)"),
        (replace(REDIS, endpoints=()), "container 'redis' is not attached to network"),
        (
            replace(REDIS, endpoints=(Endpoint(NET.id, NET.name, ""),)),
            "container 'redis' has no IPv4 address on network 'moby-network'",
        ),
    ],
)
def test_a_target_that_cannot_be_reached_fails_its_own_step_only(
    redis: ContainerFacts | None, message: str
) -> None:
    """The probe still makes the other observations of its site."""
    present = (APP,) if redis is None else (APP, redis)
    lab = lab_with(*present, outputs=(("Name: redis\nAddress: 10.9.0.2\n", 0),))

    seen = lab.observe_from("moby-counter", DnsLookup("redis"), TO_REDIS)

    assert seen.of(DnsLookup("redis")).addresses == ("10.9.0.2",)
    with pytest.raises(CheckFailed) as caught:
        seen.of(TO_REDIS)
    assert message in caught.value.text.en
    with pytest.raises(CheckFailed):
        seen.results()
    (probe,) = probes(lab)
    assert "nc " not in probe.script


def test_a_refused_connection_names_the_container_and_its_address() -> None:
    refused = TcpResult(
        "10.9.0.2", 6379, False, "nc: can't connect to remote host (10.9.0.2): Connection refused",
        target="redis", network="moby-network",
    )  # fmt: skip

    with pytest.raises(CheckFailed) as caught:
        expect.reaches(refused, where="moby-counter")

    assert caught.value.text.en == (
        "from 'moby-counter', no TCP connection to 'redis' on port 6379 (its address on "
        "'moby-network': 10.9.0.2): nc: can't connect to remote host (10.9.0.2): Connection "
        "refused"
    )
    assert caught.value.text.fr.startswith(
        "depuis « moby-counter », pas de connexion TCP vers « redis » sur le port 6379 (son "
        "adresse sur « moby-network » : 10.9.0.2)"
    )


def test_through_a_name_the_dns_must_lead_to_that_address() -> None:
    """redis2-joignable: the alias's answer must include redis2's address, and redis2 accept."""
    reached = TcpResult("10.9.0.2", 6379, True, target="redis2", network="moby-network2")
    elsewhere = DnsAnswer("redis", "answered", ("10.9.0.7",))

    expect.reaches(reached, where="a", through=DnsAnswer("redis", "answered", ("10.9.0.2",)))
    with pytest.raises(CheckFailed) as caught:
        expect.reaches(reached, where="moby-counter2", through=elsewhere)
    assert caught.value.text.en == (
        "from 'moby-counter2', 'redis' resolves to 10.9.0.7, not 10.9.0.2 (the address of "
        "'redis2' on 'moby-network2')"
    )


# -- the main process's user: the kernel's, from the container's PID namespace ------------------
def test_the_user_is_read_by_a_probe_in_the_pid_namespace() -> None:
    lab = lab_with(APP, outputs=(("Name:\tsleep\nUid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0", 0),))

    user = lab.main_process_user(APP)

    assert user.uids == Uids(0, 0, 0, 0)
    assert user.name is None  # the fake engine has no /etc/passwd
    (probe,) = probes(lab)
    assert (probe.pid_mode, probe.network_mode, probe.userns_mode) == (
        f"container:{APP.id}",
        "none",
        "",
    )
    assert "cat /proc/1/status" in probe.script


def test_the_user_probe_starts_once_and_early() -> None:
    lab = lab_with(APP, outputs=(("Uid:\t999\t999\t999\t999", 0),))

    lab.observe_main_process_user("moby-counter")
    lab.observe_main_process_user("nobody-here")  # left to the check that asks
    user = lab.main_process_user(APP)

    assert user.uid == 999
    assert len(probes(lab)) == 1


@pytest.mark.parametrize(
    ("changes", "where"),
    [
        ({}, (f"container:{APP.id}", 1, "")),
        ({"pid_mode": "host", "pid": 4242}, (f"container:{APP.id}", 4242, "")),
        ({"userns_mode": "host"}, (f"container:{APP.id}", 1, "host")),
    ],
)
def test_where_the_main_process_is_read(
    changes: dict[str, object], where: tuple[str, int, str]
) -> None:
    found = main_process(replace(APP, **changes))  # type: ignore[arg-type]

    assert found is not None
    site, status = found
    assert (site.pid_mode, status.pid, site.userns_mode) == where
    assert site.network_mode == "none"


def test_a_container_in_another_ones_pid_namespace_has_no_main_process_to_read() -> None:
    assert main_process(replace(APP, pid_mode="container:honest")) is None


@pytest.mark.parametrize(
    ("text", "status", "uids"),
    [
        ("Uid:\t999\t999\t999\t999\n", 0, Uids(999, 999, 999, 999)),
        ("Uid:\t0\t999\t0\t999\n", 0, Uids(0, 999, 0, 999)),
        ("Uid:\t999\t999\t999\t999\n", 1, None),
        ("cat: can't open '/proc/1/status': No such file or directory", 1, None),
        ("Uid:\t999\n", 0, None),
    ],
)
def test_process_status_parse(text: str, status: int, uids: Uids | None) -> None:
    assert ProcessStatus().parse(StepOutput(text, status)) == uids
