"""What a batch grades: submission folders (replay), or students' own engines (in place)."""

from __future__ import annotations

import csv
import hashlib
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from grader.batch.roster import RosterEntry
from grader.errors import UsageError
from grader.i18n import Text


@dataclass(frozen=True)
class Submission:
    """One student's folder, as the teacher received it (never read in place: it is staged
    first, see :mod:`grader.batch.stage`)."""

    student: str
    folder: Path


def readable_id(name: str) -> str:
    """A folder name as a student id every report can show: the name itself when it is valid
    UTF-8 and printable, else the same with each undecodable byte and invisible character
    written as an escape (``\\xff``, ``\\u202e``).

    >>> readable_id("ada"), readable_id("b\\udcffob"), readable_id("eve\\u202e")
    ('ada', 'b\\\\xffob', 'eve\\\\u202e')
    """
    text = os.fsencode(name).decode("utf-8", "backslashreplace")
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode() for c in text)


def unique_ids(names: list[str]) -> list[str]:
    """The student id of each folder name, all distinct: a readable name is its own id; a name
    that had to be escaped (:func:`readable_id`) gets a digest of its bytes, lengthened until
    no other id is the same.

    >>> unique_ids(["ada", "ad\\udce1", "ad\\\\xe1"])
    ['ada', 'ad\\\\xe1~4724ce347b8e', 'ad\\\\xe1']
    """
    ids: list[str | None] = [name if readable_id(name) == name else None for name in names]
    taken = {i for i in ids if i is not None}
    for index, name in enumerate(names):
        if ids[index] is not None:
            continue
        shown = readable_id(name)
        digest = hashlib.sha256(os.fsencode(name)).hexdigest()
        for width in (12, 24, 64):
            candidate = f"{shown}~{digest[:width]}"
            if candidate not in taken:
                break
        else:  # a name made to equal every digest's form: the folder's position decides
            candidate = f"{shown}~{digest}~{index}"
        ids[index] = candidate
        taken.add(candidate)
    return [i or "" for i in ids]


def find_submissions(root: Path) -> list[Submission]:
    """Every sub-folder of ``root`` is a student (its name is the student id, see
    :func:`unique_ids`), sorted.

    ``root`` may be relative, start with ``~`` or end with a slash. Entries that are symbolic
    links are kept (staging refuses them, with the reason in the student's report); files and
    hidden entries are ignored."""
    folder = Path(os.path.abspath(root.expanduser()))
    if not folder.is_dir():
        raise UsageError(
            Text(
                fr=f"dossier des soumissions introuvable : {root}",
                en=f"submissions folder not found: {root}",
            )
        )
    entries = sorted(
        (
            entry
            for entry in folder.iterdir()
            if not entry.name.startswith(".") and (entry.is_symlink() or entry.is_dir())
        ),
        key=lambda entry: os.fsencode(entry.name),
    )
    ids = unique_ids([entry.name for entry in entries])
    return [Submission(student, entry) for student, entry in zip(ids, entries, strict=True)]


def roster_submissions(root: Path, roster: Iterable[RosterEntry]) -> list[Submission]:
    """A submission per roster student, in the roster's order: ``root/<folder>`` (which may
    be missing: that student then has no submission)."""
    folder = Path(os.path.abspath(root.expanduser()))
    if not folder.is_dir():
        raise UsageError(
            Text(
                fr=f"dossier des soumissions introuvable : {root}",
                en=f"submissions folder not found: {root}",
            )
        )
    return [Submission(entry.student, folder / entry.folder) for entry in roster]


@dataclass(frozen=True)
class StudentEngine:
    """A student graded in place, on their own engine."""

    student: str
    host: str


_HOST = re.compile(r"^(ssh|tcp|unix|npipe)://\S+$")


def read_hosts(path: Path) -> list[StudentEngine]:
    """Rows ``student,docker_host`` (a header row ``student,docker_host`` is allowed)."""
    try:
        text = path.expanduser().read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise UsageError(
            Text(fr=f"{path} illisible : {exc.strerror}", en=f"cannot read {path}: {exc.strerror}")
        ) from exc
    rows: list[StudentEngine] = []
    problems: list[str] = []
    seen: set[str] = set()
    for number, row in enumerate(csv.reader(text.splitlines()), start=1):
        cells = [cell.strip() for cell in row]
        if not any(cells) or cells[0].startswith("#"):
            continue
        if number == 1 and [c.lower() for c in cells[:2]] == ["student", "docker_host"]:
            continue
        if len(cells) < 2 or not cells[0] or not _HOST.match(cells[1]):
            problems.append(f"{path}:{number}: expected 'student,docker_host' (ssh://, tcp://...)")
        elif cells[0] in seen:
            problems.append(f"{path}:{number}: student '{cells[0]}' appears twice")
        else:
            seen.add(cells[0])
            rows.append(StudentEngine(cells[0], cells[1]))
    if problems:
        joined = "; ".join(problems)
        raise UsageError(Text(fr=joined, en=joined))
    return rows
