"""The grader as a container image: built from the repository's Dockerfile on a base image
the suite makes itself (no registry is reachable here: a Debian rootfs from debootstrap with
Debian's python3, imported with ``docker import``), run against the reference solution through
the mounted Docker socket: 20/20, and the same JSON as the grader installed on the host. Its
reports come out on ``docker run``'s standard output, and its final stage holds nothing of the
build stage but the virtual environment (a single-stage build of the same Dockerfile fails
that check)."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import docker
import pytest

from grader import defaults
from tests.engine.test_tp_reseau import build_reseau
from tests.support.images import BUSYBOX, TEST_LABEL
from tests.support.lab import lab_builder
from tests.support.reports import assert_valid_junit, junit_counts

#: Its build installs from PyPI: only the machine's engine reaches it (tests/support/workers.py).
pytestmark = [pytest.mark.slow, pytest.mark.machine_engine]

ROOT = Path(__file__).resolve().parents[2]
BASE = "tp-grader-test/debian-python:bookworm"
IMAGE = "tp-grader-test/grader:latest"
SINGLE_STAGE = "tp-grader-test/grader-single-stage:latest"
LABEL = [f"--label={key}={value}" for key, value in TEST_LABEL.items()]
#: ``docker run`` with the engine's socket, and the suite's probe image (never the default tag).
RUN = ["docker", "run", "--rm", "-v", "/var/run/docker.sock:/var/run/docker.sock",
       "-e", f"{defaults.PROBE_IMAGE_ENV}={BUSYBOX}"]  # fmt: skip
CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")


def debian_python_base(client: docker.DockerClient) -> str:
    """A Debian bookworm image with python3 and venv, made with debootstrap (once per engine).

    It trusts what this machine trusts (the machine reaches PyPI through its own CA bundle),
    so ``pip install`` inside the build works the way it does on the host."""
    try:
        client.images.get(BASE)
        return BASE
    except docker.errors.ImageNotFound:
        pass
    debootstrap = shutil.which("debootstrap")
    assert debootstrap, "the image test needs Debian's debootstrap (apt-get install debootstrap)"
    with tempfile.TemporaryDirectory(prefix="tp-grader-rootfs-") as rootfs:
        subprocess.run(
            [debootstrap, "--variant=minbase", "--include=python3,python3-venv", "bookworm",
             rootfs, "http://deb.debian.org/debian"],
            check=True, capture_output=True,
        )  # fmt: skip
        if CA_BUNDLE.is_file():
            shutil.copy(CA_BUNDLE, Path(rootfs) / "etc/ssl/certs/ca-certificates.crt")
        for cache in ("var/cache/apt/archives", "var/lib/apt/lists"):
            shutil.rmtree(Path(rootfs) / cache, ignore_errors=True)
        archive = subprocess.Popen(["tar", "-C", rootfs, "-c", "."], stdout=subprocess.PIPE)
        subprocess.run(
            ["docker", "import",
             "--change", f"ENV PIP_CERT={CA_BUNDLE}", "--change", f"ENV SSL_CERT_FILE={CA_BUNDLE}",
             "-", BASE],
            stdin=archive.stdout, check=True, capture_output=True,
        )  # fmt: skip
        archive.wait()
    return BASE


def build(client: docker.DockerClient, tag: str, dockerfile: str | None = None) -> str:
    """Build the repository (with its Dockerfile, or ``dockerfile``'s text) on the base; the
    image the tag named before, now untagged, goes."""
    try:
        previous: str | None = client.images.get(tag).id
    except docker.errors.ImageNotFound:
        previous = None
    subprocess.run(
        ["docker", "build", "-q", "--force-rm", *LABEL, "--build-arg", f"BASE_IMAGE={BASE}",
         "-t", tag, "-f", "-" if dockerfile is not None else str(ROOT / "Dockerfile"), str(ROOT)],
        input=dockerfile.encode() if dockerfile is not None else None,
        check=True, capture_output=True,
    )  # fmt: skip
    if previous is not None and previous != client.images.get(tag).id:
        with contextlib.suppress(docker.errors.DockerException):
            client.api.remove_image(previous)
    return tag


def build_leftovers(client: docker.DockerClient, since: float) -> list[str]:
    """Untagged images made on the base since ``since`` that nothing builds on: what the
    legacy builder keeps of a build stage (no label reaches them)."""
    base = client.images.get(BASE).id
    found = []
    for image in client.api.images(filters={"dangling": True}):
        if image["Created"] < since:
            continue
        parent = image.get("ParentId") or ""
        while parent and parent != base:
            parent = client.api.inspect_image(parent).get("Parent") or ""
        if parent == base:
            found.append(image["Id"])
    return found


@pytest.fixture(scope="module")
def grader_image(docker_client: docker.DockerClient, busybox: str) -> Iterator[str]:
    started = time.time() - 1
    debian_python_base(docker_client)
    try:
        yield build(docker_client, IMAGE)
    finally:
        if os.environ.get("TPG_KEEP_TEST_IMAGES") != "1":  # else they are the build's cache
            for leftover in build_leftovers(docker_client, started):
                with contextlib.suppress(docker.errors.DockerException):
                    docker_client.api.remove_image(leftover)


def comparable(report: dict[str, Any]) -> dict[str, Any]:
    """A JSON report without what differs between two runs of the same grading (timings)."""
    report = {k: v for k, v in report.items() if k not in ("started_at", "duration_s")}
    report["checks"] = [{k: v for k, v in c.items() if k != "duration_s"} for c in report["checks"]]
    return report


def test_image_grades_through_the_mounted_socket(
    grader_image: str,
    docker_client: docker.DockerClient,
    reseau_images: dict[str, str],
    tmp_path: Path,
) -> None:
    with lab_builder(docker_client) as lab:
        build_reseau(lab, reseau_images)
        in_container = subprocess.run(
            [*RUN, "-v", f"{tmp_path}:/out",
             grader_image, "check", "tp-reseau", "--student", "ada", "--lang", "en",
             "--json", "/out/container.json"],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        on_host = subprocess.run(
            [sys.executable, "-m", "grader", "check", "tp-reseau", "--student", "ada",
             "--lang", "en", "--json", str(tmp_path / "host.json"), "--quiet"],
            capture_output=True, text=True, check=False,
        )  # fmt: skip

    assert in_container.returncode == 0, in_container.stdout + in_container.stderr
    assert "Total: 20/20" in in_container.stdout
    assert on_host.returncode == 0
    container = json.loads((tmp_path / "container.json").read_text())
    host = json.loads((tmp_path / "host.json").read_text())
    assert comparable(container) == comparable(host)


def test_image_writes_reports_on_docker_runs_stdout(grader_image: str, tmp_path: Path) -> None:
    """``--json -`` and ``--json /dev/stdout`` in the container (the engine with nothing set
    up: 0/20, exit 1); a report file bind-mounted on its own, which cannot be renamed over, is
    written in place."""
    dash = subprocess.run(
        [*RUN, grader_image, "check", "tp-reseau", "--lang", "en", "--json", "-", "--quiet"],
        capture_output=True, check=False,
    )  # fmt: skip
    bound = tmp_path / "junit.xml"
    bound.write_text("")
    inode = bound.stat().st_ino
    device = subprocess.run(
        [*RUN, "-v", f"{bound}:/out/junit.xml", grader_image, "check", "tp-reseau",
         "--lang", "en", "--json", "/dev/stdout", "--junit", "/out/junit.xml"],
        capture_output=True, check=False,
    )  # fmt: skip

    for done in (dash, device):
        assert done.returncode == 1, done.stderr
        report = json.loads(done.stdout)  # nothing else on stdout
        assert (report["exercise"], report["score"], report["max_score"]) == ("tp-reseau", 0, 20)
    assert "Total: 0/20" in device.stderr.decode()  # the terminal report moved to stderr
    assert bound.stat().st_ino == inode
    assert junit_counts(assert_valid_junit(bound))["tests"] == 12


# -- the final stage -------------------------------------------------------------------------
def final_stage_problems(client: docker.DockerClient, image: str) -> list[str]:
    """What of the build stage is in ``image``, beyond its product (the virtual environment).

    Our Dockerfile's build stage copies the sources and installs from them; its final stage
    copies the virtual environment onto the bare base. So the final image must be the base
    plus exactly one layer, hold the ``grade`` entry point, and have no sources (no
    ``pyproject.toml`` anywhere, no ``/src``). Compilers and pip are looked for too, though
    neither stage has them on our base: they could not tell the stages apart."""
    problems = []
    base_layers = client.images.get(BASE).attrs["RootFS"]["Layers"]
    layers = client.images.get(image).attrs["RootFS"]["Layers"]
    if layers[: len(base_layers)] != base_layers:
        problems.append("not built on the base image")
    elif len(layers) != len(base_layers) + 1:
        problems.append(f"{len(layers) - len(base_layers)} layers on the base, not one")
    listing = subprocess.run(
        ["docker", "run", "--rm", "--entrypoint", "sh", image, "-c",
         "ls /opt/tp-grader/bin; ls -d /src;"
         " find / -xdev -name pyproject.toml -not -path '/proc/*';"
         " command -v gcc cc make pip pip3 /opt/tp-grader/bin/pip; true"],
        capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    if "grade" not in listing:
        problems.append("no grade entry point in /opt/tp-grader/bin")
    problems += [f"sources: {path}" for path in listing if path.startswith("/src")]
    problems += [f"sources: {path}" for path in listing if path.endswith("/pyproject.toml")]
    problems += [f"build tool: {path}" for path in listing if Path(path).name in BUILD_TOOLS]
    return sorted(set(problems))


BUILD_TOOLS = {"gcc", "cc", "make", "pip", "pip3"}


def single_stage_dockerfile() -> str:
    """The repository's Dockerfile without its final stage: the build stage is the image."""
    text = (ROOT / "Dockerfile").read_text()
    stages = [i for i, line in enumerate(text.splitlines()) if line.startswith("FROM ")]
    assert len(stages) >= 2, "the Dockerfile is no longer multi-stage"
    return "\n".join(text.splitlines()[: stages[-1]]) + "\n"


def test_final_stage_holds_only_the_virtual_environment(
    grader_image: str, docker_client: docker.DockerClient
) -> None:
    assert final_stage_problems(docker_client, grader_image) == []


def test_a_single_stage_build_fails_the_final_stage_check(
    grader_image: str, docker_client: docker.DockerClient
) -> None:
    """The check above can fail: on the build stage alone (same Dockerfile, final stage cut;
    the layer cache of the real build makes it quick) it finds the sources and the layers."""
    try:
        problems = final_stage_problems(
            docker_client, build(docker_client, SINGLE_STAGE, single_stage_dockerfile())
        )
    finally:
        # Only this tag: its untagged parents are the real build's cache.
        with contextlib.suppress(docker.errors.ImageNotFound):
            docker_client.api.remove_image(SINGLE_STAGE, noprune=True)

    assert "sources: /src" in problems
    assert "sources: /src/pyproject.toml" in problems
    assert any(problem.endswith("layers on the base, not one") for problem in problems)
