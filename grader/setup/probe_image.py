"""A probe image made here, offline: the host's static busybox in a FROM-scratch image.

Grading runs its probes in a busybox image (:data:`~grader.defaults.PROBE_IMAGE`), pulled at
first use. Where no registry is reachable, ``grade probe-image build`` makes one from the host's
own busybox instead (Debian's ``busybox-static``, or any static busybox on ``PATH``) and tags it
as the default, so every command works afterwards with no option. Only a statically linked
busybox will do: a FROM-scratch image has no C library for a dynamic one to load.

The image is built through the engine (:meth:`~grader.engine.base.Engine.build_bounded`), from a
context made in memory: the binary, a minimal ``/etc/passwd`` and ``/etc/group`` (root, and the
``nobody`` user that sandboxes run as), and one ``RUN`` that installs busybox's applets.
"""

from __future__ import annotations

import io
import os
import re
import tarfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from grader import defaults
from grader.engine.base import Engine
from grader.errors import ProbeImageUnavailable, SetupFailed, ToolMissing, UsageError
from grader.i18n import Text

#: ``io.tp-grader.role`` of a probe image built here (``grade clean`` leaves it alone: it is
#: not under a run's prefix).
ROLE = "probe-image"
#: Label naming the BusyBox version inside (the tag names the version grading expects).
LABEL_BUSYBOX = "io.tp-grader.busybox"
#: Where Debian's busybox-static installs it, looked at before ``PATH``.
DEBIAN_BUSYBOX = Path("/bin/busybox")
BUILD_DEADLINE_S = 120.0

PASSWD = """\
root:x:0:0:root:/root:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
"""
GROUP = """\
root:x:0:
nogroup:x:65534:
"""
DOCKERFILE = """\
FROM scratch
COPY busybox /bin/busybox
COPY passwd group /etc/
RUN ["/bin/busybox", "sh", "-c", "/bin/busybox mkdir -p /usr/bin /sbin /usr/sbin /root /tmp \
&& /bin/busybox chmod 1777 /tmp && /bin/busybox --install -s"]
CMD ["sh"]
"""

#: ELF ``e_machine`` -> the names an engine gives that architecture (``docker info``).
_MACHINES = {62: ("x86_64", "amd64"), 183: ("aarch64", "arm64")}
_PT_INTERP = 3
_VERSION = re.compile(rb"BusyBox v(\d+\.\d+\.\d+)")


@dataclass(frozen=True)
class Busybox:
    """A static busybox binary found on this machine."""

    path: Path
    version: str
    """``1.35.0``, read from the binary (``?`` when it does not say)."""
    machine: int
    """Its ELF ``e_machine``."""


@dataclass(frozen=True)
class Built:
    tag: str
    image_id: str
    busybox: Busybox
    replaced: bool
    """Whether ``tag`` named another image before (``--replace``)."""


def _refused(path: Path, fr: str, en: str) -> UsageError:
    return UsageError(Text(fr=f"{path} : {fr}", en=f"{path}: {en}"))


def read_busybox(path: Path) -> Busybox:
    """``path`` as a static busybox; a :class:`UsageError` (one line) when it is not one."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise _refused(
            path, f"illisible ({exc.strerror})", f"cannot read it ({exc.strerror})"
        ) from None
    if len(data) < 64 or data[:4] != b"\x7fELF" or data[4] not in (1, 2):
        raise _refused(path, "pas un exécutable ELF", "not an ELF executable")
    found = _VERSION.search(data)
    if found is None:
        raise _refused(path, "pas un binaire busybox", "not a busybox binary")
    if _is_dynamic(data):
        raise _refused(
            path,
            "lié dynamiquement : une image FROM scratch n'a pas de bibliothèque C ; installez "
            "busybox-static (Debian) ou donnez --busybox CHEMIN d'un busybox statique",
            "dynamically linked: a FROM-scratch image has no C library for it; install "
            "Debian's busybox-static or give --busybox PATH to a static busybox",
        )
    order = "little" if data[5] == 1 else "big"
    return Busybox(path, found.group(1).decode(), int.from_bytes(data[0x12:0x14], order))


def _is_dynamic(data: bytes) -> bool:
    """Whether an ELF binary names a dynamic loader (a ``PT_INTERP`` program header)."""
    order = "little" if data[5] == 1 else "big"
    if data[4] == 2:  # ELF64
        phoff = int.from_bytes(data[0x20:0x28], order)
        phentsize = int.from_bytes(data[0x36:0x38], order)
        phnum = int.from_bytes(data[0x38:0x3A], order)
    else:  # ELF32
        phoff = int.from_bytes(data[0x1C:0x20], order)
        phentsize = int.from_bytes(data[0x2A:0x2C], order)
        phnum = int.from_bytes(data[0x2C:0x2E], order)
    return any(
        int.from_bytes(data[phoff + i * phentsize : phoff + i * phentsize + 4], order) == _PT_INTERP
        for i in range(phnum)
    )


def find_busybox(given: Path | None = None, search_path: str | None = None) -> Busybox:
    """The busybox to build from: ``given``, else Debian's ``/bin/busybox``, else the first
    static one on ``search_path`` (default ``$PATH``). A dynamic one is refused with the reason
    when no static one is found; none at all is a :class:`ToolMissing`."""
    if given is not None:
        return read_busybox(given)
    search = os.environ.get("PATH", "") if search_path is None else search_path
    candidates = [DEBIAN_BUSYBOX] if search_path is None else []
    candidates += [Path(d) / "busybox" for d in search.split(os.pathsep) if d]
    refusal: UsageError | None = None
    seen: set[Path] = set()
    for candidate in candidates:
        if not (candidate.is_file() and os.access(candidate, os.X_OK)):
            continue
        real = candidate.resolve()
        if real in seen:
            continue
        seen.add(real)
        try:
            return read_busybox(candidate)
        except UsageError as exc:
            refusal = refusal or exc
    if refusal is not None:
        raise refusal
    raise ToolMissing(
        Text(
            fr="aucun busybox sur cette machine : installez busybox-static (Debian : "
            "apt-get install busybox-static) ou donnez --busybox CHEMIN",
            en="no busybox on this machine: install Debian's busybox-static "
            "(apt-get install busybox-static) or give --busybox PATH",
        )
    )


def build_context(busybox: Busybox) -> bytes:
    """The build context, as a tar made in memory: nothing is written on this machine."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        files = {
            "Dockerfile": DOCKERFILE.encode(),
            "passwd": PASSWD.encode(),
            "group": GROUP.encode(),
            "busybox": busybox.path.read_bytes(),
        }
        for name, content in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(content)
            info.mode = 0o755 if name == "busybox" else 0o644
            tar.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


def build_probe_image(
    engine: Engine,
    busybox: Busybox,
    tag: str = defaults.PROBE_IMAGE,
    *,
    replace: bool = False,
) -> Built | None:
    """Build ``busybox`` into an image tagged ``tag``; ``None`` when ``tag`` is already on the
    engine and ``replace`` is false (an image that works is never replaced unasked)."""
    present = engine.image(tag)
    if present is not None and not replace:
        return None
    arch = engine.info.arch
    names = _MACHINES.get(busybox.machine)
    if arch and names and arch not in names:
        raise UsageError(
            Text(
                fr=f"{busybox.path} est un binaire {names[0]}, le moteur est {arch}",
                en=f"{busybox.path} is an {names[0]} binary, the engine is {arch}",
            )
        )
    from grader.engine.sandbox import BuildSpec

    outcome = engine.build_bounded(
        BuildSpec(
            context=build_context(busybox),
            dockerfile="Dockerfile",
            tag=tag,
            labels={defaults.LABEL_ROLE: ROLE, LABEL_BUSYBOX: busybox.version},
            deadline_s=BUILD_DEADLINE_S,
        )
    )
    if outcome.image_id is None:
        last = (outcome.log.strip().splitlines() or [""])[-1]
        detail = f"{outcome.problem} {last}".strip()[:300]
        raise SetupFailed(
            Text(
                fr=f"image de sonde {tag} impossible à construire : {detail}",
                en=f"could not build probe image {tag}: {detail}",
            )
        )
    return Built(tag, outcome.image_id, busybox, replaced=present is not None)


def ensure_probe_image_offline(
    engine: Engine, image: str, on_progress: Callable[[str], None] | None = None
) -> None:
    """The probe image for an offline run (``grade demo --stand-ins``): on the engine, else
    pulled, else built here from the host's static busybox. When none can be built either, the
    pull's error stands (it says how to make one)."""
    from grader.observe.prober import Prober

    try:
        Prober(engine, image=image).ensure_image(on_progress)
    except ProbeImageUnavailable as unavailable:
        try:
            busybox = find_busybox()
        except (UsageError, ToolMissing):
            raise unavailable from None
        if on_progress is not None:
            on_progress(
                f"probe image {image}: built from {busybox.path} (BusyBox {busybox.version})"
            )
        build_probe_image(engine, busybox, image)
