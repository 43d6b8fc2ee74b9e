"""Benchmark: batch grading throughput.

Generates N tp-reseau submissions (the reference solution and single-mistake variants, with the
stand-in images) and replays them, in one run:

- ``--jobs 1`` on this machine's engine (the baseline);
- ``--jobs 4`` on it;
- ``--jobs 2`` on each of two engines: this one and a second one in a network namespace of its
  own (as tests/support/second_engine.py starts it, as root);
- ``--jobs 4`` on this machine's engine again, beside a CPU hog (one spinning process per
  core): a correct setup must score full marks however busy the machine.

Every row counts its wrong verdicts (a score other than the one the submission's variant
deserves): they must be 0.

It prints each one's throughput and their ratios to the baseline, and the time per submission
the harness adds beyond ``compose up`` + ``compose down`` (against one self-check's time, the
median of a ``grade check`` run).

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
from typing import Any

import docker
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from grader.batch.replay import EngineTarget  # noqa: E402
from grader.batch.run import replay_batch  # noqa: E402
from grader.batch.submissions import find_submissions  # noqa: E402
from grader.engine.connection import connect  # noqa: E402
from grader.exercise.catalog import find  # noqa: E402
from grader.setup.stand_ins import build_stand_ins  # noqa: E402
from tests.engine.test_batch import CLASS, make_class  # noqa: E402
from tests.engine.test_tp_reseau import build_reseau  # noqa: E402
from tests.support.cpu_hog import cpu_hog  # noqa: E402
from tests.support.images import BUSYBOX, suite_images  # noqa: E402
from tests.support.lab import lab_builder  # noqa: E402
from tests.support.second_engine import second_engine  # noqa: E402

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


def run(jobs: int, count: int, images: dict[str, str], urls: list[str]) -> dict[str, Any]:
    exercise = find("tp-reseau")
    targets = [EngineTarget(connect(url), url) for url in urls]
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
            exercise, find_submissions(root), targets=targets,
            out_dir=Path(work) / "out", jobs=jobs, lang="en", probe_image=BUSYBOX,
        )  # fmt: skip
        wall = time.perf_counter() - started
    for target in targets:
        target.engine.close()
    expected = {student: CLASS[variant][2] for student, variant in students.items()}
    wrong = sorted(
        r.student
        for r in report.results
        if r.status.value != "graded" or r.score != expected[r.student]
    )
    overheads = [(t["end"] - t["start"]) - t["up"] - t["down"] for t in report.timings.values()]
    return {
        "engines": len(urls),
        "jobs": jobs,
        "wrong_verdicts": len(wrong),
        "wrong": wrong,
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
    client = docker.from_env()
    with suite_images(client):
        engine = connect()
        here = engine.info.endpoint
        images = build_stand_ins(find("tp-reseau"), engine, BUSYBOX)
        engine.close()
        one = run(1, args.submissions, images, [here])
        four = run(4, args.submissions, images, [here])
        with second_engine(client, [BUSYBOX, *images.values()]) as other:
            two_by_two = run(2, args.submissions, images, [here, other])
        with cpu_hog():
            hogged = run(4, args.submissions, images, [here])
        check = self_check_seconds(images)
    heading = ("row", "wall (s)", "per min", "ratio", "up (s)", "down (s)", "harness", "wrong")
    print("{:>22} {:>9} {:>8} {:>6} {:>7} {:>8} {:>8} {:>6}".format(*heading))
    rows = {
        "--jobs 1": one,
        "--jobs 4": four,
        "--jobs 2 x two engines": two_by_two,
        "--jobs 4 + CPU hog": hogged,
    }
    for name, r in rows.items():
        ratio = r["per_minute"] / one["per_minute"]
        print(
            f"{name:>22} {r['wall_s']:>9.1f} {r['per_minute']:>8.1f} {ratio:>6.2f} "
            f"{r['compose_up_median_s']:>7.2f} {r['compose_down_median_s']:>8.2f} "
            f"{r['overhead_median_s']:>8.2f} {r['wrong_verdicts']:>6}"
        )
    print(
        f"one self-check (grade check, median): {check:.2f} s; harness per submission: "
        f"{one['overhead_median_s']:.2f} s at --jobs 1 on one engine"
    )
    if args.json:
        figures = {
            "jobs1": one,
            "jobs4": four,
            "two_engines_jobs2": two_by_two,
            "jobs4_cpu_hog": hogged,
            "ratio_jobs4": four["per_minute"] / one["per_minute"],
            "ratio_two_engines": two_by_two["per_minute"] / one["per_minute"],
            "self_check_s": check,
        }
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
    if any(r["wrong_verdicts"] for r in rows.values()):
        raise SystemExit(
            f"wrong verdicts: { {n: r['wrong'] for n, r in rows.items() if r['wrong']} }"
        )


if __name__ == "__main__":
    main()
