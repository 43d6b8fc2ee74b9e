"""Opening the class database: an embedded SQLite file (WAL) by default, PostgreSQL for a
department; the schema brought up to date by Alembic's migrations on every open.

SQLite is opened in WAL mode (the page reads while reports are written) with
``synchronous=FULL`` (a report answered 2xx survives a power cut, not only a crash), a busy
timeout (``grade class create`` may write while the server runs), and foreign keys on. Writes
from one process are serialised by :attr:`Database.write_lock` (SQLite has one writer at a
time: taking turns here beats retrying on "database is locked"); PostgreSQL needs no such
lock.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from grader import defaults
from grader.errors import EnvironmentProblem, UsageError
from grader.i18n import Text

MIGRATIONS = Path(__file__).with_name("migrations")


def default_data_dir() -> Path:
    """Where the embedded database lives when ``--data`` is not given."""
    given = os.environ.get(defaults.SERVE_DATA_ENV)
    if given:
        return Path(given).expanduser()
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base).expanduser() / "tp-grader" / "class-view"


def database_url(*, data: Path | None = None, db: str | None = None) -> str:
    """The database to open: ``db`` (a SQLAlchemy URL, also ``$GRADER_SERVE_DB``), else the
    SQLite file in ``data`` (default :func:`default_data_dir`)."""
    given = db or os.environ.get(defaults.SERVE_DB_ENV)
    if given:
        return given
    folder = Path(os.path.abspath((data or default_data_dir()).expanduser()))
    return f"sqlite:///{folder / defaults.SERVE_SQLITE_FILE}"


def shown_url(url: str) -> str:
    """``url`` with its password hidden, for messages."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "(invalid URL)"


class Database:
    """An open class database."""

    def __init__(self, url: str) -> None:
        try:
            parsed = make_url(url)
        except ArgumentError:
            raise UsageError(
                Text(fr=f"URL de base invalide : {url!r}", en=f"invalid database URL: {url!r}")
            ) from None
        self.url = url
        self.is_sqlite = parsed.get_backend_name() == "sqlite"
        if not self.is_sqlite and parsed.get_backend_name() != "postgresql":
            raise UsageError(
                Text(
                    fr="base non prise en charge : SQLite (--data) ou PostgreSQL "
                    "(--db postgresql+psycopg://...)",
                    en="unsupported database: SQLite (--data) or PostgreSQL "
                    "(--db postgresql+psycopg://...)",
                )
            )
        options: dict[str, Any] = {}
        if self.is_sqlite:
            database = parsed.database or ""
            if database and database != ":memory:":
                Path(database).parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            options["connect_args"] = {"check_same_thread": False, "timeout": 30}
        else:
            options.update(pool_pre_ping=True, pool_size=8, max_overflow=8)
        self.engine: Engine = create_engine(url, **options)
        if self.is_sqlite:
            event.listen(self.engine, "connect", _sqlite_settings)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        self.write_lock: threading.Lock | contextlib.nullcontext[None] = (
            threading.Lock() if self.is_sqlite else contextlib.nullcontext()
        )

    @contextlib.contextmanager
    def writing(self) -> Iterator[Session]:
        """A session whose work is committed at the end (rolled back on an exception)."""
        with self.write_lock, self.sessions() as session, session.begin():
            yield session

    def reading(self) -> Session:
        return self.sessions()

    def migrate(self) -> None:
        """Bring the schema to the newest migration (creating it in an empty database)."""
        from alembic import command
        from alembic.config import Config

        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        with self.write_lock, self.engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "head")

    def close(self) -> None:
        self.engine.dispose()


def _sqlite_settings(connection: Any, _record: Any) -> None:
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def open_database(url: str) -> Database:
    """Open the database at ``url`` and migrate it; one clear line when that fails."""
    database = Database(url)
    try:
        database.migrate()
    except (SQLAlchemyError, OSError) as exc:
        database.close()
        detail = str(getattr(exc, "orig", None) or exc).splitlines()[0][:300]
        where = shown_url(url)
        raise EnvironmentProblem(
            Text(
                fr=f"base de données inaccessible ({where}) : {detail}",
                en=f"cannot open the database ({where}): {detail}",
            )
        ) from exc
    return database
