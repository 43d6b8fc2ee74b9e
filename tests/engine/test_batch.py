"""Batch grading against the real engine: a fixture class of submissions replayed in
isolation and in parallel, each graded right, the hostile one refused without starting, the
broken ones in error, the gradebook and summaries written, nothing left on the engine; resume
and rescore; and, on a second engine of the suite's own, a batch spread over both engines and
a batch graded in place."""

from __future__ import annotations

import contextlib
import copy
import csv
import json
import re
import shutil
import socket
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import docker
import pytest
import yaml

from grader import defaults
from grader.batch.gate.prepare import project_name
from grader.batch.replay import Deadlines, EngineTarget
from grader.batch.rescore import rescore
from grader.batch.run import BatchReport, grade_in_place, replay_batch
from grader.batch.submissions import StudentEngine, find_submissions
from grader.engine.connection import connect
from grader.engine.docker_engine import DockerEngine
from grader.exercise.model import Exercise
from grader.result import GradeResult
from grader.setup.scratch import scratch_folder
from tests.engine.test_tp_reseau import build_reseau
from tests.support.images import BUSYBOX
from tests.support.lab import lab_builder
from tests.support.reports import misses
from tests.support.second_engine import second_engine
from tests.support.socket_proxy import socket_relay
from tests.support.wait import wait_for

#: Its tests share module fixtures: on one worker of a parallel run (tests/support/workers.py).
pytestmark = pytest.mark.xdist_group("batch")

Model = dict[str, Any]
DEADLINES = Deadlines(up=25, ready=15, probe=10, grade=60, down=60)


def here(engine: DockerEngine) -> EngineTarget:
    """The machine's engine as a batch target."""
    return EngineTarget(engine, engine.info.endpoint)


def with_fixed_names(model: Model) -> Model:
    for name, service in model["services"].items():
        service["container_name"] = name
    for name in model["networks"]:
        model["networks"][name] = {"name": name}
    return model


def with_extra_port(model: Model) -> Model:
    """An extra service publishing a host port the exercise does not declare (7000): every
    student publishing it gets a port of the batch's own, so they all run side by side."""
    extra = copy.deepcopy(model["services"]["moby-counter"])
    extra["ports"] = ["7000:80"]
    model["services"]["extra"] = extra
    return model


def hostile(model: Model) -> Model:
    model["services"]["redis"]["privileged"] = True
    model["services"]["redis"]["volumes"] = ["/var/run/docker.sock:/var/run/docker.sock"]
    return model


def missing_image(model: Model) -> Model:
    model["services"]["redis2"]["image"] = "tp-grader-test/does-not-exist:1"
    model["services"]["redis2"]["pull_policy"] = "never"  # no registry is reached for it
    return model


_NEVER_HEALTHY = {"test": ["CMD", "false"], "interval": "1h", "start_period": "1h"}


def never_ready(model: Model) -> Model:
    """redis's health check stays "starting": the batch waits, then grades it as it is."""
    model["services"]["redis"]["healthcheck"] = _NEVER_HEALTHY
    return model


def hangs(model: Model) -> Model:
    """moby-counter waits for a redis that never gets healthy: `compose up` never returns."""
    model["services"]["redis"]["healthcheck"] = _NEVER_HEALTHY
    model["services"]["moby-counter"]["depends_on"] = {"redis": {"condition": "service_healthy"}}
    return model


def no_alias(model: Model) -> Model:
    model["services"]["redis2"]["networks"] = ["moby-network2"]
    return model


def late_listener(model: Model) -> Model:
    """redis listens five seconds after it starts, with no health check to say so (as the real
    redis image): graded once its port answers, with full marks."""
    redis = model["services"]["redis"]
    redis["command"] = ["/bin/sh", "-c", "sleep 5; exec /usr/local/bin/redis-server"]
    redis["healthcheck"] = {"disable": True}
    return model


def wrong_port(model: Model) -> Model:
    model["services"]["moby-counter"]["ports"] = ["8001:80"]
    return model


#: student -> (change to the reference solution, expected status, expected score)
CLASS: dict[str, tuple[Callable[[Model], Model] | None, str, float]] = {
    "perfect": (lambda m: m, "graded", 20),
    "no-alias": (no_alias, "graded", 17),
    "wrong-port": (wrong_port, "graded", 18),
    "fixed-names": (with_fixed_names, "graded", 20),
    "fixed-names-twin": (with_fixed_names, "graded", 20),
    "same-port-a": (with_extra_port, "graded", 20),
    "same-port-b": (with_extra_port, "graded", 20),
    "hostile": (hostile, "refused", 0),
    "missing-image": (missing_image, "error", 0),
    "never-ready": (never_ready, "graded", 20),
    "late-listener": (late_listener, "graded", 20),
    "hangs": (hangs, "error", 0),
    "no-compose": (None, "error", 0),
}


def make_class(
    root: Path, reseau: Exercise, images: dict[str, str], names: list[str] | dict[str, str]
) -> Path:
    """One folder per student; ``names`` are fixture students, or maps a student to one."""
    reference = yaml.safe_load(reseau.render(reseau.solution.compose, images=images))
    variants = names if isinstance(names, dict) else {name: name for name in names}
    for student, variant in variants.items():
        change, _, _ = CLASS[variant]
        folder = root / student
        folder.mkdir(parents=True)
        if change is not None:
            model = change(copy.deepcopy(reference))
            (folder / "compose.yaml").write_text(yaml.safe_dump(model, sort_keys=False))
    return root


def batch_leftovers(client: docker.DockerClient) -> list[str]:
    selector = {"label": f"{defaults.LABEL_ROLE}=batch"}
    return [
        *(c["Names"][0] for c in client.api.containers(all=True, filters=selector)),
        *(n["Name"] for n in client.api.networks(filters=selector)),
        *(v["Name"] for v in client.api.volumes(filters=selector)["Volumes"] or ()),
    ]


@pytest.fixture(scope="module")
def class_run(
    tmp_path_factory: pytest.TempPathFactory,
    engine: DockerEngine,
    reseau: Exercise,
    reseau_images: dict[str, str],
) -> tuple[Path, BatchReport, float]:
    """The whole fixture class, replayed two at a time on the machine's engine."""
    root = make_class(tmp_path_factory.mktemp("class"), reseau, reseau_images, list(CLASS))
    out = tmp_path_factory.mktemp("out")
    started = time.time()
    report = replay_batch(
        reseau, find_submissions(root), targets=[here(engine)], out_dir=out, jobs=2,
        lang="en", deadlines=DEADLINES,
        probe_image=BUSYBOX,
    )  # fmt: skip
    return out, report, started


def by_student(report: BatchReport) -> dict[str, GradeResult]:
    return {result.student: result for result in report.results}


def test_every_student_status_and_score(class_run: tuple[Path, BatchReport, float]) -> None:
    _, report, _ = class_run
    results = by_student(report)

    expected = {student: (status, score) for student, (_, status, score) in CLASS.items()}
    assert {s: (r.status.value, r.score) for s, r in results.items()} == expected, misses(results)
    assert not report.interrupted


def test_grading_starts_when_the_ports_answer(class_run: tuple[Path, BatchReport, float]) -> None:
    _, report, _ = class_run
    late = by_student(report)["late-listener"]

    assert report.timings["late-listener"]["ready"] >= 3  # waited for redis's port
    assert not [note for note in late.notes if "not answering" in note.en]
    assert late.score == 20


def test_reasons_are_in_the_reports(class_run: tuple[Path, BatchReport, float]) -> None:
    out, _, _ = class_run

    def report(student: str) -> dict[str, Any]:
        data: dict[str, Any] = json.loads((out / "students" / student / "report.json").read_text())
        return data

    assert "not allowed in a submission: services.redis.privileged" in report("hostile")["notes"][0]
    assert "host folder '/var/run/docker.sock' mounted" in report("hostile")["notes"][0]
    assert "docker compose up failed" in report("missing-image")["notes"][0]
    assert report("hangs")["notes"][0].startswith("error: timeout")
    assert report("no-compose")["notes"][0].startswith("no compose file")
    assert any("not ready" in note for note in report("never-ready")["notes"])
    assert any(
        "container_name of service redis ignored" in n for n in report("fixed-names")["notes"]
    )
    by_id = {c["id"]: c for c in report("wrong-port")["checks"]}
    assert "does not publish its port 80/tcp" in by_id["port-publie"]["message"]
    assert (
        (out / "students" / "perfect" / "replay.log").read_text().startswith("$ docker compose up")
    )


def test_hostile_submission_never_started(
    class_run: tuple[Path, BatchReport, float], docker_client: docker.DockerClient
) -> None:
    out, _, started = class_run
    batch_id = json.loads((out / "batch.json").read_text())["batch_id"]
    project = project_name(batch_id, "hostile")

    events = docker_client.api.events(
        since=int(started) - 1,
        until=int(time.time()) + 1,
        filters={"label": f"com.docker.compose.project={project}"},
        decode=True,
    )

    assert list(events) == []


def test_undeclared_host_ports_get_the_batchs_own(
    class_run: tuple[Path, BatchReport, float],
) -> None:
    """Two students publishing the same undeclared port (7000) ran side by side, each on a
    port of the batch's pool, on loopback: both graded, nothing published on 7000."""
    out, _, _ = class_run
    notes = [
        json.loads((out / "students" / s / "report.json").read_text())["notes"]
        for s in ("same-port-a", "same-port-b")
    ]

    given = [
        next(n for n in student if n.startswith("published ports bound to 127.0.0.1"))
        for student in notes
    ]
    low, high = defaults.BATCH_PORT_RANGE
    for note in given:
        moved = dict(re.findall(r"(\d+)→(\d+)", note))
        assert set(moved) == {"7000", "8000", "9090"}
        assert all(low <= int(port) <= high for port in moved.values())


def test_gradebook(class_run: tuple[Path, BatchReport, float], reseau: Exercise) -> None:
    out, _, _ = class_run

    rows = list(csv.DictReader((out / "gradebook.csv").open(encoding="utf-8")))

    assert list(rows[0]) == [
        "idnumber", "score", "max", "status", *reseau.rubric.check_ids, "feedback", "flags",
    ]  # fmt: skip
    by_id = {row["idnumber"]: row for row in rows}
    assert set(by_id) == set(CLASS)
    assert (by_id["no-alias"]["score"], by_id["no-alias"]["alias-redis"]) == ("17", "0")
    assert by_id["no-alias"]["reseau-cree"] == "2"
    assert by_id["no-alias"]["feedback"] == "to review: alias-redis, redis2-joignable"
    assert (by_id["hostile"]["status"], by_id["hostile"]["score"]) == ("refused", "0")
    assert by_id["perfect"]["max"] == "20"


def test_summaries_are_standalone(class_run: tuple[Path, BatchReport, float]) -> None:
    out, _, _ = class_run

    html = (out / "summary.html").read_text()
    markdown = (out / "summary.md").read_text()

    assert "<svg" in html
    for asset in ("src=", "href=", "<script", "<link", "@import", "url("):
        assert asset not in html  # no network asset: the file stands alone
    assert "alias-redis" in html
    assert "hostile" in html
    assert "| `alias-redis` |" in markdown
    assert "| hostile | refused |" in markdown


def test_nothing_left(
    class_run: tuple[Path, BatchReport, float], docker_client: docker.DockerClient
) -> None:
    _, report, _ = class_run
    assert batch_leftovers(docker_client) == []
    folders = [Path(scratch_folder(r.project)) for r in report.results if r.project]
    assert folders
    assert not [folder for folder in folders if folder.exists()]


def test_what_a_failed_removal_left_is_swept_at_the_end(
    engine: DockerEngine,
    reseau: Exercise,
    reseau_images: dict[str, str],
    tmp_path: Path,
    docker_client: docker.DockerClient,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A container of the batch that a busy engine failed to remove (a sandbox, a probe) is
    removed when the batch ends: nothing of a batch outlives it."""
    import grader.batch.run

    monkeypatch.setattr(grader.batch.run, "new_run_id", lambda: "5eeded0000")
    stray = docker_client.containers.create(
        BUSYBOX, ["true"], labels={defaults.LABEL_ROLE: "batch", defaults.LABEL_RUN: "5eeded"}
    )
    try:
        root = make_class(tmp_path / "class", reseau, reseau_images, ["no-compose"])
        replay_batch(
            reseau, find_submissions(root), targets=[here(engine)], out_dir=tmp_path / "out",
            lang="en", deadlines=DEADLINES, probe_image=BUSYBOX,
        )  # fmt: skip
        assert batch_leftovers(docker_client) == []
    finally:
        with contextlib.suppress(docker.errors.NotFound):
            stray.remove(force=True)


def test_resume_skips_graded_students_and_retries_errors(
    class_run: tuple[Path, BatchReport, float],
    engine: DockerEngine,
    reseau: Exercise,
    reseau_images: dict[str, str],
    tmp_path: Path,
) -> None:
    out, _, _ = class_run
    root = make_class(tmp_path, reseau, reseau_images, ["perfect", "no-alias", "missing-image"])
    (out / "students" / "no-alias" / "outcomes.json").unlink()  # as if the batch died there
    seen: list[str] = []

    class Observer:
        def planned(self, total: int, skipped: int) -> None:
            seen.append(f"planned {total}, skipping {skipped}")

        def finished(self, result: GradeResult) -> None:
            seen.append(result.student)

    report = replay_batch(
        reseau, find_submissions(root), targets=[here(engine)],
        out_dir=out, resume=True, lang="en", deadlines=DEADLINES, observer=Observer(),
        probe_image=BUSYBOX,
    )  # fmt: skip

    # perfect is skipped; no-alias (never written) and missing-image (in error) are graded
    assert seen[0] == "planned 3, skipping 1"
    assert sorted(seen[1:]) == ["missing-image", "no-alias"]
    assert by_student(report)["no-alias"].score == 17
    assert len(report.results) == len(CLASS)  # the class files still cover everyone


def test_rescore_never_destroys_the_observed_outcomes(
    class_run: tuple[Path, BatchReport, float], reseau: Exercise, tmp_path: Path
) -> None:
    out, _, _ = class_run

    def marks(results: list[GradeResult]) -> dict[str, tuple[float, dict[str, str]]]:
        return {
            r.student: (r.score, {c.check_id: c.status.value for c in r.sheet.checks})
            for r in results
        }

    original = marks(rescore(out))
    changed = tmp_path / "rubric.yaml"
    text = reseau.rubric.path.read_text()
    text = text.replace("  alias-redis:\n    points: 2", "  alias-redis:\n    points: 4")
    text = text.replace(  # a new prerequisite: port-publie is skipped where alias-redis fails
        "  port-publie:\n    points: 2\n",
        "  port-publie:\n    points: 2\n    prerequisites: [alias-redis]\n",
    )
    assert text != reseau.rubric.path.read_text()
    changed.write_text(text)

    results = {r.student: r for r in rescore(out, changed)}

    assert (results["perfect"].score, results["perfect"].max_score) == (22, 22)
    # alias-redis (4) and port-publie (2) missed, redis2-joignable (1) skipped: 22 - 7
    assert results["no-alias"].score == 15
    assert results["hostile"].score == 0
    rows = {row["idnumber"]: row for row in csv.DictReader((out / "gradebook.csv").open())}
    assert rows["perfect"]["max"] == "22"
    assert json.loads((out / "students" / "perfect" / "report.json").read_text())["score"] == 22
    assert marks(rescore(out)) == original  # back under the batch's rubric: the same marks
    assert original["no-alias"][1]["port-publie"] == "passed"


def test_interrupted_batch_tears_down(
    engine: DockerEngine,
    reseau: Exercise,
    reseau_images: dict[str, str],
    tmp_path: Path,
    docker_client: docker.DockerClient,
) -> None:
    root = make_class(tmp_path / "class", reseau, reseau_images, ["perfect", "no-alias", "hangs"])
    stop = threading.Event()
    threading.Timer(3.0, stop.set).start()  # Ctrl-C, a few seconds in

    report = replay_batch(
        reseau, find_submissions(root), targets=[here(engine)], out_dir=tmp_path / "out",
        jobs=3, lang="en", deadlines=DEADLINES, stop=stop,
        probe_image=BUSYBOX,
    )  # fmt: skip

    assert report.interrupted
    assert batch_leftovers(docker_client) == []
    for result in report.results:
        json.loads((tmp_path / "out" / "students" / result.student / "report.json").read_text())


# -- a second engine ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def engine2(
    docker_client: docker.DockerClient, reseau_images: dict[str, str], busybox: str
) -> Iterator[str]:
    with second_engine(docker_client, [busybox, *reseau_images.values()]) as url:
        yield url


@pytest.mark.slow
def test_batch_spread_over_two_engines(
    engine2: str,
    engine: DockerEngine,
    reseau: Exercise,
    reseau_images: dict[str, str],
    tmp_path: Path,
) -> None:
    names = ["perfect", "no-alias", "fixed-names", "fixed-names-twin"]
    root = make_class(tmp_path / "class", reseau, reseau_images, names)
    other = connect(engine2)
    try:
        report = replay_batch(
            reseau, find_submissions(root), out_dir=tmp_path / "out", jobs=1, lang="en",
            # The second engine first: Compose's sandbox runs there, the files sent through its
            # API (as to a remote engine), its image built there.
            targets=[EngineTarget(other, engine2), here(engine)], deadlines=DEADLINES,
            probe_image=BUSYBOX,
        )  # fmt: skip
    finally:
        other.close()

    results = by_student(report)
    assert {s: r.score for s, r in results.items()} == {s: CLASS[s][2] for s in names}, misses(
        results
    )
    assert {r.engine.endpoint for r in results.values() if r.engine} == {
        engine.info.endpoint, engine2,
    }  # fmt: skip


@pytest.mark.slow
def test_in_place_grades_each_students_engine(
    engine2: str,
    engine: DockerEngine,
    docker_client: docker.DockerClient,
    reseau: Exercise,
    reseau_images: dict[str, str],
    tmp_path: Path,
) -> None:
    first = engine.info.endpoint  # the suite's engine (a worker's own in a parallel run)
    second = docker.DockerClient(base_url=engine2, version="auto")
    with lab_builder(docker_client) as ada, lab_builder(second) as bob:
        build_reseau(ada, reseau_images)
        build_reseau(bob, reseau_images, "redis-attache")

        report = grade_in_place(
            reseau,
            [StudentEngine("ada", first), StudentEngine("bob", engine2)],
            out_dir=tmp_path / "out", jobs=2, lang="en",
            probe_image=BUSYBOX,
        )  # fmt: skip
    second.close()

    assert {r.student: r.score for r in report.results} == {"ada": 20, "bob": 12}
    rows = list(csv.DictReader((tmp_path / "out" / "gradebook.csv").open()))
    assert [(r["idnumber"], r["score"]) for r in rows] == [("ada", "20"), ("bob", "12")]


def test_in_place_unreachable_engine_is_an_error(reseau: Exercise, tmp_path: Path) -> None:
    report = grade_in_place(
        reseau, [StudentEngine("carol", "unix:///nonexistent/docker.sock")],
        out_dir=tmp_path / "out", lang="en",
        probe_image=BUSYBOX,
    )  # fmt: skip

    (result,) = report.results
    assert result.status.value == "error"
    assert "cannot reach the Docker Engine at unix:///nonexistent/docker.sock" in result.notes[0].en
    assert datetime.now(timezone.utc) >= result.started_at


CRASHING_COMPOSE = """#!/bin/sh
# Compose as usual, except that `up` of a project named *crash* dies at once (SIGKILL) and
# leaves a child that would run `up` a moment later, after any teardown.
case "$*" in
  *crash*up*) (sleep 30; exec {real} "$@") & sleep 0.5; kill -9 $$ ;;
esac
exec {real} "$@"
"""


def running_commands_of(path: Path) -> list[str]:
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            text = cmdline.read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue  # the process ended meanwhile
        if str(path) in text:
            found.append(text)
    return found


def test_compose_cli_crash_leaves_nothing(
    engine: DockerEngine,
    reseau: Exercise,
    reseau_images: dict[str, str],
    tmp_path: Path,
    docker_client: docker.DockerClient,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from grader.compose import find_compose

    wrapper = tmp_path / "compose"
    # Batch runs give Compose a minimal environment: the real binary is written in, not passed.
    wrapper.write_text(CRASHING_COMPOSE.format(real=find_compose()[0]))
    wrapper.chmod(0o755)
    monkeypatch.setenv("GRADER_COMPOSE", str(wrapper))
    root = make_class(tmp_path / "class", reseau, reseau_images, {"crash": "perfect"})

    report = replay_batch(
        reseau, find_submissions(root), targets=[here(engine)],
        out_dir=tmp_path / "out", lang="en", deadlines=DEADLINES,
        probe_image=BUSYBOX,
    )  # fmt: skip

    (result,) = report.results
    assert result.status.value == "error"
    assert "docker compose up failed" in result.notes[0].en
    assert running_commands_of(wrapper) == []  # no straggler left to run `up` after teardown
    assert batch_leftovers(docker_client) == []


@pytest.fixture
def silent_engine(tmp_path: Path) -> Iterator[str]:
    """A student's "engine" that accepts connections and never answers: what a hung or
    hostile daemon looks like from the grader (a real socket, not a model of the SDK)."""
    path = tmp_path / "silent.sock"
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(str(path))
    listener.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            with contextlib.suppress(TimeoutError, OSError):
                held.append(listener.accept()[0])

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"unix://{path}"
    finally:
        stop.set()
        thread.join(5)
        for connection in held:
            connection.close()
        listener.close()


def test_a_grading_that_hangs_is_killed_at_its_deadline(
    silent_engine: str,
    engine: DockerEngine,
    reseau: Exercise,
    reseau_images: dict[str, str],
    docker_client: docker.DockerClient,
    tmp_path: Path,
) -> None:
    role = {"label": "io.tp-grader.role"}
    before = {c["Id"] for c in docker_client.api.containers(all=True, filters=role)}
    with lab_builder(docker_client) as ada:
        build_reseau(ada, reseau_images)
        started = time.monotonic()

        report = grade_in_place(
            reseau,
            [StudentEngine("bob", silent_engine), StudentEngine("ada", engine.info.endpoint)],
            out_dir=tmp_path / "out", jobs=2, lang="en", deadline_s=5, probe_image=BUSYBOX,
        )  # fmt: skip
        elapsed = time.monotonic() - started

    results = by_student(report)
    assert (results["ada"].status.value, results["ada"].score) == ("graded", 20)
    assert results["bob"].status.value == "error"
    assert results["bob"].notes[0].en == (
        "error: timeout — grading did not finish within 5 s (stopped)"
    )
    assert elapsed < 25  # the SDK's own timeout (30 s) was never waited for
    left = {c["Id"] for c in docker_client.api.containers(all=True, filters=role)} - before
    assert not left, "the grading left containers behind"


@pytest.fixture
def graphite_on_the_engine(docker_client: docker.DockerClient, busybox: str) -> Iterator[str]:
    """An image tagged `tp-graphite` that was on the engine before the batch: not built by
    any submission (as the teacher's own, from a demo or a lab run on the same machine)."""
    from tests.engine.test_tp_volumes import build_graphite

    tag = build_graphite(docker_client, busybox, "tp-graphite", root=False)
    try:
        yield tag
    finally:
        with contextlib.suppress(docker.errors.DockerException):
            docker_client.api.remove_image(tag)


def test_an_image_the_submission_did_not_build_earns_nothing(
    graphite_on_the_engine: str, engine: DockerEngine, tmp_path: Path, busybox: str
) -> None:
    """Issue 9, item 5: in a batch, `permissions` looks only at the image the submission
    itself built; `image: tp-graphite` taking the engine's own earns nothing."""
    from grader.exercise.catalog import find
    from grader.setup.stand_ins import build_stand_ins

    volumes = find("tp-volumes")
    images = {**volumes.images, **build_stand_ins(volumes, engine, busybox)}
    reference = yaml.safe_load(volumes.render(volumes.solution.compose, images=images))
    root = tmp_path / "class"
    for student in ("builds", "borrows"):
        model = copy.deepcopy(reference)
        if student == "borrows":
            del model["services"]["graphite"]["build"]  # image: tp-graphite, from the engine
        (root / student).mkdir(parents=True)
        (root / student / "compose.yaml").write_text(yaml.safe_dump(model))
        shutil.copytree(volumes.solution.compose.parent / "graphite", root / student / "graphite")

    report = replay_batch(
        volumes, find_submissions(root), targets=[here(engine)], out_dir=tmp_path / "out",
        jobs=2, lang="en", probe_image=BUSYBOX, deadlines=DEADLINES,
    )  # fmt: skip

    # No steps ran (no test file, no SAVE, no backup): the same misses for both.
    common = {
        "bind-mount": "passed", "bind-contenu": "failed", "volume-nomme": "passed",
        "redis-volume": "passed", "donnees-persistees": "failed", "lecture-seule": "passed",
        "volumes-from": "passed", "sauvegarde": "skipped",
    }  # fmt: skip
    results = by_student(report)
    statuses = {s: {c.check_id: c.status.value for c in r.sheet.checks} for s, r in results.items()}
    assert statuses["builds"] == {**common, "permissions": "passed"}
    assert statuses["borrows"] == {**common, "permissions": "failed"}
    assert (results["builds"].score, results["borrows"].score) == (14, 11)
    permissions = next(c for c in results["borrows"].sheet.checks if c.check_id == "permissions")
    assert permissions.outcome.message.en == "image 'tp-graphite' does not exist"


def with_build(dockerfile: str) -> Callable[[Path, Model], None]:
    """redis built from ``dockerfile`` (FROM an image of the suite's: nothing is pulled;
    ``{redis}`` is the reference's redis image)."""

    def make(folder: Path, reference: Model) -> None:
        redis = reference["services"]["redis"]["image"]
        model = copy.deepcopy(reference)
        model["services"]["redis"].pop("image")
        model["services"]["redis"]["build"] = {"context": "."}
        folder.mkdir(parents=True)
        (folder / "compose.yaml").write_text(yaml.safe_dump(model, sort_keys=False))
        (folder / "Dockerfile").write_text(dockerfile.format(busybox=BUSYBOX, redis=redis))

    return make


def test_builds_are_bounded(
    engine: DockerEngine,
    reseau: Exercise,
    reseau_images: dict[str, str],
    tmp_path: Path,
    docker_client: docker.DockerClient,
) -> None:
    reference = yaml.safe_load(reseau.render(reseau.solution.compose, images=reseau_images))
    root = tmp_path / "class"
    # 1.5 GiB in one allocation, past the build's memory limit (1 GiB, no swap).
    with_build("FROM {busybox}\nRUN dd if=/dev/zero of=/dev/null bs=1536M count=1\n")(
        root / "memory-hog", reference
    )
    with_build("FROM {busybox}\nRUN sleep 600\n")(root / "never-ends", reference)
    with_build("FROM {redis}\nRUN true\n")(root / "builds-fine", reference)
    deadlines = Deadlines(build=15, up=25, ready=15, probe=10, grade=60, down=60)

    report = replay_batch(
        reseau, find_submissions(root), targets=[here(engine)], out_dir=tmp_path / "out",
        jobs=2, lang="en", deadlines=deadlines, probe_image=BUSYBOX,
    )  # fmt: skip

    results = by_student(report)
    expected = {
        "memory-hog": ("error", 0),
        "never-ends": ("error", 0),
        "builds-fine": ("graded", 20),
    }
    assert {s: (r.status.value, r.score) for s, r in results.items()} == expected, misses(results)
    assert "non-zero code: 137" in results["memory-hog"].notes[0].en  # killed at its limit
    assert "building service redis's image failed: timeout" in results["never-ends"].notes[0].en
    assert report.timings["never-ends"]["build"] < 40

    # The cancelled build leaves no step running, and no image: the engine kills and removes
    # the step's container once the build is cancelled, on its own time on a loaded machine.
    def step_gone() -> bool:
        containers = docker_client.api.containers(all=True)
        return not [c for c in containers if "sleep 600" in str(c.get("Command"))]

    wait_for(step_gone, timeout_s=30, what="the cancelled build's step to be removed")
    assert batch_leftovers(docker_client) == []


def test_an_engine_that_stops_answering_still_gives_every_student_a_row(
    reseau: Exercise,
    reseau_images: dict[str, str],
    tmp_path: Path,
    docker_client: docker.DockerClient,
) -> None:
    root = make_class(tmp_path / "class", reseau, reseau_images, {
        "a-first": "perfect", "b-second": "perfect", "c-third": "perfect", "d-fourth": "perfect",
    })  # fmt: skip
    graded: list[GradeResult] = []

    with socket_relay(tmp_path) as relay:

        class CutAfterTheFirst:
            def planned(self, total: int, skipped: int) -> None:
                pass

            def finished(self, result: GradeResult) -> None:
                graded.append(result)
                if len(graded) == 1:
                    relay.cut()  # the engine stops answering: a daemon gone, a link down

        target = connect(relay.url)
        try:
            report = replay_batch(
                reseau, find_submissions(root), targets=[EngineTarget(target, relay.url)],
                out_dir=tmp_path / "out", jobs=1, lang="en", deadlines=DEADLINES,
                probe_image=BUSYBOX, observer=CutAfterTheFirst(),
            )  # fmt: skip
        finally:
            target.close()
    try:
        results = by_student(report)
        assert sorted(results) == ["a-first", "b-second", "c-third", "d-fourth"]
        # Submissions are replayed in the order they are prepared, not the roster's: the one
        # graded before the cut is whoever came first.
        first = graded[0].student
        assert results[first].score == 20, results[first].notes
        others = sorted(set(results) - {first})
        assert {results[s].status.value for s in others} == {"error"}, misses(results)
        assert any("stopped answering" in problem.en for problem in report.problems)
        rows = list(csv.DictReader((tmp_path / "out" / "gradebook.csv").open()))
        assert [row["idnumber"] for row in rows] == ["a-first", "b-second", "c-third", "d-fourth"]
    finally:  # what the cut left on the engine: `grade clean`'s job, done here by hand
        for container in docker_client.api.containers(
            all=True, filters={"label": f"{defaults.LABEL_ROLE}=batch"}
        ):
            docker_client.api.remove_container(container["Id"], force=True, v=True)
        for network in docker_client.api.networks(
            filters={"label": f"{defaults.LABEL_ROLE}=batch"}
        ):
            docker_client.api.remove_network(network["Id"])
