"""Offline stand-ins for a lab's images, built FROM the probe image (``--stand-ins``)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from grader import defaults
from grader.engine.base import Engine
from grader.errors import SetupFailed
from grader.exercise.model import Exercise
from grader.i18n import Text


def stand_in_tags(exercise: Exercise, engine: Engine, base_image: str) -> dict[str, str]:
    """Image name -> the tag of its stand-in built FROM ``base_image``. Stand-ins are shared
    between exercises (the tag names the stand-in's folder) and distinct per base (the tag
    carries the base's id): building on another base never replaces an image in use."""
    base = engine.image(base_image)
    if base is None:
        raise SetupFailed(
            Text(
                fr=f"image de base des remplaçants absente : {base_image}",
                en=f"the stand-ins' base image is missing: {base_image}",
            )
        )
    version = base.id.removeprefix("sha256:")[:12]
    return {
        name: f"tp-grader-stand-in/{context.resolve().name}:{version}"
        for name, context in exercise.stand_ins.items()
    }


def build_stand_ins(exercise: Exercise, engine: Engine, base_image: str) -> dict[str, str]:
    """Build the exercise's offline stand-in images FROM ``base_image``; return name -> tag."""
    tags = stand_in_tags(exercise, engine, base_image)
    for name, context in exercise.stand_ins.items():
        tag = tags[name]
        try:
            engine.build_image(
                context, tag, {"BASE": base_image}, {defaults.LABEL_ROLE: "stand-in"}
            )
        except Exception as exc:
            raise SetupFailed(
                Text(
                    fr=f"image de remplacement « {name} » impossible à construire : {exc}",
                    en=f"could not build stand-in image '{name}': {exc}",
                )
            ) from exc
    return tags


@contextlib.contextmanager
def stand_ins_for_a_run(
    exercise: Exercise, engine: Engine, base_image: str
) -> Iterator[dict[str, str]]:
    """:func:`build_stand_ins` for one run (a demo, a selftest): the tags that were not on
    the engine before are removed afterwards, so a run leaves no image it built."""
    new = {
        tag
        for tag in stand_in_tags(exercise, engine, base_image).values()
        if engine.image(tag) is None
    }
    try:
        yield build_stand_ins(exercise, engine, base_image)
    finally:
        for tag in new:
            engine.untag_images({defaults.LABEL_ROLE: "stand-in"}, tag)
