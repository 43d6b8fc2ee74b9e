"""Reading our reports back the way their consumers do."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from lxml import etree

from grader.batch.outputs import BatchOutputs
from grader.judge.outcome import CheckStatus
from grader.result import GradeResult, RunStatus

SCHEMA = Path(__file__).resolve().parent.parent / "data" / "junit-10.xsd"


def junit_schema() -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(SCHEMA)))


def assert_valid_junit(path: Path) -> etree._Element:
    """Parse with a strict XML parser and validate against Jenkins' xUnit schema."""
    __tracebackhide__ = True
    document = etree.parse(str(path), etree.XMLParser(recover=False, huge_tree=False))
    schema = junit_schema()
    assert schema.validate(document), schema.error_log
    return document.getroot()


def junit_counts(root: etree._Element) -> dict[str, int]:
    suite = root.find("testsuite")
    assert suite is not None
    cases = suite.findall("testcase")
    counted = {
        "tests": len(cases),
        "failures": sum(1 for c in cases if c.find("failure") is not None),
        "errors": sum(1 for c in cases if c.find("error") is not None),
        "skipped": sum(1 for c in cases if c.find("skipped") is not None),
    }
    declared = {key: int(suite.get(key, "0")) for key in counted}
    assert declared == counted, (declared, counted)
    return counted


def read_json(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def misses(results: dict[str, GradeResult], out_dir: Path | None = None) -> str:
    """Every check that did not pass, with its message and retries, and every note: what a
    wrong score is read from when it happens in CI; with a batch's ``out_dir``, also what
    Compose printed for each student not graded or with a check in error."""
    lines = [
        f"{student}: {c.check_id} {c.status.value} ({c.outcome.retries} retries): "
        f"{c.outcome.message.en if c.outcome.message else ''}"
        for student, result in results.items()
        for c in result.sheet.checks
        if c.status.value != "passed"
    ]
    lines += [f"{s}: note {n.en}" for s, r in results.items() for n in r.notes]
    for student, result in results.items() if out_dir is not None else ():
        if result.status is not RunStatus.GRADED or result.sheet.count(CheckStatus.ERROR):
            log = BatchOutputs(out_dir).student_folder(student) / "replay.log"
            lines += [f"-- {student}'s replay.log:"]
            lines += [log.read_text(encoding="utf-8") if log.exists() else "(none)"]
    return "\n".join(lines)
