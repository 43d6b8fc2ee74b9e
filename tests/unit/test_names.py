"""Names through Compose labels, and what happens outside the project (pure logic on a fake
engine; the engine tests resolve real Compose projects)."""

from __future__ import annotations

from grader.engine.facts import ContainerFacts, ImageFacts, NetworkFacts, VolumeFacts
from grader.observe.names import IMAGE_NAME_LABEL, ComposeNames, OutsideProject
from tests.support.fake_engine import FakeEngine

PROJECT = {"com.docker.compose.project": "p"}
DEFAULT_NETWORK = {**PROJECT, "com.docker.compose.network": "default"}
BATCH_BUILT = {**PROJECT, IMAGE_NAME_LABEL: "tp-batch:latest"}
CLASSIC_BATCH_BUILT = {IMAGE_NAME_LABEL: "tp-classic:latest"}
OTHER_BATCH_BUILT = {IMAGE_NAME_LABEL: "tp-other:latest"}


def engine() -> FakeEngine:
    return FakeEngine(
        containers_=[
            ContainerFacts(
                "c1", "p-redis-1", "redis", "sha256:r", "running",
                labels={**PROJECT, "com.docker.compose.service": "redis"},
            ),
            ContainerFacts("c2", "moby-counter", "app", "sha256:a", "running"),
        ],
        networks_=[
            NetworkFacts("n1", "p_default", "bridge", labels=DEFAULT_NETWORK),
            NetworkFacts("n2", "moby-network", "bridge"),
        ],
        volumes_=[VolumeFacts("redis_data", "local")],
        images_=[
            ImageFacts("sha256:hand", ("tp-graphite:latest",)),
            ImageFacts("sha256:kit", ("tp-kit:latest",), labels=PROJECT),
            ImageFacts("sha256:batch", ("p/tp-batch:latest",), labels=BATCH_BUILT),
            ImageFacts("sha256:mine", ("p/tp-classic:latest",), labels=CLASSIC_BATCH_BUILT),
            ImageFacts("sha256:theirs", ("q/tp-other:latest",), labels=OTHER_BATCH_BUILT),
        ],
    )  # fmt: skip


def test_objects_found_outside_the_project_are_recorded_once() -> None:
    names = ComposeNames(engine(), "p")

    assert names.container("redis") is not None  # in the project: nothing to say
    assert names.network("moby-network") is not None
    assert names.network("moby-network") is not None
    assert names.container("moby-counter") is not None
    assert names.volume("redis_data") is not None
    assert names.image("tp-graphite:latest") is not None
    assert names.network("nowhere") is None  # not found at all: nothing to say either

    assert names.outside == (
        OutsideProject("network", "moby-network"),
        OutsideProject("container", "moby-counter"),
        OutsideProject("volume", "redis_data"),
        OutsideProject("image", "tp-graphite:latest"),
    )


def test_strict_names_never_leave_the_project_not_even_for_images() -> None:
    names = ComposeNames(engine(), "p", fall_back_to_exact=False)

    assert names.network("moby-network") is None
    assert names.container("moby-counter") is None
    assert names.volume("redis_data") is None
    assert names.image("tp-graphite:latest") is None  # a tag on the engine, not the project's
    assert names.outside == ()


def test_images_the_project_built() -> None:
    names = ComposeNames(engine(), "p", fall_back_to_exact=False)

    assert names.image("tp-batch").id == "sha256:batch"  # batch: tagged per project
    assert names.image("tp-kit").id == "sha256:kit"  # Compose's own label (BuildKit)
    # Batch with the classic builder: no project label, but the project's own repository.
    assert names.image("tp-classic").id == "sha256:mine"
    assert names.image("tp-other") is None  # another submission's
