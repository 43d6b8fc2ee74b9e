"""Compose-based setups grade like CLI ones: through ``--project`` labels, and by exact
names when the compose file fixes them (``container_name:``, a network's ``name:``)."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from grader.compose import Compose, add_labels
from grader.engine.docker_engine import DockerEngine
from grader.exercise.model import Exercise
from grader.harness import GradeRequest, grade
from grader.result import GradeResult
from grader.setup.solution import reference_solution
from tests.support.images import BUSYBOX
from tests.support.lab import TEST_RUN_LABEL


def test_reference_solution_graded_through_project_labels(
    engine: DockerEngine, reseau: Exercise, reseau_images: dict[str, str]
) -> None:
    project = f"tpg-test-{secrets.token_hex(4)}"
    with reference_solution(reseau, engine=engine, project=project, images=reseau_images):
        result = grade(
            GradeRequest(
                reseau, probe_image=BUSYBOX, student="t", project=project, strict_project=True
            ),
            engine=engine,
        )

    assert (result.score, result.max_score) == (20, 20)
    assert not engine.containers({"com.docker.compose.project": project})


@pytest.fixture
def fixed_names_project(
    tmp_path: Path, engine: DockerEngine, reseau: Exercise, reseau_images: dict[str, str]
) -> Iterator[str]:
    """The solution with every name fixed, as students often write it."""
    model = yaml.safe_load(reseau.render(reseau.solution.compose, images=reseau_images))
    for name, service in model["services"].items():
        service["container_name"] = name
    for name in model["networks"]:
        model["networks"][name] = {"name": name}
    project = f"tpg-test-{secrets.token_hex(4)}"
    add_labels(model, {TEST_RUN_LABEL: project})
    compose_file = tmp_path / "compose.yaml"
    compose_file.write_text(yaml.safe_dump(model))
    compose = Compose(project, (compose_file,), workdir=tmp_path)
    try:
        up = compose.run("up", "--detach", "--wait", timeout_s=120)
        assert up.ok, up.output
        yield project
    finally:
        compose.down()
        engine.remove_labelled({TEST_RUN_LABEL: project})


def test_fixed_names_graded_by_exact_names(
    fixed_names_project: str, engine: DockerEngine, reseau: Exercise
) -> None:
    assert engine.container("redis") is not None  # the names really are the lab's

    result = grade(GradeRequest(reseau, probe_image=BUSYBOX, student="t"), engine=engine)

    assert result.score == 20


def test_fixed_names_graded_through_project(
    fixed_names_project: str, engine: DockerEngine, reseau: Exercise
) -> None:
    result = grade(
        GradeRequest(
            reseau,
            probe_image=BUSYBOX,
            student="t",
            project=fixed_names_project,
            strict_project=True,
        ),
        engine=engine,
    )

    assert result.score == 20


def test_other_project_is_not_graded(
    fixed_names_project: str, engine: DockerEngine, reseau: Exercise
) -> None:
    """A strict project resolves nothing of another project, even with the lab's names."""
    result = grade(
        GradeRequest(
            reseau, probe_image=BUSYBOX, student="t", project="someone-else", strict_project=True
        ),
        engine=engine,
    )

    assert result.score == 0
    messages = [c.outcome.message.en for c in result.sheet.checks if c.outcome.message]
    assert any("does not exist" in message for message in messages)


# -- a compose file that joins a network made by hand ------------------------------------------
PASSED, FAILED, SKIPPED = "passed", "failed", "skipped"


@pytest.fixture
def external_network_project(
    tmp_path: Path, engine: DockerEngine, reseau: Exercise, reseau_images: dict[str, str]
) -> Iterator[str]:
    """The solution, with moby-network created by hand (``docker network create``) and joined
    as ``external``: a compose setup students write when the network came first."""
    project = f"tpg-test-{secrets.token_hex(4)}"
    model = yaml.safe_load(reseau.render(reseau.solution.compose, images=reseau_images))
    model["networks"]["moby-network"] = {"external": True}
    add_labels(model, {TEST_RUN_LABEL: project})
    compose_file = tmp_path / "compose.yaml"
    compose_file.write_text(yaml.safe_dump(model))
    compose = Compose(project, (compose_file,), workdir=tmp_path)
    engine.api.create_network("moby-network", labels={TEST_RUN_LABEL: project})
    try:
        up = compose.run("up", "--detach", "--wait", timeout_s=120)
        assert up.ok, up.output
        yield project
    finally:
        compose.down()
        engine.remove_labelled({TEST_RUN_LABEL: project})


def statuses(result: GradeResult) -> dict[str, str]:
    return {check.check_id: check.status.value for check in result.sheet.checks}


def test_object_found_outside_the_project_is_noted(
    external_network_project: str, engine: DockerEngine, reseau: Exercise
) -> None:
    project = external_network_project

    result = grade(
        GradeRequest(reseau, probe_image=BUSYBOX, student="t", project=project), engine=engine
    )

    assert statuses(result) == dict.fromkeys(reseau.rubric.check_ids, PASSED)
    assert result.score == 20
    assert [note.fr for note in result.notes] == [
        f"réseau « moby-network » trouvé hors du projet {project} (par son nom exact)"
    ]
    assert [note.en for note in result.notes] == [
        f"network 'moby-network' found outside project {project} (by its exact name)"
    ]


def test_strict_project_never_falls_back(
    external_network_project: str, engine: DockerEngine, reseau: Exercise
) -> None:
    result = grade(
        GradeRequest(
            reseau,
            probe_image=BUSYBOX,
            student="t",
            project=external_network_project,
            strict_project=True,
        ),
        engine=engine,
    )

    missed = {
        "reseau-cree": FAILED,
        "redis-attache": FAILED,
        "app-attache": FAILED,
        "dns-redis": SKIPPED,
        "app-vers-redis": SKIPPED,
        "isolation": SKIPPED,
    }
    assert statuses(result) == dict.fromkeys(reseau.rubric.check_ids, PASSED) | missed
    assert result.score == 8
    assert result.notes == ()
