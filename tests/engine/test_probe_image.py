"""``grade probe-image build``: the host's static busybox, built through the engine into an
image that probes run in. Built under a throwaway tag (the default probe image is never tagged
by the suite), and removed, with every image the test built, whatever happens."""

from __future__ import annotations

import contextlib
import secrets

import docker
from typer.testing import CliRunner

from grader import defaults
from grader.cli import app
from grader.engine.docker_engine import DockerEngine
from grader.engine.probe import ProbeSpec
from grader.setup.probe_image import LABEL_BUSYBOX, ROLE
from tests.support.wait import wait_for

runner = CliRunner()


def test_probe_image_build_makes_an_image_probes_run_in(
    engine: DockerEngine, docker_client: docker.DockerClient
) -> None:
    tag = f"tp-grader-test/probe-image-build:{secrets.token_hex(4)}"
    build = ["probe-image", "build", "--tag", tag, "--lang", "en"]
    built_ids: set[str] = set()
    try:
        first = runner.invoke(app, build)
        first_image = engine.image(tag)
        if first_image is not None:
            built_ids.add(first_image.id)
        again = runner.invoke(app, build)
        replaced = runner.invoke(app, [*build, "--replace"])
        image = engine.image(tag)
        if image is not None:
            built_ids.add(image.id)

        assert first.exit_code == 0, first.output
        assert first.output.startswith(f"built {tag} (")
        assert "(BusyBox 1." in first.output
        assert (again.exit_code, again.output) == (
            0,
            f"{tag} is already on the engine: nothing built (--replace builds it anew)\n",
        )
        assert replaced.exit_code == 0, replaced.output
        assert replaced.output.startswith(f"built {tag} (")
        assert image is not None
        labels = docker_client.api.inspect_image(tag)["Config"]["Labels"]
        assert labels[defaults.LABEL_ROLE] == ROLE
        assert labels[LABEL_BUSYBOX].startswith("1.")

        # What a probe does: a shell, busybox's applets on PATH, the users sandboxes run as.
        output = engine.run_probe(
            ProbeSpec(
                image=tag,
                script="id -un; grep -c '' /etc/passwd; nslookup 2>&1 | head -1; ls -ld /tmp",
                purpose="probe-image test",
                labels={"io.tp-grader.test": "1"},
            )
        )
        lines = output.stdout.decode().splitlines()
        assert lines[:2] == ["root", "2"], output
        assert lines[2].startswith("BusyBox v1."), output
        assert lines[3].startswith("drwxrwxrwt"), output
    finally:
        # The probe is auto-removed just after it exits: its image is removable once it is gone.
        with contextlib.suppress(AssertionError):
            wait_for(
                lambda: not docker_client.api.containers(all=True, filters={"ancestor": tag}),
                timeout_s=20,
                what="the probe's removal",
            )
        for ref in (tag, *built_ids):  # the first build too, were --replace to leave it
            with contextlib.suppress(docker.errors.NotFound):
                docker_client.api.remove_image(ref)
    assert engine.image(tag) is None
