"""Exam variants: derived from a course key, stable, spread, secret; and the commands that show
them (no engine)."""

from __future__ import annotations

import csv
import io
import itertools
import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from grader.cli import app
from grader.errors import ExerciseDefinitionError
from grader.exercise.catalog import find
from grader.exercise.model import Exercise, load_exercise
from grader.exercise.variants import derive, parse_variations
from tests.unit.test_harness import make_exercise

KEY = b"a course key that only the teacher has"
STUDENTS = [f"etudiant-{n:02d}@example.org" for n in range(40)]
runner = CliRunner()


@pytest.fixture(scope="module", params=["tp-reseau", "tp-volumes", "tp-compose"])
def exercise(request: pytest.FixtureRequest) -> Exercise:
    return find(request.param)


def test_values_are_stable_across_processes(exercise: Exercise) -> None:
    here = {s: dict(exercise.variant(s, KEY).values) for s in STUDENTS}
    program = (
        "import json, sys; from grader.exercise.catalog import find; "
        f"e = find({exercise.id!r}); "
        f"print(json.dumps({{s: dict(e.variant(s, {KEY!r}).values) for s in {STUDENTS!r}}}))"
    )

    there = json.loads(
        subprocess.run(
            [sys.executable, "-c", program], capture_output=True, text=True, check=True
        ).stdout
    )

    assert here == there


def test_students_differ_in_every_name_they_share(exercise: Exercise) -> None:
    names = [v.parameter for v in exercise.variations if v.is_name and v.same_as is None]
    values = [exercise.variant(s, KEY).values for s in STUDENTS]
    pairs = list(itertools.combinations(values, 2))

    differing = sum(1 for a, b in pairs if all(a[name] != b[name] for name in names))

    assert len(names) >= 4
    assert differing / len(pairs) >= 0.95


def test_within_a_student_names_and_ports_are_distinct(exercise: Exercise) -> None:
    for student in STUDENTS:
        values = exercise.variant(student, KEY).values
        names = [v for k, v in values.items() if isinstance(v, str)]
        ports = [v for v in values.values() if isinstance(v, int)]
        assert len(set(names)) == len(names)
        assert len(set(ports)) == len(ports)
        assert all(port >= 1024 for port in ports)


def test_another_key_gives_other_values_and_no_key_the_defaults(exercise: Exercise) -> None:
    other = [exercise.variant(s, b"another course").values for s in STUDENTS]
    mine = [exercise.variant(s, KEY).values for s in STUDENTS]

    assert sum(1 for a, b in zip(mine, other, strict=True) if a != b) == len(STUDENTS)
    assert exercise.variant(STUDENTS[0], None).values == {}
    assert exercise.variant(STUDENTS[0], None).fingerprint is None
    assert exercise.params.with_overrides(exercise.variant("x", None).overrides()) == (
        exercise.params
    )


def test_the_fingerprint_names_the_values_not_the_key() -> None:
    variations = parse_variations({"net": {"words": ["a", "b", "c"]}}, {"net": "n"}, "x", [])

    one = derive(variations, b"key one", "ex", "ada")
    again = derive(variations, b"key one", "ex", "ada")

    assert one.fingerprint == again.fingerprint
    assert one.fingerprint is not None
    assert "key one" not in json.dumps(one.values) + one.fingerprint


def test_variations_problems_are_reported(tmp_path: Path) -> None:
    problems: list[str] = []

    parse_variations(
        {
            "nope": {"words": "nature"},
            "net": {"words": "no-such-list"},
            "port": {"ports": [80, 90]},
            "alias": {"same_as": "ghost"},
        },
        {"net": "n", "port": 8000, "alias": "a"},
        "exercise.yaml",
        problems,
    )

    assert problems == [
        "exercise.yaml: variants.nope: not a parameter",
        "exercise.yaml: variants.net: no built-in word list 'no-such-list'",
        "exercise.yaml: variants.port: ports must be [LOW, HIGH] within 1024-65535",
        "exercise.yaml: variants.alias: same_as names 'ghost', which does not vary",
    ]


def test_a_bad_variants_section_fails_loading(tmp_path: Path) -> None:
    folder = make_exercise(tmp_path)
    definition = folder / "exercise.yaml"
    definition.write_text(definition.read_text() + "variants: {nope: {words: nature}}\n")

    with pytest.raises(ExerciseDefinitionError, match=r"variants\.nope: not a parameter"):
        load_exercise(folder, tmp_path / "rubrics")


def test_variant_command(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GRADER_COURSE_KEY", KEY.decode())

    shown = runner.invoke(app, ["variant", "tp-reseau", "--student", "ada", "--json"])

    assert shown.exit_code == 0, shown.output
    answer = json.loads(shown.stdout)
    ada = find("tp-reseau").variant("ada", KEY)
    assert answer["fingerprint"] == ada.fingerprint
    assert {name: answer["parameters"][name] for name in ada.values} == dict(ada.values)
    assert KEY.decode() not in shown.output


def test_answer_key_and_prompt(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    key_file = tmp_path / "course.key"
    key_file.write_bytes(KEY + b"\n")
    roster = tmp_path / "roster.csv"
    roster.write_text("student,name\nada,Ada L.\nbob,Bob M.\n")
    monkeypatch.chdir(tmp_path)

    written = runner.invoke(
        app,
        ["variants", "tp-reseau", "--roster", "roster.csv", "--out", "key.csv",
         "--course-key-file", "course.key"],
    )  # fmt: skip
    shown = runner.invoke(
        app,
        ["show", "tp-reseau", "--student", "bob", "--course-key-file", "course.key",
         "--lang", "en"],
    )  # fmt: skip

    assert written.exit_code == 0, written.output
    rows = list(csv.DictReader(io.StringIO((tmp_path / "key.csv").read_text())))
    bob = find("tp-reseau").variant("bob", KEY)
    assert [row["student"] for row in rows] == ["ada", "bob"]
    assert rows[1]["network"] == bob.values["network"]
    assert rows[1]["variant"] == bob.fingerprint
    assert shown.exit_code == 0
    assert f"docker network create {bob.values['network']}" in shown.output
    assert KEY.decode() not in (tmp_path / "key.csv").read_text() + shown.output


def test_answer_key_needs_a_key(tmp_path: Path) -> None:
    roster = tmp_path / "roster.csv"
    roster.write_text("student\nada\n")

    done = runner.invoke(
        app, ["variants", "tp-reseau", "--roster", str(roster), "--out", "-", "--lang", "en"]
    )

    assert done.exit_code == 2
    assert "a course key is needed" in done.output
