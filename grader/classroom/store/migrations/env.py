"""Alembic's entry point for the class database: migrations run on the connection the caller
gives (:meth:`grader.classroom.store.database.Database.migrate`), never from an ini file."""

from __future__ import annotations

from alembic import context

from grader.classroom.store.models import Base

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    # SQLite cannot ALTER most things: later migrations rebuild its tables instead.
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
