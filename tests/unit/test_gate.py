"""The gate's pure logic: what the allowlist rewrites (each rewritten key against the rewrite's
effect, and the README's row), image references and registries, port counts with ranges, the
review of a Dockerfile's fetches."""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from grader import defaults
from grader.batch import rewrite
from grader.batch.gate.allowlist import TOP_LEVEL
from grader.batch.gate.dockerfile import instructions, review_dockerfile
from grader.batch.gate.images import image_refusal, registry_of
from grader.batch.gate.ports import count_port_entries
from grader.batch.gate.rules import rewritten_paths
from grader.batch.rewrite import isolate
from grader.exercise.catalog import find

README = Path(__file__).parents[2] / "README.md"
BATCH_LABELS = {"io.tp-grader.run": "x"}
HUGE = 1 << 40

Model = dict[str, Any]


def base() -> Model:
    return {
        "name": "chosen",
        "services": {
            "s": {
                "image": "redis",
                "container_name": "fixed",
                "ports": [{"target": 80, "published": "8000", "host_ip": "0.0.0.0"}],
                "volumes": [
                    {"type": "bind", "source": "/tmp/data", "target": "/data"},
                    {"type": "tmpfs", "target": "/t", "tmpfs": {"size": HUGE}},
                ],
                "tmpfs": ["/run:size=100g"],
                "mem_limit": HUGE,
                "mem_reservation": HUGE,
                "cpus": 64.0,
                "cpu_shares": 262144,
                "pids_limit": 1 << 30,
                "shm_size": HUGE,
                "deploy": {"resources": {"limits": {"cpus": "64"}}},
            },
            "b": {"build": {"context": "/x", "labels": {"io.tp-grader.run": "forged"}}},
        },
        "networks": {"n": {"name": "host-wide"}},
        "volumes": {"v": {"name": "host-wide"}},
    }


S = "services"

#: Each rewritten key of the allowlist, and what the rewrite must have made of base()'s value.
EFFECTS: dict[str, Callable[[Model], bool]] = {
    "name": lambda m: "name" not in m,
    "services.*.build.labels": lambda m: m[S]["b"]["build"]["labels"]["io.tp-grader.run"] == "x",
    "services.*.ports.*.published": lambda m: int(m[S]["s"]["ports"][0]["published"]) >= 20000,
    "services.*.ports.*.host_ip": lambda m: m[S]["s"]["ports"][0]["host_ip"] == "127.0.0.1",
    "services.*.volumes.*.source": lambda m: (
        m[S]["s"]["volumes"][0]["source"] == "/scratch/data_dir"
    ),
    "services.*.volumes.*.tmpfs.size": lambda m: (
        int(m[S]["s"]["volumes"][1]["tmpfs"]["size"]) == defaults.BATCH_TMPFS_BYTES
    ),
    "services.*.deploy.resources": lambda m: "resources" not in m[S]["s"]["deploy"],
    "services.*.container_name": lambda m: "container_name" not in m[S]["s"],
    "services.*.tmpfs": lambda m: m[S]["s"]["tmpfs"] == [f"/run:size={defaults.BATCH_TMPFS_BYTES}"],
    "services.*.mem_limit": lambda m: m[S]["s"]["mem_limit"] == defaults.BATCH_MEMORY_BYTES,
    "services.*.mem_reservation": lambda m: (
        m[S]["s"]["mem_reservation"] == defaults.BATCH_MEMORY_BYTES
    ),
    "services.*.cpus": lambda m: m[S]["s"]["cpus"] == defaults.BATCH_CPUS,
    "services.*.cpu_shares": lambda m: m[S]["s"]["cpu_shares"] == defaults.BATCH_CPU_SHARES,
    "services.*.pids_limit": lambda m: m[S]["s"]["pids_limit"] == defaults.BATCH_PIDS,
    "services.*.shm_size": lambda m: m[S]["s"]["shm_size"] == defaults.BATCH_TMPFS_BYTES,
    "networks.*.name": lambda m: "name" not in m["networks"]["n"],
    "volumes.*.name": lambda m: "name" not in m["volumes"]["v"],
}


@pytest.fixture(scope="module")
def isolated() -> Model:
    done = isolate(
        copy.deepcopy(base()), exercise=find("tp-volumes"), project="tpgx-ada",
        scratch="/scratch", ports=[20001], labels=BATCH_LABELS,
    )  # fmt: skip
    return done.model


def test_every_rewritten_key_has_its_effect_checked() -> None:
    assert {path for path, _ in rewritten_paths(TOP_LEVEL)} == set(EFFECTS)


@pytest.mark.parametrize(
    ("path", "rule"), rewritten_paths(TOP_LEVEL), ids=[p for p, _ in rewritten_paths(TOP_LEVEL)]
)
def test_each_rewritten_key_is_rewritten(path: str, rule: Any, isolated: Model) -> None:
    assert hasattr(rewrite, rule.by), f"{path}: grader.batch.rewrite.{rule.by} does not exist"
    assert EFFECTS[path](isolated), f"{path} kept the submission's value"


def test_the_readme_lists_the_rewritten_keys() -> None:
    row = next(line for line in README.read_text().splitlines() if line.startswith("| rewritten"))
    listed = set(re.findall(r"`([a-z_.]+)`", row))
    leaves = {path.rsplit(".", 1)[-1] for path, _ in rewritten_paths(TOP_LEVEL)}
    assert leaves - {"published", "source", "size", "labels", "resources", "host_ip"} <= listed
    assert {"deploy.resources", "build.labels", "cpu_shares"} <= listed


def test_every_service_drops_raw_sockets(isolated: Model) -> None:
    assert all("NET_RAW" in service["cap_drop"] for service in isolated[S].values())


# -- images -------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("reference", "registry"),
    [
        ("redis", "docker.io"),
        ("redis:alpine", "docker.io"),
        ("library/redis@sha256:" + "a" * 64, "docker.io"),
        ("index.docker.io/library/redis", "docker.io"),
        ("ghcr.io/org/app:1.0", "ghcr.io"),
        ("localhost/app", "localhost"),
        ("localhost:5000/app", "localhost:5000"),
        ("127.0.0.1:5000/app", "127.0.0.1:5000"),
        ("[::1]:5000/app", "[::1]:5000"),
        ("Registry.Example.COM/app", "registry.example.com"),
        ("UPPER/case", None),
        ("a b", None),
        ("", None),
    ],
)
def test_the_registry_of_a_reference(reference: str, registry: str | None) -> None:
    assert registry_of(reference) == registry


def test_only_allowed_registries() -> None:
    allowed = ("docker.io", "ghcr.io")

    assert image_refusal("redis:alpine", allowed) is None
    assert image_refusal("ghcr.io/a/b", allowed) is None
    for hostile in ("localhost/x", "127.0.0.1:5000/x", "evil.example/x", "[::1]:80/x"):
        refusal = image_refusal(hostile, allowed)
        assert refusal is not None
        assert "not allowed" in refusal.en or "not an image reference" in refusal.en


# -- ports --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("service", "count"),
    [
        ({"ports": ["8000:80"]}, 1),
        ({"ports": ["8000-8009:80-89"]}, 10),
        ({"ports": ["127.0.0.1:1-65535:1-65535/udp"]}, 65535),
        ({"ports": ["[::1]:8000:80"]}, 1),
        ({"ports": [{"target": "1-1000", "published": "2000"}]}, 1000),
        ({"expose": ["1-65535"]}, 65535),
        ({"expose": [6379, "80/tcp"]}, 2),
        ({"ports": ["${P}:80"]}, 1),  # unreadable: config decides, in its sandbox
        ({"ports": "not a list"}, 0),
    ],
)
def test_port_entries_are_counted_with_their_ranges(service: Model, count: int) -> None:
    assert count_port_entries([service]) == count


# -- Dockerfiles --------------------------------------------------------------------------------
def reasons(text: str, **args: str) -> list[str]:
    found = review_dockerfile(text, args=args, registries=("docker.io",), name="Dockerfile")
    return [reason.en for reason in found]


def test_the_shipped_dockerfiles_pass() -> None:
    root = Path(__file__).parents[2] / "exercises"
    for path in root.glob("*/solution/**/Dockerfile"):
        assert reasons(path.read_text()) == [], path


@pytest.mark.parametrize(
    ("text", "args", "expected"),
    [
        ("FROM localhost:5000/x\n", {}, "registry localhost:5000"),
        ("ARG B=127.0.0.1:5000/x\nFROM ${B}\n", {}, "registry 127.0.0.1:5000"),
        ("ARG B=redis\nFROM $B\n", {"B": "127.0.0.1:1/x"}, "registry 127.0.0.1:1"),
        ("FROM ${UNSET:-[::1]:80/x}\n", {}, "registry [::1]:80"),
        ("FROM $(echo x)\n", {}, "cannot be read before the build"),
        ("FROM scratch\nADD http://127.0.0.1:9/x /x\n", {}, "the engine would fetch it itself"),
        ('FROM scratch\nADD ["https://e.x/a", "/a"]\n', {}, "the engine would fetch it itself"),
        ("FROM scratch\nADD --chown=1 git@github.com:a/b /b\n", {}, "would fetch it itself"),
        ("FROM scratch\nCOPY --from=localhost/x / /\n", {}, "registry localhost"),
        ("FROM scratch\nONBUILD ADD http://e.x/a /a\n", {}, "would fetch it itself"),
        ("# escape=`\nFROM scratch\nADD `\n  http://e.x/a /a\n", {}, "would fetch it itself"),
        ("FROM scratch\n# ADD http://e.x/a /a\n", {}, ""),
        ("FROM redis AS base\nFROM base\nCOPY --from=0 / /\nCOPY --from=base / /\n", {}, ""),
        ("FROM scratch\nADD local.tar /\n", {}, ""),
    ],
)
def test_what_a_build_would_fetch(text: str, args: dict[str, str], expected: str) -> None:
    found = reasons(text, **args)
    if expected:
        assert len(found) == 1
        assert expected in found[0]
    else:
        assert found == []


def test_instructions_are_read_as_the_builder_reads_them() -> None:
    text = "# syntax=x\n\nFROM a \\\n  # a comment inside\n  AS b\nrun echo \\\n  hi\n"
    assert [(i.line, i.keyword, i.arguments) for i in instructions(text)] == [
        (3, "FROM", "a AS b"),
        (6, "RUN", "echo hi"),
    ]
