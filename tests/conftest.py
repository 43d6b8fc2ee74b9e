"""Shared by every test folder: unit/ (pure logic, fakes), cli/ (CliRunner), engine/ (the
real Docker Engine)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from grader import defaults
from grader.exercise.catalog import find
from grader.exercise.model import Exercise
from tests.support.images import BUSYBOX

pytest_plugins = ["tests.support.fixtures", "tests.support.workers"]


@pytest.fixture(scope="session", autouse=True)
def _suite_probe_image() -> Iterator[None]:
    """Every command-line grading the tests run uses the suite's own busybox image."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(defaults.PROBE_IMAGE_ENV, BUSYBOX)
        yield


@pytest.fixture(scope="session")
def reseau() -> Exercise:
    return find("tp-reseau")
