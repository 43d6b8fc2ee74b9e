"""The grader as a container image: built from the repository's Dockerfile on a base image
the suite makes itself (no registry is reachable here: a Debian rootfs from debootstrap with
Debian's python3, imported with ``docker import``), run against the reference solution through
the mounted Docker socket: 20/20, and the same JSON as the grader installed on the host."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import docker
import pytest

from tests.engine.test_tp_reseau import build_reseau
from tests.support.lab import lab_builder

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
BASE = "tp-grader-test/debian-python:bookworm"
IMAGE = "tp-grader-test/grader:latest"
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


@pytest.fixture(scope="module")
def grader_image(docker_client: docker.DockerClient) -> str:
    base = debian_python_base(docker_client)
    subprocess.run(
        ["docker", "build", "-q", "--force-rm", "--build-arg", f"BASE_IMAGE={base}", "-t", IMAGE,
         str(ROOT)],
        check=True, capture_output=True,
    )  # fmt: skip
    return IMAGE


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
            ["docker", "run", "--rm",
             "-v", "/var/run/docker.sock:/var/run/docker.sock", "-v", f"{tmp_path}:/out",
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


def test_image_is_multi_stage_without_build_tools(grader_image: str) -> None:
    listing = subprocess.run(
        ["docker", "run", "--rm", "--entrypoint", "sh", grader_image, "-c",
         "ls /opt/tp-grader/bin; command -v gcc cc make pip || true"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip

    assert "grade" in listing.split()
    assert "/usr/bin/gcc" not in listing
    assert "bin/pip" not in listing
