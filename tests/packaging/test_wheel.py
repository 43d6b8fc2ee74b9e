"""The built wheel carries the exercises and rubrics: installed in a clean virtual environment
outside the repository, `grade list` and `grade show` work from any directory."""

from __future__ import annotations

import subprocess
import sys
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A virtual environment with the wheel installed; returns its bin folder."""
    work = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(work), str(ROOT)],
        check=True,
    )
    (wheel,) = work.glob("tp_grader-*.whl")
    environment = work / "venv"
    venv.create(environment, with_pip=True)
    pip = environment / "bin" / "pip"
    subprocess.run(
        [str(pip), "install", "-q", "--disable-pip-version-check", str(wheel)], check=True
    )
    return environment / "bin"


def test_wheel_holds_exercises_and_rubrics(installed: Path) -> None:
    import zipfile

    (wheel,) = installed.parent.parent.glob("tp_grader-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "grader/_bundle/exercises/tp-reseau/checks.py" in names
    assert "grader/_bundle/rubrics/tp-reseau.yaml" in names
    assert "grader/py.typed" in names


def test_grade_list_from_any_directory(installed: Path, tmp_path: Path) -> None:
    done = subprocess.run(
        [str(installed / "grade"), "list", "--lang", "en"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )

    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("tp-reseau\t")


def test_grade_show_and_version_and_module(installed: Path, tmp_path: Path) -> None:
    show = subprocess.run(
        [str(installed / "grade"), "show", "tp-reseau", "--lang", "en"],
        cwd=tmp_path, capture_output=True, text=True, check=False,
    )  # fmt: skip
    module = subprocess.run(
        [str(installed / "python"), "-m", "grader", "--version"],
        cwd=tmp_path, capture_output=True, text=True, check=False,
    )  # fmt: skip

    assert show.returncode == 0
    assert "moby-network2" in show.stdout
    assert module.stdout.startswith("tp-grader ")
