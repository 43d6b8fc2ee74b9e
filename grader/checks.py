"""What exercise authors import in ``exercises/<id>/checks.py``.

A check is a pytest test marked with the rubric id it decides. It receives the ``lab`` (the
student's setup) and the exercise's ``params``, observes through the lab, and judges with
:mod:`~grader.judge.expect`::

    from grader.checks import Lab, Params, check, expect

    @check("reseau-cree")
    def test_reseau_cree(lab: Lab, params: Params) -> None:
        expect.driver(lab.network(params.network), "bridge")

Observations made from the same place (a container's network namespace) share one probe:
gather them in a module-scoped fixture that calls :meth:`Lab.observe_from` once. Probes run in
the background; an autouse fixture that asks for all of them starts them together.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import pytest

from grader.exercise.model import Params
from grader.i18n import Text
from grader.judge import expect, messages
from grader.judge.lab import Lab, Observation
from grader.judge.outcome import CheckFailed
from grader.observe.dns import DnsAnswer, DnsLookup
from grader.observe.http import HttpGet, HttpResult
from grader.observe.tcp import TcpConnect, TcpResult, TcpToContainer

F = TypeVar("F", bound=Callable[..., object])


def check(check_id: str) -> Callable[[F], F]:
    """Mark a test as the check ``check_id`` of the exercise's rubric."""
    marker: Callable[[F], F] = getattr(pytest.mark, "check")(check_id)  # noqa: B009
    return marker


__all__ = [
    "CheckFailed",
    "DnsAnswer",
    "DnsLookup",
    "HttpGet",
    "HttpResult",
    "Lab",
    "Observation",
    "Params",
    "TcpConnect",
    "TcpResult",
    "TcpToContainer",
    "Text",
    "check",
    "expect",
    "messages",
]
