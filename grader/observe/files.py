"""Paths and files, read through the Engine's archive API.

``GET /containers/{id}/archive`` returns a path as a tar stream. Its first header says what the
path is (kind, size, mode, owner) without any shell or ``stat`` in the image; only that header
is read, then the stream is closed, so a 2 GB file or a huge directory costs one header. The
same API reads inside a student's container, and inside volumes or engine-host paths mounted
read-only into a never-started reader container (see :mod:`grader.observe.readers`).
"""

from __future__ import annotations

import tarfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

from grader.engine.base import Engine
from grader.errors import ObservationError
from grader.i18n import Text

PathKind = Literal["file", "dir", "symlink", "hardlink", "other"]

#: Bytes read at most to find a path's first header (PAX and GNU long-name headers included).
HEADER_BYTES = 64 << 10


@dataclass(frozen=True)
class PathFacts:
    """What is at a path.

    >>> PathFacts("/data/x", "file", size=3).is_file
    True
    """

    path: str
    kind: PathKind | None
    """``None`` when nothing is there."""
    size: int = 0
    mode: int = 0
    """Permission bits only: Go's file-type bits, which Docker's tar headers carry, are masked."""
    uid: int = 0
    gid: int = 0
    link_target: str = ""

    @property
    def exists(self) -> bool:
        return self.kind is not None

    @property
    def is_file(self) -> bool:
        return self.kind == "file"

    @classmethod
    def missing(cls, path: str) -> PathFacts:
        return cls(path, None)


def kind_of(member: tarfile.TarInfo) -> PathKind:
    if member.isreg():
        return "file"
    if member.isdir():
        return "dir"
    if member.issym():
        return "symlink"
    if member.islnk():
        return "hardlink"
    return "other"


class ChunkReader:
    """A read-only file object over an iterator of byte chunks, refusing to read past
    ``limit`` bytes (so no parser can be walked into reading without end)."""

    def __init__(self, chunks: Iterator[bytes], limit: int) -> None:
        self._chunks = chunks
        self._buffer = bytearray()
        self._limit = limit
        self.consumed = 0

    def read(self, size: int = -1) -> bytes:
        while size < 0 or len(self._buffer) < size:
            chunk = next(self._chunks, None)
            if chunk is None:
                break
            self._buffer += chunk
        if size < 0:
            size = len(self._buffer)
        data = bytes(self._buffer[:size])
        del self._buffer[:size]
        self.consumed += len(data)
        if self.consumed > self._limit:
            raise ObservationError(
                Text(
                    fr=f"lecture arrêtée au-delà de {self._limit} octets",
                    en=f"reading stopped beyond {self._limit} bytes",
                )
            )
        return data

    def close(self) -> None:
        close = getattr(self._chunks, "close", None)
        if close is not None:
            close()


def stat_path(engine: Engine, container_id: str, path: str) -> PathFacts:
    """What is at ``path`` in container ``container_id`` (never started readers included)."""
    try:
        chunks = engine.archive(container_id, path, HEADER_BYTES)
    except FileNotFoundError:
        return PathFacts.missing(path)
    reader = ChunkReader(chunks, HEADER_BYTES)
    try:
        with tarfile.open(fileobj=reader, mode="r|") as archive:  # type: ignore[call-overload]
            member = archive.next()
    except tarfile.TarError as exc:
        raise ObservationError.about(path, exc) from exc
    finally:
        reader.close()
    if member is None:
        return PathFacts.missing(path)
    return PathFacts(
        path=path,
        kind=kind_of(member),
        size=member.size,
        mode=member.mode & 0o7777,
        uid=member.uid,
        gid=member.gid,
        link_target=member.linkname,
    )


def read_file(engine: Engine, container_id: str, path: str, max_bytes: int) -> bytes | None:
    """The content of the regular file at ``path`` (``None`` if it is missing or not a
    regular file), at most ``max_bytes`` of it."""
    try:
        chunks = engine.archive(container_id, path, max_bytes + HEADER_BYTES)
    except FileNotFoundError:
        return None
    reader = ChunkReader(chunks, max_bytes + HEADER_BYTES)
    try:
        with tarfile.open(fileobj=reader, mode="r|") as archive:  # type: ignore[call-overload]
            member = archive.next()
            if member is None or not member.isreg():
                return None
            content = archive.extractfile(member)
            return content.read(max_bytes) if content is not None else None
    except tarfile.TarError as exc:
        raise ObservationError.about(path, exc) from exc
    finally:
        reader.close()
