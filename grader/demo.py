"""``grade demo``: the reference solution, set up in a Compose project of its own, graded
through that project's labels, and taken down, with every image the demo built (the stand-ins
it had to build, the images the solution builds)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping

from grader import defaults
from grader.engine.base import Engine
from grader.exercise.model import Exercise
from grader.harness.plugin import RunObserver
from grader.harness.run import grade
from grader.i18n import Lang, Text
from grader.observe.prober import Prober, new_run_id
from grader.result import GradeResult
from grader.setup.solution import choose_images, reference_solution
from grader.setup.stand_ins import stand_ins_for_a_run


def run_demo(
    exercise: Exercise,
    *,
    engine: Engine,
    host: str | None = None,
    image_overrides: Mapping[str, str] | None = None,
    stand_ins: bool = False,
    probe_image: str = defaults.PROBE_IMAGE,
    lang: Lang = defaults.DEFAULT_LANG,
    param_overrides: Mapping[str, str] | None = None,
    observer: RunObserver | None = None,
    on_progress: Callable[[str], None] | None = None,
) -> GradeResult:
    images = choose_images(exercise, image_overrides or {})
    exercise.params.with_overrides(param_overrides or {})  # bad parameters fail before setup
    with contextlib.ExitStack() as stack:
        if stand_ins:
            Prober(engine, image=probe_image).ensure_image(on_progress)
            built = stack.enter_context(stand_ins_for_a_run(exercise, engine, probe_image))
            images |= {k: v for k, v in built.items() if k not in (image_overrides or {})}
        project = f"tpgrader-demo-{new_run_id()}"
        note = Text(
            fr=f"démonstration : solution de référence dans le projet Compose {project}",
            en=f"demo: the reference solution in Compose project {project}",
        )
        running = stack.enter_context(
            reference_solution(
                exercise,
                engine=engine,
                project=project,
                images=images,
                param_overrides=param_overrides,
                host=host,
                labels={defaults.LABEL_ROLE: "demo"},
                probe_image=probe_image,
            )
        )
        return grade(
            exercise,
            engine=engine,
            student="demo",
            lang=lang,
            project=project,
            strict_project=True,
            probe_image=probe_image,
            param_overrides=running.param_overrides,
            observer=observer,
            on_pull_progress=on_progress,
            notes=(note,),
        )
