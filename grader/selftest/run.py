"""``grade selftest``: prove an exercise's checks on its reference solution and its mutants.

In order, on scratch Compose projects of its own (removed afterwards, with every image and host
folder they made):

1. *reference*: the reference solution must score full marks, every check passed;
2. *baseline*: nothing set up (an empty project) must score 0;
3. *declared* mutants (``mutants.yaml``): each must not pass exactly the checks it declares;
4. *generated* mutants (:mod:`grader.selftest.operators`): each must be killed (some check
   does not pass), unless ``mutants.yaml`` declares it equivalent, with a reason.

A swarm lab (a stack solution, :mod:`grader.setup.stack`) runs on a swarm: the engine's own
when it manages one, else a single-node swarm made for the selftest and left afterwards.

Mutants run ``jobs`` at once, each in its own project with host ports and host folders of its
own; their gradings run in worker processes (:mod:`grader.harness.workers`), so they grade in
parallel too.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import Any, Literal

from grader import defaults
from grader.engine.base import Engine
from grader.engine.facts import COMPOSE_PROJECT
from grader.errors import ExerciseDefinitionError, GraderError, SetupFailed
from grader.exercise.model import Exercise
from grader.exercise.mutants import DeclaredMutant, Mutants
from grader.harness.request import GradeRequest
from grader.harness.workers import GradingFailed, GradingJob, GradingTimedOut, GradingWorkers
from grader.i18n import Text
from grader.judge.outcome import CheckStatus
from grader.observe.prober import Prober
from grader.result import GradeResult
from grader.selftest.change import ChangeError, apply_change
from grader.selftest.operators import GeneratedMutant, RunSpace, generate
from grader.setup.solution import reference_solution
from grader.setup.stack import swarm_for_a_run
from grader.setup.stand_ins import stand_ins_for_a_run

Kind = Literal["reference", "baseline", "declared", "generated"]


@dataclass(frozen=True)
class MutantRun:
    """One setup of the selftest and how it graded."""

    id: str
    kind: Kind
    operator: str
    description: Text
    statuses: Mapping[str, CheckStatus] = field(default_factory=dict)
    score: float = 0.0
    max_score: float = 0.0
    problems: tuple[str, ...] = ()
    """What did not go through while setting it up (a mutant may well not come up)."""
    expected: frozenset[str] | None = None
    """For a declared mutant: the checks it must not pass."""
    equivalent: Text | None = None
    """For a generated mutant declared equivalent: why."""
    error: Text | None = None
    """The selftest could not grade it (the harness's problem, not the checks')."""

    @property
    def not_passing(self) -> frozenset[str]:
        return frozenset(c for c, s in self.statuses.items() if s is not CheckStatus.PASSED)

    @property
    def failing(self) -> frozenset[str]:
        return frozenset(c for c, s in self.statuses.items() if s is CheckStatus.FAILED)

    @property
    def killed(self) -> bool:
        return self.error is None and bool(self.not_passing)

    @property
    def held(self) -> bool:
        """A declared mutant: exactly its expected checks did not pass."""
        return self.error is None and self.not_passing == self.expected


@dataclass(frozen=True)
class SelftestReport:
    exercise_id: str
    check_ids: tuple[str, ...]
    reference: MutantRun
    baseline: MutantRun
    declared: tuple[MutantRun, ...]
    generated: tuple[MutantRun, ...]
    duration_s: float

    @property
    def reference_ok(self) -> bool:
        return (
            self.reference.error is None
            and self.reference.score == self.reference.max_score
            and not self.reference.not_passing
        )

    @property
    def baseline_ok(self) -> bool:
        return self.baseline.error is None and self.baseline.score == 0

    @property
    def broken(self) -> tuple[MutantRun, ...]:
        return tuple(run for run in self.declared if not run.held)

    @property
    def survived(self) -> tuple[MutantRun, ...]:
        return tuple(run for run in self.generated if not run.killed and run.equivalent is None)

    @property
    def equivalent(self) -> tuple[MutantRun, ...]:
        """Generated mutants declared equivalent, that no check caught indeed."""
        return tuple(run for run in self.generated if run.equivalent is not None and not run.killed)

    @property
    def stale_equivalences(self) -> tuple[MutantRun, ...]:
        """Generated mutants declared equivalent that a check catches all the same: the
        declaration in mutants.yaml is not needed (or its pattern is too wide)."""
        return tuple(run for run in self.generated if run.equivalent is not None and run.killed)

    @property
    def checks_never_failing(self) -> tuple[str, ...]:
        """Checks that no mutant made fail (skipped for a prerequisite does not count): what
        they verify is never shown to be verified."""
        failed = {check for run in (*self.declared, *self.generated) for check in run.failing}
        return tuple(check for check in self.check_ids if check not in failed)

    @property
    def ok(self) -> bool:
        return self.reference_ok and self.baseline_ok and not self.broken and not self.survived


def selftest(
    exercise: Exercise,
    *,
    engine: Engine,
    host: str,
    probe_image: str = defaults.PROBE_IMAGE,
    stand_ins: bool = False,
    param_overrides: Mapping[str, str] | None = None,
    jobs: int = defaults.SELFTEST_JOBS,
    on_run: Callable[[MutantRun], None] | None = None,
) -> SelftestReport:
    """Self-test ``exercise`` on ``engine`` (reached by Compose and the graders at ``host``).

    ``param_overrides`` set the lab's parameters (a student's variant); ``on_run`` is told of
    each setup as it is graded. Raises :class:`~grader.errors.ExerciseDefinitionError` for a
    bad ``mutants.yaml``, :class:`~grader.errors.SetupFailed` when the reference solution does
    not come up at all."""
    started = time.monotonic()
    mutants = exercise.mutants_for(exercise.params.with_overrides(param_overrides or {}))
    prober = Prober(engine, image=probe_image)
    prober.ensure_image()
    pinned = engine.image(probe_image)
    run = _Runner(
        exercise,
        engine=engine,
        host=host,
        probe_image=pinned.id if pinned is not None else probe_image,
        overrides=dict(param_overrides or {}),
        on_run=on_run,
    )
    with ExitStack() as stack:
        if exercise.solution is not None and exercise.solution.stack:
            stack.enter_context(swarm_for_a_run(engine))  # joined for the run, left after
        if stand_ins:
            built = stack.enter_context(stand_ins_for_a_run(exercise, engine, probe_image))
            run.images |= built
        run.graders = stack.enter_context(GradingWorkers(max(jobs, 1)))
        reference, shape, non_root = run.reference()
        baseline = run.baseline()
        if reference.error is not None:  # nothing to learn from mutants of a broken reference
            mutants = Mutants()
        generated = generate(shape, non_root) if reference.error is None else []
        with ThreadPoolExecutor(max_workers=max(jobs, 1), thread_name_prefix="mutant") as pool:
            declared_runs = pool.map(lambda m: run.declared(m, mutants), mutants.declared)
            generated_runs = pool.map(lambda m: run.generated(m, mutants), generated)
            declared_done, generated_done = tuple(declared_runs), tuple(generated_runs)
    return SelftestReport(
        exercise_id=exercise.id,
        check_ids=exercise.rubric.check_ids,
        reference=reference,
        baseline=baseline,
        declared=declared_done,
        generated=generated_done,
        duration_s=time.monotonic() - started,
    )


class _Runner:
    """Sets up one run at a time per thread: its own project, ports and host folders."""

    def __init__(
        self,
        exercise: Exercise,
        *,
        engine: Engine,
        host: str,
        probe_image: str,
        overrides: dict[str, str],
        on_run: Callable[[MutantRun], None] | None,
    ) -> None:
        self.exercise = exercise
        self.engine = engine
        self.host = host
        self.probe_image = probe_image
        self.overrides = overrides
        self.on_run = on_run
        self.images = dict(exercise.images)
        self.graders: GradingWorkers | None = None
        self._id = secrets.token_hex(3)
        self._count = 0
        low, high = defaults.SELFTEST_PORT_RANGE
        self._ports = list(range(low, high + 1))
        self._lock = threading.Lock()

    # -- the four kinds of run --------------------------------------------------------------
    def reference(self) -> tuple[MutantRun, dict[str, Any], frozenset[str]]:
        """The reference run, the normalised model mutants are made from, and the services
        whose containers do not run as root."""
        seen: dict[str, Any] = {}

        def keep(model: dict[str, Any], space: RunSpace) -> dict[str, Any]:
            seen["model"] = model
            return model

        def users(project: str) -> None:
            containers = self.engine.containers({COMPOSE_PROJECT: project})
            seen["non_root"] = frozenset(
                c.labels.get("com.docker.compose.service", "")
                for c in containers
                if c.user and c.user.split(":")[0] not in ("0", "root")
            )

        description = Text(fr="la solution de référence", en="the reference solution")
        run = self._run("reference", "reference", "reference", description, keep, inspect=users)
        if "model" not in seen:
            raise SetupFailed(
                run.error or Text(fr="solution de référence absente", en="no reference")
            )
        return run, seen["model"], seen.get("non_root", frozenset())

    def baseline(self) -> MutantRun:
        project = self._project()
        text = Text(fr="rien de mis en place", en="nothing set up")
        result, error = self._grade(project, dict(self.overrides))
        return self._done(MutantRun("baseline", "baseline", "baseline", text, error=error), result)

    def declared(self, mutant: DeclaredMutant, mutants: Mutants) -> MutantRun:
        def change(model: dict[str, Any], space: RunSpace) -> dict[str, Any]:
            try:
                return apply_change(model, mutant.change)
            except ChangeError as exc:
                where = f"{mutants.path}:{mutant.line}" if mutants.path else "mutants.yaml"
                raise ExerciseDefinitionError([f"{where}: mutant '{mutant.id}': {exc}"]) from exc

        return self._run(
            mutant.id, "declared", "declared", mutant.description, change,
            steps=mutant.steps, expected=mutant.not_passing,
        )  # fmt: skip

    def generated(self, mutant: GeneratedMutant, mutants: Mutants) -> MutantRun:
        return self._run(
            mutant.id, "generated", mutant.operator, mutant.description, mutant.change,
            equivalent=mutants.equivalence(mutant.id),
        )  # fmt: skip

    # -- plumbing ---------------------------------------------------------------------------
    def _run(
        self,
        run_id: str,
        kind: Kind,
        operator: str,
        description: Text,
        change: Callable[[dict[str, Any], RunSpace], dict[str, Any]],
        *,
        steps: Sequence[Sequence[str]] | None = None,
        expected: frozenset[str] | None = None,
        equivalent: Text | None = None,
        inspect: Callable[[str], None] | None = None,
    ) -> MutantRun:
        project = self._project()
        ports = self._take_ports()
        overrides = {
            **self.overrides,
            **{
                name: str(port) for name, port in zip(self.exercise.host_ports, ports, strict=False)
            },
        }
        space = RunSpace(spare_port=ports[-1])
        try:
            with reference_solution(
                self.exercise,
                engine=self.engine,
                project=project,
                images=self.images,
                param_overrides=overrides,
                host=self.host,
                labels={defaults.LABEL_ROLE: "selftest"},
                change=lambda model: change(model, space),
                steps=steps,
                tolerate_failures=kind != "reference",
                wait_s=defaults.SOLUTION_WAIT_S
                if kind == "reference"
                else defaults.SELFTEST_WAIT_S,
                probe_image=self.probe_image,
            ) as running:
                if inspect is not None:
                    inspect(project)
                result, error = self._grade(project, dict(running.param_overrides))
                return self._done(
                    MutantRun(
                        run_id, kind, operator, description, problems=running.problems,
                        expected=expected, equivalent=equivalent, error=error,
                    ),
                    result,
                )  # fmt: skip
        except GraderError as exc:
            return self._done(
                MutantRun(
                    run_id, kind, operator, description, expected=expected,
                    equivalent=equivalent, error=exc.text,
                ),
                None,
            )  # fmt: skip
        finally:
            self._give_back(ports)

    def _grade(
        self, project: str, overrides: dict[str, str]
    ) -> tuple[GradeResult | None, Text | None]:
        if self.graders is None:
            raise RuntimeError("the selftest's graders are not started")
        request = GradeRequest(
            self.exercise, student="selftest", run_id=project, project=project,
            strict_project=True, probe_image=self.probe_image, param_overrides=overrides,
        )  # fmt: skip
        job = GradingJob(request, self.host)
        try:
            return self.graders.grade(job, defaults.BATCH_GRADE_TIMEOUT_S), None
        except GradingTimedOut:
            return None, Text(fr="correction trop longue", en="grading timed out")
        except GradingFailed as exc:
            return None, exc.text

    def _done(self, run: MutantRun, result: GradeResult | None) -> MutantRun:
        if result is not None:
            run = MutantRun(
                run.id, run.kind, run.operator, run.description,
                statuses={c.check_id: c.status for c in result.sheet.checks},
                score=float(result.score), max_score=float(result.max_score),
                problems=run.problems, expected=run.expected, equivalent=run.equivalent,
                error=run.error,
            )  # fmt: skip
        if self.on_run is not None:
            self.on_run(run)
        return run

    def _project(self) -> str:
        with self._lock:
            self._count += 1
            return f"{defaults.PROJECT_PREFIX}st{self._id}-{self._count}"

    def _take_ports(self) -> list[int]:
        needed = len(self.exercise.host_ports) + 1  # and a spare one, for move-port
        with self._lock:
            taken, self._ports = self._ports[:needed], self._ports[needed:]
        return taken

    def _give_back(self, ports: list[int]) -> None:
        with self._lock:
            self._ports += ports
