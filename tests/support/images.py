"""Offline test images: busybox-static in a FROM-scratch image, and the exercises' stand-ins.

No registry is reachable on our machines, so nothing is pulled: the busybox image is built
from the host's static busybox under a tag of the suite's own, and every grading the tests run
is pointed at it (``probe_image=BUSYBOX``, or ``GRADER_PROBE_IMAGE`` for the command line). The
default probe image is never faked: it stays absent, so the "absent probe image" paths run for
real, and no later grading on the machine can pick up a test double.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import docker

BUSYBOX = "tp-grader-test/busybox:latest"
TEST_LABEL = {"io.tp-grader.test": "1"}

_DOCKERFILE = """\
FROM scratch
COPY busybox /bin/busybox
RUN ["/bin/busybox", "sh", "-c", "/bin/busybox mkdir -p /usr/bin /sbin /usr/sbin /etc /root /tmp \\
 && /bin/busybox chmod 1777 /tmp && /bin/busybox --install -s \\
 && echo 'root:x:0:0:root:/root:/bin/sh' >/etc/passwd \\
 && echo 'nobody:x:65534:65534:nobody:/nonexistent:/bin/false' >>/etc/passwd \\
 && echo 'root:x:0:' >/etc/group && echo 'nogroup:x:65534:' >>/etc/group"]
CMD ["sh"]
"""


def static_busybox() -> Path:
    found = shutil.which("busybox")
    if found is None:
        raise RuntimeError("busybox not found: install Debian's busybox-static")
    if _has_interpreter(Path(found)):
        raise RuntimeError(f"{found} is dynamically linked: install Debian's busybox-static")
    return Path(found)


def _has_interpreter(binary: Path) -> bool:
    """Whether an ELF64 binary names a dynamic loader (a PT_INTERP program header)."""
    header = binary.read_bytes()
    if header[:4] != b"\x7fELF" or header[4] != 2:
        return False
    order = "little" if header[5] == 1 else "big"
    phoff = int.from_bytes(header[0x20:0x28], order)
    phentsize = int.from_bytes(header[0x36:0x38], order)
    phnum = int.from_bytes(header[0x38:0x3A], order)
    return any(
        int.from_bytes(header[phoff + i * phentsize : phoff + i * phentsize + 4], order) == 3
        for i in range(phnum)
    )


def build_busybox(client: docker.DockerClient) -> str:
    """Build :data:`BUSYBOX` (once per engine)."""
    try:
        client.images.get(BUSYBOX)
    except docker.errors.ImageNotFound:
        with tempfile.TemporaryDirectory() as context:
            shutil.copy2(static_busybox(), Path(context) / "busybox")
            (Path(context) / "Dockerfile").write_text(_DOCKERFILE)
            client.images.build(path=context, tag=BUSYBOX, rm=True, forcerm=True, labels=TEST_LABEL)
    return BUSYBOX


def build_test_image(client: docker.DockerClient, tag: str, dockerfile: str, **files: str) -> str:
    """Build a small image from ``dockerfile`` text (``FROM {base}`` is filled in)."""
    with tempfile.TemporaryDirectory() as context:
        (Path(context) / "Dockerfile").write_text(dockerfile.format(base=BUSYBOX))
        for name, content in files.items():
            path = Path(context) / name
            path.write_text(content)
            path.chmod(0o755)
        client.images.build(path=context, tag=tag, rm=True, forcerm=True, labels=TEST_LABEL)
    return tag


#: Tag prefixes of every image the suite builds (its own, and the exercises' stand-ins).
TEST_TAG_PREFIXES = ("tp-grader-test/", "tp-grader-stand-in/")


def test_tags(client: docker.DockerClient) -> list[str]:
    """Every tag on the engine that the suite may have made: under its prefixes, or on an
    image carrying its label (a test's own `tp-graphite`)."""
    labelled = {i["Id"] for i in client.api.images(filters={"label": "io.tp-grader.test"})}
    return sorted(
        tag
        for image in client.api.images()
        for tag in image.get("RepoTags") or ()
        if tag != "<none>:<none>" and (tag.startswith(TEST_TAG_PREFIXES) or image["Id"] in labelled)
    )


def remove_test_images(client: docker.DockerClient) -> None:
    """Untag (and so delete, when it was the last tag) every image the suite built, then the
    untagged ones it left (a test image rebuilt under the same tag leaves its old one)."""
    for tag in test_tags(client):
        with contextlib.suppress(docker.errors.DockerException):
            client.api.remove_image(tag, force=False, noprune=False)
    for label in ("io.tp-grader.test", "io.tp-grader.role=stand-in"):
        dangling = client.api.images(filters={"dangling": True, "label": label})
        for image in dangling:
            with contextlib.suppress(docker.errors.DockerException):
                client.api.remove_image(image["Id"], force=False)


@contextlib.contextmanager
def suite_images(client: docker.DockerClient) -> Iterator[str]:
    """The suite's busybox for a script outside pytest (the benchmarks): built on entry, and
    every test image and stand-in removed on exit, unless TPG_KEEP_TEST_IMAGES=1."""
    try:
        yield build_busybox(client)
    finally:
        if os.environ.get("TPG_KEEP_TEST_IMAGES") != "1":
            remove_test_images(client)


BIN_ONLY_BUSYBOX = "tp-grader-test/busybox-bin-only:latest"

_BIN_ONLY_DOCKERFILE = """\
FROM scratch
COPY busybox /bin/busybox
RUN ["/bin/busybox", "sh", "-c", "/bin/busybox mkdir -p /etc /tmp && /bin/busybox chmod 1777 /tmp \\
 && /bin/busybox --install -s /bin && echo 'root:x:0:0:root:/root:/bin/sh' >/etc/passwd \\
 && echo 'root:x:0:' >/etc/group"]
ENV PATH=/bin
CMD ["/bin/sh"]
"""


def build_bin_only_busybox(client: docker.DockerClient) -> str:
    """A busybox image as some are: every applet in /bin, and ``PATH=/bin``."""
    with tempfile.TemporaryDirectory() as context:
        shutil.copy2(static_busybox(), Path(context) / "busybox")
        (Path(context) / "Dockerfile").write_text(_BIN_ONLY_DOCKERFILE)
        client.images.build(
            path=context, tag=BIN_ONLY_BUSYBOX, rm=True, forcerm=True, labels=TEST_LABEL
        )
    return BIN_ONLY_BUSYBOX
