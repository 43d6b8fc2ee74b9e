"""The probe side of a grading run: one image, one run label, steps batched per site.

Starting a probe is the longest wait of a self-check, and the engine starts containers one at
a time. Where the checks will look from is often known before they are even loaded (an
exercise's ``probe_sites``), so :meth:`Prober.start_ahead` starts a *standby* probe there at
once, while Python loads pytest and collects the checks; the first steps run at that site then
run in it (their script goes in on its stdin), and it ends with them. Every other run, a retry
included, gets a probe of its own.
"""

from __future__ import annotations

import contextlib
import secrets
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from typing import Any

from grader import defaults
from grader.engine.base import Engine
from grader.engine.probe import Standby, StandbyGone
from grader.errors import ProbeImageUnavailable
from grader.observe.readers import Readers
from grader.observe.steps import ProbeSite, ProbeStep, probe_spec, run_steps


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
        self._lock = threading.Lock()
        self._standby: dict[ProbeSite, Future[_Standby | None]] = {}
        self._closed = False
        self._given_up: list[Future[_Standby | None]] = []
        self._started: list[Future[_Standby | None]] = []  # every standby asked for
        self._handed_out: set[str] = set()
        self._ending: set[str] = set()

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

    def start_ahead(self, site: ProbeSite) -> None:
        """Start a standby probe at ``site`` in the background, for the first :meth:`run`
        there. One that could not start is no loss: that run starts its own probe. Sites in
        another container's PID namespace get none (a standby ends by signalling its PID 1)."""
        with self._lock:
            if self._closed or site in self._standby or site.pid_mode:
                return
            started: Future[_Standby | None] = Future()
            self._standby[site] = started
            self._started.append(started)

        def start() -> None:
            spec = probe_spec(site, "", self.image, self.labels, self.deadline_s)
            lifetime_s = defaults.STANDBY_PROBE_LIFETIME_S
            try:
                begun = time.monotonic()
                standby = _Standby(
                    self.engine.start_standby_probe(spec, lifetime_s), begun + lifetime_s
                )
            except Exception:  # an engine that refused or timed out: that run starts its own
                started.set_result(None)
                return
            with self._lock:
                started.set_result(standby)
                late = started in self._given_up
            if late:  # close() stopped waiting for it: its sweep may have come first
                try:
                    self.engine.remove_containers({defaults.LABEL_RUN: self.run_id})
                finally:
                    standby.probe.release()

        threading.Thread(target=start, daemon=True, name="probe-ahead").start()

    def run(self, site: ProbeSite, steps: Sequence[ProbeStep[Any]]) -> list[Any]:
        standby = self._standby_at(site)
        if standby is not None:
            try:
                results = self._run(site, steps, standby)
            except StandbyGone:
                if self._closed:  # the run's end removed it: no probe starts after the sweep
                    raise
            else:
                with self._lock:  # its script ran to its end: it ends, and the engine removes it
                    self._ending.add(standby.container_id)
                return results
        return self._run(site, steps, None)

    def _run(
        self, site: ProbeSite, steps: Sequence[ProbeStep[Any]], standby: Standby | None
    ) -> list[Any]:
        return run_steps(
            self.engine,
            site,
            steps,
            image=self.image,
            labels=self.labels,
            deadline_s=self.deadline_s,
            standby=standby,
        )

    def _standby_at(self, site: ProbeSite) -> Standby | None:
        """The standby probe at ``site``, taken (each serves once), once it has started, if
        it has time left for a whole run (its lifetime runs from its start)."""
        with self._lock:
            started = self._standby.pop(site, None)
        if started is None:
            return None
        try:
            standby = started.result(timeout=self.deadline_s)
        except FutureTimeout:
            return None  # still starting: close() waits for it, removes it and lets it go
        if standby is None or time.monotonic() + self.deadline_s + 1 > standby.ends_at:
            return None  # close() removes it, by the run's label, and lets it go
        with self._lock:
            self._handed_out.add(standby.probe.container_id)  # its run lets it go
        return standby.probe

    def close(self) -> None:
        """Remove any probe or reader of this run still on the engine (readers always;
        probes after Ctrl-C or a watchdog, standby probes no check came to). Standbys still
        starting are waited for, within one deadline, so that the sweep finds them."""
        with self._lock:
            self._closed = True
            ahead = list(self._started)  # every standby asked for (none after this)
        until = time.monotonic() + self.deadline_s
        for started in ahead:
            with contextlib.suppress(FutureTimeout):
                started.result(timeout=max(0.0, until - time.monotonic()))
        with self._lock:  # one still starting now sweeps once started
            self._given_up = [started for started in ahead if not started.done()]
            unused = [
                standby.probe
                for started in ahead
                if started.done() and (standby := started.result()) is not None
                if standby.probe.container_id not in self._handed_out
            ]
            ending = set(self._ending)
        # Removed while they run, then let go: one let go first would end and be removing
        # itself when the sweep comes, which would then not wait for it to be gone.
        try:
            self.engine.remove_containers({defaults.LABEL_RUN: self.run_id}, sparing=ending)
        finally:
            for probe in unused:
                probe.release()


@dataclass(frozen=True)
class _Standby:
    probe: Standby
    ends_at: float
    """When its lifetime ends (``time.monotonic()``), measured from before its start."""
