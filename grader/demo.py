"""``grade demo``: the reference solution, set up in a Compose project of its own, graded
through that project's labels, and taken down, with every image the demo built (the stand-ins
it had to build, the images the solution builds). A swarm lab's demo runs on a swarm: the
engine's own when it manages one, else one made for the demo and left afterwards."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping

from grader import defaults
from grader.engine.base import Engine
from grader.exercise.model import Exercise
from grader.harness.observer import RunObserver
from grader.harness.run import GradeRequest, grade
from grader.i18n import Lang, Text
from grader.observe.prober import new_run_id
from grader.result import GradeResult
from grader.setup.probe_image import ensure_probe_image_offline
from grader.setup.solution import choose_images, reference_solution
from grader.setup.stack import swarm_for_a_run
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
            # Offline by request: a probe image that cannot be pulled is built here.
            ensure_probe_image_offline(engine, probe_image, on_progress)
            built = stack.enter_context(stand_ins_for_a_run(exercise, engine, probe_image))
            images |= {k: v for k, v in built.items() if k not in (image_overrides or {})}
        # Under the prefix every project of ours has (grade clean finds them by it).
        project = f"{defaults.PROJECT_PREFIX}rader-demo-{new_run_id()}"
        note = Text(
            fr=f"démonstration : solution de référence dans le projet Compose {project}",
            en=f"demo: the reference solution in Compose project {project}",
        )
        if exercise.solution is not None and exercise.solution.stack:
            stack.enter_context(swarm_for_a_run(engine))  # joined for the demo, left after
            note = Text(
                fr=f"démonstration : solution de référence sur le swarm, projet {project}",
                en=f"demo: the reference solution on the swarm, project {project}",
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
        request = GradeRequest(
            exercise,
            student="demo",
            lang=lang,
            project=project,
            strict_project=True,
            probe_image=probe_image,
            param_overrides=running.param_overrides,
            notes=(note,),
        )
        return grade(request, engine=engine, observer=observer, on_pull_progress=on_progress)
