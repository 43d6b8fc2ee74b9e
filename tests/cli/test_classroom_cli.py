"""The class view's commands, without an engine: one clear line and the right exit code for
every bad input; a class made on the embedded database, its handout private; ``grade check``
imports nothing of the class view's server, and its client only once a class is joined."""

from __future__ import annotations

import csv
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from grader.cli import app, classroom

runner = CliRunner()


@pytest.fixture
def roster(tmp_path: Path) -> Path:
    path = tmp_path / "roster.csv"
    path.write_text("student,name\nada,Ada L.\nbob,Bob\n")
    return path


def create(tmp_path: Path, roster: Path, *extra: str, name: str = "TP2 groupe A") -> object:
    return runner.invoke(
        app,
        ["class", "create", name, "--roster", str(roster), "--lab", "tp-reseau",
         "--data", str(tmp_path / "data"), "--server", "https://grade.example.org",
         "--out", str(tmp_path / "tokens.csv"), "--lang", "en", *extra],
    )  # fmt: skip


def error_line(output: str) -> str:
    __tracebackhide__ = True
    assert "Traceback" not in output
    lines = [line for line in output.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, output
    return lines[0]


def test_class_create_hands_out_tokens(tmp_path: Path, roster: Path) -> None:
    done = create(tmp_path, roster)

    assert done.exit_code == 0, done.output
    assert "class TP2 groupe A created: 2 students, labs tp-reseau" in done.output
    teacher = done.output.split("it logs in to the page): ", 1)[1].split()[0]
    assert len(teacher) == 43
    handout = tmp_path / "tokens.csv"
    assert stat.S_IMODE(handout.stat().st_mode) == 0o600
    rows = list(csv.DictReader(handout.open()))
    assert [row["student"] for row in rows] == ["ada", "bob"]
    assert rows[0]["join"] == f"grade join https://grade.example.org --token={rows[0]['token']}"
    assert teacher not in handout.read_text()

    listed = runner.invoke(app, ["class", "list", "--data", str(tmp_path / "data")])
    assert listed.output == "TP2 groupe A\ttp-reseau\t2 students\t0 attempts\n"


def test_class_create_refusals(tmp_path: Path, roster: Path) -> None:
    assert create(tmp_path, roster).exit_code == 0
    handout_exists = create(tmp_path, roster, name="other")
    (tmp_path / "tokens.csv").unlink()
    again = create(tmp_path, roster)
    bad_name = create(tmp_path, roster, name="<b>")
    unknown_lab = create(tmp_path, roster, "--lab", "tp-nope", name="other")
    empty = tmp_path / "empty.csv"
    empty.write_text("student\n")
    no_student = create(tmp_path, empty, name="other")

    assert error_line(again.output) == "error: class TP2 groupe A already exists"
    assert "already exists (it may hold a class's tokens)" in error_line(handout_exists.output)
    assert "invalid class name" in error_line(bad_name.output)
    assert "unknown exercise 'tp-nope'" in error_line(unknown_lab.output)
    assert error_line(no_student.output) == "error: the roster is empty"
    assert {r.exit_code for r in (again, handout_exists, bad_name, unknown_lab, no_student)} == {2}
    assert not (tmp_path / "tokens.csv").exists()  # nothing handed out for a refused class


def test_reissue_replaces_a_token(tmp_path: Path, roster: Path) -> None:
    assert create(tmp_path, roster).exit_code == 0
    data = ["--data", str(tmp_path / "data"), "--lang", "en"]

    student = runner.invoke(app, ["class", "reissue", "TP2 groupe A", "--student", "bob", *data])
    teacher = runner.invoke(app, ["class", "reissue", "TP2 groupe A", "--teacher", *data])
    nobody = runner.invoke(app, ["class", "reissue", "TP2 groupe A", "--student", "zed", *data])

    assert (student.exit_code, teacher.exit_code, nobody.exit_code) == (0, 0, 2)
    assert len(student.output.strip()) == 43
    assert error_line(nobody.output) == "error: no student zed in class TP2 groupe A"


def test_serve_without_its_packages_says_how_to_install_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(classroom, "SERVER_PACKAGES", (*classroom.SERVER_PACKAGES, "tpg_absent"))

    done = runner.invoke(app, ["serve", "--lang", "en"])

    assert done.exit_code == 3
    assert done.output.strip().splitlines() == [
        "the class view needs packages that are missing (tpg_absent): "
        "pip install 'tp-grader[serve]'"
    ]


def test_serve_on_a_busy_port_is_one_line(tmp_path: Path) -> None:
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        done = runner.invoke(
            app, ["serve", "--data", str(tmp_path), "--port", str(port), "--lang", "en"]
        )

    assert done.exit_code == 3
    assert f"cannot listen on 127.0.0.1:{port}" in error_line(done.output)


def test_serve_on_an_unreachable_database_is_one_line() -> None:
    done = runner.invoke(
        app, ["serve", "--db", "postgresql+psycopg://nobody@127.0.0.1:9/none", "--lang", "en"]
    )

    assert done.exit_code == 3
    assert "cannot open the database (postgresql+psycopg://nobody@127.0.0.1:9/none)" in (
        error_line(done.output)
    )


def test_check_has_no_push_and_loads_no_server() -> None:
    code = (
        "import sys; from typer.testing import CliRunner; from grader.cli import app; "
        "CliRunner().invoke(app, ['check', 'tp-reseau', '--host', 'tcp://127.0.0.1:9']); "
        "print(sorted(m for m in ('grader.classroom.client', 'sqlalchemy', 'starlette', "
        "'uvicorn', 'alembic') if m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False,
        env={"PATH": "/usr/bin:/bin", "GRADER_CONFIG_DIR": "/nonexistent/tpg"},
    )  # fmt: skip

    assert done.stdout.strip() == "[]", done.stderr
    assert "--no-push" in runner.invoke(app, ["check", "--help"]).output
