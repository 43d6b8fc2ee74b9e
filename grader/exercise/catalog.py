"""Where exercises are found: ``$GRADER_PATH`` folders first, then the bundled ones.

A wheel carries the top-level ``exercises/`` and ``rubrics/`` as ``grader/_bundle/``; a source
checkout (editable install) reads them from the repository itself.
"""

from __future__ import annotations

import os
from pathlib import Path

from grader import defaults
from grader.errors import UnknownExercise
from grader.exercise.model import Exercise, load_exercise

_PACKAGE = Path(__file__).resolve().parent.parent


def exercise_roots() -> list[Path]:
    """Folders holding ``exercises/`` and ``rubrics/``, in search order."""
    extra = [Path(p) for p in os.environ.get(defaults.EXERCISE_PATH_ENV, "").split(os.pathsep) if p]
    bundled = _PACKAGE / "_bundle"
    source = _PACKAGE.parent
    return [*extra, bundled if (bundled / "exercises").is_dir() else source]


def available() -> list[str]:
    """Ids of every exercise found, sorted."""
    found: set[str] = set()
    for root in exercise_roots():
        exercises = root / "exercises"
        if exercises.is_dir():
            found.update(p.name for p in exercises.iterdir() if (p / "exercise.yaml").is_file())
    return sorted(found)


def find(exercise_id: str) -> Exercise:
    """Load exercise ``exercise_id``; raise :class:`UnknownExercise` listing the known ones."""
    for root in exercise_roots():
        directory = root / "exercises" / exercise_id
        if (directory / "exercise.yaml").is_file():
            return load_exercise(directory, root / "rubrics")
    raise UnknownExercise(exercise_id, available())
