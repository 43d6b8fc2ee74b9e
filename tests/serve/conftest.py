"""The class server against real databases: every test here runs on SQLite and on
PostgreSQL (the DSN from ``TPG_TEST_POSTGRES_DSN``; without it these tests fail, never skip).

One server per database serves a whole module (tests that only read share it; a test that
writes makes a class of its own)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.class_server import ServerProcess, database_url, running_server

BACKENDS = ["sqlite", "postgresql"]


@pytest.fixture(scope="module", params=BACKENDS)
def db_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    with database_url(request.param, tmp_path_factory.mktemp(request.param)) as url:
        yield url


@pytest.fixture(scope="module")
def server(db_url: str) -> Iterator[ServerProcess]:
    with running_server(db_url) as started:
        yield started


@pytest.fixture
def config_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A student's own config folder (class.json, the outbox)."""
    folder = tmp_path / "student-config"
    monkeypatch.setenv("GRADER_CONFIG_DIR", str(folder))
    return folder
