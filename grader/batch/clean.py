"""``grade clean``: remove what interrupted tp-grader runs left on an engine.

Everything tp-grader creates is labelled ``io.tp-grader.role`` (probes, readers, demo and
batch containers, networks, volumes; images a run built, tagged under its ``tpg*`` project),
and the engine-host folders of demo and batch runs are named ``/tmp/tp-grader-tpg*``. Do not
run it while a batch runs: it would remove that batch's submissions too.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

from grader import defaults
from grader.engine.base import Engine, Removed
from grader.engine.probe import ProbeMount, ProbeSpec
from grader.errors import ObservationError
from grader.setup.scratch import SCRATCH_PARENT

#: Every Compose project tp-grader makes starts with this (batch, demo and selftest runs).
PROJECT_PREFIX = "tpg"


@dataclass(frozen=True)
class Cleaned:
    removed: Removed
    images: int


def clean(engine: Engine, probe_image: str = defaults.PROBE_IMAGE) -> Cleaned:
    removed = engine.remove_labelled({defaults.LABEL_ROLE: None})
    images = engine.untag_images({defaults.LABEL_ROLE: None}, PROJECT_PREFIX)
    # Nothing to remove, or no way to: the containers above are what matters most.
    if engine.image(probe_image) is not None:
        with contextlib.suppress(ObservationError):
            engine.run_probe(
                ProbeSpec(
                    image=probe_image,
                    script="rm -rf /parent/tp-grader-tpg*",
                    purpose="remove scratch folders",
                    mounts=(ProbeMount(SCRATCH_PARENT, "/parent", read_only=False),),
                    labels={defaults.LABEL_ROLE: "probe"},
                )
            )
    return Cleaned(removed, images)
