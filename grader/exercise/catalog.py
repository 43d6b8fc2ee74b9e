"""Where exercises are found: ``$GRADER_PATH`` folders first, then the bundled ones.

A wheel carries the top-level ``exercises/`` and ``rubrics/`` as ``grader/_bundle/``; a source
checkout (editable install) reads them from the repository itself.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from grader import defaults
from grader.errors import ExerciseDefinitionError, UnknownExercise
from grader.i18n import Text

if TYPE_CHECKING:  # `grade list` reads no lab whole: the model loads when one is found
    from grader.exercise.model import Exercise

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
    from grader.exercise.model import load_exercise

    for root in exercise_roots():
        directory = root / "exercises" / exercise_id
        if (directory / "exercise.yaml").is_file():
            return load_exercise(directory, root / "rubrics")
    raise UnknownExercise(exercise_id, available())


@dataclass(frozen=True)
class Listed:
    """What ``grade list`` shows of an exercise."""

    id: str
    title: Text
    max_score: float


def listing(exercise_id: str) -> Listed:
    """``exercise_id``'s title and points, read from its ``exercise.yaml`` and rubric only:
    listing the labs does not load their checks and mutants (that is ``find``'s work, done when
    a lab is used, and where a broken one says so)."""
    import yaml

    from grader.judge.rubric import load_rubric

    for root in exercise_roots():
        definition = root / "exercises" / exercise_id / "exercise.yaml"
        if definition.is_file():
            try:
                data = yaml.load(
                    definition.read_text(encoding="utf-8"),
                    Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader),
                )
            except (OSError, yaml.YAMLError) as exc:
                raise ExerciseDefinitionError([f"{definition}: {exc}"]) from exc
            data = data if isinstance(data, dict) else {}
            title = data.get("title") if isinstance(data.get("title"), dict) else {}
            rubric = load_rubric(root / "rubrics" / f"{exercise_id}.yaml", exercise_id)
            return Listed(
                exercise_id,
                Text(fr=str(title.get("fr", exercise_id)), en=str(title.get("en", exercise_id))),
                rubric.max_score,
            )
    raise UnknownExercise(exercise_id, available())
