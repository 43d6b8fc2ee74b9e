"""Benchmark: the class server under a class's load.

300 simulated students each push a real-sized tp-reseau report (~3.7 KiB, as ``grade check``
writes it, one or two failures with their messages) every 10 s for 60 s, after a first,
unmeasured round (``--warmup``: threads and caches of both sides start; its p99 is shown
apart), each push on a
connection of its own as the student's client makes it, to a real ``grade serve`` (its own
process, Uvicorn), while the teacher's page listens to the live stream. Once on SQLite, once on
PostgreSQL (``TPG_TEST_POSTGRES_DSN``, as ``.ci/postgres-cluster start`` prints it). Measured:

- ingest latency (request sent -> 2xx read), p50 and p99;
- push-to-page latency (request sent -> its Server-Sent Event read by the listener), p50, p99;
- reports lost: answered 2xx but absent from the export or from the stream, or never answered
  2xx (must be 0);
- the server process's CPU (share of one core over the run) and peak memory (VmHWM).

The load generator runs on the same machine (2 cores here): its own CPU is the server's
competition, as on a teacher's laptop.

    python bench/bench_serve.py [--students 300] [--every 10] [--duration 60]
                                [--backends sqlite postgresql] [--json out.json]
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import random
import socket
import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.class_server import (  # noqa: E402
    database_url,
    login,
    make_class,
    report,
    running_server,
)
from tests.support.class_server import http as get  # noqa: E402

MESSAGES = {
    "redis-attache": "container 'redis' is not attached to network 'moby-network' "
    "(its networks: bridge)",
    "dns-redis": "127.0.0.11 in moby-counter does not answer 'redis' (NXDOMAIN); "
    "redis's moby-network address is 172.18.0.3",
    "port-publie": "GET http://127.0.0.1:8000/ on the Docker Engine's host answers 404, not 200",
    "isolation": "from moby-counter2, 'redis' answers 172.18.0.3, an address of the first redis",
}


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else float("nan")


class Listener(threading.Thread):
    """The teacher's page: reads the live stream, notes when each attempt's event arrives."""

    def __init__(self, url: str, cookie: str) -> None:
        super().__init__(daemon=True)
        host, port = url.removeprefix("http://").split(":")
        self.sock = socket.create_connection((host, int(port)), timeout=None)
        self.sock.sendall(
            f"GET /api/events HTTP/1.1\r\nHost: x\r\nCookie: {cookie}\r\n\r\n".encode()
        )
        self.seen: dict[int, float] = {}
        self.ready = threading.Event()

    def run(self) -> None:
        buffer = b""
        with contextlib.suppress(OSError):
            while chunk := self.sock.recv(1 << 16):
                now = time.monotonic()
                buffer += chunk
                *blocks, buffer = buffer.split(b"\n\n")
                for block in blocks:
                    if b"event: hello" in block:
                        self.ready.set()
                    for line in block.split(b"\n"):
                        if line.startswith(b"id: "):
                            self.seen.setdefault(int(line[4:]), now)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)
        self.sock.close()


def process_figures(pid: int) -> tuple[float, int]:
    """CPU seconds used so far (user + system), and peak resident memory in bytes."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    cpu = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    peak = 0
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            peak = int(line.split()[1]) * 1024
    return cpu, peak


def reports_for(
    plan: list[tuple[float, str]], rng: random.Random
) -> dict[tuple[float, str], bytes]:
    """Each push's report: a real report (0 to 2 failures, their messages) under the student's
    id, each a grading of its own (its own start time)."""
    shapes = [
        report("template", dict(pair)) for pair in ([], *([(c, m)] for c, m in MESSAGES.items()))
    ]
    shapes += [
        report("template", {c: MESSAGES[c] for c in rng.sample(list(MESSAGES), 2)})
        for _ in range(4)
    ]
    bodies = {}
    for number, (when, who) in enumerate(plan):
        started = (
            f"2026-01-05T{9 + number // 3600:02d}:{number // 60 % 60:02d}:{number % 60:02d}+00:00"
        )
        body = rng.choice(shapes) | {"student": who, "started_at": started}
        bodies[(when, who)] = json.dumps(body).encode()
    return bodies


def drive(
    host: str,
    port: int,
    tokens: dict[str, str],
    plan: list[tuple[float, str]],
    bodies: dict[tuple[float, str], bytes],
    begun: float,
    warmup: float,
) -> tuple[dict[int, float], list[float], list[float], list[str]]:
    """Each push at its time, on a connection of its own: the stored ids with their send
    times, the ingest latencies (after ``warmup`` seconds, and before), the failures."""
    sent: dict[int, float] = {}
    latencies: list[float] = []
    cold: list[float] = []
    failures: list[str] = []
    lock = threading.Lock()

    def one(when: float, who: str) -> None:
        connection = http.client.HTTPConnection(host, port, timeout=30)
        started = time.monotonic()
        try:
            connection.request(
                "POST", "/api/reports", body=bodies[(when, who)],
                headers={"Authorization": f"Bearer {tokens[who]}",
                         "Content-Type": "application/json"},
            )  # fmt: skip
            answer = connection.getresponse()
            data = answer.read()
            took = time.monotonic() - started
        except OSError as exc:
            with lock:
                failures.append(f"{who}: {exc}")
            return
        finally:
            connection.close()
        with lock:
            if answer.status == 201:
                sent[json.loads(data)["id"]] = started
                if when >= warmup:
                    latencies.append(took)
                else:
                    cold.append(took)
            else:
                failures.append(f"{who}: {answer.status} {data[:100]!r}")

    with ThreadPoolExecutor(64) as pool:
        futures = []
        for when, who in plan:
            delay = begun + when - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            futures.append(pool.submit(one, when, who))
        for future in futures:
            future.result()  # a bug of the bench shows, never hides as "0 lost"
    return sent, latencies, cold, failures


def run_backend(
    backend: str, students: int, every: float, duration: float, warmup: float
) -> dict[str, object]:
    with (
        tempfile.TemporaryDirectory() as folder,
        database_url(backend, Path(folder)) as url,
    ):
        names = [f"s{n:03d}" for n in range(students)]
        room = make_class(url, students=names, name=f"bench {backend}")
        rng = random.Random(16)
        with running_server(url) as server:
            assert server.process is not None
            pid = server.process.pid
            cookie = login(server.url, room.teacher)
            listener = Listener(server.url, cookie)
            listener.start()
            listener.ready.wait(10)
            host, port = server.url.removeprefix("http://").split(":")
            rounds = int((warmup + duration) / every)
            # Each student pushes at their own offset within the period, every period.
            plan = sorted(
                (k * every + n * every / students, names[n])
                for n in range(students)
                for k in range(rounds)
            )
            bodies = reports_for(plan, rng)
            sizes = [len(body) for body in bodies.values()]
            cpu_before, _ = process_figures(pid)
            begun = time.monotonic()
            sent, latencies, cold, failures = drive(
                host, int(port), room.tokens, plan, bodies, begun, warmup
            )
            wall = time.monotonic() - begun
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and not set(sent) <= set(listener.seen):
                time.sleep(0.05)
            cpu_after, peak = process_figures(pid)
            listener.close()
            exported = get(f"{server.url}/export/attempts.json", token=room.teacher, timeout_s=120)
            stored = {item["id"] for item in exported.body["attempts"]}
        measured = {i for i, started in sent.items() if started - begun >= warmup}
        page = [listener.seen[i] - sent[i] for i in measured if i in listener.seen]
        lost = len(failures) + len(set(sent) - stored) + len(set(sent) - set(listener.seen))
        return {
            "backend": backend,
            "students": students,
            "pushes": len(plan),
            "report_bytes": round(statistics.median(sizes)),
            "cold_ingest_p99_ms": round(percentile(cold, 0.99) * 1000, 1),
            "ingest_p50_ms": round(percentile(latencies, 0.50) * 1000, 1),
            "ingest_p99_ms": round(percentile(latencies, 0.99) * 1000, 1),
            "page_p50_ms": round(percentile(page, 0.50) * 1000, 1),
            "page_p99_ms": round(percentile(page, 0.99) * 1000, 1),
            "lost": lost,
            "failures": failures[:5],
            "server_cpu_percent": round(100 * (cpu_after - cpu_before) / wall, 1),
            "server_peak_mib": round(peak / (1 << 20), 1),
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=300)
    parser.add_argument("--every", type=float, default=10.0)
    parser.add_argument("--duration", type=float, default=60.0)
    parser.add_argument(
        "--warmup", type=float, default=10.0, help="an unmeasured first round (seconds)"
    )
    parser.add_argument("--backends", nargs="+", default=["sqlite", "postgresql"])
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    rows = [
        run_backend(b, args.students, args.every, args.duration, args.warmup) for b in args.backends
    ]
    print(
        "| database | pushes | ingest p50 | ingest p99 | push-to-page p50 | push-to-page p99 "
        "| lost | server CPU | server peak memory | ingest p99, warm-up round |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for row in rows:
        print(
            f"| {row['backend']} | {row['pushes']} | {row['ingest_p50_ms']} ms "
            f"| {row['ingest_p99_ms']} ms | {row['page_p50_ms']} ms | {row['page_p99_ms']} ms "
            f"| {row['lost']} | {row['server_cpu_percent']} % of a core "
            f"| {row['server_peak_mib']} MiB | {row['cold_ingest_p99_ms']} ms |"
        )
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2) + "\n")
    if any(row["lost"] for row in rows):
        sys.exit(1)


if __name__ == "__main__":
    main()
