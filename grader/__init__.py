"""tp-grader: grade hands-on Docker labs by observing a student's live Docker Engine.

The package is layered, and the folders say so:

- :mod:`grader.engine` -- the one narrow seam to a Docker Engine (facts, probes);
- :mod:`grader.observe` -- observations built on it (names, DNS, TCP, HTTP...);
- :mod:`grader.judge` -- checks' helpers, rubrics and scoring;
- :mod:`grader.harness` -- running an exercise's checks with pytest;
- :mod:`grader.report` -- terminal, JSON, JUnit, Gradescope, Markdown, gradebooks, summaries;
- :mod:`grader.batch` -- grading a class, replayed in isolation or in place;
- :mod:`grader.cli` -- the ``grade`` command, a thin adapter over the above.

The names below are the public API; they load on first use, so importing :mod:`grader` (and
starting ``grade``) stays cheap.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from grader._version import __version__

if TYPE_CHECKING:
    from grader.engine.connection import connect
    from grader.errors import (
        EngineUnreachable,
        EnvironmentProblem,
        ExerciseDefinitionError,
        GraderError,
        ObservationError,
        UnknownExercise,
        UsageError,
    )
    from grader.exercise.catalog import available as available_exercises
    from grader.exercise.catalog import find as find_exercise
    from grader.exercise.model import Exercise, Params
    from grader.harness.run import grade
    from grader.i18n import Text
    from grader.judge.outcome import CheckOutcome, CheckStatus
    from grader.judge.scoring import ScoreSheet
    from grader.result import GradeResult, RunStatus

_EXPORTS = {
    "connect": "grader.engine.connection:connect",
    "grade": "grader.harness.run:grade",
    "find_exercise": "grader.exercise.catalog:find",
    "available_exercises": "grader.exercise.catalog:available",
    "Exercise": "grader.exercise.model:Exercise",
    "Params": "grader.exercise.model:Params",
    "GradeResult": "grader.result:GradeResult",
    "RunStatus": "grader.result:RunStatus",
    "ScoreSheet": "grader.judge.scoring:ScoreSheet",
    "CheckOutcome": "grader.judge.outcome:CheckOutcome",
    "CheckStatus": "grader.judge.outcome:CheckStatus",
    "Text": "grader.i18n:Text",
    "GraderError": "grader.errors:GraderError",
    "UsageError": "grader.errors:UsageError",
    "UnknownExercise": "grader.errors:UnknownExercise",
    "ExerciseDefinitionError": "grader.errors:ExerciseDefinitionError",
    "EnvironmentProblem": "grader.errors:EnvironmentProblem",
    "EngineUnreachable": "grader.errors:EngineUnreachable",
    "ObservationError": "grader.errors:ObservationError",
}

__all__ = [
    "CheckOutcome",
    "CheckStatus",
    "EngineUnreachable",
    "EnvironmentProblem",
    "Exercise",
    "ExerciseDefinitionError",
    "GradeResult",
    "GraderError",
    "ObservationError",
    "Params",
    "RunStatus",
    "ScoreSheet",
    "Text",
    "UnknownExercise",
    "UsageError",
    "__version__",
    "available_exercises",
    "connect",
    "find_exercise",
    "grade",
]


def __getattr__(name: str) -> Any:
    target = _EXPORTS.get(name)
    if target is None:
        raise AttributeError(f"module 'grader' has no attribute {name!r}")
    module, _, attribute = target.partition(":")
    value = getattr(importlib.import_module(module), attribute)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
