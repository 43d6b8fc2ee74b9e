"""Shared by every test folder: unit/ (pure logic, fakes), cli/ (CliRunner), engine/ (the
real Docker Engine)."""

from __future__ import annotations

import pytest

from grader.exercise.catalog import find
from grader.exercise.model import Exercise

pytest_plugins = ["tests.support.fixtures"]


@pytest.fixture(scope="session")
def reseau() -> Exercise:
    return find("tp-reseau")
