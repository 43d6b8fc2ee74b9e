"""The reports a grading can write, as a registry: each found by name, written whatever the
others did, the first failure told."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

from grader.exercise.catalog import find
from grader.judge.outcome import CheckOutcome, CheckStatus
from grader.judge.scoring import score
from grader.report.outputs import OUTPUTS, output, write_outputs
from grader.result import GradeResult


def result() -> GradeResult:
    reseau = find("tp-reseau")
    outcomes = [CheckOutcome(c, CheckStatus.PASSED) for c in reseau.rubric.check_ids]
    return GradeResult(
        exercise_id=reseau.id,
        exercise_title=reseau.title,
        student="ada",
        sheet=score(reseau.rubric, outcomes),
        started_at=datetime(2026, 1, 5, tzinfo=timezone.utc),
        duration_s=1.0,
        lang="en",
    )


def test_every_output_has_a_writer_that_loads() -> None:
    assert [o.name for o in OUTPUTS] == ["json", "junit", "gradescope", "summary-md"]
    for known in OUTPUTS:
        assert callable(known.load())
    assert output("junit").options == ("flavor",)


def test_one_failing_report_does_not_stop_the_others(tmp_path: Path) -> None:
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("")
    wanted = [
        (output("junit"), blocked / "junit.xml"),
        (output("json"), tmp_path / "score.json"),
    ]

    failed = write_outputs(result(), wanted, flavor="codegrade")

    assert failed is not None
    assert str(blocked / "junit.xml") in failed.en
    assert json.loads((tmp_path / "score.json").read_text())["score"] == 20
