"""Rubric and mutant texts rendered without Jinja2 must read exactly as Jinja2 renders them."""

from __future__ import annotations

import jinja2
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from grader.exercise.catalog import find
from grader.exercise.model import Params, substituted

PARAMS = Params({"network": "moby-network", "app_port": 8000, "items": "shadowed"})
IMAGES = {"redis": "redis:7", "app": "russmckendrick/moby-counter"}

ENVIRONMENT = jinja2.Environment(
    undefined=jinja2.StrictUndefined, keep_trailing_newline=True, autoescape=False
)

#: Pieces of text that make or break template syntax; the strategy strings them together.
PIECES = st.sampled_from(
    [
        "{{ params.network }}", "{{ params.app_port }}", "{{ images.redis }}",
        "{{params.network}}", "{{ params.items }}", "{{ params.missing }}", "{{ images.app }}",
        "{{ params._values }}", "{{-", "-}}", "{{", "}}", "{", "}", "{%", "%}", "{#", "#}",
        " ", "\n", "\r\n", "\t", "params.", "images.", "network", "| upper", "a", "é", "$",
    ]
)  # fmt: skip


def jinja2_render(text: str) -> str | None:
    try:
        return ENVIRONMENT.from_string(text).render(params=PARAMS, images=IMAGES)
    except jinja2.TemplateError:
        return None


@settings(max_examples=2000, deadline=None)
@given(st.lists(PIECES, max_size=8).map("".join))
@example("{{{ params.network }}")
@example("{{ params.network }}}")
@example("x {{ params.network }} y {{ images.redis }}\n")
def test_substitution_is_what_jinja2_renders(text: str) -> None:
    fast = substituted(text, PARAMS, IMAGES)
    if fast is not None:
        assert fast == jinja2_render(text)


@pytest.mark.parametrize(
    "text",
    [
        "réseau {{ params.network }}, port {{ params.app_port }}",
        "image {{ images.redis }}\n",
        "networks/default: {}",
        "plain text",
    ],
)
def test_plain_placeholders_need_no_jinja2(text: str) -> None:
    assert substituted(text, PARAMS, IMAGES) == jinja2_render(text)


@pytest.mark.parametrize(
    "text",
    [
        "{{ params.network | upper }}",
        "{{ params.missing }}",
        "{{ params.items }}",
        "{% if params.network %}x{% endif %}",
        "{{{ params.network }}",
        "a\r\n{{ params.network }}",
    ],
)
def test_anything_else_is_left_to_jinja2(text: str) -> None:
    assert substituted(text, PARAMS, IMAGES) is None


@pytest.mark.parametrize("exercise_id", ["tp-reseau", "tp-volumes", "tp-compose", "tp-overlay"])
def test_shipped_texts_render_as_before(exercise_id: str) -> None:
    """Every shipped rubric title and hint, and every mutants file, as Jinja2 renders it."""
    exercise = find(exercise_id)
    texts = [
        text
        for entry in exercise.rubric.entries
        for field in (entry.title, entry.hint)
        for text in (field.fr, field.en)
    ]
    mutants = exercise.directory / "mutants.yaml"
    if mutants.is_file():
        texts.append(mutants.read_text(encoding="utf-8"))
    environment = jinja2.Environment(
        undefined=jinja2.StrictUndefined, keep_trailing_newline=True, autoescape=False
    )
    for text in texts:
        expected = environment.from_string(text).render(
            params=exercise.params, images=exercise.images, exercise=exercise
        )
        assert exercise.render(text) == expected
