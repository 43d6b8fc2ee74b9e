"""Benchmark: a full self-check (`grade check EXERCISE`) against a plain docker-CLI checker.

Sets up the exercise's reference the way the prompt does (stand-in images, the same code as
the tests), then times, alternately, N runs of the whole `grade check` command (Python start-up
included) and N runs of `bench/shell-checkers/EXERCISE.sh`, a hand-written checker making the
same observations with one docker command and one throwaway probe each. Prints medians and the
ratio grade/shell (goal: <= 1.0); both must report full marks, or the timing means nothing.

    python bench/bench_check.py [tp-reseau ...] [--runs 7] [--json out.json]

tp-overlay is measured only when named, on an engine that may become a swarm manager (one of
your own, through ``DOCKER_HOST``): its reference runs on a single-node swarm, made for the
run when the engine is in none, and left afterwards.
"""

from __future__ import annotations

import argparse
import compileall
import contextlib
import json
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import docker

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from grader.engine.connection import connect  # noqa: E402
from grader.exercise.catalog import find  # noqa: E402
from grader.setup.solution import reference_solution  # noqa: E402
from grader.setup.stand_ins import build_stand_ins  # noqa: E402
from tests.support.images import build_busybox, suite_images  # noqa: E402
from tests.support.lab import LabBuilder, lab_builder  # noqa: E402
from tests.support.swarm_lab import overlay_reference  # noqa: E402

Builder = Callable[[LabBuilder, dict[str, str], Path], dict[str, str]]


def reference_builders() -> dict[str, Builder]:
    """Per exercise, the tests' reference setup; each returns the parameters to grade with."""
    from tests.engine.test_tp_reseau import build_reseau
    from tests.engine.test_tp_volumes import build_volumes

    def reseau(lab: LabBuilder, images: dict[str, str], host_root: Path) -> dict[str, str]:
        build_reseau(lab, images)
        return {}

    def volumes(lab: LabBuilder, images: dict[str, str], host_root: Path) -> dict[str, str]:
        return build_volumes(lab, images, host_root=host_root)

    return {"tp-reseau": reseau, "tp-volumes": volumes}


def byte_compile() -> None:
    """Compile tp-grader's modules and the labs' checks, as ``pip install`` does: `grade`
    runs from an installed package with its bytecode. A checkout run where Python may not write
    bytecode (``PYTHONDONTWRITEBYTECODE``, a read-only tree) would otherwise compile every
    module on every run, which no student's installation does (a tenth of a second here)."""
    for folder in ("grader", "exercises"):
        compileall.compile_dir(ROOT / folder, quiet=1)


def timed(argv: list[str]) -> tuple[float, str]:
    started = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, text=True, check=False, cwd=ROOT)
    return time.perf_counter() - started, done.stdout + done.stderr


def score_of(output: str) -> str:
    found = re.findall(r"(\d+(?:\.\d+)?)/(\d+)", output)
    return "/".join(found[-1]) if found else "?"


def bench(exercise_id: str, runs: int) -> dict[str, object]:
    exercise = find(exercise_id)
    client = docker.from_env()
    probe = build_busybox(client)
    engine = connect()
    images = build_stand_ins(exercise, engine, probe)
    grade_times: list[float] = []
    shell_times: list[float] = []
    with (
        lab_builder(client) as lab,
        tempfile.TemporaryDirectory(dir="/tmp") as host_root,
        contextlib.ExitStack() as stack,
    ):
        project: str | None = None
        if exercise_id == "tp-overlay":  # services, not containers: a builder of its own
            params = stack.enter_context(overlay_reference(client, images))
        elif exercise_id == "tp-compose":  # a Compose project: its reference solution, built
            project = "tpgbench-compose"
            stack.enter_context(
                reference_solution(exercise, engine=engine, project=project, images=images)
            )
            params = {}
        else:
            params = reference_builders()[exercise_id](lab, images, Path(host_root))
        grade_argv = [sys.executable, "-m", "grader", "check", exercise_id, "--lang", "en"]
        grade_argv += ["--probe-image", probe, *(["--project", project] if project else [])]
        grade_argv += [
            arg for key, value in params.items() for arg in ("--param", f"{key}={value}")
        ]
        shell_argv = [
            "env",
            f"PROBE={probe}",
            *(f"{key.upper()}={value}" for key, value in params.items()),
            *([f"PROJECT={project}"] if project else []),
        ]
        shell_argv += ["bash", str(ROOT / "bench" / "shell-checkers" / f"{exercise_id}.sh")]
        for argv in (grade_argv, shell_argv):  # warm both (page cache, image layers)
            _, output = timed(argv)
            full = f"{exercise.rubric.max_score:g}/{exercise.rubric.max_score:g}"
            if score_of(output) != full:
                raise SystemExit(f"{argv[-1]} did not give {full} on the reference:\n{output}")
        for _ in range(runs):
            grade_times.append(timed(grade_argv)[0])
            shell_times.append(timed(shell_argv)[0])
    engine.close()
    grade_median = statistics.median(grade_times)
    shell_median = statistics.median(shell_times)
    return {
        "exercise": exercise_id,
        "runs": runs,
        "grade_median_s": round(grade_median, 3),
        "shell_median_s": round(shell_median, 3),
        "ratio": round(grade_median / shell_median, 3),
        "grade_s": [round(t, 3) for t in grade_times],
        "shell_s": [round(t, 3) for t in shell_times],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("exercises", nargs="*", default=[*reference_builders(), "tp-compose"])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    byte_compile()
    with suite_images(docker.from_env()):
        results = [bench(exercise_id, args.runs) for exercise_id in args.exercises]
    print(f"{'exercise':<12} {'grade (s)':>10} {'shell (s)':>10} {'ratio':>7}  runs")
    for r in results:
        print(
            f"{r['exercise']:<12} {r['grade_median_s']:>10.3f} {r['shell_median_s']:>10.3f} "
            f"{r['ratio']:>7.2f}  {r['runs']}"
        )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
