"""Exam variants on the real engine: a student's own variant grades full marks; the same setup
graded as another student scores low and, in a batch of both, is flagged as the first one's
variant; selftest passes on sampled students' variants."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import docker
import pytest
from typer.testing import CliRunner

from grader.batch.replay import Deadlines, EngineTarget
from grader.batch.run import replay_batch
from grader.batch.submissions import find_submissions
from grader.cli import app
from grader.engine.docker_engine import DockerEngine
from grader.exercise.model import Exercise
from grader.setup.solution import reference_solution
from tests.support.images import BUSYBOX

KEY = "the course key, never printed"
DEADLINES = Deadlines(up=60, ready=10, probe=10, grade=60, down=60)


def variant_setup(reseau: Exercise, student: str, images: dict[str, str]) -> str:
    """The reference solution, as ``student``'s variant names it, as a compose file."""
    variant = reseau.variant(student, KEY.encode())
    params = reseau.params.with_overrides(variant.overrides())
    return reseau.render(reseau.solution.compose, params, images)


def test_graded_against_ones_own_variant(
    reseau: Exercise,
    reseau_images: dict[str, str],
    engine: DockerEngine,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("GRADER_COURSE_KEY", KEY)
    ada = reseau.variant("ada", KEY.encode())
    project = "tpg-exam-ada"
    with reference_solution(
        reseau, engine=engine, project=project, images=reseau_images,
        param_overrides=ada.overrides(), probe_image=BUSYBOX,
    ):  # fmt: skip
        as_ada = CliRunner().invoke(
            app,
            ["check", "tp-reseau", "--student", "ada", "--project", project, "--lang", "en",
             "--json", str(tmp_path / "ada.json"), "--junit", str(tmp_path / "ada.xml")],
        )  # fmt: skip
        as_bob = CliRunner().invoke(
            app,
            ["check", "tp-reseau", "--student", "bob", "--project", project, "--lang", "en",
             "--json", str(tmp_path / "bob.json"), "--exam"],
        )  # fmt: skip

    assert as_ada.exit_code == 0, as_ada.output
    report = json.loads((tmp_path / "ada.json").read_text())
    assert (report["score"], report["variant"]) == (20, ada.fingerprint)
    assert f'<property name="variant" value="{ada.fingerprint}" />' in (
        (tmp_path / "ada.xml").read_text()
    )
    assert as_bob.exit_code == 1
    bob = json.loads((tmp_path / "bob.json").read_text())
    assert bob["score"] <= 6
    assert bob["exam"] is True
    assert all(check["hint"] == "" for check in bob["checks"])
    assert "exam: no hints" in as_bob.output
    for output in (as_ada.output, as_bob.output, *map(Path.read_text, tmp_path.iterdir())):
        assert KEY not in output


def test_a_copied_variant_is_flagged_in_a_batch(
    reseau: Exercise,
    reseau_images: dict[str, str],
    engine: DockerEngine,
    tmp_path: Path,
) -> None:
    root = tmp_path / "class"
    for student in ("ada", "bob"):  # bob hands in ada's setup
        (root / student).mkdir(parents=True)
        (root / student / "compose.yaml").write_text(variant_setup(reseau, "ada", reseau_images))
    ada_names = reseau.variant("ada", KEY.encode()).values
    variants = {s: reseau.variant(s, KEY.encode()) for s in ("ada", "bob")}

    report = replay_batch(
        reseau, find_submissions(root), targets=[EngineTarget(engine, engine.info.endpoint)],
        out_dir=tmp_path / "out", jobs=2, lang="en", probe_image=BUSYBOX, deadlines=DEADLINES,
        variants=variants,
    )  # fmt: skip

    results = {r.student: r for r in report.results}
    assert (results["ada"].score, results["ada"].flags) == (20, ())
    assert results["bob"].score <= 6
    assert results["bob"].flags == ("other-variant:ada",)
    note = next(n.en for n in results["bob"].notes if n.en.startswith("other-variant:ada"))
    assert f"network={ada_names['network']}" in note
    rows = {r["idnumber"]: r for r in csv.DictReader((tmp_path / "out" / "gradebook.csv").open())}
    assert (rows["ada"]["flags"], rows["bob"]["flags"]) == ("", "other-variant:ada")
    assert "other-variant:ada" in (tmp_path / "out" / "summary.md").read_text()


@pytest.mark.slow
@pytest.mark.xdist_group("variant-selftest")  # one at a time, as tests/engine/test_selftest.py
@pytest.mark.parametrize("exercise", ["tp-reseau", "tp-volumes", "tp-compose"])
def test_every_variant_is_gradable(
    exercise: str, tmp_path: Path, busybox: str, docker_client: docker.DockerClient
) -> None:
    key_file = tmp_path / "course.key"
    key_file.write_text(KEY)
    student = "sampled-student-07"

    done = subprocess.run(
        [sys.executable, "-m", "grader", "selftest", exercise, "--stand-ins", "--json", "-",
         "--probe-image", busybox, "--student", student, "--course-key-file", str(key_file)],
        capture_output=True, text=True, timeout=900, check=False,
    )  # fmt: skip

    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert (report["generated"]["survived"], report["declared"]["broken"]) == ([], [])
    assert KEY not in done.stdout + done.stderr
