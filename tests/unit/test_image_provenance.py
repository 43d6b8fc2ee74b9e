"""Whether the image a container runs was built by Compose for its service (pure logic; the
engine tests build, pull and tag real images), and how an exercise says its names are one
Compose project's keys."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from grader.engine.facts import ContainerFacts, ImageFacts
from grader.errors import ExerciseDefinitionError
from grader.exercise.catalog import find
from grader.exercise.model import load_exercise
from grader.judge import expect
from grader.judge.outcome import CheckFailed

PROJECT = {"com.docker.compose.project": "tp", "com.docker.compose.service": "identidock"}


def app(labels: dict[str, str] | None = None) -> ContainerFacts:
    return ContainerFacts(
        id="c" * 64, name="tp-identidock-1", image="tp-identidock", image_id="sha256:aa",
        status="running", labels=PROJECT if labels is None else labels,
    )  # fmt: skip


def image(labels: dict[str, str], digests: tuple[str, ...] = ()) -> ImageFacts:
    return ImageFacts(id="sha256:aa", tags=("tp-identidock:latest",), labels=labels,
                      repo_digests=digests)  # fmt: skip


def verdict(container: ContainerFacts, facts: ImageFacts) -> str:
    try:
        expect.built_by_compose(container, facts)
    except CheckFailed as failed:
        return failed.text.en
    return "built by Compose"


@pytest.mark.parametrize(
    ("labels", "digests"),
    [
        # Compose's BuildKit build (also under bake): project and service, its version.
        (PROJECT | {"com.docker.compose.version": "2.40.3"}, ()),
        # Batch grading, demo and selftest label the project themselves.
        ({"com.docker.compose.project": "tp", "io.tp-grader.image": "tp-identidock:latest"}, ()),
        # Compose's classic builder (DOCKER_BUILDKIT=0) labels no project.
        ({"com.docker.compose.image.builder": "classic"}, ()),
    ],
)
def test_built_by_compose(labels: dict[str, str], digests: tuple[str, ...]) -> None:
    assert verdict(app(), image(labels, digests)) == "built by Compose"


def test_pulled_then_tagged() -> None:
    digest = "python@sha256:" + "b" * 64

    assert verdict(app(), image({}, (digest,))) == (
        f"'tp-identidock-1' runs image 'tp-identidock', which comes from a registry ({digest}): "
        "it was pulled, not built from your folder"
    )


def test_a_registry_digest_outweighs_compose_labels() -> None:
    """An image built elsewhere by Compose under the same project name, then pulled."""
    assert "it was pulled" in verdict(app(), image(PROJECT, ("x@sha256:" + "c" * 64,)))


def test_built_by_hand() -> None:
    assert verdict(app(), image({"maintainer": "ada"})) == (
        "image 'tp-identidock' of 'tp-identidock-1' was not built by Docker Compose "
        "(docker build -t, or docker tag of another image): it carries none of the labels "
        "Compose puts on what it builds"
    )


@pytest.mark.parametrize(
    "labels",
    [
        {"com.docker.compose.project": "other", "com.docker.compose.service": "identidock"},
        {"com.docker.compose.project": "tp", "com.docker.compose.service": "dnmonster"},
    ],
)
def test_built_by_compose_for_another_service(labels: dict[str, str]) -> None:
    assert "was built by Compose for service" in verdict(app(), image(labels))


def test_container_not_made_by_compose() -> None:
    assert verdict(app(labels={}), image(PROJECT)) == (
        "container 'tp-identidock-1' was not created by Docker Compose (it has no "
        "com.docker.compose.project label)"
    )


def test_repo_digests_are_read_from_inspect_data() -> None:
    facts = ImageFacts.from_inspect({"Id": "sha256:aa", "RepoDigests": ["r@sha256:d"]})

    assert facts.repo_digests == ("r@sha256:d",)
    assert ImageFacts.from_inspect({"Id": "sha256:aa", "RepoDigests": None}).repo_digests == ()


# -- names: compose-project ---------------------------------------------------------------------
def test_tp_compose_names_are_one_projects_keys() -> None:
    assert find("tp-compose").compose_project
    assert not find("tp-reseau").compose_project


def test_names_key_is_checked(tmp_path: Path) -> None:
    lab = find("tp-compose")
    copy = tmp_path / "exercises" / "tp-compose"
    shutil.copytree(lab.directory, copy)
    definition = copy / "exercise.yaml"
    definition.write_text(
        definition.read_text().replace("names: compose-project", "names: compose")
    )

    with pytest.raises(ExerciseDefinitionError) as raised:
        load_exercise(copy, lab.directory.parent.parent / "rubrics")

    assert raised.value.problems == [
        f"{definition}: names must be exact or compose-project, not 'compose'"
    ]
