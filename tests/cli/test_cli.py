"""The ``grade`` command's surface: help, listing, prompts, and every kind of bad input
(one clear line, the right exit code, no traceback). No engine is needed here: where one is
asked for, it is deliberately unreachable."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from grader.cli import app
from grader.exercise.catalog import find

runner = CliRunner()


def one_error_line(output: str) -> str:
    __tracebackhide__ = True
    assert "Traceback" not in output
    lines = [line for line in output.splitlines() if line.startswith(("erreur:", "error:"))]
    assert len(lines) == 1, output
    return lines[0]


def test_version() -> None:
    done = runner.invoke(app, ["--version"])

    assert done.exit_code == 0
    assert done.output.startswith("tp-grader ")


def test_list() -> None:
    done = runner.invoke(app, ["list", "--lang", "en"])

    assert done.exit_code == 0
    assert (
        "tp-reseau\tNetworking lab: moby-counter and Redis on Docker networks (20 points)"
        in done.output
    )


@pytest.mark.parametrize(("lang", "phrase"), [("fr", "Un second réseau"), ("en", "A second")])
def test_show_renders_the_prompt(lang: str, phrase: str) -> None:
    done = runner.invoke(app, ["show", "tp-reseau", "--lang", lang])

    assert done.exit_code == 0
    assert phrase in done.output
    assert "-p 8000:80" in done.output
    assert "{{" not in done.output


def test_show_with_parameters() -> None:
    done = runner.invoke(app, ["show", "tp-reseau", "--param", "app_port=8080"])

    assert done.exit_code == 0
    assert "-p 8080:80" in done.output


def test_unknown_exercise_lists_the_known_ones() -> None:
    done = runner.invoke(app, ["check", "tp-nope", "--lang", "en"])

    assert done.exit_code == 2
    assert "tp-reseau" in find_ids()
    assert one_error_line(done.output) == (
        "error: unknown exercise 'tp-nope'; known exercises: " + ", ".join(sorted(find_ids()))
    )


def find_ids() -> list[str]:
    from grader.exercise.catalog import available

    return available()


def test_unknown_exercise_through_the_shortcut() -> None:
    done = runner.invoke(app, ["tp-nope"])

    assert done.exit_code == 2
    assert "exercice inconnu « tp-nope »" in one_error_line(done.output)


@pytest.mark.parametrize(
    "args",
    [
        ["check", "tp-reseau", "--no-such-option"],
        ["check", "tp-reseau", "--lang", "de"],
        ["check", "tp-reseau", "--param", "no-equals-sign"],
        ["demo", "tp-reseau", "--image", "noequals"],
        ["check"],
    ],
)
def test_usage_errors_exit_two(args: list[str]) -> None:
    done = runner.invoke(app, args)

    assert done.exit_code == 2
    assert "Traceback" not in done.output


def test_unknown_parameter_exit_two() -> None:
    done = runner.invoke(app, ["show", "tp-reseau", "--lang", "en", "--param", "colour=blue"])

    assert done.exit_code == 2
    assert one_error_line(done.output).startswith("error: unknown parameter 'colour'")


def test_bad_parameter_type_exit_two() -> None:
    done = runner.invoke(app, ["show", "tp-reseau", "--lang", "en", "--param", "app_port=http"])

    assert done.exit_code == 2
    assert "expects an integer" in one_error_line(done.output)


@pytest.mark.parametrize(
    ("host", "reason"),
    [
        ("unix:///nonexistent/docker.sock", "No such file or directory"),
        ("tcp://127.0.0.1:1", "Connection refused"),
    ],
)
def test_engine_unreachable_is_one_line_exit_three(host: str, reason: str) -> None:
    done = runner.invoke(app, ["check", "tp-reseau", "--lang", "en", "--host", host])

    assert done.exit_code == 3
    line = one_error_line(done.output)
    assert line.startswith(f"error: cannot reach the Docker Engine at {host} ({reason})")
    assert "DOCKER_HOST" in line


def test_docker_host_variable_is_honoured() -> None:
    done = runner.invoke(
        app, ["check", "tp-reseau"], env={"DOCKER_HOST": "unix:///nonexistent/docker.sock"}
    )

    assert done.exit_code == 3
    assert "Docker Engine injoignable à unix:///nonexistent/docker.sock" in one_error_line(
        done.output
    )


def test_broken_rubric_is_a_usage_error_naming_file_and_line(tmp_path: Path) -> None:
    source = find("tp-reseau")
    shutil.copytree(source.directory, tmp_path / "exercises" / "tp-broken")
    (tmp_path / "rubrics").mkdir()
    text = source.rubric.path.read_text().replace("exercise: tp-reseau", "exercise: tp-broken")
    (tmp_path / "rubrics" / "tp-broken.yaml").write_text(
        text.replace("prerequisites: [dns-redis]", "prerequisites: [dns-redis, fantome]")
    )
    (tmp_path / "exercises" / "tp-broken" / "exercise.yaml").write_text(
        (source.directory / "exercise.yaml").read_text().replace("id: tp-reseau", "id: tp-broken")
    )

    done = runner.invoke(app, ["check", "tp-broken"], env={"GRADER_PATH": str(tmp_path)})

    assert done.exit_code == 2
    line = one_error_line(done.output)
    assert "rubrics/tp-broken.yaml:" in line
    assert "check 'app-vers-redis': prerequisite 'fantome' is not a check" in line


def test_python_dash_m() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "grader", "--version"], capture_output=True, text=True, check=False
    )

    assert done.returncode == 0
    assert done.stdout.startswith("tp-grader ")


def test_unwritable_report_path(tmp_path: Path) -> None:
    """A report that cannot be written is a clear error, checked before the engine."""
    blocked = tmp_path / "file"
    blocked.write_text("")
    done = runner.invoke(
        app,
        [
            "check",
            "tp-reseau",
            "--lang",
            "en",
            "--host",
            "unix:///nonexistent/docker.sock",
            "--json",
            str(blocked / "r.json"),
        ],
    )

    assert done.exit_code == 2
    assert one_error_line(done.output) == f"error: cannot write report: {blocked}: not a directory"


UNREACHABLE = ["--host", "unix:///nonexistent/docker.sock"]


@pytest.mark.parametrize("command", ["check", "demo"])
@pytest.mark.parametrize(
    "options",
    [
        ["--json", "-", "--junit", "-"],
        ["--gradescope", "-", "--summary-md", "-"],
        ["--json", "-", "--junit", "-", "--summary-md", "-"],
    ],
)
def test_at_most_one_report_on_standard_output(command: str, options: list[str]) -> None:
    """Refused before the engine is asked for (so exit 2 here, not 3), in one line."""
    done = runner.invoke(app, [command, "tp-reseau", "--lang", "en", *UNREACHABLE, *options])

    assert done.exit_code == 2
    asked = ", ".join(option for option in options if option.startswith("--"))
    assert one_error_line(done.stderr) == (
        f"error: only one report can go to standard output (-); asked by {asked}"
    )
    assert done.stdout == ""


def test_report_paths_refused_before_grading_create_nothing(tmp_path: Path) -> None:
    (tmp_path / "dangling").symlink_to("nowhere")
    (tmp_path / "folder").mkdir()
    before = sorted(tmp_path.iterdir())
    cases = {
        "dangling": "dangling symbolic link",
        "folder": "is a directory",
    }

    for name, problem in cases.items():
        done = runner.invoke(
            app,
            ["check", "tp-reseau", "--lang", "en", *UNREACHABLE,
             "--json", str(tmp_path / "fine.json"), "--junit", str(tmp_path / name)],
        )  # fmt: skip

        assert done.exit_code == 2
        assert one_error_line(done.output) == (
            f"error: cannot write report: {tmp_path / name}: {problem}"
        )
    assert sorted(tmp_path.iterdir()) == before
    assert (tmp_path / "dangling").is_symlink()


def test_report_options_say_dash_is_standard_output() -> None:
    done = runner.invoke(app, ["check", "--help"], env={"COLUMNS": "200"})

    assert done.exit_code == 0
    for option in ("--json", "--junit", "--gradescope"):
        line = next(line for line in done.output.splitlines() if option + " " in line)
        assert "(-: standard output)" in line, line


def test_doctor_with_no_engine() -> None:
    done = runner.invoke(app, ["doctor", "--lang", "en", "--host", "unix:///nonexistent/d.sock"])

    assert done.exit_code == 3
    assert "✘ Docker Engine: cannot reach the Docker Engine at unix:///nonexistent/d.sock" in (
        done.output
    )


def test_docker_cli_context_is_honoured(tmp_path: Path) -> None:
    """With no --host and no DOCKER_HOST, the Docker CLI's current context names the engine."""
    from docker.context import Context

    config = tmp_path / "docker-config"
    config.mkdir()
    context = Context("course-vm", host="unix:///nonexistent/course-vm.sock")
    # docker-py writes contexts under DOCKER_CONFIG, like the Docker CLI.
    env = {"DOCKER_CONFIG": str(config), "DOCKER_HOST": ""}
    with pytest.MonkeyPatch.context() as patch:
        for key, value in env.items():
            patch.setenv(key, value)
        (config / "config.json").write_text('{"currentContext": "course-vm"}')
        context.save()  # beside config.json, as the Docker CLI keeps them
        done = runner.invoke(app, ["check", "tp-reseau", "--lang", "en"])

    assert done.exit_code == 3
    assert "unix:///nonexistent/course-vm.sock" in one_error_line(done.output)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["batch", "tp-reseau"], "give SUBMISSIONS_DIR or --hosts"),
        (["batch", "tp-reseau", ".", "--hosts", "h.csv"], "give SUBMISSIONS_DIR or --hosts"),
        (["batch", "tp-reseau", ".", "--id-column", "name"], "use idnumber, email or username"),
        (["batch", "tp-reseau", ".", "--jobs", "0"], "--jobs"),
    ],
)
def test_batch_usage_errors(args: list[str], message: str) -> None:
    done = runner.invoke(app, args)

    assert done.exit_code == 2
    assert message in done.output


def test_batch_missing_submissions_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Found before any engine is reached (the one given here does not exist)."""
    monkeypatch.chdir(tmp_path)

    done = runner.invoke(
        app,
        ["batch", "tp-reseau", "nope/", "--lang", "en", "--host", "unix:///nonexistent/d.sock"],
    )

    assert done.exit_code == 2
    assert one_error_line(done.output) == "error: submissions folder not found: nope"


@pytest.mark.parametrize("spelling", ["~/class", "~/class/", "class", "./class/"])
def test_paths_relative_absolute_home_and_trailing_slash(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, spelling: str
) -> None:
    """Every spelling of a folder reaches it (the shell does not expand ``--opt=~/x``)."""
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    (tmp_path / "class").mkdir()
    hosts = tmp_path / "hosts.csv"
    hosts.write_text("ada,not-a-url\n")

    batch = runner.invoke(app, ["batch", "tp-reseau", spelling, "--hosts", "~/hosts.csv"])
    rescored = runner.invoke(app, ["rescore", spelling, "--lang", "en"])
    from_hosts = runner.invoke(app, ["batch", "tp-reseau", "--hosts=~/hosts.csv", "--lang", "en"])

    assert batch.exit_code == 2  # both given: a usage error, not a missing folder
    assert "class is not a batch's output folder" in one_error_line(rescored.output)
    assert "~/hosts.csv:1: expected 'student,docker_host'" in one_error_line(from_hosts.output)


def test_rescore_of_a_folder_that_is_no_batch(tmp_path: Path) -> None:
    done = runner.invoke(app, ["rescore", str(tmp_path), "--lang", "en"])

    assert done.exit_code == 2
    assert f"{tmp_path} is not a batch's output folder" in one_error_line(done.output)
