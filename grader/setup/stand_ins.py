"""Offline stand-ins for a lab's images, built FROM the probe image (``--stand-ins``)."""

from __future__ import annotations

from grader import defaults
from grader.engine.base import Engine
from grader.errors import SetupFailed
from grader.exercise.model import Exercise
from grader.i18n import Text


def build_stand_ins(exercise: Exercise, engine: Engine, base_image: str) -> dict[str, str]:
    """Build the exercise's offline stand-in images FROM ``base_image``; return name -> tag.
    Stand-ins are shared between exercises: the tag names the stand-in's folder."""
    tags: dict[str, str] = {}
    for name, context in exercise.stand_ins.items():
        tag = f"tp-grader-stand-in/{context.resolve().name}:latest"
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
        tags[name] = tag
    return tags
