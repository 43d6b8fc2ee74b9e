"""Benchmark: how long `grade selftest` takes on each shipped exercise, with stand-ins.

Runs the whole command (Python start-up, stand-in builds, every mutant) once per exercise and
``--jobs`` value, and prints the wall time with the run's counts (setups, mutants killed,
equivalent). Absolute times are this machine's (2 cores); the ratio between ``--jobs`` values
is the figure that carries over.

    python bench/bench_selftest.py [--jobs 1 4] [--json out.json] [--swarm]

Swarm labs (tp-overlay) make the engine a swarm manager for their run: they are left out
unless ``--swarm`` says the engine (``DOCKER_HOST``) may become one, never the shared engine
of a machine others use.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import docker

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from grader.exercise.catalog import available, find  # noqa: E402
from tests.support.images import BUSYBOX, suite_images  # noqa: E402


def selftest(exercise: str, jobs: int) -> dict[str, object]:
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "grader", "selftest", exercise, "--stand-ins", "--json", "-",
         "--probe-image", BUSYBOX, "--jobs", str(jobs)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    wall = time.perf_counter() - started
    report = json.loads(done.stdout)
    if done.returncode != 0:
        raise SystemExit(f"selftest {exercise} failed:\n{done.stderr[-2000:]}")
    generated = report["generated"]
    return {
        "exercise": exercise,
        "jobs": jobs,
        "wall_s": round(wall, 1),
        "setups": 2 + report["declared"]["total"] + generated["total"],
        "declared": report["declared"]["total"],
        "generated": generated["total"],
        "killed": generated["killed"],
        "equivalent": generated["equivalent"],
    }


def _on_a_swarm(exercise: str) -> bool:
    solution = find(exercise).solution
    return solution is not None and solution.stack


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, nargs="+", default=[4])
    parser.add_argument("--json", type=Path)
    parser.add_argument("--swarm", action="store_true", help="also the swarm labs")
    args = parser.parse_args()
    labs = [lab for lab in available() if args.swarm or not _on_a_swarm(lab)]
    with suite_images(docker.from_env()):
        rows = [selftest(exercise, jobs) for exercise in labs for jobs in args.jobs]
    print(f"{'exercise':<12} {'jobs':>4} {'wall (s)':>9} {'setups':>7} {'killed':>7} {'equiv':>6}")
    for row in rows:
        print(
            f"{row['exercise']:<12} {row['jobs']:>4} {row['wall_s']:>9.1f} {row['setups']:>7} "
            f"{row['killed']:>7} {row['equivalent']:>6}"
        )
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2) + "\n")


if __name__ == "__main__":
    main()
