"""JSON and JUnit reports from results built in memory (pure report logic): well-formed,
schema-valid, counts that match, and hostile text made harmless."""

from __future__ import annotations

import csv
import io
import json
import xml.etree.ElementTree as ET
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path

import junitparser
import pytest

from grader.engine.facts import EngineInfo
from grader.exercise.model import Exercise
from grader.i18n import Text
from grader.judge.outcome import CheckOutcome, CheckStatus
from grader.judge.scoring import score
from grader.report import json_report, junit
from grader.result import GradeResult
from tests.support.reports import assert_valid_junit, junit_counts

HOSTILE = (
    "\x1b[31mred\x1b[0m NUL\x00 BEL\x07 ]]> <tag attr='x'>&amp; "
    + b"\xff\xfe".decode("utf-8", "surrogateescape")
    + " \ufffe "
    + "A" * 5_000_000
)


def make_result(exercise: Exercise, statuses: dict[str, CheckStatus], message: str) -> GradeResult:
    outcomes = [
        CheckOutcome(
            check_id, status, None if status is CheckStatus.PASSED else Text.same(message), 0.25
        )
        for check_id, status in statuses.items()
    ]
    return GradeResult(
        exercise_id=exercise.id,
        exercise_title=exercise.title,
        student="ada \x1b[1m<b>",
        sheet=score(exercise.rubric_with(), outcomes),
        started_at=datetime(2026, 11, 28, 9, 0, tzinfo=timezone.utc),
        duration_s=1.5,
        lang="fr",
        engine=EngineInfo("unix:///var/run/docker.sock", "20.10.24", "1.41"),
    )


@pytest.fixture
def mixed(reseau: Exercise) -> GradeResult:
    statuses = dict.fromkeys(reseau.rubric.check_ids, CheckStatus.PASSED)
    statuses |= {
        "redis-attache": CheckStatus.FAILED,
        "dns-redis": CheckStatus.SKIPPED,
        "app-vers-redis": CheckStatus.SKIPPED,
        "isolation": CheckStatus.SKIPPED,
        "port-publie": CheckStatus.ERROR,
        "sans-link": CheckStatus.FAILED,
    }
    return make_result(reseau, statuses, HOSTILE)


def test_junit_is_schema_valid_with_matching_counts(tmp_path: Path, mixed: GradeResult) -> None:
    path = tmp_path / "r.xml"
    junit.write_junit(mixed, path)

    root = assert_valid_junit(path)

    assert junit_counts(root) == {"tests": 12, "failures": 2, "errors": 1, "skipped": 3}
    suite = root.find("testsuite")
    assert "disabled" not in suite.attrib
    names = [(c.get("classname"), c.get("name")) for c in suite.iter("testcase")]
    assert len(set(names)) == len(names) == 12
    assert all(c.get("time") for c in suite.iter("testcase"))
    properties = {p.get("name"): p.get("value") for p in suite.iter("property")}
    assert properties["score"] == "8"  # 2+2+2+2+1+2+1 passed, -2 penalty
    assert properties["points.sans-link"] == "-2/0"
    assert properties["points.reseau-cree"] == "2/2"


def test_hostile_text_is_cleaned_and_bounded(tmp_path: Path, mixed: GradeResult) -> None:
    junit.write_junit(mixed, tmp_path / "r.xml")
    json_report.write_json(mixed, tmp_path / "r.json")

    xml_text = (tmp_path / "r.xml").read_text(encoding="utf-8")
    json_text = (tmp_path / "r.json").read_text(encoding="utf-8")
    for text in (xml_text, json.dumps(json.loads(json_text), ensure_ascii=False)):
        assert "\x1b" not in text
        assert "\x00" not in text
        assert "\x07" not in text
        assert "characters cut]" in text
    assert (tmp_path / "r.xml").stat().st_size < 200_000
    assert (tmp_path / "r.json").stat().st_size < 200_000


def test_junit_round_trip_with_an_independent_parser(tmp_path: Path, mixed: GradeResult) -> None:
    junit.write_junit(mixed, tmp_path / "r.xml")
    report = json_report.to_dict(mixed)

    xml = junitparser.JUnitXml.fromfile(str(tmp_path / "r.xml"))
    (suite,) = list(xml)
    cases = {case.name: case for case in suite}

    assert (suite.tests, suite.failures, suite.errors, suite.skipped) == (12, 2, 1, 3)
    for check in report["checks"]:
        case = cases[check["id"]]
        kinds = {type(r).__name__ for r in case.result}
        expected = {
            "passed": set(),
            "failed": {"Failure"},
            "skipped": {"Skipped"},
            "error": {"Error"},
        }[check["status"]]
        assert kinds == expected, check["id"]


def test_json_report_schema(mixed: GradeResult) -> None:
    report = json_report.to_dict(mixed)

    assert set(report) >= {
        "schema",
        "exercise",
        "student",
        "score",
        "max_score",
        "started_at",
        "duration_s",
        "engine",
        "checks",
    }
    assert report["score"] == 8
    assert report["max_score"] == 20
    check = next(c for c in report["checks"] if c["id"] == "sans-link")
    assert (check["points"], check["max_points"], check["penalty"]) == (-2, 0, 2)
    failed = next(c for c in report["checks"] if c["id"] == "redis-attache")
    assert failed["hint"].startswith("Lancez redis")
    assert set(failed) == {
        "id",
        "title",
        "status",
        "points",
        "max_points",
        "penalty",
        "message",
        "hint",
        "duration_s",
        "retries",
    }


def test_json_reads_back_into_the_same_scores(mixed: GradeResult, reseau: Exercise) -> None:
    again = json_report.from_dict(json_report.to_dict(mixed), reseau.rubric)

    assert again.score == mixed.score
    assert [c.status for c in again.sheet.checks] == [c.status for c in mixed.sheet.checks]


@pytest.mark.parametrize(
    ("lang", "total", "hint", "harness"),
    [
        ("fr", "Total : 8/20", "Piste : Lancez redis", "pas de votre faute"),
        ("en", "Total: 8/20", "Hint: Run redis", "not your fault"),
    ],
)
def test_terminal_report(
    mixed: GradeResult, lang: str, total: str, hint: str, harness: str
) -> None:
    import dataclasses

    from rich.console import Console

    from grader.report.terminal import render

    console = Console(record=True, width=200, color_system=None)
    render(dataclasses.replace(mixed, lang=lang), console)
    text = console.export_text()

    assert text.rstrip().endswith(total)
    assert text.count(hint) == 1  # hints only under failed checks, and redis-attache is one
    assert harness in text  # the error of port-publie is said not to be the student's fault
    assert "\x1b" not in text
    assert "\x00" not in text
    assert "✔" in text
    assert "✘" in text
    assert "○" in text
    assert "⚠" in text


# -- what each consumer reads ------------------------------------------------------------------
def test_gitlab_and_jenkins_readings(tmp_path: Path, mixed: GradeResult) -> None:
    """GitLab keeps one of each classname+name, shows the failure body and system-out of failures;
    Jenkins splits classname on its last dot and rejects any character outside XML 1.0."""
    junit.write_junit(mixed, tmp_path / "r.xml")
    suite = assert_valid_junit(tmp_path / "r.xml").find("testsuite")

    for case in suite.iter("testcase"):
        assert "." not in case.get("classname")  # one class, the exercise: no fake package
        failure = case.find("failure")
        if failure is not None:
            assert failure.get("message")
            assert failure.text  # GitLab shows the body
        assert (case.find("system-out") is not None) == (failure is not None)


def test_junit_points_round_trip(tmp_path: Path, mixed: GradeResult) -> None:
    junit.write_junit(mixed, tmp_path / "r.xml")
    report = json_report.to_dict(mixed)

    (suite,) = list(junitparser.JUnitXml.fromfile(str(tmp_path / "r.xml")))
    properties = {p.name: p.value for p in suite.properties()}

    assert properties["score"] == f"{report['score']:g}"
    for check in report["checks"]:
        earned, maximum = properties[f"points.{check['id']}"].split("/")
        assert (float(earned), float(maximum)) == (check["points"], check["max_points"])


def test_codegrade_flavor(tmp_path: Path, mixed: GradeResult) -> None:
    from lxml import etree

    junit.write_junit(mixed, tmp_path / "r.xml", flavor="codegrade")
    root = etree.parse(str(tmp_path / "r.xml")).getroot()
    (suite,) = root.findall("testsuite")

    assert {child.tag for child in suite} == {"testcase"}  # nothing but testcases
    assert junit_counts(root) == {"tests": 12, "failures": 2, "errors": 1, "skipped": 3}
    weights = {c.get("name"): c.get("weight") for c in suite.iter("testcase")}
    assert weights["dns-redis"] == "3"
    assert weights["sans-link"] == "0"  # a penalty has no weight to give
    assert all(c.get("time") for c in suite.iter("testcase"))
    assert not list(suite.iter("system-out"))


def test_gradescope_results(tmp_path: Path, mixed: GradeResult) -> None:
    from grader.report import gradescope

    gradescope.write_gradescope(mixed, tmp_path / "results.json")
    data = json.loads((tmp_path / "results.json").read_text())

    assert data["score"] == 8
    assert len(data["tests"]) == 12
    by_name = {t["name"].split(" — ")[0]: t for t in data["tests"]}
    assert by_name["dns-redis"] == {
        "name": by_name["dns-redis"]["name"], "score": 0, "max_score": 3, "status": "failed",
        "output": by_name["dns-redis"]["output"], "visibility": "visible",
    }  # fmt: skip
    assert by_name["reseau-cree"]["status"] == "passed"
    assert by_name["sans-link"]["score"] == -2
    assert "Lancez redis" in by_name["redis-attache"]["output"]  # the hint of a failed check
    assert "\x1b" not in json.dumps(data)
    assert all(t["visibility"] in gradescope.VISIBILITIES for t in data["tests"])


def test_markdown_summary(mixed: GradeResult) -> None:
    from grader.report.markdown import run_markdown

    text = run_markdown(mixed)
    rows = [line for line in text.splitlines() if line.startswith("| ")]

    assert text.startswith("### TP réseau")
    assert "— 8/20" in text.splitlines()[0]
    assert len(rows) == 13  # the header and one row per check
    assert all(row.count(" | ") - row.count("\\|") == 4 for row in rows[1:])  # no stray pipe
    assert "\x1b" not in text


def test_canvas_gradebook(mixed: GradeResult, reseau: Exercise) -> None:
    from grader.report.gradebook import canvas_csv

    rows = list(csv.reader(io.StringIO(canvas_csv(reseau.rubric, [mixed], assignment="tp-reseau"))))

    assert rows[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "tp-reseau"]
    assert rows[1] == ["Points Possible", "", "", "", "", "20"]
    assert rows[2][3] == "ada <b>"  # the id as written, without the terminal's control codes
    assert rows[2][0] == rows[2][3]
    assert rows[2][5] == "8"


# -- standard output ---------------------------------------------------------------------------
def test_every_report_can_go_to_standard_output(
    mixed: GradeResult, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    from grader.report import gradescope, markdown

    json_report.write_json(mixed, "-")
    assert json.loads(capsysbinary.readouterr().out) == json.loads(json_report.dumps(mixed))
    junit.write_junit(mixed, "-", flavor="codegrade")
    assert capsysbinary.readouterr().out == junit.dumps(mixed, "codegrade")
    gradescope.write_gradescope(mixed, "-")
    assert json.loads(capsysbinary.readouterr().out) == gradescope.to_dict(mixed)
    markdown.append_markdown(mixed, "-")
    assert capsysbinary.readouterr().out.decode() == markdown.run_markdown(mixed) + "\n"


def test_markdown_summary_appends(tmp_path: Path, mixed: GradeResult) -> None:
    from grader.report.markdown import append_markdown, run_markdown

    summary = tmp_path / "summary.md"
    summary.write_text("# earlier step\n")
    append_markdown(mixed, summary)
    append_markdown(mixed, summary)

    assert summary.read_text() == "# earlier step\n" + (run_markdown(mixed) + "\n") * 2


@pytest.mark.parametrize("flavor", junit.FLAVORS)
def test_every_testcase_has_a_time_even_under_a_millisecond(
    tmp_path: Path, reseau: Exercise, flavor: junit.Flavor
) -> None:
    """Prerequisite skips are decided before anything runs: zero durations, still a time."""
    statuses = dict.fromkeys(reseau.rubric.check_ids, CheckStatus.PASSED)
    statuses |= {
        "redis-attache": CheckStatus.FAILED,
        "dns-redis": CheckStatus.SKIPPED,
        "app-vers-redis": CheckStatus.SKIPPED,
        "isolation": CheckStatus.SKIPPED,
    }
    outcomes = [
        CheckOutcome(
            check_id,
            status,
            Text.same("not run") if status is CheckStatus.SKIPPED else None,
            0.0 if status is CheckStatus.SKIPPED else 0.0004,
        )
        for check_id, status in statuses.items()
    ]
    result = replace(
        make_result(reseau, {}, ""), sheet=score(reseau.rubric_with(), outcomes), duration_s=0.0
    )
    path = tmp_path / "junit.xml"
    junit.write_junit(result, path, flavor)

    if flavor == "standard":
        assert_valid_junit(path)
    cases = ET.parse(path).getroot().findall("testsuite/testcase")
    assert len(cases) == len(reseau.rubric.check_ids)
    assert {case.get("name"): case.get("time") for case in cases} == dict.fromkeys(
        reseau.rubric.check_ids, "0.000"
    )


def test_exam_rules_hide_every_hint_and_keep_what_was_observed(
    mixed: GradeResult, reseau: Exercise
) -> None:
    from rich.console import Console

    from grader.report import gradescope, markdown
    from grader.report.terminal import render

    exam = replace(mixed, exam=True, variant="0123456789ab")
    hint = next(c for c in mixed.sheet.checks if c.check_id == "redis-attache").entry.hint.fr
    console = Console(record=True, width=200, color_system=None)
    render(exam, console)
    outputs = {
        "json": json_report.dumps(exam),
        "junit": junit.dumps(exam).decode(),
        "codegrade": junit.dumps(exam, "codegrade").decode(),
        "gradescope": json.dumps(gradescope.to_dict(exam), ensure_ascii=False),
        "markdown": markdown.run_markdown(exam),
        "terminal": console.export_text(),
    }

    for name, text in outputs.items():
        assert hint not in text, name
        assert "NUL" in text or name == "codegrade", name  # the observed messages stay
    assert "examen : pas de pistes" in outputs["terminal"]
    assert "Piste" not in outputs["terminal"]
    assert json.loads(outputs["json"])["variant"] == "0123456789ab"
    assert '<property name="variant" value="0123456789ab" />' in outputs["junit"]
    assert hint in json_report.dumps(mixed)  # and without exam rules, it is there


def test_course_config_turns_exam_rules_on(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from grader.errors import UsageError
    from grader.exercise.course import load_course_config

    course = tmp_path / "course"
    course.mkdir()
    (course / "course.yaml").write_text("exam: true\n")
    monkeypatch.setenv("GRADER_PATH", str(course))
    monkeypatch.delenv("GRADER_COURSE_CONFIG", raising=False)

    assert load_course_config().exam is True
    (course / "course.yaml").write_text("exam: yes please\n")
    with pytest.raises(UsageError, match="exam must be true or false"):
        load_course_config()
