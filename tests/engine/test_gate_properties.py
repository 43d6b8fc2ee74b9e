"""Whatever a submission folder holds, preparing it ends in a plan, a refusal or an error, and
never raises: Hypothesis generates the folders (random YAML documents and scalars, compose-like
models with hostile values, deep trees, odd names and modes), the real gate prepares them
(staging on this machine's filesystem, the prescan in its worker process, ``compose config``
in its sandbox on the engine)."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from grader.batch.gate.prepare import Gate, prepare
from grader.batch.gate.stage import staging_root
from grader.batch.submissions import Submission
from grader.engine.docker_engine import DockerEngine
from grader.exercise.model import Exercise
from grader.harness.workers import DeadlineWorkers

#: Its tests share module fixtures: on one worker of a parallel run (tests/support/workers.py).
pytestmark = pytest.mark.xdist_group("gate-properties")

#: Names a folder or file may have (no "/" or NUL: the filesystem's own rules).
NAMES = st.text(
    st.characters(blacklist_characters="/\x00", blacklist_categories=("Cs",)),
    min_size=1,
    max_size=40,
).filter(lambda name: name not in (".", ".."))

SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True),
    st.text(max_size=30),
    st.sampled_from(
        ["2024-13-01", "9" * 5000, "${HOME}", "$$", "../../etc/passwd", "/etc/shadow", "~",
         "http://127.0.0.1:9/x", "1-65535", "0.0.0.0:1-65535:1-65535", "<script>", "\x1b[31m"]
    ),
)  # fmt: skip
COMPOSE_KEYS = st.sampled_from(
    ["image", "build", "ports", "expose", "volumes", "networks", "env_file", "include",
     "extends", "privileged", "command", "environment", "labels", "depends_on", "x-any",
     "container_name", "cap_add", "network_mode", "healthcheck", "deploy", "profiles"]
)  # fmt: skip
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=20,
)
SERVICES = st.dictionaries(NAMES, st.dictionaries(COMPOSE_KEYS, VALUES, max_size=5), max_size=3)
COMPOSE_LIKE = st.fixed_dictionaries(
    {"services": SERVICES},
    optional={
        "include": VALUES,
        "networks": st.dictionaries(NAMES, VALUES, max_size=2),
        "volumes": st.dictionaries(NAMES, VALUES, max_size=2),
        "x-anything": VALUES,
        "name": SCALARS,
    },
)


@st.composite
def compose_text(draw: st.DrawFn) -> bytes:
    kind = draw(st.sampled_from(["compose-like", "any-yaml", "bytes", "deep"]))
    if kind == "compose-like":
        return yaml.safe_dump(draw(COMPOSE_LIKE), allow_unicode=True).encode()
    if kind == "any-yaml":
        return yaml.safe_dump(draw(VALUES), allow_unicode=True).encode()
    if kind == "deep":
        depth = draw(st.integers(100, 20_000))
        return b"services:\n  a: " + b"[" * depth + b"]" * depth + b"\n"
    return draw(st.binary(max_size=500))


#: A tree: relative path (its parts) -> file content, or None for a folder.
TREES = st.dictionaries(
    st.lists(NAMES, min_size=1, max_size=6).map(tuple),
    st.one_of(st.none(), st.binary(max_size=200)),
    max_size=8,
)


@st.composite
def submissions(draw: st.DrawFn) -> dict[str, Any]:
    return {
        "name": draw(NAMES),
        "compose_name": draw(st.sampled_from(["compose.yaml", "docker-compose.yml", "none"])),
        "compose": draw(compose_text()),
        "dotenv": draw(st.one_of(st.none(), st.binary(max_size=200))),
        "tree": draw(TREES),
        "modes": draw(st.lists(st.integers(0, 0o777), max_size=8)),
    }


def build_folder(root: Path, spec: dict[str, Any]) -> Path:
    folder = root / spec["name"]
    folder.mkdir()
    if spec["compose_name"] != "none":
        (folder / spec["compose_name"]).write_bytes(spec["compose"])
    if spec["dotenv"] is not None:
        (folder / ".env").write_bytes(spec["dotenv"])
    made: list[Path] = []
    for parts, content in spec["tree"].items():
        path = folder.joinpath(*parts)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            if content is None:
                path.mkdir(exist_ok=True)
            elif not path.is_dir():
                path.write_bytes(content)
            made.append(path)
        except OSError:
            continue  # a name this filesystem does not take, or a file where a folder is
    for path, mode in zip(made, spec["modes"], strict=False):
        path.chmod(mode | (0o700 if path.is_dir() else 0))
    return folder


@pytest.fixture(scope="module")
def gate(engine: DockerEngine, compose_sandbox: str, reseau: Exercise) -> Iterator[Gate]:
    staging = staging_root()
    with DeadlineWorkers(2, name="tp-grader-prescan") as workers:
        yield Gate(reseau, "prop00", staging, engine, compose_sandbox, workers)
    shutil.rmtree(staging, ignore_errors=True)


@settings(
    max_examples=int(os.environ.get("TPG_GATE_EXAMPLES", "40")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    derandomize=True,
)
@given(spec=submissions())
def test_preparing_any_folder_ends_in_a_plan_a_refusal_or_an_error(
    gate: Gate, spec: dict[str, Any]
) -> None:
    with tempfile.TemporaryDirectory(prefix="tpg-prop-") as top:
        folder = build_folder(Path(top), spec)

        prepared = prepare(Submission(spec["name"], folder), gate)

    ends = [prepared.runnable, bool(prepared.refusals), prepared.error is not None]
    assert sum(ends) == 1, prepared
    if prepared.runnable:
        assert isinstance(prepared.model, dict)
    for text in [*prepared.refusals, *([prepared.error] if prepared.error else [])]:
        assert text.fr
        assert text.en
