"""Probes under stress: a deadline turns a hung observation into ``error`` and the run goes
on; hostile output still gives valid reports; Ctrl-C leaves no probe; grading changes nothing."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import docker
import pytest

from grader import defaults
from grader.engine.docker_engine import DockerEngine
from grader.engine.facts import ContainerFacts
from grader.errors import ProbeTimeout
from grader.exercise.model import Exercise
from grader.harness import GradeRequest, grade
from grader.judge.outcome import CheckStatus
from grader.observe.dns import DnsLookup
from grader.observe.prober import Prober
from grader.observe.steps import ENGINE_HOST, StepOutput, netns_site
from grader.report.json_report import write_json
from grader.report.junit import write_junit
from tests.engine.test_tp_reseau import build_reseau, statuses
from tests.support.images import BUSYBOX, build_test_image
from tests.support.lab import LabBuilder
from tests.support.net import http_answers
from tests.support.reports import assert_valid_junit, read_json
from tests.support.wait import wait_for


def test_probe_deadline_is_an_error_and_the_run_goes_on(
    lab: LabBuilder, engine: DockerEngine, reseau: Exercise, reseau_images: dict[str, str]
) -> None:
    # moby-counter's DNS never answers, and nslookup waits longer than the probe may live.
    build_reseau(lab, reseau_images, "dns-redis")

    result = grade(
        GradeRequest(reseau, probe_image=BUSYBOX, student="t", lang="en", probe_deadline_s=1.0),
        engine=engine,
    )

    outcome = statuses(result)
    assert outcome["dns-redis"] == "error"
    assert outcome["app-vers-redis"] == "skipped"
    assert {k: v for k, v in outcome.items() if k not in ("dns-redis", "app-vers-redis")} == {
        k: "passed" for k in outcome if k not in ("dns-redis", "app-vers-redis")
    }
    dns = next(c for c in result.sheet.checks if c.check_id == "dns-redis")
    assert "did not finish within 1 s" in dns.outcome.message.en
    assert result.score == 15


HOSTILE_SERVER = """\
FROM {base}
COPY serve /serve
STOPSIGNAL SIGKILL
CMD ["nc", "-ll", "-p", "80", "-e", "/serve"]
"""
# No status line, control bytes, 5 MB: what reaches the report is bounded and clean.
HOSTILE_SCRIPT = """#!/bin/sh
junk() {
  printf '\\033[31mEVIL\\000\\001\\002 ]]> <x>&amp;\\377\\376 \\033]0;title\\007\\r\\n'
}
junk; head -c 5000000 /dev/zero | tr '\\000' 'A'; junk
"""


def test_hostile_output_gives_valid_bounded_reports(
    tmp_path: Path,
    lab: LabBuilder,
    engine: DockerEngine,
    reseau: Exercise,
    docker_client: docker.DockerClient,
    busybox: str,
) -> None:
    hostile = build_test_image(
        docker_client, "tp-grader-test/hostile-http:latest", HOSTILE_SERVER, serve=HOSTILE_SCRIPT
    )
    lab.run("moby-counter", hostile, ports={80: 8000})
    wait_for(lambda: http_answers(8000), what="the hostile server to answer")

    result = grade(
        GradeRequest(reseau, probe_image=BUSYBOX, student="t\x1b[31m\x00", lang="en"), engine=engine
    )
    write_json(result, tmp_path / "r.json")
    write_junit(result, tmp_path / "r.xml")

    port = next(c for c in result.sheet.checks if c.check_id == "port-publie")
    assert port.status is CheckStatus.FAILED
    assert len(port.outcome.message.en) < 1000  # 5 MB answered, a few hundred bytes kept
    report = read_json(tmp_path / "r.json")
    assert_valid_junit(tmp_path / "r.xml")
    everything = json.dumps(report) + (tmp_path / "r.xml").read_text(encoding="utf-8")
    assert "\x1b" not in everything
    assert "\\u001b" not in everything
    assert "\\u0000" not in everything
    assert "\x00" not in everything
    assert (tmp_path / "r.xml").stat().st_size < 100_000
    assert (tmp_path / "r.json").stat().st_size < 100_000


def _running_probes(client: docker.DockerClient) -> list[dict[str, Any]]:
    return client.api.containers(all=True, filters={"label": f"{defaults.LABEL_ROLE}=probe"})


def test_ctrl_c_leaves_no_probe_and_a_well_formed_report(
    tmp_path: Path,
    lab: LabBuilder,
    docker_client: docker.DockerClient,
    reseau_images: dict[str, str],
) -> None:
    build_reseau(lab, reseau_images, "dns-redis")  # its DNS probe takes seconds
    json_path = tmp_path / "r.json"
    # The signal must land while a probe runs: on a busy machine the grading may still end
    # between the probe seen and the signal sent. Such a run (a whole report, no interruption)
    # did not test anything, and is run again, a few times at most.
    for _ in range(4):
        process = subprocess.Popen(
            [sys.executable, "-m", "grader", "check", "tp-reseau", "--json", str(json_path)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        try:
            wait_for(lambda: _running_probes(docker_client), timeout_s=30, what="a probe to start")
            process.send_signal(signal.SIGINT)
            output, _ = process.communicate(timeout=30)
        finally:
            if process.poll() is None:
                process.kill()
        if process.returncode == 130 or b"Total" not in output:
            break

    assert process.returncode == 130, output
    assert b"Traceback" not in output
    wait_for(lambda: not _running_probes(docker_client), timeout_s=10, what="no probe left")
    report = read_json(json_path)
    assert report["interrupted"] is True
    assert any(c["status"] == "error" for c in report["checks"])


def _snapshot(client: docker.DockerClient) -> dict[str, Any]:
    def container(summary: dict[str, Any]) -> dict[str, Any]:
        data = client.api.inspect_container(summary["Id"])
        return {
            "state": {k: data["State"][k] for k in ("Status", "Pid", "StartedAt")},
            "restarts": data["RestartCount"],
            "mounts": data["Mounts"],
            "networks": sorted(data["NetworkSettings"]["Networks"]),
            "config": data["Config"],
            "host_config": data["HostConfig"],
        }

    return {
        "containers": {c["Id"]: container(c) for c in client.api.containers(all=True)},
        "networks": sorted(n["Id"] for n in client.api.networks()),
        "volumes": sorted(v["Name"] for v in client.api.volumes()["Volumes"] or ()),
    }


def test_grading_changes_nothing(
    lab: LabBuilder,
    engine: DockerEngine,
    reseau: Exercise,
    reseau_images: dict[str, str],
    docker_client: docker.DockerClient,
) -> None:
    build_reseau(lab, reseau_images)
    before = _snapshot(docker_client)

    grade(GradeRequest(reseau, probe_image=BUSYBOX, student="t"), engine=engine)

    wait_for(lambda: not _running_probes(docker_client), timeout_s=10, what="probes removed")
    assert _snapshot(docker_client) == before


def test_engine_calls_in_threads_are_not_broken_by_pytest_changing_the_environment(
    engine: DockerEngine,
) -> None:
    """The checks run in pytest, which sets and removes ``PYTEST_CURRENT_TEST`` between
    checks, while probes talk to the engine from other threads: an engine call must never
    read the environment (requests reads its proxy settings there, key by key, and a key gone
    meanwhile was a ``KeyError`` that turned a passed check into ``error``)."""
    from concurrent.futures import ThreadPoolExecutor

    stop = threading.Event()

    def pytest_between_checks() -> None:
        while not stop.is_set():
            os.environ["TPG_TEST_FLICKER"] = "setup"
            os.environ.pop("TPG_TEST_FLICKER")

    switch_interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # threads take turns often: the race shows in a few calls
    flicker = threading.Thread(target=pytest_between_checks, daemon=True)
    flicker.start()
    try:
        with ThreadPoolExecutor(4) as pool:
            answers = list(pool.map(lambda _: engine.ping(), range(200)))
    finally:
        stop.set()
        flicker.join()
        sys.setswitchinterval(switch_interval)
    assert all(answers)


# -- standby probes (an exercise's probe_sites, started before the checks load) -------------------
def _probes_of(client: docker.DockerClient, run_id: str) -> list[dict[str, Any]]:
    label = f"{defaults.LABEL_RUN}={run_id}"
    return list(client.api.containers(all=True, filters={"label": label}))


def _running(client: docker.DockerClient, run_id: str) -> list[dict[str, Any]]:
    return [probe for probe in _probes_of(client, run_id) if probe["State"] == "running"]


def _wait_until_none_left(client: docker.DockerClient, run_id: str, what: str) -> None:
    wait_for(lambda: not _probes_of(client, run_id), timeout_s=20, what=what)


def _created(client: docker.DockerClient, run_id: str, since: float) -> int:
    """How many containers of the run the engine created since ``since`` (its event log)."""
    events = client.api.events(
        since=int(since) - 1,
        until=int(time.time()) + 1,
        filters={"type": "container", "event": "create", "label": f"{defaults.LABEL_RUN}={run_id}"},
        decode=True,
    )
    return sum(1 for _ in events)


@pytest.fixture
def standby_target(lab: LabBuilder, engine: DockerEngine, busybox: str) -> ContainerFacts:
    network = lab.network("tpg-standby-net")
    lab.run("tpg-standby-target", busybox, network=network, command=["sleep", "600"])
    found = engine.container("tpg-standby-target")
    assert found is not None
    return found


def test_a_standby_probe_serves_the_first_run_at_its_site_then_ends(
    engine: DockerEngine,
    docker_client: docker.DockerClient,
    busybox: str,
    standby_target: ContainerFacts,
) -> None:
    prober = Prober(engine, image=busybox)
    site = netns_site(standby_target)
    since = time.time()
    try:
        prober.start_ahead(site)
        wait_for(lambda: _created(docker_client, prober.run_id, since) == 1, timeout_s=20)
        (first,) = prober.run(site, [DnsLookup("tpg-standby-target")])
        (second,) = prober.run(site, [DnsLookup("tpg-standby-target")])
        # In the target's namespace, the embedded DNS answers with the target's own address,
        # from the standby as from a probe of its own.
        address = _address_of(standby_target)
        assert first.has(address), first
        assert second.has(address), second
        # The standby served the first run, and only it: two runs, two containers.
        assert _created(docker_client, prober.run_id, since) == 2
        # It ended with its run, as a probe of its own does: nothing waits for close().
        _wait_until_none_left(docker_client, prober.run_id, "the standby probe to end by itself")
    finally:
        prober.close()


def test_a_standby_probe_keeps_the_deadline_and_leaves_nothing(
    engine: DockerEngine,
    docker_client: docker.DockerClient,
    busybox: str,
    standby_target: ContainerFacts,
) -> None:
    prober = Prober(engine, image=busybox, deadline_s=1.0)
    site = netns_site(standby_target)
    try:
        prober.start_ahead(site)
        started = time.monotonic()
        with pytest.raises(ProbeTimeout):
            prober.run(site, [_Sleeps(30)])
        assert time.monotonic() - started < 15
        _wait_until_none_left(docker_client, prober.run_id, "the timed-out standby to be removed")
    finally:
        prober.close()


def test_a_standby_probe_past_its_lifetime_is_made_up_by_a_new_probe(
    engine: DockerEngine,
    docker_client: docker.DockerClient,
    busybox: str,
    standby_target: ContainerFacts,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(defaults, "STANDBY_PROBE_LIFETIME_S", 1)
    prober = Prober(engine, image=busybox)
    site = netns_site(standby_target)
    since = time.time()
    try:
        prober.start_ahead(site)
        wait_for(lambda: _created(docker_client, prober.run_id, since) == 1, timeout_s=20)
        _wait_until_none_left(docker_client, prober.run_id, "the standby to end at its lifetime")
        (answer,) = prober.run(site, [DnsLookup("tpg-standby-target")])
        assert answer.has(_address_of(standby_target)), answer
        assert _created(docker_client, prober.run_id, since) == 2
    finally:
        prober.close()


def test_a_standby_probe_removed_before_its_run_is_made_up_by_a_new_probe(
    engine: DockerEngine,
    docker_client: docker.DockerClient,
    busybox: str,
    standby_target: ContainerFacts,
) -> None:
    """Someone removed the standby (a student's ``docker rm -f``): the script sent to it gets
    nothing back, and the run gets a probe of its own instead of a miss."""
    prober = Prober(engine, image=busybox)
    site = netns_site(standby_target)
    since = time.time()
    try:
        prober.start_ahead(site)
        wait_for(lambda: len(_running(docker_client, prober.run_id)) == 1, timeout_s=20)
        (standby,) = _running(docker_client, prober.run_id)
        docker_client.api.remove_container(standby["Id"], force=True)
        (answer,) = prober.run(site, [DnsLookup("tpg-standby-target")])
        assert answer.has(_address_of(standby_target)), answer
        assert _created(docker_client, prober.run_id, since) == 2
    finally:
        prober.close()


def test_a_standby_probe_no_check_used_is_removed_at_the_end(
    engine: DockerEngine,
    docker_client: docker.DockerClient,
    busybox: str,
    standby_target: ContainerFacts,
) -> None:
    prober = Prober(engine, image=busybox)
    prober.start_ahead(netns_site(standby_target))
    prober.start_ahead(ENGINE_HOST)
    prober.close()
    assert _probes_of(docker_client, prober.run_id) == []


class _Shell:
    """A step that runs ``script`` and gives what it printed and its exit status."""

    def __init__(self, script: str) -> None:
        self._script = script

    def script(self) -> str:
        return self._script

    def parse(self, output: StepOutput) -> tuple[str, int]:
        return output.text.strip(), output.exit_code


@pytest.mark.parametrize("ahead", [True, False], ids=["standby", "own-probe"])
def test_a_probes_steps_run_together_each_in_a_folder_of_its_own(
    engine: DockerEngine, busybox: str, standby_target: ContainerFacts, ahead: bool
) -> None:
    """The first step waits for a file the second makes (run one after the other, it would
    time out); each writes the same name in its own folder; a step that reads its stdin gets
    nothing of the script (sent on a standby's stdin), and the steps after it still run."""
    prober = Prober(engine, image=busybox)
    site = netns_site(standby_target)
    try:
        if ahead:
            prober.start_ahead(site)
        waits, makes, reads, last = prober.run(
            site,
            [
                _Shell("echo 0 >mine; timeout 10 sh -c 'until [ -e ../s1/here ]; do sleep 0.05; "
                       "done' && cat mine"),
                _Shell("echo 1 >mine; touch here; cat mine"),
                _Shell("cat; echo read-all"),
                _Shell("echo last"),
            ],
        )  # fmt: skip
        assert (waits, makes) == (("0", 0), ("1", 0))
        assert reads == ("read-all", 0)
        assert last == ("last", 0)
    finally:
        prober.close()


class _Sleeps:
    """A step that outlives any probe deadline."""

    def __init__(self, seconds: int) -> None:
        self.seconds = seconds

    def script(self) -> str:
        return f"sleep {self.seconds}"

    def parse(self, output: StepOutput) -> int:
        return output.exit_code


def _address_of(container: ContainerFacts) -> str:
    (endpoint,) = (e for e in container.endpoints if e.network_name == "tpg-standby-net")
    return endpoint.ip_address


def test_grading_runs_its_first_probes_in_the_standbys_of_its_probe_sites(
    lab: LabBuilder,
    engine: DockerEngine,
    docker_client: docker.DockerClient,
    reseau: Exercise,
    reseau_images: dict[str, str],
) -> None:
    build_reseau(lab, reseau_images)
    lab.wait_ready()
    run_id = "standbytest01"
    since = time.time()

    result = grade(
        GradeRequest(reseau, probe_image=BUSYBOX, student="t", lang="en", run_id=run_id),
        engine=engine,
    )

    assert result.score == reseau.rubric.max_score, statuses(result)
    events = list(
        docker_client.api.events(
            since=int(since) - 1,
            until=int(time.time()) + 1,
            filters={"type": "container", "label": f"{defaults.LABEL_RUN}={run_id}"},
            decode=True,
        )
    )
    actions = [str(event.get("Action", "")).split(":")[0] for event in events]
    # One probe per site tp-reseau names (moby-counter's and moby-counter2's namespaces, the
    # engine host), each a standby its steps were run in: sent on its stdin, no exec.
    assert actions.count("create") == 3, actions
    assert actions.count("attach") == 3, actions
    assert "exec_start" not in actions, actions
    wait_for(lambda: not _probes_of(docker_client, run_id), timeout_s=20, what="no probe left")
