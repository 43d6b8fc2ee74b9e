"""The ``grade`` command's surface: help, listing, prompts, and every kind of bad input
(one clear line, the right exit code, no traceback). No engine is needed here: where one is
asked for, it is deliberately unreachable."""

from __future__ import annotations

import json
import re
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
    text = " ".join(done.output.split())  # the runner wraps help at 80 columns
    for option in ("--json", "--junit", "--gradescope"):
        assert re.search(rf"{option} PATH Write [^()]*\(-: standard output\)", text), text


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


def test_batch_into_an_output_folder_it_cannot_write(tmp_path: Path) -> None:
    (tmp_path / "class" / "ada").mkdir(parents=True)
    (tmp_path / "not-a-folder").write_text("x")

    done = CliRunner().invoke(
        app,
        [
            "batch",
            "tp-reseau",
            str(tmp_path / "class"),
            "--out",
            str(tmp_path / "not-a-folder"),
            "--lang",
            "en",
        ],
    )

    assert done.exit_code == 2, done.output
    assert done.output.count("\n") == 1
    assert "cannot be written" in done.output
    assert "Traceback" not in done.output


VARIANT_KEY = "a course key that only the teacher has"


def test_variant_without_a_key_gives_every_default(monkeypatch: pytest.MonkeyPatch) -> None:
    """A student asking "what are my names?" gets all of them, and is told there is no key."""
    monkeypatch.delenv("GRADER_COURSE_KEY", raising=False)
    exercise = find("tp-reseau")

    done = runner.invoke(
        app, ["variant", "tp-reseau", "--student", "ada", "--json", "--lang", "en"]
    )

    assert done.exit_code == 0, done.output
    answer = json.loads(done.stdout)
    assert answer == {
        "exercise": "tp-reseau",
        "student": "ada",
        "course_key": False,
        "fingerprint": None,
        "parameters": dict(exercise.params),
        "varying": [name for name in exercise.params if name in answer["varying"]],
    }
    assert set(answer["varying"]) == {v.parameter for v in exercise.variations}
    assert "redis_port" not in answer["varying"]
    assert isinstance(answer["parameters"]["app_port"], int)
    assert done.stderr.splitlines() == [
        "no course key is set (--course-key-file, $GRADER_COURSE_KEY): "
        "the default values, everyone's"
    ]


def test_variant_with_a_key_gives_every_parameter(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GRADER_COURSE_KEY", raising=False)
    key_file = tmp_path / "course.key"
    key_file.write_text(VARIANT_KEY + "\n")
    exercise = find("tp-reseau")
    ada = exercise.variant("ada", VARIANT_KEY.encode())

    as_json = runner.invoke(
        app, ["variant", "tp-reseau", "--student", "ada", "--json", "--course-key-file",
              str(key_file)],
    )  # fmt: skip
    as_text = runner.invoke(
        app, ["variant", "tp-reseau", "--student", "ada", "--lang", "en", "--course-key-file",
              str(key_file)],
    )  # fmt: skip

    assert (as_json.exit_code, as_text.exit_code) == (0, 0), as_json.output + as_text.output
    answer = json.loads(as_json.stdout)
    assert answer["course_key"] is True
    assert answer["fingerprint"] == ada.fingerprint
    assert answer["parameters"] == {**dict(exercise.params), **ada.values}
    assert set(answer["varying"]) == set(ada.values)
    assert as_json.stderr == as_text.stderr == ""
    lines = {line.split("=")[0].strip(): line for line in as_text.stdout.splitlines()}
    assert set(lines) == set(exercise.params)
    assert lines["network"].endswith(f"= {ada.values['network']}  (varies)")
    assert lines["redis_port"].endswith("= 6379")
    assert VARIANT_KEY not in as_json.output + as_text.output


def test_variant_of_an_unknown_exercise() -> None:
    done = runner.invoke(app, ["variant", "tp-nope", "--student", "ada", "--lang", "en"])

    assert done.exit_code == 2
    assert one_error_line(done.stderr).startswith("error: ")
    assert done.stdout == ""


def test_probe_image_build_refuses_a_dynamic_busybox(tmp_path: Path) -> None:
    """Refused before any engine is asked (the engine given here is unreachable)."""
    dynamic = tmp_path / "busybox"
    # A dynamically linked ELF that says it is BusyBox: what a distribution's shared busybox is.
    dynamic.write_bytes(Path(sys.executable).resolve().read_bytes() + b"BusyBox v1.36.1 (x)")

    done = runner.invoke(
        app, ["probe-image", "build", "--busybox", str(dynamic), "--lang", "en", *UNREACHABLE]
    )

    assert done.exit_code == 2
    assert one_error_line(done.stderr) == (
        f"error: {dynamic}: dynamically linked: a FROM-scratch image has no C library for it; "
        "install Debian's busybox-static or give --busybox PATH to a static busybox"
    )
    assert done.stdout == ""


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"#!/bin/sh\necho busybox\n", "not an ELF executable"),
        (None, "not a busybox binary"),
        ("missing", "cannot read it (No such file or directory)"),
    ],
)
def test_probe_image_build_refuses_what_is_not_a_busybox(
    tmp_path: Path, content: bytes | str | None, reason: str
) -> None:
    given = tmp_path / "busybox"
    if content is None:  # an ELF executable, but not busybox
        shutil.copy(Path(sys.executable).resolve(), given)
    elif isinstance(content, bytes):
        given.write_bytes(content)

    done = runner.invoke(
        app, ["probe-image", "build", "--busybox", str(given), "--lang", "en", *UNREACHABLE]
    )

    assert done.exit_code == 2
    assert one_error_line(done.stderr) == f"error: {given}: {reason}"


def test_probe_image_build_finds_no_busybox(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from grader.setup import probe_image

    monkeypatch.setattr(probe_image, "DEBIAN_BUSYBOX", tmp_path / "none")
    monkeypatch.setenv("PATH", str(tmp_path))

    done = runner.invoke(app, ["probe-image", "build", "--lang", "en", *UNREACHABLE])

    assert done.exit_code == 3
    assert one_error_line(done.stderr) == (
        "error: no busybox on this machine: install Debian's busybox-static "
        "(apt-get install busybox-static) or give --busybox PATH"
    )


def test_probe_image_build_with_no_engine(tmp_path: Path) -> None:
    """A static busybox is found here (Debian's busybox-static); the engine is unreachable."""
    done = runner.invoke(app, ["probe-image", "build", "--lang", "en", *UNREACHABLE])

    assert done.exit_code == 3
    assert one_error_line(done.stderr).startswith("error: cannot reach the Docker Engine at ")


#: What `grade --help` must not import: the engine's client, the class view's server, YAML and
#: templates (exercise loading), and rich's Markdown renderer (typer's rich help pulls it in).
HEAVY_MODULES = (
    "docker", "requests", "yaml", "jinja2", "rich.markdown", "markdown_it", "pydantic",
    "sqlalchemy", "fastapi", "starlette", "grader.engine", "grader.exercise",
)  # fmt: skip


def _run_in_a_fresh_python(args: list[str], watched: tuple[str, ...]) -> tuple[str, list[str]]:
    """`grade ARGS` in a Python of its own: what it printed, and which ``watched`` modules
    it imported."""
    program = (
        f"import json, sys; sys.argv = ['grade', *{args!r}]; from grader.cli import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        f"print(json.dumps([m for m in {list(watched)!r} if m in sys.modules]), "
        "file=sys.stderr)"
    )
    done = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, timeout=60, check=True
    )
    return done.stdout, json.loads(done.stderr.splitlines()[-1])


def test_help_imports_nothing_heavy() -> None:
    """Start-up is most of a short command's time: `grade --help` loads the commands' own
    modules and typer, nothing they only need once running."""
    shown, imported = _run_in_a_fresh_python(["--help"], HEAVY_MODULES)

    assert "Usage: grade" in shown
    assert imported == []


#: What `grade list` must not import: it reads each lab's exercise.yaml and rubric, nothing else.
LISTING_NEVER_IMPORTS = (
    "docker", "requests", "jinja2", "pytest", "rich", "pydantic", "grader.engine",
    "grader.exercise.model", "grader.exercise.mutants", "grader.exercise.variants",
)  # fmt: skip


def test_list_reads_the_catalog_only() -> None:
    shown, imported = _run_in_a_fresh_python(["list", "--lang", "en"], LISTING_NEVER_IMPORTS)

    assert "tp-reseau\t" in shown
    assert imported == []
