"""The public surface is deliberate: the exported names, and what exercise authors import."""

from __future__ import annotations

import grader
import grader.checks


def test_exported_names() -> None:
    assert grader.__all__ == [
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
    for name in grader.__all__:
        assert getattr(grader, name) is not None


def test_check_author_surface() -> None:
    assert sorted(grader.checks.__all__) == [
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


def test_importing_grader_is_cheap() -> None:
    import subprocess
    import sys

    code = (
        "import grader, sys; "
        "print(sorted(m for m in ('docker', 'pytest', 'rich') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
