"""Facts parsed from inspect data the way the engine itself reads those fields (pure logic;
the engine tests create the containers for real)."""

from __future__ import annotations

from typing import Any

import pytest

from grader.engine.facts import ContainerFacts, VolumesFrom


def inspect_data(**host_config: Any) -> dict[str, Any]:
    return {
        "Id": "c" * 64,
        "Name": "/sidecar",
        "Image": "sha256:aa",
        "Config": {"Image": "busybox"},
        "State": {"Status": "running"},
        "HostConfig": host_config,
    }


@pytest.mark.parametrize(
    ("entry", "container", "mode", "read_only"),
    [
        ("redis", "redis", "rw", False),
        ("redis:ro", "redis", "ro", True),
        ("redis:rw", "redis", "rw", False),
        ("3f2a9c0d1e:ro", "3f2a9c0d1e", "ro", True),
        ("redis:ro,z", "redis", "ro,z", True),
        ("/redis:rw", "redis", "rw", False),
    ],
)
def test_volumes_from_entry(entry: str, container: str, mode: str, read_only: bool) -> None:
    parsed = VolumesFrom.parse(entry)

    assert (parsed.container, parsed.mode, parsed.read_only) == (container, mode, read_only)


def test_volumes_from_of_a_container() -> None:
    facts = ContainerFacts.from_inspect(inspect_data(VolumesFrom=["redis:ro", "abc123"]))

    assert facts.volumes_from == (VolumesFrom("redis", "ro"), VolumesFrom("abc123", "rw"))
    assert [str(entry) for entry in facts.volumes_from] == ["redis:ro", "abc123"]


def test_no_volumes_from() -> None:
    assert ContainerFacts.from_inspect(inspect_data(VolumesFrom=None)).volumes_from == ()
