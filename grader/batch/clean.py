"""``grade clean``: remove what interrupted tp-grader runs left on an engine.

Everything tp-grader creates is labelled ``io.tp-grader.role`` (probes, readers, demo and
batch containers, networks, volumes; images a run built, tagged under its ``tpg*`` project;
the batch's Compose sandbox image, ``tp-grader/compose-sandbox``),
and the engine-host folders of demo and batch runs are named ``/tmp/tp-grader-tpg*``. Do not
run it while a batch runs: it would remove that batch's submissions too.

A host folder is removed when the run it belongs to had containers here, or when it has not
changed for :data:`~grader.defaults.CLEAN_SCRATCH_AGE_MIN` minutes: a host may serve several
engines (a machine's own and one in a network namespace, a rootless one beside it), and a
fresh folder without containers here may be a run starting on another.
"""

from __future__ import annotations

import contextlib
import posixpath
import shlex
from dataclasses import dataclass

from grader import defaults
from grader.batch.gate.confined import SANDBOX_REPOSITORY
from grader.engine.base import Engine, Removed
from grader.engine.facts import COMPOSE_PROJECT
from grader.engine.probe import ProbeMount, ProbeSpec
from grader.errors import ObservationError
from grader.setup.scratch import SCRATCH_PARENT, SCRATCH_PREFIX, scratch_folder


@dataclass(frozen=True)
class Cleaned:
    removed: Removed
    images: int


def clean(engine: Engine, probe_image: str = defaults.PROBE_IMAGE) -> Cleaned:
    ours = {defaults.LABEL_ROLE: None}
    projects = {c.labels.get(COMPOSE_PROJECT, "") for c in engine.containers(ours)}
    removed = engine.remove_labelled(ours)
    images = engine.untag_images(ours, defaults.PROJECT_PREFIX)
    images += engine.untag_images({defaults.LABEL_ROLE: "tool"}, SANDBOX_REPOSITORY)
    # Nothing to remove, or no way to: the containers above are what matters most.
    if engine.image(probe_image) is not None:
        with contextlib.suppress(ObservationError):
            engine.run_probe(
                ProbeSpec(
                    image=probe_image,
                    script=_scratch_sweep(projects),
                    purpose="remove scratch folders",
                    mounts=(ProbeMount(SCRATCH_PARENT, "/parent", read_only=False),),
                    labels={defaults.LABEL_ROLE: "probe"},
                )
            )
    return Cleaned(removed, images)


def _scratch_sweep(projects: set[str]) -> str:
    """A script removing, under ``/parent``, the host folders of ``projects`` (those named as
    tp-grader names its own) and the ones left alone for long enough."""
    folders = sorted(posixpath.basename(folder) for p in projects if (folder := _scratch_of(p)))
    named = f"rm -rf {' '.join(shlex.quote(f) for f in folders)}\n" if folders else ""
    return (
        f"cd /parent && {named}"
        f"find . -maxdepth 1 -name '{SCRATCH_PREFIX}{defaults.PROJECT_PREFIX}*' "
        f"-mmin +{defaults.CLEAN_SCRATCH_AGE_MIN} -exec rm -rf {{}} \\;"
    )


def _scratch_of(project: str) -> str | None:
    if not project.startswith(defaults.PROJECT_PREFIX):
        return None
    try:
        return scratch_folder(project)
    except ValueError:  # not a name tp-grader makes
        return None
