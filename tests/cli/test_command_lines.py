"""Command lines written elsewhere are valid command lines of ``grade``: the CI templates for
student repositories (ci/), and the README's examples. Checked statically: each line is parsed
by the CLI's own parser (unknown options, bad values and missing arguments fail), never run."""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.exceptions import TyperException
from typer.main import get_command

from grader.cli import app
from grader.exercise.catalog import available

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = {"GITLAB_USER_LOGIN": "ada", "GITHUB_ACTOR": "ada"}


def parse(argv: list[str]) -> None:
    """Parse ``grade ARGV`` as the CLI would, raising click's usage errors."""
    group = get_command(app)
    with group.make_context("grade", list(argv)) as context:
        name, command, rest = group.resolve_command(
            context, [*context._protected_args, *context.args]
        )
        assert command is not None, argv
        command.make_context(name, rest, parent=context)


def grade_lines(script: str) -> list[list[str]]:
    """Every ``grade`` invocation in a shell script, split into arguments (after ``grade``)."""
    found = []
    for line in script.splitlines():
        words = shlex.split(line, comments=True) if line.strip() else []
        if words and Path(words[0]).name == "grade":
            found.append(words[1:])
    return found


def expand(words: list[str], variables: dict[str, str]) -> list[str]:
    def value(match: re.Match[str]) -> str:
        return variables[match.group(1) or match.group(2)]

    return [re.sub(r"\$\{(\w+)\}|\$(\w+)", value, word) for word in words]


def scripts_of(path: Path) -> tuple[list[str], dict[str, str]]:
    data: Any = yaml.safe_load(path.read_text())
    if "jobs" in data:  # GitHub Actions
        job = data["jobs"]["grade"]
        steps = [step.get("run", "") for step in job["steps"]]
        return steps, {**job["env"], **SAMPLES}
    job = data["grade"]  # GitLab CI
    return [*job["before_script"], *job["script"]], {**data["variables"], **SAMPLES}


@pytest.mark.parametrize("template", ["gitlab-ci.yml", "github-actions.yml"])
def test_ci_templates_run_valid_grade_commands(template: str) -> None:
    scripts, variables = scripts_of(ROOT / "ci" / template)
    lines = [expand(words, variables) for script in scripts for words in grade_lines(script)]

    assert len(lines) >= 3  # doctor, and check for both kinds of setup
    for argv in lines:
        parse(argv)
    assert variables["EXERCISE"] in available()
    checks = [argv for argv in lines if argv[0] == "check"]
    assert all("--junit" in argv and "--min-score" in argv for argv in checks)
    assert {"--project" in argv for argv in checks} == {True, False}


def test_gitlab_publishes_the_junit_file_it_writes() -> None:
    data = yaml.safe_load((ROOT / "ci" / "gitlab-ci.yml").read_text())

    artifacts = data["grade"]["artifacts"]
    assert artifacts["reports"]["junit"] == "junit.xml"
    assert artifacts["when"] == "always"  # a failed job still shows its report
    assert "--junit junit.xml" in "\n".join(data["grade"]["script"])


SEPARATORS = {"&&", "||", "|", ";"}
REDIRECTIONS = {">", ">>", "<", "2>", "&>"}


def shell_commands(line: str) -> list[list[str]]:
    """The simple commands of a shell line: split at ``&&``, ``|``..., redirections dropped
    (``grade check X --json - | python3 -m json.tool > out.json`` has two)."""
    lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    lexer.commenters = "#"
    commands: list[list[str]] = [[]]
    words = iter(lexer)
    for word in words:
        if word in SEPARATORS:
            commands.append([])
        elif word in REDIRECTIONS:
            next(words, None)  # its target
        else:
            commands[-1].append(word)
    return [command for command in commands if command]


def test_shell_commands() -> None:
    assert shell_commands("pip install . && grade list  # then") == [
        ["pip", "install", "."], ["grade", "list"]
    ]  # fmt: skip
    assert shell_commands("grade check x --json - | python3 -m json.tool > s.json") == [
        ["grade", "check", "x", "--json", "-"], ["python3", "-m", "json.tool"]
    ]  # fmt: skip


def readme_commands() -> list[list[str]]:
    text = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```bash\n(.*?)```", text, re.DOTALL)
    lines: list[list[str]] = []
    for block in blocks:
        for line in block.replace("\\\n", " ").splitlines():
            for words in shell_commands(line):
                if Path(words[0]).name == "grade":
                    lines.append(["tp-reseau" if w == "..." else w for w in words[1:]])
    return lines


def test_readme_examples_are_valid_command_lines() -> None:
    lines = readme_commands()

    assert len(lines) >= 8
    for argv in lines:
        parse(argv)


@pytest.mark.parametrize(
    "argv", [["check", "tp-reseau", "--bogus"], ["check"], ["batch", "x", "--jobs", "zero"]]
)
def test_the_parser_does_refuse(argv: list[str]) -> None:
    """The checks above can fail: the parser refuses what the CLI refuses."""
    with pytest.raises(TyperException):
        parse(argv)
