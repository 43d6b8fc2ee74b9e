"""The built wheel carries the exercises and rubrics: installed in a clean virtual environment
outside the repository, `grade list` and `grade show` work from any directory."""

from __future__ import annotations

import os
import subprocess
import sys
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

#: It builds from the source tree the image test's `docker build` sends as its context: on the
#: same worker as that test, never beside it (tests/support/workers.py).
pytestmark = [pytest.mark.slow, pytest.mark.machine_engine]


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


def test_wheel_holds_the_class_views_migrations_and_page(installed: Path) -> None:
    import zipfile

    (wheel,) = installed.parent.parent.glob("tp_grader-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "grader/classroom/store/migrations/env.py" in names
    assert "grader/classroom/store/migrations/versions/0001_class_view.py" in names
    assert "grader/classroom/page/static/class.js" in names
    assert "grader/classroom/page/templates/class.html" in names


def test_grade_list_from_any_directory(installed: Path, tmp_path: Path) -> None:
    done = subprocess.run(
        [str(installed / "grade"), "list", "--lang", "en"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )

    assert done.returncode == 0, done.stderr
    listed = [line.split("\t")[0] for line in done.stdout.splitlines()]
    assert {"tp-compose", "tp-reseau", "tp-volumes"} <= set(listed)
    assert listed == sorted(listed)


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


@pytest.fixture(scope="module")
def installers(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A virtual environment holding pipx and uv (the tools courses install ``grade`` with)."""
    environment = tmp_path_factory.mktemp("installers") / "venv"
    venv.create(environment, with_pip=True)
    subprocess.run(
        [str(environment / "bin" / "pip"), "install", "-q", "--disable-pip-version-check",
         "pipx", "uv"],
        check=True,
    )  # fmt: skip
    return environment / "bin"


def _works(grade: Path, cwd: Path) -> None:
    __tracebackhide__ = True
    for argv, expected in (
        (["--version"], "tp-grader "),
        (["list", "--lang", "en"], "tp-reseau\t"),
        (["show", "tp-reseau", "--lang", "en"], "moby-network2"),
        (["--show-completion", "bash"], "_GRADE_COMPLETE"),
    ):
        done = subprocess.run(
            [str(grade), *argv], cwd=cwd, capture_output=True, text=True, check=False,
            env={**os.environ, "SHELL": "/bin/bash"},
        )  # fmt: skip
        assert done.returncode == 0, (argv, done.stderr)
        assert expected in done.stdout, (argv, done.stdout[:300])


def test_pipx_install(installed: Path, installers: Path, tmp_path: Path) -> None:
    (wheel,) = installed.parent.parent.glob("tp_grader-*.whl")
    env = {**os.environ, "PIPX_HOME": str(tmp_path / "pipx"), "PIPX_BIN_DIR": str(tmp_path / "bin")}

    subprocess.run(
        [str(installers / "pipx"), "install", "--python", sys.executable, str(wheel)],
        env=env, check=True, capture_output=True,
    )  # fmt: skip

    _works(tmp_path / "bin" / "grade", tmp_path)


def test_uv_tool_install(installed: Path, installers: Path, tmp_path: Path) -> None:
    (wheel,) = installed.parent.parent.glob("tp_grader-*.whl")
    env = {
        **os.environ,
        "UV_TOOL_DIR": str(tmp_path / "tools"),
        "UV_TOOL_BIN_DIR": str(tmp_path / "bin"),
        "UV_NATIVE_TLS": "1",  # the machine's certificate store, as pip uses
    }

    subprocess.run(
        [str(installers / "uv"), "tool", "install", "--python", sys.executable, str(wheel)],
        env=env, check=True, capture_output=True,
    )  # fmt: skip

    _works(tmp_path / "bin" / "grade", tmp_path)
