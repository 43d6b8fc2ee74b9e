"""A second Docker Engine for tests: a separate host, in a network namespace of its own.

Started beside the machine's engine in the same network namespace, a second dockerd can delete
the first one's docker0 bridge; in a namespace made here (``ip netns add``) and entered with
``nsenter --net`` (not ``ip netns exec``, which remounts /sys and breaks the daemon's cgroup
setup) it has its own bridges and published ports, reachable only through its socket. Images
are copied in with save/load. Teardown stops the daemon, unmounts what it left under its
folders, removes them and the namespace; the first engine is checked to be as before, and to
answer, once the second is up and once it is gone.
"""

from __future__ import annotations

import contextlib
import secrets
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import docker

from tests.support.wait import wait_for


def _first_engine_state(client: docker.DockerClient) -> tuple[object, ...]:
    networks = sorted((n["Name"], n["Driver"]) for n in client.api.networks())
    bridge = subprocess.run(["ip", "link", "show", "docker0"], capture_output=True, check=False)
    return networks, bridge.returncode


@dataclass(frozen=True)
class PrivateEngine:
    url: str
    """``unix://`` URL of its socket."""
    namespace: str
    """The network namespace it runs in (``/var/run/netns/<namespace>``): where its published
    ports listen."""


@contextlib.contextmanager
def private_engine(storage_driver: str) -> Iterator[PrivateEngine]:
    """Start an empty engine in a network namespace of its own; stop it and remove all of it
    after. Nothing is checked of the machine's engine: see :func:`second_engine`."""
    namespace = f"tpg{secrets.token_hex(3)}"
    root = Path(tempfile.mkdtemp(prefix="tpg-engine-", dir="/tmp"))
    socket = root / "docker.sock"
    (root / "daemon.json").write_text("{}")
    subprocess.run(["ip", "netns", "add", namespace], check=True)
    process: subprocess.Popen[bytes] | None = None
    try:
        subprocess.run(["ip", "-n", namespace, "link", "set", "lo", "up"], check=True)
        command = [
            "nsenter", f"--net=/var/run/netns/{namespace}",
            "dockerd", "--config-file", str(root / "daemon.json"),
            "--data-root", str(root / "data"), "--exec-root", str(root / "exec"),
            "-H", f"unix://{socket}", "--pidfile", str(root / "docker.pid"),
            "--storage-driver", storage_driver,
            # Where a system containerd runs, both engines would share it: their own
            # namespaces keep the second one's tasks and plugins apart from the first's.
            "--containerd-namespace", namespace,
            "--containerd-plugins-namespace", f"{namespace}-plugins",
        ]  # fmt: skip
        process = subprocess.Popen(
            command,
            stdout=(root / "dockerd.log").open("wb"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        url = f"unix://{socket}"

        def up() -> docker.DockerClient | None:
            if process.poll() is not None:
                log = (root / "dockerd.log").read_text(errors="replace")[-2000:]
                raise AssertionError(f"the second dockerd exited:\n{log}")
            try:
                return docker.DockerClient(base_url=url, version="auto", timeout=60)
            except docker.errors.DockerException:
                return None  # not listening yet

        wait_for(up, timeout_s=60, interval_s=0.5, what="the second engine").close()
        yield PrivateEngine(url, namespace)
    finally:
        _stop(process)
        _unmount_under(root)
        shutil.rmtree(root, ignore_errors=True)
        subprocess.run(["ip", "netns", "del", namespace], check=False)


@contextlib.contextmanager
def second_engine(first: docker.DockerClient, images: Sequence[str]) -> Iterator[str]:
    """Start a second engine holding ``images``; yields its ``unix://`` URL."""
    before = _first_engine_state(first)
    with private_engine(first.info().get("Driver") or "overlay2") as engine:
        second = docker.DockerClient(base_url=engine.url, version="auto", timeout=60)
        for image in images:  # docker save | docker load
            second.api.load_image(b"".join(first.api.get_image(image)))
        second.close()
        first.ping()  # the first engine outlived the second one's start
        yield engine.url
    assert _first_engine_state(first) == before, "the first engine changed"


def _stop(process: subprocess.Popen[bytes] | None) -> None:
    if process is None or process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(10)


def _unmount_under(root: Path) -> None:
    mounts = Path("/proc/mounts").read_text().splitlines()
    points = [line.split()[1] for line in mounts if len(line.split()) > 1]
    for point in sorted((p for p in points if p.startswith(str(root))), reverse=True):
        subprocess.run(["umount", "-l", point], check=False, capture_output=True)
