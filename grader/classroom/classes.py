"""Creating a class: its roster, its labs, a teacher token and one enrolment token per student,
and (with a course key) the fingerprint of each student's exam variant of each lab.

Tokens are shown once, here, and stored only as hashes: the handout CSV is the only copy of
the students' tokens, the terminal the only copy of the teacher's. A lost token is replaced
(:func:`reissue`), never read back.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass

from grader.batch.roster import RosterEntry
from grader.classroom.store import queries
from grader.classroom.store.database import Database
from grader.classroom.tokens import new_token, token_hash
from grader.errors import UsageError
from grader.exercise.model import Exercise
from grader.i18n import Text

_NAME = re.compile(r"^[\w][\w .-]{0,99}$")


@dataclass(frozen=True)
class NewClass:
    name: str
    teacher_token: str
    students: tuple[tuple[str, str], ...]
    """(student, enrolment token), in roster order."""
    labs: tuple[str, ...]
    with_variants: bool


def check_name(name: str) -> str:
    """A class name: letters, digits, spaces, ``.``, ``-``, ``_``; 100 characters at most."""
    if not _NAME.match(name) or name != name.strip():
        raise UsageError(
            Text(
                fr=f"nom de classe invalide : {name!r} (lettres, chiffres, espace, . - _)",
                en=f"invalid class name: {name!r} (letters, digits, space, . - _)",
            )
        )
    return name


def create(
    db: Database,
    name: str,
    roster: Sequence[RosterEntry],
    labs: Sequence[Exercise],
    key: bytes | None,
) -> NewClass:
    """Store a new class and return its tokens (the only time they are seen)."""
    check_name(name)
    if not roster:
        raise UsageError(Text(fr="la liste de classe est vide", en="the roster is empty"))
    teacher = new_token()
    tokens = tuple((entry.student, new_token()) for entry in roster)
    variants: dict[tuple[str, str], str] = {}
    if key is not None:
        for lab in labs:
            for entry in roster:
                fingerprint = lab.variant(entry.student, key).fingerprint
                if fingerprint is not None:
                    variants[(entry.student, lab.id)] = fingerprint
    try:
        queries.create_class(
            db,
            name=name,
            teacher_hash=token_hash(teacher),
            labs=[lab.id for lab in labs],
            students=[(student, token_hash(token)) for student, token in tokens],
            variants=variants,
        )
    except queries.ClassExists:
        raise UsageError(
            Text(fr=f"la classe {name} existe déjà", en=f"class {name} already exists")
        ) from None
    return NewClass(name, teacher, tokens, tuple(lab.id for lab in labs), bool(variants))


def handout(new_class: NewClass, server: str) -> str:
    """The CSV to hand out: one row per student, with the command that joins the class."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["student", "token", "join"])
    for student, token in new_class.students:
        writer.writerow([student, token, f"grade join {server} --token={token}"])
    return out.getvalue()


def reissue(db: Database, name: str, *, student: str | None) -> str:
    """A new token for ``student`` (or, with ``None``, the teacher: every session of the old
    token ends); the old one stops working at once."""
    found = queries.class_by_name(db, name)
    if found is None:
        raise UsageError(Text(fr=f"pas de classe {name}", en=f"no class {name}"))
    token = new_token()
    if student is None:
        queries.replace_teacher_token(db, found.id, token_hash(token))
    elif not queries.replace_student_token(db, found.id, student, token_hash(token)):
        raise UsageError(
            Text(
                fr=f"pas d'élève {student} dans la classe {name}",
                en=f"no student {student} in class {name}",
            )
        )
    return token
