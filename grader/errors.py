"""Exceptions raised by tp-grader.

Each error carries its message in French and English (:class:`grader.i18n.Text`), because the
one line a student reads when something goes wrong should be in their language.

The tree, with the exit code the CLI gives each branch::

    GraderError
    ├── UsageError                  exit 2: the command line or an input file is wrong
    │   ├── UnknownExercise
    │   ├── ExerciseDefinitionError   an exercise or rubric file is invalid (names file:line)
    │   └── ParameterError            --param / --image values that do not fit
    ├── EnvironmentProblem          exit 3: what grading needs is not there
    │   ├── EngineUnreachable
    │   ├── ProbeImageUnavailable
    │   ├── ToolMissing               docker compose not found, for demo and batch
    │   └── SetupFailed               a reference solution could not be brought up
    └── ObservationError            one check could not observe: its outcome is ``error``
        └── ProbeTimeout
"""

from __future__ import annotations

import os

from grader import defaults
from grader.i18n import Text


class GraderError(Exception):
    """Base of every error tp-grader raises on purpose."""

    exit_code = 1

    def __init__(self, text: Text) -> None:
        super().__init__(text.en)
        self.text = text


class UsageError(GraderError):
    exit_code = 2


class UnknownExercise(UsageError):
    def __init__(self, exercise_id: str, known: list[str]) -> None:
        listing = ", ".join(known) or "-"
        super().__init__(
            Text(
                fr=f"exercice inconnu « {exercise_id} » ; exercices connus : {listing}",
                en=f"unknown exercise '{exercise_id}'; known exercises: {listing}",
            )
        )
        self.exercise_id = exercise_id
        self.known = known


class ExerciseDefinitionError(UsageError):
    """An exercise, its checks or its rubric are inconsistent. The message names file and line."""

    def __init__(self, problems: list[str]) -> None:
        joined = "; ".join(problems)
        super().__init__(Text(fr=joined, en=joined))
        self.problems = problems


class ParameterError(UsageError):
    pass


class EnvironmentProblem(GraderError):
    exit_code = 3


class EngineUnreachable(EnvironmentProblem):
    def __init__(self, endpoint: str, reason: str) -> None:
        super().__init__(
            Text(
                fr=(
                    f"Docker Engine injoignable à {endpoint} ({reason}). Démarrez Docker "
                    "(Docker Desktop, ou `sudo systemctl start docker`) ou indiquez un moteur "
                    "avec DOCKER_HOST ou --host."
                ),
                en=(
                    f"cannot reach the Docker Engine at {endpoint} ({reason}). Start Docker "
                    "(Docker Desktop, or `sudo systemctl start docker`) or point DOCKER_HOST "
                    "or --host at a running engine."
                ),
            )
        )
        self.endpoint = endpoint
        self.reason = reason


class ProbeImageUnavailable(EnvironmentProblem):
    def __init__(self, image: str, reason: str) -> None:
        build = probe_image_build_command(image)
        super().__init__(
            Text(
                fr=(
                    f"image de sonde {image} absente du moteur et impossible à télécharger "
                    f"({reason}). Hors ligne, construisez-la ici depuis le busybox statique "
                    f"de la machine : `{build}` (ou indiquez une image busybox locale avec "
                    "--probe-image IMAGE ou GRADER_PROBE_IMAGE=IMAGE)."
                ),
                en=(
                    f"probe image {image} is not on the engine and could not be pulled "
                    f"({reason}). Offline, build it here from this machine's static busybox: "
                    f"`{build}` (or point at a local busybox image with --probe-image IMAGE "
                    "or GRADER_PROBE_IMAGE=IMAGE)."
                ),
            )
        )
        self.image = image


class ToolMissing(EnvironmentProblem):
    pass


class SetupFailed(EnvironmentProblem):
    pass


class ObservationError(GraderError):
    """The harness could not observe something; the check is ``error``, not the student's fault."""

    @classmethod
    def about(cls, what: str, exc: BaseException) -> ObservationError:
        return cls(
            Text(
                fr=f"observation impossible de {what} ({exc})",
                en=f"could not observe {what} ({exc})",
            )
        )


class ProbeTimeout(ObservationError):
    def __init__(self, purpose: str, deadline_s: float) -> None:
        super().__init__(
            Text(
                fr=f"la sonde « {purpose} » n'a pas fini en {deadline_s:g} s",
                en=f"probe '{purpose}' did not finish within {deadline_s:g} s",
            )
        )


def probe_image_build_command(image: str) -> str:
    """The command that builds ``image`` here, offline (``grade probe-image build``)."""
    if image == os.environ.get(defaults.PROBE_IMAGE_ENV, defaults.PROBE_IMAGE):
        return "grade probe-image build"
    return f"grade probe-image build --tag {image}"
