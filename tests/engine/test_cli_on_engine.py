"""The ``grade`` command against the real engine: exit codes, JSON and JUnit files, the
messages a student reads when something is missing or stopped."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
import time
from pathlib import Path

import docker
import pytest
from typer.testing import CliRunner

from grader import defaults
from grader.cli import app
from grader.exercise.model import Exercise
from grader.setup.scratch import scratch_folder
from tests.engine.test_tp_reseau import build_reseau
from tests.support.images import build_bin_only_busybox
from tests.support.lab import LabBuilder
from tests.support.reports import assert_valid_junit, junit_counts, read_json

runner = CliRunner()


def test_reference_exit_zero_and_reports(
    tmp_path: Path, lab: LabBuilder, reseau_images: dict[str, str]
) -> None:
    build_reseau(lab, reseau_images)
    json_path, junit_path = tmp_path / "r.json", tmp_path / "r.xml"

    done = runner.invoke(
        app,
        [
            "check",
            "tp-reseau",
            "--student",
            "ada",
            "--json",
            str(json_path),
            "--junit",
            str(junit_path),
        ],
    )

    assert done.exit_code == 0, done.output
    assert "20/20" in done.output
    report = read_json(json_path)
    assert report["schema"] == defaults.REPORT_SCHEMA
    assert (report["exercise"], report["student"]) == ("tp-reseau", "ada")
    assert (report["score"], report["max_score"], report["status"]) == (20, 20, "graded")
    assert report["engine"]["api_version"]
    assert [c["id"] for c in report["checks"]] == [
        "reseau-cree",
        "redis-attache",
        "app-attache",
        "dns-redis",
        "app-vers-redis",
        "port-publie",
        "port-publie-2",
        "reseau-2",
        "alias-redis",
        "redis2-joignable",
        "isolation",
        "sans-link",
    ]
    assert all(c["status"] == "passed" and c["hint"] == "" for c in report["checks"])
    counts = junit_counts(assert_valid_junit(junit_path))
    assert counts == {"tests": 12, "failures": 0, "errors": 0, "skipped": 0}


def test_shortcut_and_misses_exit_one(
    tmp_path: Path, lab: LabBuilder, reseau_images: dict[str, str]
) -> None:
    build_reseau(lab, reseau_images, "redis-attache")
    json_path, junit_path = tmp_path / "r.json", tmp_path / "r.xml"

    done = runner.invoke(
        app, ["tp-reseau", "--lang", "en", "--json", str(json_path), "--junit", str(junit_path)]
    )

    assert done.exit_code == 1, done.output
    assert "Hint" in done.output
    report = read_json(json_path)
    assert report["score"] == 12
    by_id = {c["id"]: c for c in report["checks"]}
    assert by_id["redis-attache"]["status"] == "failed"
    assert "not attached to network 'moby-network'" in by_id["redis-attache"]["message"]
    assert by_id["redis-attache"]["hint"].startswith("Run redis on the network")
    assert by_id["dns-redis"]["message"] == "not run: prerequisite 'redis-attache' did not pass"
    counts = junit_counts(assert_valid_junit(junit_path))
    assert counts == {"tests": 12, "failures": 1, "errors": 0, "skipped": 3}


def test_the_grade_process_leaves_with_its_code_and_everything_written(
    tmp_path: Path, lab: LabBuilder, reseau_images: dict[str, str]
) -> None:
    """The ``grade`` process ends without Python's finalisation once a grading is done: its
    exit code, its reports and all it printed to pipes must still be there, whole."""
    build_reseau(lab, reseau_images, "redis-attache")
    junit_path = tmp_path / "r.xml"

    argv = ["check", "tp-reseau", "--lang", "en", "--json", "-", "--junit", str(junit_path)]
    done = subprocess.run(
        [sys.executable, "-m", "grader", *argv],
        capture_output=True,
        timeout=120,
        check=False,
    )

    assert done.returncode == 1, done.stderr
    assert json.loads(done.stdout)["score"] == 12
    assert done.stderr.decode().rstrip().endswith("Total: 12/20"), done.stderr
    counts = junit_counts(assert_valid_junit(junit_path))
    assert counts == {"tests": 12, "failures": 1, "errors": 0, "skipped": 3}


def test_nothing_set_up(tmp_path: Path, lab: LabBuilder, busybox: str) -> None:
    json_path = tmp_path / "r.json"

    done = runner.invoke(app, ["check", "tp-reseau", "--lang", "en", "--json", str(json_path)])

    assert done.exit_code == 1
    report = read_json(json_path)
    assert report["score"] == 0
    by_id = {c["id"]: c for c in report["checks"]}
    assert by_id["reseau-cree"]["message"] == "network 'moby-network' does not exist"
    assert by_id["redis-attache"]["message"] == "container 'redis' does not exist"
    assert by_id["port-publie"]["message"] == "container 'moby-counter' does not exist"
    assert by_id["sans-link"]["status"] == "passed"  # nothing to penalise


def test_stopped_container(tmp_path: Path, lab: LabBuilder, reseau_images: dict[str, str]) -> None:
    build_reseau(lab, reseau_images)
    lab.api.stop(lab.containers["redis"], timeout=0)
    json_path = tmp_path / "r.json"

    done = runner.invoke(app, ["check", "tp-reseau", "--lang", "en", "--json", str(json_path)])

    assert done.exit_code == 1
    by_id = {c["id"]: c for c in read_json(json_path)["checks"]}
    assert by_id["redis-attache"]["message"].startswith("container 'redis' is not running")


def test_missing_probe_image_is_one_line_exit_three(lab: LabBuilder, busybox: str) -> None:
    done = runner.invoke(
        app, ["check", "tp-reseau", "--lang", "en", "--probe-image", "tp-grader-test/absent:0"]
    )

    assert done.exit_code == 3
    assert "Traceback" not in done.output
    error_lines = [line for line in done.output.splitlines() if line.startswith("error:")]
    assert len(error_lines) == 1
    assert "tp-grader-test/absent:0" in error_lines[0]
    assert "--probe-image" in error_lines[0]


@pytest.mark.parametrize(("exercise", "lang"), [("tp-reseau", "fr"), ("tp-volumes", "en")])
def test_demo_with_stand_ins(exercise: str, lang: str, busybox: str, tmp_path: Path) -> None:
    report = tmp_path / "report.json"
    done = runner.invoke(
        app, ["demo", exercise, "--stand-ins", "--lang", lang, "--json", str(report)]
    )

    assert done.exit_code == 0, done.output
    assert "20/20" in done.output
    project = json.loads(report.read_text())["project"]
    assert project.startswith("tpgrader-demo-")
    assert not Path(scratch_folder(project)).exists()  # its host folders are gone


def image_tags(client: docker.DockerClient) -> list[tuple[str, list[str]]]:
    return sorted((i["Id"], sorted(i.get("RepoTags") or ())) for i in client.api.images())


@pytest.mark.parametrize("exercise", ["tp-reseau", "tp-volumes"])
def test_demo_on_a_bin_only_busybox_leaves_no_image(
    exercise: str, docker_client: docker.DockerClient, busybox: str
) -> None:
    """Stand-ins do not depend on their base's PATH; every image the demo built (stand-ins,
    tp-volumes' graphite) is gone after it."""
    base = build_bin_only_busybox(docker_client)
    before = image_tags(docker_client)

    done = runner.invoke(
        app, ["demo", exercise, "--stand-ins", "--probe-image", base, "--lang", "en"]
    )

    assert done.exit_code == 0, done.output
    assert "Total: 20/20" in done.output
    assert image_tags(docker_client) == before


def test_demo_offline_says_stand_ins_exist(busybox: str) -> None:
    """The lab's images cannot be pulled (a registry that refuses on loopback stands for
    Docker Hub out of reach): the error says what to do."""
    done = runner.invoke(
        app,
        ["demo", "tp-reseau", "--lang", "en", "--image", "redis=127.0.0.1:9/absent:1",
         "--image", "app=127.0.0.1:9/absent:1"],
    )  # fmt: skip

    assert done.exit_code == 3, done.output
    assert "Traceback" not in done.output
    assert "add --stand-ins (small stand-in images built locally)" in done.output


def test_demo_with_explicit_images(reseau_images: dict[str, str]) -> None:
    done = runner.invoke(
        app,
        ["demo", "tp-reseau", "--lang", "en",
         "--image", f"redis={reseau_images['redis']}", "--image", f"app={reseau_images['app']}"],
    )  # fmt: skip

    assert done.exit_code == 0, done.output
    assert "demo: the reference solution in Compose project tpgrader-demo-" in done.output


def test_demo_unknown_image_name() -> None:
    done = runner.invoke(app, ["demo", "tp-reseau", "--lang", "en", "--image", "postgres=x"])

    assert done.exit_code == 2
    assert "unknown image 'postgres' (the exercise's images: app, redis)" in done.output


def test_doctor(busybox: str) -> None:
    done = runner.invoke(app, ["doctor", "--lang", "en", "--probe-image", busybox])

    assert done.exit_code == 0, done.output
    where = (  # a worker of the suite's own may run on a private engine
        f"{os.environ['DOCKER_HOST']} (DOCKER_HOST)"
        if os.environ.get("DOCKER_HOST")
        else "unix:///var/run/docker.sock (default)"
    )
    assert f"✔ Docker Engine: {where}" in done.output
    assert "API 1." in done.output
    assert f"✔ probe image: {busybox}" in done.output
    assert "docker compose: 2." in done.output


def test_doctor_on_a_fresh_runner(docker_client: docker.DockerClient) -> None:
    """A fresh CI runner has no probe image yet: grading will pull it, so doctor passes and
    says so. (The suite never tags the default probe image, so it is absent here.)"""
    assert not docker_client.api.images(name=defaults.PROBE_IMAGE)

    done = runner.invoke(app, ["doctor", "--lang", "en", "--probe-image", defaults.PROBE_IMAGE])

    assert done.exit_code == 0, done.output
    assert (
        f"• probe image: {defaults.PROBE_IMAGE} — not on the engine: pulled at the first grading"
        in done.output
    )


def test_batch_rescore_and_clean_commands(
    tmp_path: Path,
    reseau: Exercise,
    reseau_images: dict[str, str],
    docker_client: docker.DockerClient,
) -> None:
    from tests.engine.test_batch import make_class

    root = make_class(
        tmp_path / "class", reseau, reseau_images, ["perfect", "hostile", "no-compose"]
    )
    out = tmp_path / "out"

    done = runner.invoke(
        app, ["batch", "tp-reseau", str(root), "--out", str(out), "--jobs", "2", "--lang", "en"]
    )
    rescored = runner.invoke(app, ["rescore", str(out), "--lang", "en"])

    assert done.exit_code == 1, done.output  # a submission in error: the teacher should look
    assert "perfect: 20/20 graded" in done.output
    assert "hostile: 0/20 refused — submission refused: not allowed in a submission: " in (
        done.output
    )
    assert "services.redis.privileged (privileges on the host)" in done.output.replace("\n", "")
    assert "1 graded, 1 refused, 1 errors — summary: " in done.output
    assert rescored.exit_code == 0
    assert "1 graded, 1 refused, 1 errors" in rescored.output
    assert (out / "gradebook.csv").read_text().count("\n") == 4


def test_clean_removes_what_runs_left(docker_client: docker.DockerClient, busybox: str) -> None:
    labels = {"io.tp-grader.role": "batch", "io.tp-grader.run": "leftover"}
    project = f"tpgleftover{secrets.token_hex(3)}"
    network = docker_client.api.create_network("tpg-leftover-net", labels=labels)
    volume = docker_client.api.create_volume("tpg-leftover-vol", labels=labels)
    container = docker_client.api.create_container(
        busybox, "true", labels={**labels, "com.docker.compose.project": project}
    )
    scratch = {  # a host folder: of the leftover run, of an old run, of a run starting now
        name: Path(f"/tmp/tp-grader-{project}{name}") for name in ("", "-old", "-starting")
    }
    for folder in scratch.values():
        folder.mkdir(exist_ok=True)
        (folder / "f").write_text("x")
    an_hour_ago = time.time() - 3600
    os.utime(scratch["-old"], (an_hour_ago, an_hour_ago))
    # Whatever else carries tp-grader's role label is removed too (a leak of an earlier test
    # fails that test, not this one): the counts are of all of it.
    role = {"label": "io.tp-grader.role"}
    counts = (
        len(docker_client.api.containers(all=True, filters=role)),
        len(docker_client.api.networks(filters=role)),
        len(docker_client.api.volumes(filters=role)["Volumes"] or ()),
    )

    done = runner.invoke(app, ["clean"])

    assert done.exit_code == 0, done.output
    said = " ".join(done.output.split())  # a long engine URL wraps the line
    assert "{} containers, {} networks, {} volumes".format(*counts) in said
    assert not docker_client.api.containers(all=True, filters={"id": container["Id"]})
    assert not docker_client.api.networks(ids=[network["Id"]])
    assert volume["Name"] not in [v["Name"] for v in docker_client.api.volumes()["Volumes"] or ()]
    assert [name for name, folder in scratch.items() if folder.exists()] == ["-starting"]
    shutil.rmtree(scratch["-starting"])


def test_ci_outputs_and_min_score(
    tmp_path: Path, lab: LabBuilder, reseau_images: dict[str, str]
) -> None:
    build_reseau(lab, reseau_images, "redis-attache")  # 12/20
    step_summary = tmp_path / "step-summary.md"
    step_summary.write_text("earlier step\n")
    files = {name: tmp_path / name for name in ("results.json", "run.md", "cg.xml")}

    passing = runner.invoke(
        app,
        ["check", "tp-reseau", "--lang", "en", "--min-score", "10",
         "--gradescope", str(files["results.json"]), "--summary-md", str(files["run.md"]),
         "--junit", str(files["cg.xml"]), "--junit-flavor", "codegrade"],
        env={"GITHUB_STEP_SUMMARY": str(step_summary)},
    )  # fmt: skip
    failing = runner.invoke(app, ["check", "tp-reseau", "--quiet", "--min-score", "12.5"])

    assert passing.exit_code == 0, passing.output  # 12 >= 10, although checks failed
    assert failing.exit_code == 1
    assert json.loads(files["results.json"].read_text())["score"] == 12
    assert "| ❌ | `redis-attache` |" in files["run.md"].read_text()
    summary = step_summary.read_text()
    assert summary.startswith("earlier step\n")
    assert "### Networking lab" in summary
    assert 'weight="3"' in files["cg.xml"].read_text()


def test_unknown_junit_flavor() -> None:
    done = runner.invoke(app, ["check", "tp-reseau", "--junit-flavor", "surefire"])

    assert done.exit_code == 2
    assert "--junit-flavor" in done.output
