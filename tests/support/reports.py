"""Reading our reports back the way their consumers do."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from lxml import etree

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
