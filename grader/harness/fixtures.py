"""The fixtures every check may ask for, served from the running :class:`GraderPlugin`."""

from __future__ import annotations

import pytest

from grader.exercise.model import Params
from grader.harness.plugin import GraderPlugin
from grader.judge.lab import Lab


@pytest.fixture(scope="session")
def lab(pytestconfig: pytest.Config) -> Lab:
    """The student's setup, observed through the engine (:class:`grader.judge.lab.Lab`)."""
    return GraderPlugin.of(pytestconfig).lab


@pytest.fixture(scope="session")
def params(pytestconfig: pytest.Config) -> Params:
    """The exercise's parameters, with the run's overrides."""
    return GraderPlugin.of(pytestconfig).params
