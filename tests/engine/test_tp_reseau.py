"""tp-reseau against the real engine: the reference scores 20/20, and each mutant of it (one
mistake a student could make) flips exactly the checks it should, with the rubric's score.

A setup is built the way the prompt's ``docker`` commands build it (same Engine API calls),
with the stand-in images, and removed after the test whatever happens.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import docker
import pytest

from grader.engine.docker_engine import DockerEngine
from grader.exercise.model import Exercise
from grader.harness import GradeRequest, grade
from grader.judge.outcome import CheckStatus
from grader.result import GradeResult
from tests.support.images import BUSYBOX, TEST_LABEL, static_busybox
from tests.support.lab import LabBuilder
from tests.support.net import http_answers
from tests.support.wait import wait_for

#: Its tests share module fixtures: on one worker of a parallel run (tests/support/workers.py).
pytestmark = pytest.mark.xdist_group("tp-reseau")

PASSED, FAILED, SKIPPED, ERROR = "passed", "failed", "skipped", "error"

#: Per mutant, the checks that must not pass (every other check must pass). These are the
#: mutants only a hand-built setup can make (docker run as the prompt, a config-only network,
#: raw HTTP servers, a network connected after start...); the plain mistakes live in
#: exercises/tp-reseau/mutants.yaml and selftest's generated mutants (test_selftest.py).
EXPECTED: dict[str, dict[str, str]] = {
    "reference": {},
    # No non-bridge driver can be created on this engine (macvlan/ipvlan unsupported, overlay
    # needs swarm): a config-only network (driver "null") is the real non-bridge network we
    # can make, and no container can join it, so the attach checks fall with it.
    "reseau-cree": {
        "reseau-cree": FAILED,
        "redis-attache": FAILED,
        "app-attache": FAILED,
        "dns-redis": SKIPPED,
        "app-vers-redis": SKIPPED,
        "isolation": SKIPPED,
    },
    "redis-attache": {
        "redis-attache": FAILED,
        "dns-redis": SKIPPED,
        "app-vers-redis": SKIPPED,
        "isolation": SKIPPED,
    },
    # moby-counter's loopback is down, so 127.0.0.11 cannot answer there, and a hand-written
    # hosts line for redis must earn nothing.
    "dns-redis": {"dns-redis": FAILED, "app-vers-redis": SKIPPED},
    "port-publie-http-404": {"port-publie": FAILED},
    # Published on [::1]:8000 only: the request goes where the binding listens.
    "port-publie-ipv6-loopback": {},
    # moby-counter (on [::1]:8000) answers 404; another container, on 127.0.0.1:8000, 200.
    "port-publie-impostor": {"port-publie": FAILED},
    # 204, with a header that holds "HTTP/1.1 200 OK": the status line is the first line.
    "port-publie-status-in-headers": {"port-publie": FAILED},
    # A 302 to another container's 200 on 127.0.0.1:8001: a probe follows no redirect.
    "port-publie-redirect-elsewhere": {"port-publie": FAILED},
    "isolation": {"isolation": FAILED},
    "sans-link": {"sans-link": FAILED},
}


#: A raw HTTP server for the stand-in image: reads the request head, answers ``$1`` (printf %b).
RAW_HTTP = """\
printf '%b' "$1" >/tmp/response
printf '%s\\n' '#!/bin/sh' \\
  'while read -r line && [ "${#line}" -gt 1 ]; do :; done' 'cat /tmp/response' >/tmp/serve
chmod 755 /tmp/serve
exec nc -ll -p 80 -e /tmp/serve
"""
#: Healthy once something accepts connections on port 80.
LISTENING = {
    "test": ["CMD", "nc", "-w", "1", "127.0.0.1", "80", "-e", "true"],
    "interval": 1_000_000_000,  # no shorter, no timeout: see the stand-ins' Dockerfiles
    "retries": 100,
}


def raw_http(response: str) -> dict[str, Any]:
    """Options of ``lab.run`` for a moby-counter that answers ``response`` to every request."""
    return {"command": ["sh", "-c", RAW_HTTP, "serve", response], "healthcheck": LISTENING}


#: An app that also listens on redis's port itself, to earn what redis should.
FORGER: dict[str, Any] = {
    "command": ["sh", "-c", "nc -ll -p 6379 -e true & exec httpd -f -p 80 -h /www"]
}
#: A redis that runs and listens on nothing.
DEAF: dict[str, Any] = {"command": ["sleep", "3600"], "healthcheck": {"test": ["NONE"]}}


def listens(lab: LabBuilder, name: str, port: int, host: str = "127.0.0.1") -> bool:
    """Whether a connection to ``host:port`` from inside container ``name`` is accepted."""
    command = ["nc", "-w", "2", host, str(port), "-e", "true"]
    exec_id = lab.api.exec_create(lab.containers[name], command)
    lab.api.exec_start(exec_id)
    return bool(lab.api.exec_inspect(exec_id)["ExitCode"] == 0)


def build_reseau(lab: LabBuilder, images: dict[str, str], mutant: str = "reference") -> None:
    """The lab as the prompt walks it, with the one mistake ``mutant`` names."""
    redis_image, app_image = images["redis"], images["app"]
    if mutant == "reseau-cree":
        lab.config_only_network("moby-network")
        network: str | None = None
    else:
        lab.network("moby-network")
        network = "moby-network"

    lab.run(
        "redis",
        redis_image,
        network=None if mutant in ("redis-attache", "reseau-cree") else network,
        **(DEAF if mutant.startswith("forged-redis-") else {}),
    )

    app: dict[str, Any] = {"ports": {80: 8000}}
    if mutant == "forged-redis-hosts":
        app.update(FORGER, extra_hosts={"redis": "127.0.0.1"})
    if mutant == "forged-redis-alias":
        app.update(FORGER, aliases=("redis",))
    if mutant == "port-publie-http-404":
        app["command"] = ["sh", "-c", "mkdir -p /empty && exec httpd -f -p 80 -h /empty"]
        app["healthcheck"] = {"test": ["NONE"]}
    if mutant == "port-publie-ipv6-loopback":
        app["ports"] = {80: ("::1", 8000)}
    if mutant == "port-publie-impostor":
        app["ports"] = {80: ("::1", 8000)}
        app.update(raw_http("HTTP/1.0 404 Not Found\\r\\n\\r\\n"))
        lab.run(f"impostor-{lab.run_id}", app_image, ports={80: ("127.0.0.1", 8000)})
    if mutant == "port-publie-status-in-headers":
        app.update(raw_http("HTTP/1.0 204 No Content\\r\\nX-Upstream: HTTP/1.1 200 OK\\r\\n\\r\\n"))
    if mutant == "port-publie-redirect-elsewhere":
        app.update(raw_http("HTTP/1.0 302 Found\\r\\nLocation: http://127.0.0.1:8001/\\r\\n\\r\\n"))
        lab.run(f"elsewhere-{lab.run_id}", app_image, ports={80: ("127.0.0.1", 8001)})
    if mutant == "sans-link":
        app["links"] = {"redis": "redis"}
    if mutant == "dns-redis":
        app.update(
            command=["sh", "-c", "ip link set lo down && exec httpd -f -p 80 -h /www"],
            cap_add=["NET_ADMIN"],
            extra_hosts={"redis": lab.address("redis", "moby-network")},
            healthcheck={"test": ["NONE"]},
        )
    lab.run(
        "moby-counter",
        app_image,
        network=None if mutant == "reseau-cree" else network,
        **app,
    )

    lab.network("moby-network2")
    app2: dict[str, Any] = {"ports": {80: 9090}}
    if mutant == "forged-redis2-hosts":
        app2.update(FORGER, extra_hosts={"redis": "127.0.0.1"})
    if mutant == "forged-redis2-alias":
        app2.update(FORGER, aliases=("redis",))
    lab.run("moby-counter2", app_image, network="moby-network2", **app2)
    deaf = DEAF if mutant.startswith("forged-redis2-") else {}
    lab.run("redis2", redis_image, network="moby-network2", aliases=("redis",), **deaf)
    if mutant == "isolation":  # the first redis joins the second network too
        lab.api.connect_container_to_network(lab.containers["redis"], "moby-network2")
    lab.wait_ready()
    if app.get("healthcheck", {}).get("test") == ["NONE"]:  # wait for the published port
        wait_for(lambda: http_answers(8000), what="moby-counter to answer on 127.0.0.1:8000")
    for name, options in (("moby-counter", app), ("moby-counter2", app2)):
        if options.get("command") == FORGER["command"]:
            wait_for(lambda n=name: listens(lab, n, 6379), what=f"{name}'s own listener")


def statuses(result: GradeResult) -> dict[str, str]:
    return {check.check_id: check.status.value for check in result.sheet.checks}


def expected_score(exercise: Exercise, missed: dict[str, str]) -> float:
    earned = 0.0
    for entry in exercise.rubric.entries:
        status = missed.get(entry.check_id, PASSED)
        if entry.is_penalty:
            earned += entry.points if status == FAILED else 0
        elif status == PASSED:
            earned += entry.points
    return max(earned, 0)


@pytest.mark.parametrize("mutant", list(EXPECTED))
def test_reference_and_mutants(
    mutant: str,
    lab: LabBuilder,
    engine: DockerEngine,
    reseau: Exercise,
    reseau_images: dict[str, str],
) -> None:
    build_reseau(lab, reseau_images, mutant)

    result = grade(GradeRequest(reseau, probe_image=BUSYBOX, student="test"), engine=engine)

    expected = {check_id: PASSED for check_id in reseau.rubric.check_ids}
    expected |= EXPECTED[mutant]
    assert statuses(result) == expected
    assert result.score == expected_score(reseau, EXPECTED[mutant])
    for check in result.sheet.checks:
        if check.status is not CheckStatus.PASSED:
            assert check.outcome.message is not None, check.check_id


def test_reference_scores_twenty(
    lab: LabBuilder, engine: DockerEngine, reseau: Exercise, reseau_images: dict[str, str]
) -> None:
    build_reseau(lab, reseau_images)

    result = grade(
        GradeRequest(reseau, probe_image=BUSYBOX, student="test", lang="en"), engine=engine
    )

    assert (result.score, result.max_score) == (20, 20)
    assert result.sheet.all_passed


def test_penalty_takes_two_points(
    lab: LabBuilder, engine: DockerEngine, reseau: Exercise, reseau_images: dict[str, str]
) -> None:
    build_reseau(lab, reseau_images, "sans-link")

    result = grade(
        GradeRequest(reseau, probe_image=BUSYBOX, student="test", lang="en"), engine=engine
    )

    penalty = next(c for c in result.sheet.checks if c.check_id == "sans-link")
    assert (penalty.points, result.score) == (-2, 18)
    assert "moby-counter" in penalty.outcome.message.en


def test_hosts_file_line_does_not_resolve(
    lab: LabBuilder, engine: DockerEngine, reseau: Exercise, reseau_images: dict[str, str]
) -> None:
    """moby-counter has `redis` in its /etc/hosts but Docker's DNS cannot answer it."""
    build_reseau(lab, reseau_images, "dns-redis")
    assert "redis" in lab.exec("moby-counter", "cat", "/etc/hosts")

    result = grade(
        GradeRequest(reseau, probe_image=BUSYBOX, student="test", lang="en"), engine=engine
    )

    dns = next(c for c in result.sheet.checks if c.check_id == "dns-redis")
    assert dns.status is CheckStatus.FAILED
    assert "does not answer" in dns.outcome.message.en


def test_messages_name_what_is_wrong(
    lab: LabBuilder, engine: DockerEngine, reseau: Exercise, reseau_images: dict[str, str]
) -> None:
    build_reseau(lab, reseau_images, "port-publie-http-404")

    result = grade(
        GradeRequest(reseau, probe_image=BUSYBOX, student="test", lang="fr"), engine=engine
    )

    port = next(c for c in result.sheet.checks if c.check_id == "port-publie")
    assert port.outcome.message.fr == (
        "GET http://127.0.0.1:8000/ sur l'hôte du moteur Docker répond 404, et non 200"
    )


# -- forging: a listener of the app's own, under the target's name ---------------------------
#: Per setup: the app that forges, the name it forges, the checks that must not pass, and what
#: the student reads. redis (or redis2) runs and listens on nothing; the app listens on 6379
#: itself, and the name leads there: a hosts line (``--add-host redis:127.0.0.1``, or written by
#: the app's entrypoint), or the app's own network alias (``--network-alias redis``), which
#: Docker's DNS then gives beside redis's address.
FORGED: dict[str, tuple[str, dict[str, str], str]] = {
    "forged-redis-hosts": (
        "moby-counter",
        {"app-vers-redis": FAILED},
        "from 'moby-counter', no TCP connection to 'redis' on port 6379 (its address on "
        "'moby-network': {address})",
    ),
    "forged-redis-alias": (
        "moby-counter",
        {"app-vers-redis": FAILED},
        "from 'moby-counter', no TCP connection to 'redis' on port 6379 (its address on "
        "'moby-network': {address})",
    ),
    "forged-redis2-hosts": (
        "moby-counter2",
        {"redis2-joignable": FAILED},
        "from 'moby-counter2', no TCP connection to 'redis2' on port 6379 (its address on "
        "'moby-network2': {address})",
    ),
    "forged-redis2-alias": (
        "moby-counter2",
        {"redis2-joignable": FAILED},
        "from 'moby-counter2', no TCP connection to 'redis2' on port 6379 (its address on "
        "'moby-network2': {address})",
    ),
}


@pytest.mark.parametrize("mutant", list(FORGED))
def test_a_listener_of_the_apps_own_earns_no_connection(
    mutant: str,
    lab: LabBuilder,
    engine: DockerEngine,
    reseau: Exercise,
    reseau_images: dict[str, str],
) -> None:
    build_reseau(lab, reseau_images, mutant)
    app, missed, message = FORGED[mutant]
    target, network = (
        ("redis2", "moby-network2") if "redis2" in mutant else ("redis", "moby-network")
    )
    # The forgery holds by name: `redis` leads to a listener inside the app itself.
    if mutant.endswith("-hosts"):
        assert listens(lab, app, 6379, host="redis")
    else:
        own = lab.address(app, network)
        seen = lab.run_to_completion(
            BUSYBOX, ["nslookup", "-type=a", "redis", "127.0.0.11"],
            network_mode=f"container:{lab.containers[app]}",
        )  # fmt: skip
        assert own in seen
        assert listens(lab, app, 6379, host=own)

    result = grade(GradeRequest(reseau, probe_image=BUSYBOX, student="t", lang="en"), engine=engine)

    assert statuses(result) == dict.fromkeys(reseau.rubric.check_ids, PASSED) | missed, [
        (c.check_id, c.outcome.message.en) for c in result.sheet.checks if c.outcome.message
    ]
    assert result.score == expected_score(reseau, missed)
    (check_id,) = missed
    failed = next(c for c in result.sheet.checks if c.check_id == check_id)
    assert message.format(address=lab.address(target, network)) in failed.outcome.message.en


# -- DNS: an nslookup that walks a search list ------------------------------------------------
SEARCH_LIST_PROBE = "tp-grader-test/busybox-search-list:latest"

#: Our busybox looks up a name once when it is given a server; other nslookups (bind's, other
#: builds) first try each search domain. This one does, through the real busybox nslookup.
SEARCH_LIST_NSLOOKUP = """#!/bin/sh
# nslookup -type=a NAME SERVER, walking the search list "example.invalid" first.
case "$2" in
  *.*) ;;
  *) busybox nslookuq "$1" "$2.example.invalid" "$3" ;;
esac
exec busybox nslookuq "$@"
"""

SEARCH_LIST_DOCKERFILE = """\
FROM scratch
COPY busybox /bin/busybox
RUN ["/bin/busybox", "sh", "-c", "/bin/busybox mkdir -p /usr/bin /sbin /usr/sbin /etc /tmp \\
 && /bin/busybox chmod 1777 /tmp && /bin/busybox --install -s"]
COPY nslookup /usr/local/bin/nslookup
"""


@pytest.fixture(scope="module")
def search_list_probe(docker_client: docker.DockerClient, busybox: str) -> str:
    """A probe image whose ``nslookup`` walks a search list before the name itself.

    busybox-static runs its own applets before anything on PATH, so the applet is renamed in
    a copy of the binary (``nslookup`` -> ``nslookuq``, same length, same sort order in the
    applet table): ``nslookup`` is then the script above, which calls the real applet."""
    with tempfile.TemporaryDirectory() as context:
        binary = static_busybox().read_bytes()
        assert binary.count(b"\x00nslookup\x00") == 1, "applet table not found"
        (Path(context) / "busybox").write_bytes(
            binary.replace(b"\x00nslookup\x00", b"\x00nslookuq\x00")
        )
        (Path(context) / "busybox").chmod(0o755)
        script = Path(context) / "nslookup"
        script.write_text(SEARCH_LIST_NSLOOKUP)
        script.chmod(0o755)
        (Path(context) / "Dockerfile").write_text(SEARCH_LIST_DOCKERFILE)
        docker_client.images.build(
            path=context, tag=SEARCH_LIST_PROBE, rm=True, forcerm=True, labels=TEST_LABEL
        )
    return SEARCH_LIST_PROBE


# The search list's name is asked of the machine's resolvers: a private engine's namespace
# reaches none, and its DNS times out where this scenario needs an NXDOMAIN.
@pytest.mark.machine_engine
def test_dns_answer_after_an_nxdomain_of_the_search_list(
    lab: LabBuilder,
    engine: DockerEngine,
    reseau: Exercise,
    reseau_images: dict[str, str],
    search_list_probe: str,
    docker_client: docker.DockerClient,
) -> None:
    """redis.example.invalid is NXDOMAIN, redis answers: the name resolves."""
    build_reseau(lab, reseau_images)

    def looked_up() -> str | None:
        # On a loaded machine the search list's query can time out instead of answering
        # NXDOMAIN: the scenario is only there once it has answered.
        seen = lab.run_to_completion(
            search_list_probe,
            ["nslookup", "-type=a", "redis", "127.0.0.11"],
            network_mode=f"container:{lab.containers['moby-counter']}",
        )
        return seen if "NXDOMAIN" in seen else None

    seen = wait_for(looked_up, timeout_s=60, interval_s=0.5, what="an NXDOMAIN, then redis")
    assert lab.address("redis", "moby-network") in seen

    result = grade(
        GradeRequest(reseau, probe_image=search_list_probe, student="t", lang="en"), engine=engine
    )

    assert statuses(result) == dict.fromkeys(reseau.rubric.check_ids, PASSED)
    assert result.score == 20


#: What the student reads when port-publie misses (in English).
PORT_MESSAGES = {
    "port-publie-impostor": "GET http://[::1]:8000/ on the Docker Engine's host answers 404",
    "port-publie-status-in-headers": "GET http://127.0.0.1:8000/ on the Docker Engine's host "
    "answers 204, not 200",
    "port-publie-redirect-elsewhere": "GET http://127.0.0.1:8000/ on the Docker Engine's host "
    "answers 302, not 200",
}


@pytest.mark.parametrize("mutant", list(PORT_MESSAGES))
def test_published_port_messages(
    mutant: str,
    lab: LabBuilder,
    engine: DockerEngine,
    reseau: Exercise,
    reseau_images: dict[str, str],
) -> None:
    build_reseau(lab, reseau_images, mutant)

    result = grade(GradeRequest(reseau, probe_image=BUSYBOX, student="t", lang="en"), engine=engine)

    port = next(c for c in result.sheet.checks if c.check_id == "port-publie")
    assert port.status is CheckStatus.FAILED
    assert PORT_MESSAGES[mutant] in port.outcome.message.en


# -- whose fault: a student's container that crash-loops or is paused ---------------------------
#: Exits 0.3 s after each start; the engine restarts it, with its growing backoff.
CRASH_LOOP: dict[str, Any] = {
    "command": ["sh", "-c", "sleep 0.3; exit 1"],
    "restart_policy": {"Name": "always"},
    "healthcheck": {"test": ["NONE"]},
}

#: Per setup: the checks that must not pass, and what the student reads (English) for some.
WHOSE_FAULT: dict[str, tuple[dict[str, str], dict[str, str]]] = {
    "redis-crash-loop": (
        {
            "redis-attache": FAILED,
            "dns-redis": SKIPPED,
            "app-vers-redis": SKIPPED,
            "isolation": SKIPPED,
        },
        {"redis-attache": "container 'redis' keeps restarting (restarted "},
    ),
    "app-crash-loop": (
        {
            "app-attache": FAILED,
            "dns-redis": SKIPPED,
            "app-vers-redis": SKIPPED,
            "port-publie": FAILED,
        },
        {
            "app-attache": "container 'moby-counter' keeps restarting (restarted ",
            "port-publie": "container 'moby-counter' keeps restarting (restarted ",
        },
    ),
    "app-paused": (
        {
            "app-attache": FAILED,
            "dns-redis": SKIPPED,
            "app-vers-redis": SKIPPED,
            "port-publie": FAILED,
        },
        {
            "app-attache": "container 'moby-counter' is paused (docker unpause moby-counter)",
            "port-publie": "container 'moby-counter' is paused",
        },
    ),
}


def crash_loop(lab: LabBuilder, name: str, image: str, **options: Any) -> None:
    """Replace container ``name`` by one that crashes 0.3 s after each start, and wait until
    its restart policy has restarted it at least once."""
    lab.api.remove_container(lab.containers.pop(name), force=True)
    container_id = lab.run(name, image, **options, **CRASH_LOOP)
    wait_for(
        lambda: lab.api.inspect_container(container_id)["RestartCount"] >= 1,
        what=f"{name} to be restarted by its policy",
    )


@pytest.mark.parametrize("setup", list(WHOSE_FAULT))
def test_crash_loops_and_pauses_are_the_students(
    setup: str,
    lab: LabBuilder,
    engine: DockerEngine,
    reseau: Exercise,
    reseau_images: dict[str, str],
) -> None:
    build_reseau(lab, reseau_images)
    if setup == "redis-crash-loop":
        crash_loop(lab, "redis", reseau_images["redis"], network="moby-network")
    if setup == "app-crash-loop":
        crash_loop(
            lab, "moby-counter", reseau_images["app"], network="moby-network", ports={80: 8000}
        )
    if setup == "app-paused":
        lab.api.pause(lab.containers["moby-counter"])

    try:
        result = grade(
            GradeRequest(reseau, probe_image=BUSYBOX, student="t", lang="en"), engine=engine
        )
    finally:
        if setup == "app-paused":
            lab.api.unpause(lab.containers["moby-counter"])

    missed, messages = WHOSE_FAULT[setup]
    assert statuses(result) == dict.fromkeys(reseau.rubric.check_ids, PASSED) | missed, [
        (c.check_id, c.outcome.message.en) for c in result.sheet.checks if c.outcome.message
    ]
    assert result.score == expected_score(reseau, missed)
    for check in result.sheet.checks:
        if check.check_id in messages:
            assert messages[check.check_id] in check.outcome.message.en


def test_restart_loop_message_in_french(
    lab: LabBuilder, engine: DockerEngine, reseau: Exercise, reseau_images: dict[str, str]
) -> None:
    build_reseau(lab, reseau_images)
    crash_loop(lab, "redis", reseau_images["redis"], network="moby-network")

    result = grade(GradeRequest(reseau, probe_image=BUSYBOX, student="t", lang="fr"), engine=engine)

    redis = next(c for c in result.sheet.checks if c.check_id == "redis-attache")
    assert redis.outcome.message.fr.startswith("le conteneur « redis » redémarre en boucle")
