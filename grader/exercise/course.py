"""A course's configuration: ``course.yaml``.

::

    exam: true          # exam rules: no hint in any report (the observed messages stay)

The file is ``--course-config FILE``, else ``$GRADER_COURSE_CONFIG``, else the first
``course.yaml`` of the folders on ``GRADER_PATH`` (a course folder keeps it beside its
``exercises/`` and ``rubrics/``). None of them: the defaults.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import yaml

from grader import defaults
from grader.errors import UsageError
from grader.i18n import Text


@dataclass(frozen=True)
class CourseConfig:
    exam: bool = False
    path: Path | None = None


def load_course_config(explicit: Path | None = None) -> CourseConfig:
    path = _find(explicit)
    if path is None:
        return CourseConfig()
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise UsageError(
            Text(
                fr=f"configuration du cours illisible : {path}: {exc}",
                en=f"unreadable course configuration: {path}: {exc}",
            )
        ) from exc
    unknown = sorted(set(data) - {"exam"}) if isinstance(data, dict) else ["(not a mapping)"]
    exam = data.get("exam", False) if isinstance(data, dict) else None
    if unknown or not isinstance(exam, bool):
        problem = ", ".join(unknown) or "exam must be true or false"
        raise UsageError(
            Text(
                fr=f"{path} : clé(s) inconnue(s) ou invalide(s) : {problem}",
                en=f"{path}: unknown or invalid key(s): {problem}",
            )
        )
    return CourseConfig(exam=exam, path=path)


def _find(explicit: Path | None) -> Path | None:
    if explicit is not None:
        return explicit.expanduser()
    given = os.environ.get(defaults.COURSE_CONFIG_ENV)
    if given:
        return Path(given).expanduser()
    for root in os.environ.get(defaults.EXERCISE_PATH_ENV, "").split(os.pathsep):
        if root and (Path(root) / defaults.COURSE_CONFIG_FILE).is_file():
            return Path(root) / defaults.COURSE_CONFIG_FILE
    return None
