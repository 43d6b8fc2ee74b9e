"""Rubric files: every problem reported with its file and line, both ways against the checks."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from grader.errors import ExerciseDefinitionError
from grader.exercise.catalog import find
from grader.exercise.model import ProbeSites, load_exercise
from grader.judge.rubric import execution_order, parse_rubric

VALID = """\
exercise: demo
checks:
  a:
    points: 2
    title: {fr: A, en: A}
    hint: {fr: a, en: a}
  b:
    points: 3
    prerequisites: [a]
    title: {fr: B, en: B}
    hint: {fr: b, en: b}
  no-link:
    points: -2
    title: {fr: P, en: P}
    hint: {fr: p, en: p}
"""


def test_valid_rubric() -> None:
    rubric = parse_rubric(VALID)

    assert rubric.check_ids == ("a", "b", "no-link")
    assert rubric.max_score == 5
    assert rubric.entry("no-link").is_penalty
    assert rubric.entry("b").prerequisites == ("a",)


def problems_of(text: str) -> list[str]:
    with pytest.raises(ExerciseDefinitionError) as caught:
        parse_rubric(text, Path("rubrics/demo.yaml"))
    return caught.value.problems


def test_unknown_prerequisite_names_file_line_and_id() -> None:
    text = VALID.replace("prerequisites: [a]", "prerequisites: [zz]")

    assert problems_of(text) == [
        "rubrics/demo.yaml:7: check 'b': prerequisite 'zz' is not a check of this rubric"
    ]


def test_every_problem_at_once() -> None:
    text = VALID.replace("points: 2", "points: two").replace(
        "hint: {fr: b, en: b}", "hint: {fr: b}"
    )

    assert problems_of(text) == [
        "rubrics/demo.yaml:3: check 'a': 'points' must be a number",
        "rubrics/demo.yaml:7: check 'b': 'hint' has no text for en",
    ]


def test_check_defined_twice_is_reported_not_counted_twice() -> None:
    twice = VALID + "  a:\n    points: 2\n    title: {fr: A, en: A}\n    hint: {fr: a, en: a}\n"

    assert problems_of(twice) == [
        "rubrics/demo.yaml:16: check 'a': defined twice (first at line 3): "
        "its points would count twice"
    ]


def test_keys_given_twice_inside_a_check_and_at_the_top() -> None:
    text = VALID.replace("    points: 3\n", "    points: 3\n    points: 30\n") + "exercise: demo\n"

    assert problems_of(text) == [
        "rubrics/demo.yaml:17: key 'exercise' given twice (first at line 1)",
        "rubrics/demo.yaml:9: check 'b': key 'points' given twice (first at line 8)",
    ]


def test_rubric_of_another_exercise() -> None:
    with pytest.raises(ExerciseDefinitionError) as caught:
        parse_rubric(VALID, Path("rubrics/toy.yaml"), "toy")

    assert caught.value.problems == ["rubrics/toy.yaml:1: rubric of exercise 'demo', not of 'toy'"]
    without = VALID.replace("exercise: demo\n", "")
    with pytest.raises(ExerciseDefinitionError) as caught:
        parse_rubric(without, Path("rubrics/toy.yaml"), "toy")
    assert caught.value.problems == [
        "rubrics/toy.yaml:1: no 'exercise' key (this rubric is for 'toy')"
    ]
    assert parse_rubric(VALID, Path("rubrics/demo.yaml"), "demo").exercise_id == "demo"


def test_prerequisite_cycle() -> None:
    text = VALID.replace("  a:\n    points: 2\n", "  a:\n    points: 2\n    prerequisites: [b]\n")

    (problem,) = problems_of(text)
    assert "prerequisites form a cycle" in problem
    assert problem.startswith("rubrics/demo.yaml:")


def test_unknown_key_and_bad_yaml() -> None:
    assert problems_of(VALID.replace("points: 3", "points: 3\n    pionts: 3")) == [
        "rubrics/demo.yaml:7: check 'b': unknown key(s) pionts"
    ]
    assert problems_of("checks: [")[0].startswith("rubrics/demo.yaml: invalid YAML")


def test_execution_order_puts_prerequisites_first() -> None:
    rubric = parse_rubric(VALID)

    assert execution_order(rubric, ["b", "no-link", "a"]) == ["no-link", "a", "b"]


@pytest.fixture
def exercise_copy(tmp_path: Path) -> Path:
    """A copy of tp-reseau and its rubric, to break on purpose."""
    source = find("tp-reseau")
    shutil.copytree(source.directory, tmp_path / "exercises" / "tp-reseau")
    (tmp_path / "rubrics").mkdir()
    shutil.copy(source.rubric.path, tmp_path / "rubrics" / "tp-reseau.yaml")
    return tmp_path


def test_rubric_naming_a_missing_check(exercise_copy: Path) -> None:
    rubric = exercise_copy / "rubrics" / "tp-reseau.yaml"
    rubric.write_text(
        rubric.read_text() + "  fantome:\n    points: 1\n    title: {fr: F, en: F}\n"
        "    hint: {fr: f, en: f}\n"
    )

    with pytest.raises(ExerciseDefinitionError) as caught:
        load_exercise(exercise_copy / "exercises" / "tp-reseau", exercise_copy / "rubrics")

    (problem,) = caught.value.problems
    assert problem.startswith(f"{rubric}:")
    assert "check 'fantome' has no test in" in problem


def test_check_missing_from_rubric(exercise_copy: Path) -> None:
    rubric = exercise_copy / "rubrics" / "tp-reseau.yaml"
    text = rubric.read_text()
    rubric.write_text(text[: text.index("  isolation:")] + text[text.index("  sans-link:") :])

    with pytest.raises(ExerciseDefinitionError) as caught:
        load_exercise(exercise_copy / "exercises" / "tp-reseau", exercise_copy / "rubrics")

    (problem,) = caught.value.problems
    checks = exercise_copy / "exercises" / "tp-reseau" / "checks.py"
    assert problem.startswith(f"{checks}:")
    assert problem.endswith(f"check 'isolation' is not in {rubric}")


def test_check_declared_twice(exercise_copy: Path) -> None:
    checks = exercise_copy / "exercises" / "tp-reseau" / "checks.py"
    checks.write_text(checks.read_text().replace('@check("isolation")', '@check("reseau-2")'))

    with pytest.raises(ExerciseDefinitionError) as caught:
        load_exercise(exercise_copy / "exercises" / "tp-reseau", exercise_copy / "rubrics")

    assert any("check 'reseau-2' is declared twice" in p for p in caught.value.problems)


def test_rubric_problems_all_at_once_when_loading(exercise_copy: Path) -> None:
    rubric = exercise_copy / "rubrics" / "tp-reseau.yaml"
    text = rubric.read_text().replace("exercise: tp-reseau", "exercise: tp-volumes")
    first = text.index("  reseau-cree:")
    entry = text[first : text.index("  redis-attache:")]
    rubric.write_text(text + entry.replace("points: 2", "points: zero"))

    with pytest.raises(ExerciseDefinitionError) as caught:
        load_exercise(exercise_copy / "exercises" / "tp-reseau", exercise_copy / "rubrics")

    lines = text.count("\n")
    assert caught.value.problems == [
        f"{rubric}:{lines + 1}: check 'reseau-cree': defined twice (first at line 5): "
        "its points would count twice",
        f"{rubric}:3: rubric of exercise 'tp-volumes', not of 'tp-reseau'",
    ]


@pytest.mark.parametrize(
    ("sites", "problem"),
    [
        (
            "probe_sites:\n  network_of: [app, nope]\n",
            "probe_sites.network_of names 'nope', which is not a parameter",
        ),
        (
            "probe_sites:\n  network_of: app\n",
            "probe_sites takes network_of (a list of parameters) and engine_host",
        ),
        (
            "probe_sites:\n  engine_host: yes please\n",
            "probe_sites takes network_of (a list of parameters) and engine_host",
        ),
        (
            "probe_sites:\n  network_of: [app]\n  pid_of: [app]\n",
            "probe_sites takes network_of (a list of parameters) and engine_host",
        ),
    ],
)
def test_probe_sites_are_checked(exercise_copy: Path, sites: str, problem: str) -> None:
    definition = exercise_copy / "exercises" / "tp-reseau" / "exercise.yaml"
    text = definition.read_text()
    start = text.index("probe_sites:")
    end = text.index("# The lab's images;")
    definition.write_text(text[:start] + sites + text[end:])

    with pytest.raises(ExerciseDefinitionError) as caught:
        load_exercise(exercise_copy / "exercises" / "tp-reseau", exercise_copy / "rubrics")

    assert any(problem in line for line in caught.value.problems), caught.value.problems


def test_probe_sites_are_read(exercise_copy: Path) -> None:
    loaded = load_exercise(exercise_copy / "exercises" / "tp-reseau", exercise_copy / "rubrics")

    assert loaded.probe_sites == ProbeSites(network_of=("app", "app2"), engine_host=True)
