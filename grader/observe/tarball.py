"""The members of a tar archive (plain or compressed) that a student made, read without
extracting anything and within bounds: a 2 GB file, a gzip bomb, a million members, a symlink
or a directory where a file should be each end in a :class:`TarListing` that says so."""

from __future__ import annotations

import tarfile
import zlib
from dataclasses import dataclass
from typing import Literal

from grader import defaults
from grader.engine.base import Engine
from grader.errors import ObservationError
from grader.observe.files import HEADER_BYTES, ChunkReader, PathFacts, PathKind, kind_of

TarProblem = Literal[
    "missing", "not-a-file", "too-large", "not-a-tar", "too-many-members", "too-large-unpacked",
    "truncated",
]  # fmt: skip


@dataclass(frozen=True)
class TarMember:
    path: str
    kind: PathKind
    size: int


@dataclass(frozen=True)
class TarListing:
    file: PathFacts
    compression: str | None = None
    """``tar`` (none), ``gz``, ``bz2`` or ``xz``."""
    members: tuple[TarMember, ...] = ()
    problem: TarProblem | None = None
    """Why the listing is absent or incomplete; members found before it are kept."""


def list_tar(
    engine: Engine,
    container_id: str,
    path: str,
    *,
    max_bytes: int,
    max_members: int = defaults.ARCHIVE_MAX_MEMBERS,
    max_unpacked: int = defaults.ARCHIVE_MAX_UNPACKED,
) -> TarListing:
    """List the archive at ``path`` in container ``container_id`` (a reader, usually)."""
    try:
        chunks = engine.archive(container_id, path, max_bytes + 2 * HEADER_BYTES)
    except FileNotFoundError:
        return TarListing(PathFacts.missing(path), problem="missing")
    reader = ChunkReader(chunks, max_bytes + 2 * HEADER_BYTES)
    try:
        # The engine wraps the file in a tar of its own: its header says what the path is.
        with tarfile.open(fileobj=reader, mode="r|") as outer:  # type: ignore[call-overload]
            member = outer.next()
            if member is None:
                return TarListing(PathFacts.missing(path), problem="missing")
            facts = PathFacts(
                path, kind_of(member), member.size, member.mode & 0o7777, member.uid,
                member.gid, member.linkname,
            )  # fmt: skip
            if not member.isreg():
                return TarListing(facts, problem="not-a-file")
            if member.size > max_bytes:
                return TarListing(facts, problem="too-large")
            content = outer.extractfile(member)
            if content is None:  # tarfile gives a regular member's content: never None
                return TarListing(facts, problem="not-a-file")
            return _members(facts, content, max_members, max_unpacked)
    except tarfile.TarError as exc:
        raise ObservationError.about(path, exc) from exc
    finally:
        reader.close()


def _members(facts: PathFacts, content: object, max_members: int, max_unpacked: int) -> TarListing:
    found: list[TarMember] = []
    compression: str | None = None
    try:
        with tarfile.open(fileobj=content, mode="r|*") as archive:  # type: ignore[call-overload]
            compression = getattr(archive.fileobj, "comptype", None)
            while (member := archive.next()) is not None:
                if len(found) >= max_members:
                    return TarListing(facts, compression, tuple(found), "too-many-members")
                # Checked before moving on: moving on would decompress this member's data.
                if member.offset_data + member.size > max_unpacked:
                    return TarListing(facts, compression, tuple(found), "too-large-unpacked")
                found.append(TarMember(member.name, kind_of(member), member.size))
            return TarListing(facts, compression, tuple(found))
    except tarfile.ReadError:
        if not found:
            return TarListing(facts, compression, (), "not-a-tar")
        return TarListing(facts, compression, tuple(found), "truncated")
    except (tarfile.TarError, EOFError, zlib.error, OSError):
        return TarListing(facts, compression, tuple(found), "truncated")
