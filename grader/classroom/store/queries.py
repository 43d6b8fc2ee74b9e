"""What the server and ``grade class`` read and write: plain functions over a
:class:`~grader.classroom.store.database.Database`, each one transaction, returning frozen
records (never ORM objects: they leave the session and the thread).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError

from grader.classroom.store.database import Database
from grader.classroom.store.models import (
    Attempt,
    CheckResult,
    ClassLab,
    Classroom,
    ExpectedVariant,
    Student,
    TeacherSession,
)
from grader.classroom.tokens import matches, token_hash


@dataclass(frozen=True)
class ClassInfo:
    id: int
    name: str
    labs: tuple[str, ...]
    students: tuple[str, ...]
    """Every student of the roster, in its order."""
    created_at: datetime


@dataclass(frozen=True)
class StudentIdentity:
    """Who a student token is."""

    student_pk: int
    student: str
    class_id: int
    class_name: str
    labs: tuple[str, ...]
    expected_variants: Mapping[str, str]


@dataclass(frozen=True)
class CheckRow:
    check_id: str
    status: str
    points: float
    message: str


@dataclass(frozen=True)
class StoredAttempt:
    """An attempt as the page and the exports need it."""

    id: int
    class_id: int
    student: str
    lab: str
    source: str
    received_at: datetime
    started_at: datetime
    status: str
    score: float
    max_score: float
    variant: str | None
    variant_ok: bool | None
    checks: tuple[CheckRow, ...]


@dataclass(frozen=True)
class NewAttempt:
    """An attempt to store: validated and scored already."""

    student_pk: int
    class_id: int
    lab: str
    source: str
    started_at: datetime
    status: str
    score: float
    max_score: float
    variant: str | None
    variant_ok: bool | None
    digest: str
    report: str
    checks: tuple[CheckRow, ...]


class ClassExists(Exception):
    """A class of that name is already in the database."""


# -- classes -----------------------------------------------------------------------------------
def create_class(
    db: Database,
    *,
    name: str,
    teacher_hash: str,
    labs: Sequence[str],
    students: Sequence[tuple[str, str]],
    variants: Mapping[tuple[str, str], str],
) -> int:
    """Store a class: ``students`` are (id, token hash) pairs, ``variants`` map (student, lab)
    to the expected fingerprint. :class:`ClassExists` if the name is taken."""
    now = datetime.now(timezone.utc)
    try:
        with db.writing() as session:
            if session.scalar(select(Classroom.id).where(Classroom.name == name)) is not None:
                raise ClassExists(name)
            room = Classroom(name=name, teacher_token_hash=teacher_hash, created_at=now)
            session.add(room)
            session.flush()
            session.add_all(
                ClassLab(class_id=room.id, lab=lab, position=n) for n, lab in enumerate(labs)
            )
            for position, (student, hashed) in enumerate(students):
                row = Student(
                    class_id=room.id, student=student, token_hash=hashed, position=position
                )
                session.add(row)
                session.flush()
                session.add_all(
                    ExpectedVariant(student_id=row.id, lab=lab, fingerprint=fingerprint)
                    for (who, lab), fingerprint in variants.items()
                    if who == student
                )
            return room.id
    except IntegrityError as exc:  # created meanwhile by another process
        raise ClassExists(name) from exc


def list_classes(db: Database) -> list[ClassInfo]:
    with db.reading() as session:
        ids = session.scalars(select(Classroom.id).order_by(Classroom.name)).all()
    return [info for info in (class_info(db, i) for i in ids) if info is not None]


def class_info(db: Database, class_id: int) -> ClassInfo | None:
    with db.reading() as session:
        room = session.get(Classroom, class_id)
        if room is None:
            return None
        labs = session.scalars(
            select(ClassLab.lab).where(ClassLab.class_id == class_id).order_by(ClassLab.position)
        ).all()
        students = session.scalars(
            select(Student.student).where(Student.class_id == class_id).order_by(Student.position)
        ).all()
        return ClassInfo(room.id, room.name, tuple(labs), tuple(students), room.created_at)


def class_by_name(db: Database, name: str) -> ClassInfo | None:
    with db.reading() as session:
        found = session.scalar(select(Classroom.id).where(Classroom.name == name))
    return None if found is None else class_info(db, found)


def class_for_teacher(db: Database, token: str) -> int | None:
    """The class whose teacher token this is."""
    hashed = token_hash(token)
    with db.reading() as session:
        row = session.execute(
            select(Classroom.id, Classroom.teacher_token_hash).where(
                Classroom.teacher_token_hash == hashed
            )
        ).first()
    return row.id if row is not None and matches(token, row.teacher_token_hash) else None


def replace_teacher_token(db: Database, class_id: int, hashed: str) -> None:
    """A new teacher token for the class; every session of the old one ends."""
    with db.writing() as session:
        room = session.get(Classroom, class_id)
        if room is not None:
            room.teacher_token_hash = hashed
        session.execute(delete(TeacherSession).where(TeacherSession.class_id == class_id))


def replace_student_token(db: Database, class_id: int, student: str, hashed: str) -> bool:
    with db.writing() as session:
        row = session.scalar(
            select(Student).where(Student.class_id == class_id, Student.student == student)
        )
        if row is None:
            return False
        row.token_hash = hashed
        return True


def student_for_token(db: Database, token: str) -> StudentIdentity | None:
    hashed = token_hash(token)
    with db.reading() as session:
        row = session.execute(
            select(Student, Classroom.name)
            .join(Classroom, Classroom.id == Student.class_id)
            .where(Student.token_hash == hashed)
        ).first()
        if row is None or not matches(token, row.Student.token_hash):
            return None
        student: Student = row.Student
        labs = session.scalars(
            select(ClassLab.lab)
            .where(ClassLab.class_id == student.class_id)
            .order_by(ClassLab.position)
        ).all()
        expected = session.execute(
            select(ExpectedVariant.lab, ExpectedVariant.fingerprint).where(
                ExpectedVariant.student_id == student.id
            )
        ).all()
        return StudentIdentity(
            student.id,
            student.student,
            student.class_id,
            row.name,
            tuple(labs),
            {lab: fingerprint for lab, fingerprint in expected},
        )


def student_pks(db: Database, class_id: int) -> dict[str, int]:
    with db.reading() as session:
        rows = session.execute(
            select(Student.student, Student.id).where(Student.class_id == class_id)
        ).all()
    return {student: pk for student, pk in rows}


def expected_variants(db: Database, class_id: int) -> dict[tuple[str, str], str]:
    """(student, lab) -> fingerprint, for a class."""
    with db.reading() as session:
        rows = session.execute(
            select(Student.student, ExpectedVariant.lab, ExpectedVariant.fingerprint)
            .join(Student, Student.id == ExpectedVariant.student_id)
            .where(Student.class_id == class_id)
        ).all()
    return {(student, lab): fingerprint for student, lab, fingerprint in rows}


# -- attempts ----------------------------------------------------------------------------------
def store_attempt(db: Database, new: NewAttempt) -> StoredAttempt | None:
    """Store ``new`` and commit; ``None`` if this student already has that very report."""
    duplicate = select(Attempt.id).where(
        Attempt.student_id == new.student_pk, Attempt.digest == new.digest
    )
    received = datetime.now(timezone.utc)
    try:
        with db.writing() as session:
            if session.scalar(duplicate) is not None:
                return None
            attempt = Attempt(
                class_id=new.class_id,
                student_id=new.student_pk,
                lab=new.lab,
                source=new.source,
                received_at=received,
                started_at=new.started_at,
                status=new.status,
                score=new.score,
                max_score=new.max_score,
                variant=new.variant,
                variant_ok=new.variant_ok,
                digest=new.digest,
                report=new.report,
            )
            session.add(attempt)
            session.flush()
            session.add_all(
                CheckResult(
                    attempt_id=attempt.id,
                    check_id=check.check_id,
                    status=check.status,
                    points=check.points,
                    message=check.message,
                )
                for check in new.checks
            )
            attempt_id = attempt.id
            student = session.scalar(select(Student.student).where(Student.id == new.student_pk))
    except IntegrityError:  # the same report, stored meanwhile by a concurrent request
        return None
    return StoredAttempt(
        attempt_id, new.class_id, str(student), new.lab, new.source, received, new.started_at,
        new.status, new.score, new.max_score, new.variant, new.variant_ok, new.checks,
    )  # fmt: skip


def attempts(
    db: Database,
    class_id: int,
    *,
    lab: str | None = None,
    student: str | None = None,
    after_id: int = 0,
    limit: int | None = None,
) -> list[StoredAttempt]:
    """A class's attempts in the order they were stored (oldest first), with their checks."""
    query = (
        select(Attempt, Student.student)
        .join(Student, Student.id == Attempt.student_id)
        .where(Attempt.class_id == class_id, Attempt.id > after_id)
        .order_by(Attempt.id)
    )
    if lab is not None:
        query = query.where(Attempt.lab == lab)
    if student is not None:
        query = query.where(Student.student == student)
    if limit is not None:
        query = query.limit(limit)
    with db.reading() as session:
        rows = session.execute(query).all()
        ids = [row.Attempt.id for row in rows]
        checks: dict[int, list[CheckRow]] = {i: [] for i in ids}
        for chunk in _chunks(ids, 500):
            for result in session.scalars(
                select(CheckResult).where(CheckResult.attempt_id.in_(chunk))
            ):
                checks[result.attempt_id].append(
                    CheckRow(result.check_id, result.status, result.points, result.message)
                )
    return [_stored(row.Attempt, row.student, checks[row.Attempt.id]) for row in rows]


def _stored(attempt: Attempt, student: str, checks: list[CheckRow]) -> StoredAttempt:
    return StoredAttempt(
        id=attempt.id,
        class_id=attempt.class_id,
        student=student,
        lab=attempt.lab,
        source=attempt.source,
        received_at=attempt.received_at,
        started_at=attempt.started_at,
        status=attempt.status,
        score=attempt.score,
        max_score=attempt.max_score,
        variant=attempt.variant,
        variant_ok=attempt.variant_ok,
        checks=tuple(checks),
    )


def reports(
    db: Database, class_id: int, *, lab: str | None = None, batch: int = 500
) -> Iterator[dict[str, Any]]:
    """Every attempt of a class with its stored report, oldest first, a page at a time."""
    after = 0
    while True:
        query = (
            select(Attempt, Student.student)
            .join(Student, Student.id == Attempt.student_id)
            .where(Attempt.class_id == class_id, Attempt.id > after)
            .order_by(Attempt.id)
            .limit(batch)
        )
        if lab is not None:
            query = query.where(Attempt.lab == lab)
        with db.reading() as session:
            rows = session.execute(query).all()
        if not rows:
            return
        for row in rows:
            attempt: Attempt = row.Attempt
            after = attempt.id
            yield {
                "id": attempt.id,
                "student": row.student,
                "lab": attempt.lab,
                "source": attempt.source,
                "received_at": attempt.received_at.isoformat(timespec="seconds"),
                "variant_ok": attempt.variant_ok,
                "report": json.loads(attempt.report),
            }


def count_attempts(db: Database, class_id: int) -> int:
    with db.reading() as session:
        return int(
            session.scalar(select(func.count(Attempt.id)).where(Attempt.class_id == class_id)) or 0
        )


def _chunks(items: list[int], size: int) -> Iterator[list[int]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


# -- teachers' sessions ------------------------------------------------------------------------
def open_session(db: Database, class_id: int, hashed: str, hours: float) -> None:
    now = datetime.now(timezone.utc)
    with db.writing() as session:
        session.execute(delete(TeacherSession).where(TeacherSession.expires_at < now))
        session.add(
            TeacherSession(
                token_hash=hashed,
                class_id=class_id,
                created_at=now,
                expires_at=now + timedelta(hours=hours),
            )
        )


def session_class(db: Database, cookie: str) -> int | None:
    """The class a session cookie is logged in to, while it lasts."""
    hashed = token_hash(cookie)
    with db.reading() as session:
        row = session.get(TeacherSession, hashed)
        if row is None or row.expires_at < datetime.now(timezone.utc):
            return None
        return row.class_id if matches(cookie, row.token_hash) else None


def close_session(db: Database, cookie: str) -> None:
    with db.writing() as session:
        session.execute(
            delete(TeacherSession).where(TeacherSession.token_hash == token_hash(cookie))
        )
