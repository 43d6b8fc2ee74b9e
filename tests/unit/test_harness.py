"""The harness's own logic, with a fake engine: how exceptions become outcomes, prerequisite
skips, ordering, and the fixtures a check receives. (No Docker behaviour is claimed here.)"""

from __future__ import annotations

from pathlib import Path

import pytest

from grader.engine.facts import ImageFacts
from grader.errors import ExerciseDefinitionError
from grader.exercise.model import load_exercise
from grader.harness import GradeRequest, grade
from grader.judge.outcome import CheckStatus
from tests.support.fake_engine import FakeEngine

CHECKS = """
from grader.checks import Lab, Params, Text, check, expect
from grader.errors import ObservationError

ORDER = []

@check("second")
def test_second(lab: Lab, params: Params) -> None:
    ORDER.append("second")

@check("first")
def test_first(lab: Lab, params: Params) -> None:
    ORDER.append("first")
    assert isinstance(lab, Lab) and params.port == 8000

@check("misses")
def test_misses(lab: Lab) -> None:
    expect.that(False, Text(fr="raté", en="missed"))

@check("plain-assert")
def test_plain_assert() -> None:
    assert 1 + 1 == 3, "arithmetic"

@check("cannot-observe")
def test_cannot_observe() -> None:
    raise ObservationError(Text(fr="moteur muet", en="engine silent"))

@check("bug")
def test_bug() -> None:
    1 / 0

@check("after-miss")
def test_after_miss() -> None:
    raise AssertionError("must not run")

@check("missing-container")
def test_missing_container(lab: Lab) -> None:
    lab.container("nope")

@check("grader-bug")
def test_grader_bug(lab: Lab) -> None:
    lab.engine.broken_invariant()  # an AssertionError raised in the grader's own code
"""

RUBRIC_ENTRY = """  {id}:
    points: 1
    title: {{fr: "{id}", en: "{id}"}}
    hint: {{fr: "indice {id}", en: "hint {id}"}}
"""


def make_exercise(tmp_path: Path, checks: str = CHECKS) -> Path:
    directory = tmp_path / "exercises" / "toy"
    directory.mkdir(parents=True)
    (directory / "exercise.yaml").write_text(
        "id: toy\ntitle: {fr: Jouet, en: Toy}\nparameters: {port: 8000}\n"
    )
    (directory / "prompt.fr.md").write_text("Bonjour\n")
    (directory / "prompt.en.md").write_text("Hello\n")
    (directory / "checks.py").write_text(checks)
    ids = [
        "first",
        "second",
        "misses",
        "plain-assert",
        "cannot-observe",
        "bug",
        "after-miss",
        "missing-container",
        "grader-bug",
    ]
    body = (
        "".join(RUBRIC_ENTRY.format(id=i) for i in ids)
        .replace("  after-miss:\n", "  after-miss:\n    prerequisites: [misses]\n")
        .replace("  second:\n", "  second:\n    prerequisites: [first]\n")
    )
    (tmp_path / "rubrics").mkdir()
    (tmp_path / "rubrics" / "toy.yaml").write_text(f"exercise: toy\nchecks:\n{body}")
    return directory


def fake_engine() -> FakeEngine:
    return FakeEngine(images_=[ImageFacts("sha256:bb", ("busybox:1.36.1",))])


def test_outcomes(tmp_path: Path) -> None:
    exercise = load_exercise(make_exercise(tmp_path), tmp_path / "rubrics")

    result = grade(GradeRequest(exercise, student="s", lang="en"), engine=fake_engine())

    by_id = {c.check_id: c.outcome for c in result.sheet.checks}
    assert {k: v.status for k, v in by_id.items()} == {
        "first": CheckStatus.PASSED,
        "second": CheckStatus.PASSED,
        "misses": CheckStatus.FAILED,
        "plain-assert": CheckStatus.FAILED,
        "cannot-observe": CheckStatus.ERROR,
        "bug": CheckStatus.ERROR,
        "after-miss": CheckStatus.SKIPPED,
        "missing-container": CheckStatus.FAILED,
        "grader-bug": CheckStatus.ERROR,
    }
    assert by_id["misses"].message.fr == "raté"
    assert "arithmetic" in by_id["plain-assert"].message.en
    assert by_id["cannot-observe"].message.en == "engine silent"
    assert by_id["bug"].message.en.startswith("internal error in the check (ZeroDivisionError")
    assert by_id["after-miss"].message.en == "not run: prerequisite 'misses' did not pass"
    assert by_id["missing-container"].message.en == "container 'nope' does not exist"
    assert by_id["grader-bug"].message.en == (
        "internal error in the check (AssertionError: FakeEngine invariant broken)"
    )
    assert result.score == 2  # first and second


def test_broken_checks_module_is_a_definition_error(tmp_path: Path) -> None:
    exercise = load_exercise(
        make_exercise(tmp_path, CHECKS + "\nimport no_such_module_here\n"), tmp_path / "rubrics"
    )

    with pytest.raises(ExerciseDefinitionError) as caught:
        grade(GradeRequest(exercise, student="s"), engine=fake_engine())

    assert "no_such_module_here" in str(caught.value)


def test_stray_pytest_settings_do_not_leak_in(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A student's PYTEST_ADDOPTS or pytest.ini must not change how checks run."""
    exercise = load_exercise(make_exercise(tmp_path), tmp_path / "rubrics")
    (tmp_path / "exercises" / "pytest.ini").write_text("[pytest]\naddopts = -x --bogus\n")
    monkeypatch.setenv("PYTEST_ADDOPTS", "--definitely-not-an-option")

    result = grade(GradeRequest(exercise, student="s"), engine=fake_engine())

    assert result.score == 2  # first and second
