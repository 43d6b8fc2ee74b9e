"""Benchmark: batch grading throughput.

Generates N tp-reseau submissions (the reference solution and single-mistake variants, with the
stand-in images), replays them with ``--jobs 1`` and ``--jobs 4`` on this machine's engine, and
prints the throughput of each, their ratio (goal: >= 2), and the time per submission the harness
adds beyond ``compose up`` + ``compose down`` (goal: at most one self-check's time, which
``bench_check.py`` measures; the median of a ``grade check`` run is printed for comparison).

    python bench/bench_batch.py [--submissions 20] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import docker
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from grader.batch.run import EngineTarget, replay_batch  # noqa: E402
from grader.batch.submissions import find_submissions  # noqa: E402
from grader.engine.connection import connect  # noqa: E402
from grader.exercise.catalog import find  # noqa: E402
from grader.setup.stand_ins import build_stand_ins  # noqa: E402
from tests.engine.test_batch import CLASS, make_class  # noqa: E402
from tests.engine.test_tp_reseau import build_reseau  # noqa: E402
from tests.support.images import BUSYBOX, build_busybox  # noqa: E402
from tests.support.lab import lab_builder  # noqa: E402

VARIANTS = ["perfect", "no-alias", "wrong-port", "fixed-names", "same-port-a"]


def self_check_seconds(images: dict[str, str], runs: int = 5) -> float:
    """Median wall time of `grade check tp-reseau` on the reference (as bench_check.py)."""
    times = []
    with lab_builder(docker.from_env()) as lab:
        build_reseau(lab, images)
        for _ in range(runs):
            started = time.perf_counter()
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "grader",
                    "check",
                    "tp-reseau",
                    "--quiet",
                    "--probe-image",
                    BUSYBOX,
                ],
                check=False,
            )
            times.append(time.perf_counter() - started)
    return statistics.median(times)


def run(jobs: int, count: int, images: dict[str, str]) -> dict[str, float]:
    exercise = find("tp-reseau")
    engine = connect()
    with tempfile.TemporaryDirectory() as work:
        students = {f"student-{i:02d}": VARIANTS[i % len(VARIANTS)] for i in range(count)}
        root = make_class(Path(work) / "class", exercise, images, students)
        for compose_file in root.glob("*/compose.yaml"):
            # The lab's real images (redis:alpine, moby-counter) have no health check; the
            # stand-ins' 500 ms ones would cost an exec per container twice a second.
            model = yaml.safe_load(compose_file.read_text())
            for service in model["services"].values():
                service["healthcheck"] = {"disable": True}
            compose_file.write_text(yaml.safe_dump(model))
        started = time.perf_counter()
        report = replay_batch(
            exercise, find_submissions(root), targets=[EngineTarget(engine)],
            out_dir=Path(work) / "out", jobs=jobs, lang="en",
            probe_image=BUSYBOX,
        )  # fmt: skip
        wall = time.perf_counter() - started
    engine.close()
    wrong = [r.student for r in report.results if r.status.value != "graded"]
    if wrong:
        raise SystemExit(f"submissions not graded: {wrong}")
    expected = {student: CLASS[variant][2] for student, variant in students.items()}
    if {r.student: r.score for r in report.results} != expected:
        raise SystemExit("scores differ from the expected ones")
    overheads = [(t["end"] - t["start"]) - t["up"] - t["down"] for t in report.timings.values()]
    return {
        "jobs": jobs,
        "wall_s": round(wall, 2),
        "per_minute": round(60 * count / wall, 2),
        "overhead_median_s": round(statistics.median(overheads), 3),
        "compose_up_median_s": round(
            statistics.median(t["up"] for t in report.timings.values()), 3
        ),
        "compose_down_median_s": round(
            statistics.median(t["down"] for t in report.timings.values()), 3
        ),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--submissions", type=int, default=20)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    build_busybox(docker.from_env())
    engine = connect()
    images = build_stand_ins(find("tp-reseau"), engine, BUSYBOX)
    engine.close()
    one = run(1, args.submissions, images)
    four = run(4, args.submissions, images)
    check = self_check_seconds(images)
    ratio = four["per_minute"] / one["per_minute"]
    heading = ("jobs", "wall (s)", "per min", "up (s)", "down (s)", "harness (s)")
    print("{:>4} {:>9} {:>8} {:>7} {:>8} {:>11}".format(*heading))
    for r in (one, four):
        print(
            f"{r['jobs']:>4} {r['wall_s']:>9.1f} {r['per_minute']:>8.1f} "
            f"{r['compose_up_median_s']:>7.2f} {r['compose_down_median_s']:>8.2f} "
            f"{r['overhead_median_s']:>11.2f}"
        )
    print(f"throughput --jobs 4 / --jobs 1: {ratio:.2f} (goal >= 2)")
    harness = (one["overhead_median_s"], four["overhead_median_s"])
    print(
        f"one self-check (grade check, median): {check:.2f} s; harness per submission: "
        f"{harness[0]:.2f} s at --jobs 1, {harness[1]:.2f} s at --jobs 4"
    )
    if args.json:
        args.json.write_text(
            json.dumps(
                {"jobs1": one, "jobs4": four, "ratio": ratio, "self_check_s": check}, indent=2
            )
            + "\n"
        )


if __name__ == "__main__":
    main()
