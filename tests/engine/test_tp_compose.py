"""tp-compose against the real engine.

A student's folder is what the prompt asks for: ``app/identidock.py``, a ``Dockerfile``
(FROM the stand-in of the python image: no registry is reachable here), and a ``compose.yaml``
with ``build: .``, brought up with ``docker compose up`` run in that folder, without ``-p``,
so Compose names the project itself. Then:

- the reference, graded from inside its folder (the project found as Compose named it) and
  with ``--project`` from elsewhere, scores 20/20;
- each mistake that matters, as a real setup (an image pulled from a registry and tagged, one
  built by hand with ``docker build -t``, links, identinet not a bridge, a read-only volume,
  no published port...), gets every check's exact status and the rubric's score;
- a class of such folders is graded by ``grade batch``, builds included;
- ``grade demo tp-compose`` leaves no image behind (its selftest is
  ``tests/engine/test_selftest.py``'s, with every other shipped lab's).

Everything a test makes is labelled and removed, with the images built or tagged under the
name Compose gives the service's image.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docker
import pytest
import yaml
from typer.testing import CliRunner

from grader.batch.replay import Deadlines, EngineTarget
from grader.batch.run import replay_batch
from grader.batch.submissions import find_submissions
from grader.cli import app
from grader.compose import add_labels, find_compose, find_project, run_bounded
from grader.engine.docker_engine import DockerEngine
from grader.engine.facts import COMPOSE_PROJECT, COMPOSE_SERVICE
from grader.exercise.catalog import find
from grader.exercise.model import Exercise
from grader.harness import GradeRequest, grade
from grader.result import GradeResult
from grader.setup.stand_ins import build_stand_ins
from tests.support.images import (
    BUSYBOX,
    TEST_LABEL,
    build_bin_only_busybox,
    build_test_image,
)
from tests.support.lab import TEST_RUN_LABEL, remove_labelled
from tests.support.registry import serving
from tests.support.reports import misses
from tests.support.wait import wait_for

#: Its tests share module fixtures: on one worker of a parallel run (tests/support/workers.py).
pytestmark = pytest.mark.xdist_group("tp-compose")

PASSED, FAILED, SKIPPED = "passed", "failed", "skipped"
Model = dict[str, Any]
runner = CliRunner()

SOLUTION = Path(find("tp-compose").directory) / "solution"


@pytest.fixture(scope="module")
def compose_lab() -> Exercise:
    return find("tp-compose")


@pytest.fixture(scope="module")
def images(compose_lab: Exercise, engine: DockerEngine, busybox: str) -> dict[str, str]:
    """tp-compose's stand-ins: the python base, dnmonster, redis."""
    return build_stand_ins(compose_lab, engine, busybox)


# -- a student's folder ----------------------------------------------------------------------
def student_compose(images: dict[str, str]) -> Model:
    """The compose file the prompt asks for."""
    return {
        "services": {
            "identidock": {
                "build": ".",
                "ports": ["5000:5000"],
                "networks": ["identinet"],
            },
            "dnmonster": {"image": images["dnmonster"], "networks": ["identinet"]},
            "redis": {
                "image": images["redis"],
                "networks": ["identinet"],
                "volumes": ["identiredis_volume:/data"],
            },
        },
        "networks": {"identinet": {"driver": "bridge"}},
        "volumes": {"identiredis_volume": {}},
    }


def student_dockerfile(images: dict[str, str]) -> str:
    # As a student writes it, FROM python:3.12-slim: here FROM its offline stand-in.
    return (
        f"FROM {images['python']}\n"
        "RUN pip install Flask redis requests\n"
        "WORKDIR /app\n"
        "COPY app /app\n"
        "EXPOSE 5000\n"
        'CMD ["python", "identidock.py"]\n'
    )


def student_folder(
    folder: Path,
    images: dict[str, str],
    change: Callable[[Model], Model] | None = None,
    *,
    labels: dict[str, str] | None = None,
) -> Path:
    """Write a student's folder at ``folder``: the app, the Dockerfile, the compose file
    (with ``change``, and ``labels`` on everything it defines so the test can remove it)."""
    shutil.copytree(SOLUTION / "app", folder / "app")
    (folder / "Dockerfile").write_text(student_dockerfile(images))
    model = student_compose(images)
    if change is not None:
        model = change(model)
    if labels:
        add_labels(model, labels)
    (folder / "compose.yaml").write_text(yaml.safe_dump(model, sort_keys=False))
    return folder


def compose_environment() -> dict[str, str]:
    """The test's environment, without any COMPOSE_* setting meant for something else."""
    return {k: v for k, v in os.environ.items() if not k.startswith("COMPOSE_")}


@dataclass(frozen=True)
class Up:
    folder: Path
    project: str
    """The project as Compose labelled its containers."""


@contextlib.contextmanager
def composed(
    folder: Path, engine: DockerEngine, client: docker.DockerClient, run: str
) -> Iterator[Up]:
    """``docker compose up -d --wait`` in ``folder`` (no -p: Compose names the project), and
    everything removed afterwards, with the image under the name Compose gives identidock's."""
    env = compose_environment()
    project = find_project(folder, env).name
    compose = [*find_compose(), "--ansi", "never", "--progress", "plain"]
    try:
        up = run_bounded([*compose, "up", "-d", "--wait"], timeout_s=180, env=env, cwd=folder)
        assert up.ok, up.output
        labelled = {c.labels[COMPOSE_PROJECT] for c in engine.containers({TEST_RUN_LABEL: run})}
        assert labelled == {project}, _project_state(client, project, compose, env, folder)
        yield Up(folder, project)
    finally:
        down = [*compose, "down", "--volumes", "--timeout", "0"]
        run_bounded(down, timeout_s=120, env=env, cwd=folder)
        remove_labelled(client.api, {TEST_RUN_LABEL: run})
        # Not `down --rmi local`: Compose keeps the untagged parents of an image the classic
        # builder made (`docker build -t` by hand); removing the tag here prunes them.
        with contextlib.suppress(docker.errors.ImageNotFound):
            client.api.remove_image(f"{project}-identidock")


def _project_state(
    client: docker.DockerClient, project: str, compose: list[str], env: dict[str, str], folder: Path
) -> str:
    """What the engine and Compose say of ``project``: why its containers were not found."""
    listed = client.api.containers(all=True, filters={"label": f"{COMPOSE_PROJECT}={project}"})
    ps = run_bounded([*compose, "ps", "--all"], timeout_s=60, env=env, cwd=folder)
    seen = [(c["Names"], c["State"], sorted(c["Labels"])) for c in listed]
    return f"containers of {project}: {seen}\ncompose ps:\n{ps.output}"


def statuses(result: GradeResult) -> dict[str, str]:
    return {check.check_id: check.status.value for check in result.sheet.checks}


def message(result: GradeResult, check_id: str) -> str:
    outcome = next(c.outcome for c in result.sheet.checks if c.check_id == check_id)
    return outcome.message.en if outcome.message else ""


# -- the reference, found from its folder ----------------------------------------------------
def test_reference_graded_from_its_folder(
    tmp_path: Path,
    engine: DockerEngine,
    docker_client: docker.DockerClient,
    images: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``grade tp-compose`` in the folder grades the project Compose named after the folder
    (``TP.Compose_<hex>`` normalised to ``tpcompose_<hex>``); ``--project`` from elsewhere
    grades the same project."""
    run = secrets.token_hex(4)
    folder = student_folder(
        tmp_path / f"TP.Compose_{run}", images, labels={TEST_RUN_LABEL: run, **TEST_LABEL}
    )
    for key in ("COMPOSE_PROJECT_NAME", "COMPOSE_FILE"):
        monkeypatch.delenv(key, raising=False)
    with composed(folder, engine, docker_client, run) as up:
        assert up.project == f"tpcompose_{run}"
        monkeypatch.chdir(folder / "app")  # a sub-folder: Compose looks in the parents too
        here = runner.invoke(app, ["tp-compose", "--lang", "en", "--json", "-", "--quiet"])
        monkeypatch.chdir(tmp_path)
        named = runner.invoke(
            app, ["tp-compose", "--project", up.project, "--json", "-", "--quiet"]
        )

    assert here.exit_code == 0, here.output
    report = json.loads(here.stdout)
    assert (report["score"], report["max_score"], report["project"]) == (20, 20, up.project)
    assert all(check["status"] == PASSED for check in report["checks"])
    assert report["notes"] == [
        f"Compose project '{up.project}' (folder name of {folder}); --project picks another"
    ]
    assert named.exit_code == 0, named.output
    assert json.loads(named.stdout)["score"] == 20


def test_no_compose_folder_is_a_usage_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, busybox: str
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("COMPOSE_FILE", raising=False)

    done = runner.invoke(app, ["tp-compose", "--lang", "en"])

    assert done.exit_code == 2, done.output
    assert "no Compose file" in done.output
    assert "give --project NAME" in done.output


# -- the mistakes that matter, as real setups ------------------------------------------------
def with_links(model: Model) -> Model:
    model["services"]["identidock"]["links"] = ["dnmonster", "redis"]
    return model


def read_only_volume(model: Model) -> Model:
    model["services"]["redis"]["volumes"] = ["identiredis_volume:/data:ro"]
    return model


def not_published(model: Model) -> Model:
    del model["services"]["identidock"]["ports"]
    return model


def app_off_identinet(model: Model) -> Model:
    del model["services"]["identidock"]["networks"]
    return model


def external_identinet(model: Model) -> Model:
    """identinet made by hand (``docker network create identinet``), joined as ``external``."""
    model["networks"]["identinet"] = {"external": True}
    return model


def on_other_network(model: Model) -> Model:
    """The services on a bridge of the project's; the project's identinet is made beside it,
    not a bridge (see EXPECTED)."""
    for service in model["services"].values():
        service["networks"] = ["backend"]
    model["networks"] = {"backend": {"driver": "bridge"}}
    return model


CHANGES: dict[str, Callable[[Model], Model]] = {
    "links": with_links,
    "volume-read-only": read_only_volume,
    "port-not-published": not_published,
    "identidock-off-identinet": app_off_identinet,
    "identinet-external": external_identinet,
    "identinet-not-bridge": on_other_network,
}

_OFF_NETWORK = {
    "reseau-projet": FAILED,
    "dns-services": SKIPPED,
    "app-vers-dnmonster": SKIPPED,
    "app-vers-redis": SKIPPED,
}

#: Per setup, the checks that must not pass (every other check passes), and the score.
EXPECTED: dict[str, tuple[dict[str, str], float]] = {
    "reference": ({}, 20),
    # `docker pull` (from a registry on 127.0.0.1) then `docker tag` under the name Compose
    # gives the service's image: Compose runs it without building.
    "pulled-and-tagged": ({"image-construite": FAILED}, 16),
    # `docker build -t <project>-identidock .` by hand, then `docker compose up`.
    "built-by-hand": ({"image-construite": FAILED}, 16),
    "links": ({"sans-link": FAILED}, 18),
    "volume-read-only": ({"volume-redis": FAILED}, 18),
    "port-not-published": ({"port-publie": FAILED}, 17),
    "identidock-off-identinet": (_OFF_NETWORK, 11),
    # A network of that name, not the project's: names resolve through the project only.
    "identinet-external": (_OFF_NETWORK, 11),
    # No other driver than bridge can be created on this engine (macvlan/ipvlan unsupported,
    # overlay needs swarm): the project's identinet is a config-only network (driver "null"),
    # labelled as Compose labels a network, which no container can join.
    "identinet-not-bridge": (_OFF_NETWORK, 11),
}


#: Setups that need the machine's engine: the registry they pull from listens on the machine's
#: loopback, which a private engine's namespace does not reach (tests/support/workers.py).
ON_THE_MACHINE = {"pulled-and-tagged"}


@pytest.mark.parametrize(
    "setup",
    [
        pytest.param(setup, marks=pytest.mark.machine_engine) if setup in ON_THE_MACHINE else setup
        for setup in EXPECTED
    ],
)
def test_mistakes(
    setup: str,
    tmp_path: Path,
    engine: DockerEngine,
    docker_client: docker.DockerClient,
    images: dict[str, str],
    compose_lab: Exercise,
) -> None:
    before = image_ids(docker_client)
    run = secrets.token_hex(4)
    labels = {TEST_RUN_LABEL: run, **TEST_LABEL}
    project = f"tpg-compose-{run}"
    folder = student_folder(tmp_path / project, images, CHANGES.get(setup), labels=labels)
    with contextlib.ExitStack() as stack:
        if setup == "identinet-external":
            docker_client.api.create_network("identinet", labels=labels)
        if setup == "identinet-not-bridge":
            config_only_network(
                docker_client, f"{project}_identinet",
                {**labels, COMPOSE_PROJECT: project, "com.docker.compose.network": "identinet"},
            )  # fmt: skip
        if setup == "built-by-hand":
            docker_client.images.build(
                path=str(folder), tag=f"{project}-identidock", rm=True, labels=TEST_LABEL
            )
        if setup == "pulled-and-tagged":
            stack.enter_context(pulled_as(docker_client, f"{project}-identidock", images))
        up = stack.enter_context(composed(folder, engine, docker_client, run))
        assert up.project == project
        result = grade(
            GradeRequest(
                compose_lab,
                student="t",
                project=project,
                strict_project=True,
                probe_image=BUSYBOX,
            ),
            engine=engine,
        )

    assert image_ids(docker_client) == before  # built, pulled or tagged: all gone
    expected, score = EXPECTED[setup]
    assert statuses(result) == dict.fromkeys(compose_lab.rubric.check_ids, PASSED) | expected
    assert result.score == score
    if setup == "pulled-and-tagged":
        assert "was pulled, not built from your folder" in message(result, "image-construite")
        assert "comes from a registry (127.0.0.1:" in message(result, "image-construite")
    if setup == "built-by-hand":
        assert message(result, "image-construite") == (
            f"image '{project}-identidock' of '{project}-identidock-1' was not built by Docker "
            "Compose (docker build -t, or docker tag of another image): it carries none of the "
            "labels Compose puts on what it builds"
        )
    if setup == "identinet-not-bridge":
        assert message(result, "reseau-projet") == (
            f"network '{project}_identinet' uses driver 'null', not 'bridge'"
        )


def config_only_network(client: docker.DockerClient, name: str, labels: dict[str, str]) -> None:
    """``docker network create --config-only``: driver ``null``, joinable by no container."""
    api = client.api
    answer = api._post_json(
        api._url("/networks/create"),
        data={"Name": name, "ConfigOnly": True, "CheckDuplicate": True, "Labels": labels},
    )
    api._result(answer, json=True)


@contextlib.contextmanager
def pulled_as(client: docker.DockerClient, tag: str, images: dict[str, str]) -> Iterator[None]:
    """An image pulled from a registry (``docker pull``), then ``docker tag``-ged as ``tag``:
    a copy of the python stand-in, served by a registry on 127.0.0.1."""
    source = build_test_image(
        client, f"tp-grader-test/pulled-app:{secrets.token_hex(4)}",
        f"FROM {images['python']}\nLABEL io.tp-grader.test.pulled=1\n",
    )  # fmt: skip
    pulled = ""
    try:
        with serving(client, source, "library/python", "3.12-slim") as served:
            client.api.remove_image(source)  # what is run comes from the pull, not the build
            for event in client.api.pull(served.reference, stream=True, decode=True):
                assert "error" not in event, event
            pulled = served.reference
        client.api.tag(pulled, tag)
        yield
    finally:
        for ref in (tag, pulled, source):
            with contextlib.suppress(docker.errors.DockerException):
                if ref:
                    client.api.remove_image(ref)


# -- forging: identidock listens on its services' ports itself --------------------------------
#: identidock's entrypoint sends dnmonster and redis to itself in its /etc/hosts (which a
#: submission may do: the file is the container's own), listens on their ports, then serves
#: the app. No `$`: Compose would interpolate it.
FORGING_ENTRYPOINT = (
    "printf '127.0.0.1 dnmonster\\n127.0.0.1 redis\\n' >>/etc/hosts"
    " && { nc -ll -p 8080 -e true & nc -ll -p 6379 -e true & }"
    " && exec /usr/local/bin/python-app-stand-in"
)


def forged_services(model: Model) -> Model:
    """identidock answers for dnmonster and redis; they run, and listen on nothing."""
    model["services"]["identidock"]["entrypoint"] = ["/bin/sh", "-c", FORGING_ENTRYPOINT]
    for name in ("dnmonster", "redis"):
        model["services"][name]["command"] = ["sleep", "3600"]
        # Healthy at once (`--wait` refuses a disabled health check of an image that has one).
        model["services"][name]["healthcheck"] = {"test": ["CMD", "true"], "interval": "1s"}
    return model


def test_a_listener_of_identidocks_own_earns_no_connection(
    tmp_path: Path,
    engine: DockerEngine,
    docker_client: docker.DockerClient,
    images: dict[str, str],
    compose_lab: Exercise,
) -> None:
    run = secrets.token_hex(4)
    labels = {TEST_RUN_LABEL: run, **TEST_LABEL}
    project = f"tpg-compose-{run}"
    folder = student_folder(tmp_path / project, images, forged_services, labels=labels)
    with composed(folder, engine, docker_client, run) as up:
        (app,) = engine.containers({COMPOSE_PROJECT: project, COMPOSE_SERVICE: "identidock"})
        for name, port in (("dnmonster", 8080), ("redis", 6379)):
            # The forgery holds by name, from identidock's namespace.
            wait_for(
                lambda n=name, p=port: connects(docker_client, app.id, n, p),
                what=f"identidock's own listener for {name}",
            )
        request = GradeRequest(
            compose_lab, student="t", project=up.project, strict_project=True,
            probe_image=BUSYBOX, lang="en",
        )  # fmt: skip
        result = grade(request, engine=engine)
        addresses = {
            name: engine.containers({COMPOSE_PROJECT: project, COMPOSE_SERVICE: name})[0]
            .endpoints[0]
            .ip_address
            for name in ("dnmonster", "redis")
        }

    missed = {"app-vers-dnmonster": FAILED, "app-vers-redis": FAILED}
    assert statuses(result) == dict.fromkeys(compose_lab.rubric.check_ids, PASSED) | missed, [
        (c.check_id, c.outcome.message.en) for c in result.sheet.checks if c.outcome.message
    ]
    assert result.score == 16
    for name, port in (("dnmonster", 8080), ("redis", 6379)):
        assert (
            f"from 'identidock', no TCP connection to '{name}' on port {port} (its address on "
            f"'{project}_identinet': {addresses[name]})"
        ) in message(result, f"app-vers-{name}")


def connects(client: docker.DockerClient, container: str, host: str, port: int) -> bool:
    """Whether ``host:port`` accepts a connection from a probe in ``container``'s network
    namespace (names resolved as the container resolves them)."""
    probe = client.api.create_container(
        BUSYBOX,
        ["nc", "-w", "2", host, str(port), "-e", "true"],
        labels=TEST_LABEL,
        host_config=client.api.create_host_config(network_mode=f"container:{container}"),
    )
    try:
        client.api.start(probe["Id"])
        return bool(client.api.wait(probe["Id"], timeout=30)["StatusCode"] == 0)
    finally:
        client.api.remove_container(probe["Id"], force=True)


# -- a class, graded in batch ----------------------------------------------------------------
CLASS: dict[str, tuple[Callable[[Model], Model] | None, float]] = {
    "ada": (None, 20),
    "bob": (with_links, 18),
    "carol": (not_published, 17),
}


def test_batch_grades_a_class_of_compose_folders(
    tmp_path: Path,
    engine: DockerEngine,
    docker_client: docker.DockerClient,
    images: dict[str, str],
    compose_lab: Exercise,
) -> None:
    """Each folder is staged, reviewed, built by Compose under the batch (the image labelled
    with its project), graded and removed with the image it built."""
    root = tmp_path / "class"
    root.mkdir()
    for student, (change, _) in CLASS.items():
        student_folder(root / student, images, change)
    before = image_ids(docker_client)

    report = replay_batch(
        compose_lab, find_submissions(root), targets=[EngineTarget(engine, engine.info.endpoint)],
        out_dir=tmp_path / "out", jobs=2, lang="en", probe_image=BUSYBOX,
        deadlines=Deadlines(up=120, ready=30, probe=10, grade=60, down=60),
    )  # fmt: skip

    results = {result.student: result for result in report.results}
    assert {s: (r.status.value, r.score) for s, r in results.items()} == {
        student: ("graded", score) for student, (_, score) in CLASS.items()
    }, misses(results, tmp_path / "out")
    assert statuses(results["bob"])["sans-link"] == FAILED
    assert statuses(results["carol"])["port-publie"] == FAILED
    assert all(statuses(r)["image-construite"] == PASSED for r in results.values())
    assert image_ids(docker_client) == before  # every image the batch built is gone


def image_ids(client: docker.DockerClient) -> set[str]:
    return {image["Id"] for image in client.api.images()}


# -- the demo ---------------------------------------------------------------------------------
def test_demo_on_a_bin_only_busybox_leaves_no_image(
    docker_client: docker.DockerClient, busybox: str
) -> None:
    """The stand-ins do not depend on their base's PATH (the app's Dockerfile builds FROM one
    of them); every image the demo built, the stand-ins and identidock's, is gone after it."""
    base = build_bin_only_busybox(docker_client)
    before = image_ids(docker_client)

    done = runner.invoke(
        app, ["demo", "tp-compose", "--stand-ins", "--probe-image", base, "--lang", "en"]
    )

    assert done.exit_code == 0, done.output
    assert "Total: 20/20" in done.output
    assert image_ids(docker_client) == before
