"""The class database's tables (SQLAlchemy 2). The schema is made and changed only by the
Alembic migrations beside this module (``migrations/versions``); a test checks that the two
agree.

Tokens are never stored, only their SHA-256 digests (see :mod:`grader.classroom.tokens`).
An attempt keeps the report as validated (re-serialised: nothing unchecked is stored), and one
row per check for the queries the page makes.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sqlalchemy import (
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

#: Constraint names the same on every database, so migrations can name them.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTC(TypeDecorator[datetime]):
    """A moment in UTC: stored without a zone (SQLite has none), read back aware."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("a naive datetime cannot be stored: give it a zone")
        return value.astimezone(timezone.utc).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return None if value is None else value.replace(tzinfo=timezone.utc)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Classroom(Base):
    """A class: its name, its teacher's token (hashed), its labs and students."""

    __tablename__ = "classes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    teacher_token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTC)


class ClassLab(Base):
    """A lab the class does (the page has one grid per lab)."""

    __tablename__ = "class_labs"
    __table_args__ = (UniqueConstraint("class_id", "lab"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    class_id: Mapped[int] = mapped_column(ForeignKey("classes.id", ondelete="CASCADE"))
    lab: Mapped[str] = mapped_column(String(100))
    position: Mapped[int] = mapped_column(Integer)


class Student(Base):
    """A student of a class, and the digest of their enrolment token."""

    __tablename__ = "students"
    __table_args__ = (UniqueConstraint("class_id", "student"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    class_id: Mapped[int] = mapped_column(ForeignKey("classes.id", ondelete="CASCADE"))
    student: Mapped[str] = mapped_column(String(200))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    position: Mapped[int] = mapped_column(Integer)


class ExpectedVariant(Base):
    """With a course key: the fingerprint of the variant a student must be graded against
    (never the key, nor the variant's values)."""

    __tablename__ = "expected_variants"

    student_id: Mapped[int] = mapped_column(
        ForeignKey("students.id", ondelete="CASCADE"), primary_key=True
    )
    lab: Mapped[str] = mapped_column(String(100), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64))


class Attempt(Base):
    """One grading of one student's lab: ``reported`` (the student's push, their claim) or
    ``observed`` (the teacher's grader looked at the student's engine)."""

    __tablename__ = "attempts"
    __table_args__ = (
        UniqueConstraint("student_id", "digest"),
        Index("ix_attempts_class_lab_id", "class_id", "lab", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    class_id: Mapped[int] = mapped_column(ForeignKey("classes.id", ondelete="CASCADE"))
    student_id: Mapped[int] = mapped_column(ForeignKey("students.id", ondelete="CASCADE"))
    lab: Mapped[str] = mapped_column(String(100))
    source: Mapped[str] = mapped_column(String(10))
    received_at: Mapped[datetime] = mapped_column(UTC)
    started_at: Mapped[datetime] = mapped_column(UTC)
    """When the grading started, as the report says (the student's clock)."""
    status: Mapped[str] = mapped_column(String(10))
    score: Mapped[float] = mapped_column(Float)
    max_score: Mapped[float] = mapped_column(Float)
    variant: Mapped[str | None] = mapped_column(String(64), nullable=True)
    variant_ok: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    """Whether ``variant`` is the student's own (``None``: the class has no course key)."""
    digest: Mapped[str] = mapped_column(String(64))
    """SHA-256 of the stored report: the same report twice is a replay."""
    report: Mapped[str] = mapped_column(Text)


class CheckResult(Base):
    """One check of one attempt."""

    __tablename__ = "check_results"

    attempt_id: Mapped[int] = mapped_column(
        ForeignKey("attempts.id", ondelete="CASCADE"), primary_key=True
    )
    check_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    status: Mapped[str] = mapped_column(String(10))
    points: Mapped[float] = mapped_column(Float)
    message: Mapped[str] = mapped_column(Text)


class TeacherSession(Base):
    """A teacher logged in on the page: the digest of the session cookie's value."""

    __tablename__ = "teacher_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    class_id: Mapped[int] = mapped_column(ForeignKey("classes.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UTC)
    expires_at: Mapped[datetime] = mapped_column(UTC)
