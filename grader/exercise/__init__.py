"""The exercise model (:mod:`~grader.exercise.model`) and where exercises are found
(:mod:`~grader.exercise.catalog`).

The model's names load on first use: ``grade list`` reads the catalog only."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from grader.exercise.catalog import available, find

if TYPE_CHECKING:
    from grader.exercise.model import Exercise, Params, Solution

__all__ = ["Exercise", "Params", "Solution", "available", "find"]

_MODEL_NAMES = ("Exercise", "Params", "Solution")


def __getattr__(name: str) -> Any:
    if name not in _MODEL_NAMES:
        raise AttributeError(f"module 'grader.exercise' has no attribute {name!r}")
    from grader.exercise import model

    return getattr(model, name)
