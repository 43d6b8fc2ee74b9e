"""``grade selftest`` on the real engine, through the command line: every shipped exercise
proves its checks (with stand-ins); a lab scaffolded by ``grade new`` passes as written; a
deliberately weakened check makes selftest fail and name the mutant that survives it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import docker
import pytest

from grader.exercise.catalog import _PACKAGE, available, find

#: Every shipped lab but the swarm ones: their selftest makes the engine a swarm manager, which
#: the machine's shared engine must not become; tests/engine/test_tp_overlay.py runs theirs on
#: an engine of its own.
SHIPPED = [
    exercise
    for exercise in available()
    if (
        (_PACKAGE.parent / "exercises" / exercise).is_dir()
        or (_PACKAGE / "_bundle" / "exercises" / exercise).is_dir()
    )
    and not ((solution := find(exercise).solution) is not None and solution.stack)
]


#: A selftest keeps an engine's CPU busy for a minute or two: in a parallel run these take turns
#: on one worker (the variants' selftests on another), so the other workers grade on a busy
#: machine, not an overloaded one.
pytestmark = pytest.mark.xdist_group("selftest")


def selftest(
    exercise: str, probe_image: str, grader_path: Path | None = None
) -> tuple[int, dict[str, Any], str]:
    """Run ``grade selftest EXERCISE --stand-ins --json -``; return the exit code, the JSON
    report (stdout) and what was printed for people (stderr)."""
    env = dict(os.environ)
    if grader_path is not None:
        env["GRADER_PATH"] = str(grader_path)
    done = subprocess.run(
        [sys.executable, "-m", "grader", "selftest", exercise, "--stand-ins", "--json", "-",
         "--probe-image", probe_image, "--lang", "en"],
        capture_output=True, text=True, env=env, timeout=900, check=False,
    )  # fmt: skip
    report = json.loads(done.stdout) if done.stdout.strip() else {}
    return done.returncode, report, done.stderr


def no_project_left(client: docker.DockerClient) -> bool:
    labels = {"label": "io.tp-grader.role=selftest"}
    return not client.api.containers(all=True, filters=labels) and not client.api.networks(
        filters=labels
    )


@pytest.mark.slow
@pytest.mark.parametrize("exercise", SHIPPED)
def test_every_shipped_exercise_proves_its_checks(
    exercise: str, busybox: str, docker_client: docker.DockerClient
) -> None:
    code, report, printed = selftest(exercise, busybox)

    assert code == 0, printed
    assert report["exercise"] == exercise
    assert report["reference"]["score"] == report["reference"]["max_score"] > 0
    assert report["baseline"]["score"] == 0
    assert report["declared"]["broken"] == []
    assert report["generated"]["survived"] == []
    assert report["checks_never_failing"] == []
    assert (
        report["generated"]["killed"] + report["generated"]["equivalent"]
        == (report["generated"]["total"])
    )
    assert no_project_left(docker_client)


def scaffold(folder: Path) -> Path:
    done = subprocess.run(
        [sys.executable, "-m", "grader", "new", "demo-lab", "--into", str(folder)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return folder / "exercises" / "demo-lab"


def test_a_new_lab_passes_selftest_as_written(
    tmp_path: Path, busybox: str, docker_client: docker.DockerClient
) -> None:
    scaffold(tmp_path / "course")

    code, report, printed = selftest("demo-lab", busybox, tmp_path / "course")

    assert code == 0, printed
    assert (report["reference"]["score"], report["reference"]["max_score"]) == (10, 10)
    assert report["declared"] == {"total": 3, "held": 3, "broken": []}
    assert report["generated"]["survived"] == []
    assert report["checks_never_failing"] == []
    assert no_project_left(docker_client)


def test_a_weakened_check_fails_selftest_and_names_the_survivors(
    tmp_path: Path, busybox: str
) -> None:
    lab = scaffold(tmp_path / "course")
    checks = lab / "checks.py"
    strict = "    expect.no_legacy_links(c for name in names if (c := lab.find_container(name)) "
    text = checks.read_text()
    assert strict in text
    # The penalty check now lets every link through.
    checks.write_text(text.replace(strict, "    return  # weakened\n" + strict))

    code, report, printed = selftest("demo-lab", busybox, tmp_path / "course")

    assert code == 1
    survivors = {mutant["id"] for mutant in report["generated"]["survived"]}
    assert survivors == {"add-link:web", "add-link:client"}
    assert "mutant add-link:web (web has a --link to client) survives" in printed.replace("\n", " ")
