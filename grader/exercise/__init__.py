"""The exercise model (:mod:`~grader.exercise.model`) and where exercises are found
(:mod:`~grader.exercise.catalog`)."""

from grader.exercise.catalog import available, find
from grader.exercise.model import Exercise, Params, Solution

__all__ = ["Exercise", "Params", "Solution", "available", "find"]
