"""Folders of a run's own on the engine host.

An exercise names folders on the engine host (``host_paths``: ``/tmp/data``...). A demo, a
selftest or a batch must never touch the student's own: each run gets
``/tmp/tp-grader-<project>/<parameter>`` instead, and the checks are told through parameter
overrides. They are made by the engine (bind mounts create them) and removed with a probe, so
the grader need not run on the engine's host.
"""

from __future__ import annotations

import contextlib
import posixpath
import re

from grader import defaults
from grader.engine.base import Engine
from grader.engine.probe import ProbeMount, ProbeSpec
from grader.errors import ObservationError
from grader.exercise.model import Exercise

#: Where runs of tp-grader keep the engine-host folders an exercise names (``host_paths``).
SCRATCH_PARENT = "/tmp"
#: The name every scratch folder starts with (``grade clean`` removes them by it).
SCRATCH_PREFIX = "tp-grader-"


def scratch_folder(project: str) -> str:
    """The engine-host folder holding a run's host paths (``project`` is one of ours)."""
    if not re.fullmatch(r"[a-z0-9][a-z0-9_-]*", project):
        raise ValueError(f"not a project name tp-grader makes: {project!r}")
    return f"{SCRATCH_PARENT}/{SCRATCH_PREFIX}{project}"


def host_path_overrides(exercise: Exercise, project: str) -> dict[str, str]:
    """Give each of the exercise's host paths a folder of the run's own on the engine host."""
    root = scratch_folder(project)
    return {name: f"{root}/{name}" for name in exercise.host_paths}


def remove_scratch(engine: Engine, probe_image: str, project: str) -> None:
    """Remove a run's scratch folder from the engine host, with a probe (the grader may not
    be on that host)."""
    folder = scratch_folder(project)
    parent, name = posixpath.split(folder)
    with contextlib.suppress(ObservationError):
        engine.run_probe(
            ProbeSpec(
                image=probe_image,
                script=f"rm -rf /parent/{name}",
                purpose="remove scratch folder",
                mounts=(ProbeMount(parent, "/parent", read_only=False),),
                labels={defaults.LABEL_ROLE: "probe", defaults.LABEL_RUN: project},
            )
        )
