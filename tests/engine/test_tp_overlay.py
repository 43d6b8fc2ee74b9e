"""tp-overlay against a real engine: on an engine in no swarm, the selftest (reference 20/20,
nothing set up 0, each declared mutant misses exactly its checks, each generated one caught)
joins a single-node swarm and leaves it; on an engine already in a swarm, the demo grades
20/20 and leaves the swarm as it was; hand-built setups the stack file cannot make (a task that
keeps exiting, a service that cannot converge, an engine in no swarm) fail the student, never
the grader.

Which engine: a private second engine (tests/support/second_engine.py, in a network namespace
of its own), always, unless ``TPG_SWARM_ON_MACHINE_ENGINE=1`` says the machine's engine may be
made a swarm manager (a CI machine of its own); every test checks the engine's swarm is left
as it found it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import docker
import pytest

from grader import defaults
from grader.demo import run_demo
from grader.engine.connection import connect
from grader.engine.docker_engine import DockerEngine
from grader.exercise.catalog import find
from grader.exercise.model import Exercise
from grader.harness import GradeRequest, grade
from grader.judge.outcome import CheckStatus
from grader.selftest.run import selftest
from grader.setup.stand_ins import build_stand_ins
from tests.support.images import BUSYBOX, TEST_LABEL
from tests.support.second_engine import second_engine
from tests.support.wait import wait_for

#: Its tests share module fixtures: on one worker of a parallel run (tests/support/workers.py).
pytestmark = pytest.mark.xdist_group("tp-overlay")

#: The mistakes the issue names, each by its declared mutant in mutants.yaml.
REQUIRED_MUTANTS = {
    "une-seule-replique",
    "reseau-non-attachable",
    "publication-mode-host",
    "volume-sans-options",
    "redis-hors-overlay",
}


@pytest.fixture(scope="module")
def overlay() -> Exercise:
    return find("tp-overlay")


@pytest.fixture(scope="module")
def swarm_url(docker_client: docker.DockerClient, busybox: str) -> Iterator[str]:
    if os.environ.get("TPG_SWARM_ON_MACHINE_ENGINE") == "1":
        yield os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
        return
    with second_engine(docker_client, [busybox]) as url:
        yield url


@pytest.fixture
def swarm_engine(swarm_url: str) -> Iterator[DockerEngine]:
    """The engine, checked to be left in the swarm state it was found in."""
    engine = connect(swarm_url)
    before = _swarm_state(engine)
    try:
        yield engine
        assert _swarm_state(engine) == before, "the swarm was not left as found"
    finally:
        engine.close()


def _swarm_state(engine: DockerEngine) -> tuple[object, ...]:
    swarm = engine.swarm()
    networks = sorted(n["Name"] for n in engine.api.networks())
    services = engine.services({}) if swarm.manager else []
    return swarm.local_node_state, swarm.node_id, tuple(networks), len(services)


def _leftovers(engine: DockerEngine) -> list[str]:
    role = {"label": defaults.LABEL_ROLE}
    found = [c["Names"][0] for c in engine.api.containers(all=True, filters=role)]
    found += [n["Name"] for n in engine.api.networks(filters=role)]
    found += [v["Name"] for v in (engine.api.volumes(filters=role) or {}).get("Volumes") or ()]
    return found


@pytest.mark.slow
def test_selftest_joins_a_swarm_and_leaves_it(
    overlay: Exercise, swarm_engine: DockerEngine, swarm_url: str
) -> None:
    assert swarm_engine.swarm().local_node_state == "inactive"
    report = selftest(
        overlay, engine=swarm_engine, host=swarm_url, probe_image=BUSYBOX, stand_ins=True, jobs=4
    )
    assert report.reference.score == 20, report.reference
    assert not report.reference.not_passing, report.reference
    assert report.baseline.score == 0, report.baseline
    declared = {run.id: run for run in report.declared}
    assert set(declared) >= REQUIRED_MUTANTS
    for run in report.declared:  # each misses exactly the checks it declares
        assert run.held, (run.id, sorted(run.not_passing), sorted(run.expected or ()), run.error)
    assert not report.survived, [run.id for run in report.survived]
    assert not report.stale_equivalences
    assert report.ok
    # Every check is shown to fail on some mutant (none passes by construction).
    assert report.checks_never_failing == ()
    assert swarm_engine.swarm().local_node_state == "inactive"
    assert _leftovers(swarm_engine) == []


@pytest.mark.slow
def test_demo_on_an_engine_already_in_a_swarm(
    overlay: Exercise, swarm_engine: DockerEngine
) -> None:
    api = swarm_engine.api
    api.init_swarm(advertise_addr="127.0.0.1", listen_addr="127.0.0.1:2377")
    had_bridge = swarm_engine.network("docker_gwbridge") is not None
    kept = api.create_network("tpg-test-kept", driver="overlay", attachable=True, labels=TEST_LABEL)
    try:
        result = run_demo(overlay, engine=swarm_engine, stand_ins=True, probe_image=BUSYBOX)
        seen = [(c.check_id, c.status, c.outcome.message) for c in result.sheet.checks]
        assert result.score == 20, seen
        # What this machine could not observe is said, never held against the demo.
        for note in result.notes[1:]:
            assert "not observed" in note.en, note.en
        swarm = swarm_engine.swarm()
        assert swarm.manager, "the demo left the swarm it found"
        assert swarm_engine.network("tpg-test-kept") is not None
        assert swarm_engine.services({}) == []
        assert _leftovers(swarm_engine) == []
    finally:
        api.remove_network(kept["Id"])
        api.leave_swarm(force=True)
        if not had_bridge:
            wait_for(
                lambda: swarm_engine.remove_network("docker_gwbridge"),
                timeout_s=30,
                what="the gateway bridge to go",
            )


def _grade(exercise: Exercise, engine: DockerEngine) -> dict[str, tuple[CheckStatus, str]]:
    request = GradeRequest(exercise, student="test", lang="en", probe_image=BUSYBOX)
    result = grade(request, engine=engine)
    return {
        c.check_id: (c.status, c.outcome.message.en if c.outcome.message is not None else "")
        for c in result.sheet.checks
    }


def test_no_swarm_fails_the_student(overlay: Exercise, swarm_engine: DockerEngine) -> None:
    """An engine in no swarm: the student's failure (no error), and nothing vacuous."""
    assert swarm_engine.swarm().local_node_state == "inactive"
    outcomes = _grade(overlay, swarm_engine)
    assert outcomes["swarm-manager"][0] is CheckStatus.FAILED
    assert "not a swarm manager (state: inactive)" in outcomes["swarm-manager"][1]
    assert all(status is not CheckStatus.PASSED for status, _ in outcomes.values())
    assert all(status is not CheckStatus.ERROR for status, _ in outcomes.values()), outcomes


@pytest.mark.slow
def test_services_that_do_not_settle_are_the_students(
    overlay: Exercise, swarm_engine: DockerEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """moby-counter's tasks exit at once (the swarm keeps starting new ones); redis cannot be
    placed (a constraint no node meets): both fail their check after the bounded wait, saying
    which, and nothing is an ``error``."""
    monkeypatch.setattr(defaults, "SERVICE_CONVERGE_S", 12.0)
    client = docker.DockerClient(base_url=swarm_engine.info.endpoint, version="auto")
    client.swarm.init(advertise_addr="127.0.0.1", listen_addr="127.0.0.1:2377")
    had_bridge = swarm_engine.network("docker_gwbridge") is not None
    try:
        images = build_stand_ins(overlay, swarm_engine, BUSYBOX)
        image = {name: swarm_engine.image(ref).id for name, ref in images.items()}  # type: ignore[union-attr]
        client.networks.create("moby-overlay", driver="overlay", attachable=True, labels=TEST_LABEL)
        client.services.create(
            image["app"], ["false"], name="moby-counter", networks=["moby-overlay"],
            mode=docker.types.ServiceMode("replicated", replicas=2), labels=TEST_LABEL,
            container_labels=TEST_LABEL,
        )  # fmt: skip
        client.services.create(
            image["redis"], name="redis", networks=["moby-overlay"], labels=TEST_LABEL,
            constraints=["node.labels.tpg-test-never==1"], container_labels=TEST_LABEL,
        )  # fmt: skip
        outcomes = _grade(overlay, swarm_engine)
        assert outcomes["swarm-manager"][0] is CheckStatus.PASSED
        assert outcomes["overlay-cree"][0] is CheckStatus.PASSED
        status, message = outcomes["app-service"]
        assert status is CheckStatus.FAILED, message
        assert "starts them again" in message
        status, message = outcomes["redis-service"]
        assert status is CheckStatus.FAILED, message
        assert "still converging" in message
        assert outcomes["dns-services"][0] is CheckStatus.SKIPPED
        assert all(status is not CheckStatus.ERROR for status, _ in outcomes.values()), outcomes
    finally:
        for service in client.services.list(filters={"label": "io.tp-grader.test"}):
            service.remove()
        wait_for(
            lambda: not client.api.containers(all=True, filters={"label": "io.tp-grader.test"}),
            timeout_s=60,
            what="the test services' tasks to go",
        )
        client.swarm.leave(force=True)  # its swarm-scoped networks go with it
        if not had_bridge:
            wait_for(
                lambda: swarm_engine.remove_network("docker_gwbridge"),
                timeout_s=30,
                what="the gateway bridge to go",
            )
        client.close()
