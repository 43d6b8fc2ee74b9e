"""Docker Compose v2, the real CLI, for reference solutions, selftest and batch grading.

- :mod:`grader.compose.binary` -- finding the ``docker compose`` binary;
- :mod:`grader.compose.bounded` -- running a command bounded in time and output;
- :mod:`grader.compose.project` -- one project on one engine (``up``, ``down``, any command);
- :mod:`grader.compose.model` -- editing a Compose model (labels);
- :mod:`grader.compose.discovery` -- the project of a folder, named as Compose names it.
"""

from grader.compose.binary import COMPOSE_ENV, compose_executable, find_compose
from grader.compose.bounded import CommandResult, run_bounded
from grader.compose.discovery import FoundProject, find_project
from grader.compose.model import add_labels, built_image_tag, own_built_images
from grader.compose.project import Compose, untrusted_environment

__all__ = [
    "COMPOSE_ENV",
    "CommandResult",
    "Compose",
    "FoundProject",
    "add_labels",
    "built_image_tag",
    "compose_executable",
    "find_compose",
    "find_project",
    "own_built_images",
    "run_bounded",
    "untrusted_environment",
]
