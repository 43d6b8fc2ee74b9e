"""The probe side of a grading run: one image, one run label, steps batched per site."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence
from typing import Any

from grader import defaults
from grader.engine.base import Engine
from grader.errors import ProbeImageUnavailable
from grader.observe.readers import Readers
from grader.observe.steps import ProbeSite, ProbeStep, run_steps


def new_run_id() -> str:
    return secrets.token_hex(6)


class Prober:
    """Runs probe steps for one grading run; every probe carries the run's labels."""

    def __init__(
        self,
        engine: Engine,
        *,
        image: str = defaults.PROBE_IMAGE,
        run_id: str | None = None,
        deadline_s: float = defaults.PROBE_DEADLINE_S,
    ) -> None:
        self.engine = engine
        self.image = image
        self.run_id = run_id or new_run_id()
        self.deadline_s = deadline_s
        self.readers = Readers(engine, image, lambda: self.labels)

    @property
    def labels(self) -> dict[str, str]:
        return {defaults.LABEL_ROLE: "probe", defaults.LABEL_RUN: self.run_id}

    def ensure_image(self, on_progress: Callable[[str], None] | None = None) -> None:
        """Make sure the probe image is on the engine, pulling it (with progress) if not."""
        if self.engine.image(self.image) is not None:
            return
        try:
            self.engine.pull(self.image, on_progress)
        except Exception as exc:  # any pull failure means the same thing to the user
            reason = getattr(exc, "explanation", None) or str(exc) or type(exc).__name__
            raise ProbeImageUnavailable(self.image, str(reason)[:200]) from exc
        if self.engine.image(self.image) is None:
            raise ProbeImageUnavailable(self.image, "pull finished without the image")

    def run(self, site: ProbeSite, steps: Sequence[ProbeStep[Any]]) -> list[Any]:
        return run_steps(
            self.engine,
            site,
            steps,
            image=self.image,
            labels=self.labels,
            deadline_s=self.deadline_s,
        )

    def close(self) -> None:
        """Remove any probe or reader of this run still on the engine (readers always;
        probes after Ctrl-C or a watchdog)."""
        self.engine.remove_containers({defaults.LABEL_RUN: self.run_id})
