"""Selftest's pure parts: changes of a model, mutants.yaml (every problem at once, with its
line), and the generated mutants' operators on a normalised model."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from grader.errors import ExerciseDefinitionError
from grader.exercise.mutants import load_mutants
from grader.selftest.change import ChangeError, apply_change
from grader.selftest.operators import RunSpace, generate

MODEL: dict[str, Any] = {
    "services": {
        "backup": {"image": "tools", "profiles": ["backup"], "networks": {"default": None}},
        "redis": {
            "image": "redis",
            "networks": {"net": None},
            "volumes": [{"type": "volume", "source": "data", "target": "/data", "volume": {}}],
        },
        "app": {
            "image": "app",
            "networks": {"net": {"aliases": ["web"]}, "default": None},
            "ports": [{"target": 80, "published": "8000", "protocol": "tcp"}],
        },
        "side": {"image": "tools", "volumes_from": ["redis"], "networks": {"default": None}},
        "built": {"build": {"context": "/x"}, "image": "p/built", "user": "app"},
    },
    "networks": {"net": {}},
    "volumes": {"data": {}},
}


def test_changes_set_remove_append() -> None:
    changed = apply_change(
        MODEL,
        [
            {"remove": "services/app/networks/net/aliases"},
            {"set": {"services/redis/command": ["sleep", "1"], "services/new/image": "x"}},
            {"append": {"services/app/links": "redis"}},
        ],
    )

    assert changed["services"]["app"]["networks"]["net"] == {}
    assert changed["services"]["redis"]["command"] == ["sleep", "1"]
    assert changed["services"]["new"] == {"image": "x"}
    assert changed["services"]["app"]["links"] == ["redis"]
    assert "links" not in MODEL["services"]["app"]  # the model itself is untouched


@pytest.mark.parametrize(
    ("operation", "message"),
    [
        ({"remove": "services/nope"}, "services/nope: no 'nope' there"),
        ({"remove": "services/app/ports/3"}, "services/app/ports/3: no '3' there"),
        ({"rename": "x"}, "unknown operation 'rename'"),
        ({"set": {"services/app/image/x": 1}}, "cannot set there"),
    ],
)
def test_a_change_that_does_not_fit_is_an_error(operation: dict[str, Any], message: str) -> None:
    with pytest.raises(ChangeError, match=message):
        apply_change(MODEL, [operation])


def test_mutants_file_problems_are_all_reported_with_their_line(tmp_path: Path) -> None:
    path = tmp_path / "mutants.yaml"
    path.write_text(
        "exercise: other\n"
        "mutants:\n"
        "  a:\n"
        "    description: {fr: x, en: y}\n"
        "    change: [{remove: services/x}]\n"
        "    not_passing: [no-such-check]\n"
        "  b:\n"
        "    change: nothing\n"
        "    not_passing: []\n"
        "equivalent:\n"
        "  plain-name: {fr: r, en: r}\n"
        "bogus: 1\n"
    )

    with pytest.raises(ExerciseDefinitionError) as caught:
        load_mutants(path, ["one", "two"], "mine")

    assert caught.value.problems == [
        f"{path}:12: unknown key 'bogus'",
        f"{path}:1: exercise 'other' is not 'mine'",
        f"{path}:3: mutant 'a': 'no-such-check' is not a check of the rubric",
        f"{path}:7: mutant 'b': 'change' must be a list of set / remove / append",
        f"{path}:7: mutant 'b': 'not_passing' must list the checks it must not pass",
        f"{path}:7: mutant 'b' must give a text (fr and en)",
        f"{path}:11: equivalent 'plain-name': not a generated mutant id (operator:service...)",
    ]


def test_equivalence_patterns(tmp_path: Path) -> None:
    path = tmp_path / "mutants.yaml"
    path.write_text('equivalent:\n  "add-link:*": because\n  "swap-image:side": {fr: a, en: b}\n')

    mutants = load_mutants(path, [], "mine")

    assert mutants.equivalence("add-link:redis") is not None
    assert mutants.equivalence("swap-image:side").en == "b"  # type: ignore[union-attr]
    assert mutants.equivalence("swap-image:redis") is None


def test_generated_mutants() -> None:
    mutants = {m.id: m for m in generate(MODEL, non_root=frozenset({"built"}))}

    assert set(mutants) == {
        "drop-service:backup", "drop-service:redis", "drop-service:app", "drop-service:side",
        "drop-service:built",
        "detach-network:redis:net", "detach-network:app:net", "drop-alias:app:net:web",
        "drop-port:app:80", "move-port:app:80",
        "volume-anonymous:redis:/data", "volume-other:redis:/data", "flip-mode:redis:/data",
        "drop-volumes-from:side", "run-as-root:built",
        "swap-image:backup", "swap-image:redis", "swap-image:app", "swap-image:side",
        "swap-image:built",
        # backup runs only under its profile: nobody links to it, it links to side
        "add-link:backup", "add-link:side", "add-link:redis", "add-link:app",
    }  # fmt: skip
    space = RunSpace(spare_port=30099)
    moved = mutants["move-port:app:80"].change(MODEL, space)
    assert moved["services"]["app"]["ports"][0]["published"] == "30099"
    dropped = mutants["drop-service:redis"].change(MODEL, space)
    assert "redis" not in dropped["services"]
    assert dropped["services"]["side"]["volumes_from"] == []  # references go with it
    detached = mutants["detach-network:redis:net"].change(MODEL, space)
    assert detached["services"]["redis"]["networks"] == {"default": None}
    assert "default" in detached["networks"]
    swapped = mutants["swap-image:built"].change(MODEL, space)
    assert "build" not in swapped["services"]["built"]
    assert mutants["add-link:redis"].change(MODEL, space)["services"]["redis"]["links"] == ["app"]
    assert MODEL["services"]["redis"]["networks"] == {"net": None}  # untouched
