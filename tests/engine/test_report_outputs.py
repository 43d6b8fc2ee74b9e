"""Reports on standard output and into what is not a regular file, from the real command line
(``python -m grader`` in a subprocess) grading the real engine with nothing set up (0/20,
exit 1): what a CI author pipes into another tool.

The machine's ``/dev/stdout`` is never named: its stand-ins are a link to
``/proc/self/fd/1`` (what ``/dev/stdout`` is) and a link to a FIFO the test reads.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from grader import defaults
from tests.support.fifo import fifo_reader
from tests.support.reports import assert_valid_junit, junit_counts

GRADE = [sys.executable, "-m", "grader", "check", "tp-reseau", "--lang", "en"]
TIMEOUT_S = 120


@pytest.fixture(autouse=True)
def _probe_image(busybox: str) -> None:
    """The subprocesses inherit the suite's probe image; it must exist."""


def environment() -> dict[str, str]:
    """This process's environment (the suite's probe image) without GitHub's step summary,
    which would add a Markdown file to every run."""
    return {k: v for k, v in os.environ.items() if k != "GITHUB_STEP_SUMMARY"}


def grade(*options: str, cwd: Path) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [*GRADE, *options], cwd=cwd, env=environment(), capture_output=True,
        timeout=TIMEOUT_S, check=False, umask=0o022,
    )  # fmt: skip


def assert_nothing_set_up(report: dict[str, Any]) -> None:
    __tracebackhide__ = True
    assert report["schema"] == defaults.REPORT_SCHEMA
    assert (report["exercise"], report["score"], report["max_score"]) == ("tp-reseau", 0, 20)
    assert len(report["checks"]) == 12


def test_json_to_stdout_piped_into_json_tool(tmp_path: Path) -> None:
    """``grade check tp-reseau --json - --quiet | python -m json.tool``."""
    producer = subprocess.Popen(
        [*GRADE, "--json", "-", "--quiet"], cwd=tmp_path, env=environment(),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        assert producer.stdout is not None
        consumer = subprocess.run(
            [sys.executable, "-m", "json.tool"], stdin=producer.stdout,
            capture_output=True, timeout=TIMEOUT_S, check=False,
        )  # fmt: skip
        producer.stdout.close()  # json.tool holds the read end now
        producer.wait(timeout=TIMEOUT_S)
    finally:
        producer.kill()
        producer.wait()
        assert producer.stderr is not None
        producer.stderr.close()

    assert consumer.returncode == 0, consumer.stderr
    assert producer.returncode == 1
    assert_nothing_set_up(json.loads(consumer.stdout))
    assert list(tmp_path.iterdir()) == []  # no file named "-"


def test_with_a_report_on_stdout_the_terminal_report_goes_to_stderr(tmp_path: Path) -> None:
    done = grade("--json", "-", "--junit", "junit.xml", cwd=tmp_path)

    assert done.returncode == 1, done.stderr
    assert_nothing_set_up(json.loads(done.stdout))  # stdout is exactly the document
    assert "Total: 0/20" in done.stderr.decode()
    counts = junit_counts(assert_valid_junit(tmp_path / "junit.xml"))
    assert counts["tests"] == 12
    assert stat.S_IMODE((tmp_path / "junit.xml").stat().st_mode) == 0o644


def test_summary_md_dash_prints_the_table(tmp_path: Path) -> None:
    done = grade("--summary-md", "-", "--quiet", cwd=tmp_path)

    assert done.returncode == 1
    lines = done.stdout.decode().splitlines()
    assert lines[0].startswith("### ")
    assert lines[0].endswith("— 0/20")
    assert sum(line.startswith("| ") for line in lines) == 13
    assert list(tmp_path.iterdir()) == []


def test_junit_into_a_link_to_proc_self_fd_1(tmp_path: Path) -> None:
    """``--junit /dev/stdout``: the XML, and only it, arrives on stdout (the terminal report
    goes to stderr, as with ``-``), and the link stays a link."""
    stdout = tmp_path / "stdout"
    stdout.symlink_to("/proc/self/fd/1")

    done = grade("--junit", str(stdout), cwd=tmp_path)

    assert done.returncode == 1, done.stderr
    (tmp_path / "received.xml").write_bytes(done.stdout)
    assert junit_counts(assert_valid_junit(tmp_path / "received.xml"))["tests"] == 12
    assert "Total: 0/20" in done.stderr.decode()
    assert os.readlink(stdout) == "/proc/self/fd/1"


@pytest.mark.parametrize("through_link", [True, False], ids=["link-to-fifo", "fifo"])
def test_report_into_a_fifo(tmp_path: Path, through_link: bool) -> None:
    """``--junit /dev/stdout`` when stdout is a pipe, and ``--json FIFO``: written in place."""
    fifo = tmp_path / "pipe"
    path = tmp_path / "stdout" if through_link else fifo
    option = "--junit" if through_link else "--json"
    with fifo_reader(fifo) as reader:
        if through_link:
            path.symlink_to(fifo.name)
        producer = subprocess.Popen(
            [*GRADE, option, str(path), "--quiet"], cwd=tmp_path, env=environment(),
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )  # fmt: skip
        try:
            received = reader.read_all(timeout_s=TIMEOUT_S)
            _, stderr = producer.communicate(timeout=TIMEOUT_S)
        finally:
            if producer.poll() is None:  # the reader gave up: do not leave the writer behind
                producer.kill()
                producer.communicate()

    assert producer.returncode == 1, stderr
    if through_link:
        (tmp_path / "received.xml").write_bytes(received)
        assert junit_counts(assert_valid_junit(tmp_path / "received.xml"))["tests"] == 12
        assert os.readlink(path) == fifo.name
    else:
        assert_nothing_set_up(json.loads(received))
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)


def test_a_link_to_a_regular_report_stays_a_link(tmp_path: Path) -> None:
    (tmp_path / "artifacts").mkdir()
    target = tmp_path / "artifacts" / "report.json"
    target.write_text("{}")
    link = tmp_path / "report.json"
    link.symlink_to("artifacts/report.json")

    done = grade("--json", str(link), "--quiet", cwd=tmp_path)

    assert done.returncode == 1, done.stderr
    assert os.readlink(link) == "artifacts/report.json"
    assert_nothing_set_up(json.loads(target.read_text()))
    assert stat.S_IMODE(target.stat().st_mode) == 0o644
