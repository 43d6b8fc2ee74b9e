"""Which project ``grade`` grades in a compose folder: the name Compose itself gives it.

Each folder layout is also shown to the real Compose binary (``docker compose config``, which
reads files and never talks to an engine), and both must name the same project.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from grader.compose import find_compose, find_project, run_bounded
from grader.compose.discovery import interpolate, normalize_project_name
from grader.errors import UsageError

SERVICE = "services:\n  web:\n    image: busybox\n"


@pytest.mark.parametrize(
    ("folder", "normal"),
    [
        ("My.Cool_App-1", "mycool_app-1"),
        ("__-Leading", "leading"),
        ("Ünïcødé dir", "ncddir"),
        ("123abc", "123abc"),
        ("a b+c@d", "abcd"),
        ("UPPER", "upper"),
        ("...", ""),
    ],
)
def test_normalised_as_compose_go_does(folder: str, normal: str) -> None:
    assert normalize_project_name(folder) == normal


def compose_says(cwd: Path, env: dict[str, str]) -> str | None:
    """The project name the real Compose binary gives ``cwd`` (None: it refuses)."""
    done = run_bounded(
        [*find_compose(), "config", "--format", "json"],
        timeout_s=60,
        env={"PATH": "/usr/bin:/bin", "HOME": str(cwd), **env},
        cwd=cwd,
    )
    if not done.ok:
        return None
    return str(json.loads(done.output[done.output.index("{") :])["name"])


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


#: case -> (files, where grade runs, environment, expected name, where the name comes from)
CASES: dict[str, tuple[dict[str, str], str, dict[str, str], str, str]] = {
    "folder name": ({"My.Lab_2/compose.yaml": SERVICE}, "My.Lab_2", {}, "mylab_2", "folder"),
    "legacy file name": (
        {"tp/docker-compose.yml": SERVICE}, "tp", {}, "tp", "folder",
    ),
    "sub-folder": ({"tp/compose.yaml": SERVICE, "tp/app/x.py": ""}, "tp/app", {}, "tp", "folder"),
    "name:": ({"tp/compose.yaml": "name: My.App\n" + SERVICE}, "tp", {}, "myapp", "name"),
    "name: interpolated": (
        {"tp/compose.yaml": "name: ${LAB:-id}dock\n" + SERVICE}, "tp", {}, "iddock", "name",
    ),
    "name: from the environment": (
        {"tp/compose.yaml": "name: ${LAB:-id}dock\n" + SERVICE}, "tp", {"LAB": "x"}, "xdock",
        "name",
    ),
    'name: ""': ({"Tp/compose.yaml": 'name: ""\n' + SERVICE}, "Tp", {}, "tp", "folder"),
    "name: from .env": (
        {"tp/compose.yaml": "name: ${LAB}\n" + SERVICE, "tp/.env": "LAB=fromdotenv\n"},
        "tp", {}, "fromdotenv", "name",
    ),
    "override file's name:": (
        {"tp/compose.yaml": "name: main\n" + SERVICE, "tp/compose.override.yaml": "name: over\n"},
        "tp", {}, "over", "name",
    ),
    ".env beats name:": (
        {
            "tp/compose.yaml": "name: yamlname\n" + SERVICE,
            "tp/.env": "# the lab\nCOMPOSE_PROJECT_NAME=fromdotenv\n",
        },
        "tp", {}, "fromdotenv", "dotenv",
    ),
    "environment beats .env": (
        {"tp/compose.yaml": SERVICE, "tp/.env": "COMPOSE_PROJECT_NAME=fromdotenv\n"},
        "tp", {"COMPOSE_PROJECT_NAME": "shell"}, "shell", "environment",
    ),
    "compose.yaml before docker-compose.yml": (
        {
            "tp/compose.yaml": "name: first\n" + SERVICE,
            "tp/docker-compose.yml": "name: second\n" + SERVICE,
        },
        "tp", {}, "first", "name",
    ),
    "COMPOSE_FILE": (
        {"tp/compose.yaml": SERVICE, "tp/Other.Dir/lab.yaml": SERVICE},
        "tp", {"COMPOSE_FILE": "Other.Dir/lab.yaml"}, "otherdir", "folder",
    ),
}  # fmt: skip


@pytest.mark.parametrize("case", list(CASES))
def test_same_name_as_compose(case: str, tmp_path: Path) -> None:
    files, where, env, expected, source = CASES[case]
    write(tmp_path, files)
    cwd = tmp_path / where

    found = find_project(cwd, env)

    assert (found.name, found.source) == (expected, source)
    assert compose_says(cwd, env) == expected


@pytest.mark.parametrize(
    ("files", "env"),
    [
        ({"tp/compose.yaml": SERVICE}, {"COMPOSE_PROJECT_NAME": "My.App"}),
        ({"tp/compose.yaml": 'name: "..."\n' + SERVICE}, {}),
        ({"tp/compose.yaml": "name: ${LAB:?set LAB}\n" + SERVICE}, {}),
        ({"tp/compose.yaml": "name: ${UNSET}\n" + SERVICE}, {}),
        (
            {"tp/compose.yaml": "name: main\n" + SERVICE, "tp/compose.override.yml": "name: $X\n"},
            {},
        ),
    ],
)
def test_where_compose_refuses_so_does_grade(
    files: dict[str, str], env: dict[str, str], tmp_path: Path
) -> None:
    write(tmp_path, files)

    with pytest.raises(UsageError):
        find_project(tmp_path / "tp", env)
    assert compose_says(tmp_path / "tp", env) is None


def test_no_compose_file_here_or_above(tmp_path: Path) -> None:
    with pytest.raises(UsageError) as raised:
        find_project(tmp_path, {})

    assert "run grade in the folder of your compose.yaml, or give --project NAME" in (
        raised.value.text.en
    )


def test_the_note_says_where_the_name_comes_from(tmp_path: Path) -> None:
    write(tmp_path, {"Lab/compose.yaml": SERVICE})

    note = find_project(tmp_path / "Lab", {}).note

    assert note.en == (
        f"Compose project 'lab' (folder name of {tmp_path / 'Lab'}); --project picks another"
    )
    assert note.fr.startswith("projet Compose « lab » (nom du dossier ")


@pytest.mark.parametrize(
    ("text", "variables", "expected"),
    [
        ("${A}", {"A": "x"}, "x"),
        ("${A:-d}", {"A": ""}, "d"),
        ("${A-d}", {"A": ""}, ""),
        ("${A:+alt}", {"A": "x"}, "alt"),
        ("${A+alt}", {}, ""),
        ("${A:-${B}}", {"B": "b"}, "b"),
        ("$$A", {"A": "x"}, "$A"),
        ("$A.b", {"A": "x"}, "x.b"),
    ],
)
def test_interpolation(text: str, variables: dict[str, str], expected: str) -> None:
    assert interpolate(text, variables) == expected
