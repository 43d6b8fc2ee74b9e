"""Where reports go (grader.report.files): ``-`` is standard output; a regular file is replaced
atomically with the usual permissions; a link stays a link; a FIFO, a device or a descriptor
(``/dev/stdout``) is written in place and never replaced; the check before grading agrees with
all that and creates nothing.

Everything here happens under the test's own folder: the machine's ``/dev/stdout`` and
``/dev/null`` are never written to; stand-ins of them (a link into ``/proc/self/fd``, a FIFO,
a device node made here) take their place."""

from __future__ import annotations

import errno
import os
import select
import socket
import stat
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from grader.report import files
from grader.report.files import (
    STDOUT,
    as_target,
    check_reports,
    check_writable,
    goes_to_stdout,
    write_report,
)
from tests.support.fifo import fifo_reader

REPORT = '{"score": 20}\n'


def snapshot(folder: Path) -> dict[str, tuple[int, int, int]]:
    """Every name under ``folder`` with its kind, inode and modification time (links not
    followed): equal snapshots mean nothing was created, removed or replaced."""
    found = {}
    for root, dirs, names in os.walk(folder):
        for name in [*dirs, *names]:
            path = Path(root) / name
            info = os.lstat(path)
            found[str(path.relative_to(folder))] = (info.st_mode, info.st_ino, info.st_mtime_ns)
    return found


@pytest.fixture
def umask() -> Iterator[Callable[[int], None]]:
    previous = os.umask(0o022)
    yield os.umask
    os.umask(previous)


@pytest.fixture
def pipe() -> Iterator[tuple[int, int]]:
    read_end, write_end = os.pipe()
    yield read_end, write_end
    for descriptor in (read_end, write_end):
        os.close(descriptor)


# -- regular files -----------------------------------------------------------------------------
@pytest.mark.parametrize(("mask", "mode"), [(0o022, 0o644), (0o002, 0o664), (0o077, 0o600)])
def test_a_new_report_gets_the_usual_permissions(
    tmp_path: Path, umask: Callable[[int], None], mask: int, mode: int
) -> None:
    umask(mask)
    fresh, replaced = tmp_path / "new" / "r.json", tmp_path / "old.json"
    replaced.write_text("old")
    replaced.chmod(0o600)

    write_report(fresh, REPORT)
    write_report(replaced, REPORT)

    assert stat.S_IMODE(fresh.stat().st_mode) == mode
    assert stat.S_IMODE(replaced.stat().st_mode) == mode
    assert fresh.read_text() == replaced.read_text() == REPORT


def test_a_regular_file_is_replaced_whole(tmp_path: Path) -> None:
    path = tmp_path / "r.json"
    path.write_text("old")
    before = path.stat().st_ino

    write_report(path, REPORT)

    assert path.read_text() == REPORT
    assert path.stat().st_ino != before  # a new file renamed over the old one
    assert [p.name for p in tmp_path.iterdir()] == ["r.json"]  # no temporary file left


def test_an_interrupted_write_keeps_the_old_report(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "r.json"
    path.write_text("old")

    def interrupted(descriptor: int) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "fsync", interrupted)
    with pytest.raises(KeyboardInterrupt):
        write_report(path, REPORT)

    assert path.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["r.json"]


def test_a_bind_mounted_file_is_written_in_place(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Renaming over a file bind-mounted into a container fails with EBUSY (the image test
    does it for real); the report is then written into the file itself."""
    path = tmp_path / "r.json"
    path.write_text("old, and longer than the report: " + "x" * 100)
    inode = path.stat().st_ino

    def busy(source: str, destination: str) -> None:
        raise OSError(errno.EBUSY, os.strerror(errno.EBUSY), destination)

    monkeypatch.setattr(os, "replace", busy)
    write_report(path, REPORT)

    assert path.read_text() == REPORT
    assert path.stat().st_ino == inode
    assert [p.name for p in tmp_path.iterdir()] == ["r.json"]


def test_a_link_to_a_regular_file_stays_a_link(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    (tmp_path / "ci").mkdir()
    target = tmp_path / "real" / "r.json"
    target.write_text("old")
    link = tmp_path / "ci" / "r.json"
    link.symlink_to("../real/r.json")
    chained = tmp_path / "ci" / "again.json"
    chained.symlink_to("r.json")

    write_report(chained, REPORT)

    assert os.readlink(link) == "../real/r.json"
    assert os.readlink(chained) == "r.json"
    assert target.read_text() == REPORT
    assert sorted(p.name for p in (tmp_path / "real").iterdir()) == ["r.json"]


def test_dot_dot_in_a_link_is_resolved_as_the_kernel_does(tmp_path: Path) -> None:
    """``a/../r.json`` where ``a`` links to ``x/y`` is ``x/r.json``, not ``r.json``."""
    (tmp_path / "x" / "y").mkdir(parents=True)
    (tmp_path / "x" / "r.json").write_text("old")
    (tmp_path / "a").symlink_to("x/y")
    link = tmp_path / "link"
    link.symlink_to("a/../r.json")

    write_report(link, REPORT)

    assert (tmp_path / "x" / "r.json").read_text() == REPORT
    assert not (tmp_path / "r.json").exists()
    assert link.is_symlink()


def test_append_adds_to_a_file_and_through_a_link(tmp_path: Path) -> None:
    target = tmp_path / "summary.md"
    target.write_text("earlier step\n")
    link = tmp_path / "step-summary"
    link.symlink_to(target.name)

    write_report(link, "first\n", append=True)
    write_report(link, "second\n", append=True)

    assert link.is_symlink()
    assert target.read_text() == "earlier step\nfirst\nsecond\n"


# -- standard output -----------------------------------------------------------------------------
def test_dash_is_standard_output(capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    write_report(STDOUT, "héllo\n")
    write_report(STDOUT, "again\n", append=True)

    assert capsysbinary.readouterr().out == "héllo\nagain\n".encode()


def test_only_the_string_dash_is_standard_output(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)

    write_report(as_target("./-"), REPORT)

    assert as_target("-") == STDOUT
    assert (tmp_path / "-").read_text() == REPORT


# -- what is not a regular file: written in place, never replaced ------------------------------
def test_a_link_into_proc_self_fd_writes_to_that_descriptor(
    tmp_path: Path, pipe: tuple[int, int]
) -> None:
    """``/dev/stdout`` is a link to ``/proc/self/fd/1``: this is the same with a pipe of ours."""
    read_end, write_end = pipe
    link = tmp_path / "stdout"
    link.symlink_to(f"/proc/self/fd/{write_end}")

    write_report(link, REPORT)

    readable, _, _ = select.select([read_end], [], [], 10)
    assert readable, "nothing came through the descriptor"
    assert os.read(read_end, 65536) == REPORT.encode()
    assert os.readlink(link) == f"/proc/self/fd/{write_end}"


@pytest.mark.parametrize("through_link", [False, True])
def test_a_fifo_is_written_in_place(tmp_path: Path, through_link: bool) -> None:
    fifo = tmp_path / "pipe"
    path = tmp_path / "link" if through_link else fifo
    with fifo_reader(fifo) as reader, ThreadPoolExecutor(1) as pool:
        if through_link:
            path.symlink_to(fifo.name)
        writing = pool.submit(write_report, path, REPORT)
        received = reader.read_all()
        writing.result(timeout=30)

    assert received == REPORT.encode()
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    assert path.is_symlink() == through_link


@pytest.mark.skipif(os.geteuid() != 0, reason="making a device node needs CAP_MKNOD")
def test_a_character_device_is_written_in_place(tmp_path: Path) -> None:
    null = tmp_path / "null"  # a twin of /dev/null, so the machine's own is never at risk
    os.mknod(null, stat.S_IFCHR | 0o666, os.makedev(1, 3))
    link = tmp_path / "link"
    link.symlink_to(null)

    write_report(null, REPORT)
    write_report(link, REPORT)

    assert stat.S_ISCHR(os.lstat(null).st_mode)
    assert link.is_symlink()


# -- the check before grading ------------------------------------------------------------------
def _cases(tmp_path: Path, pipe: tuple[int, int]) -> dict[str, tuple[Path, str | None]]:
    """Name -> (path, the end of the problem, or None when writable)."""
    read_end, write_end = pipe
    (tmp_path / "folder").mkdir()
    (tmp_path / "file").write_text("")
    os.mkfifo(tmp_path / "fifo")
    (tmp_path / "link-to-fifo").symlink_to("fifo")
    (tmp_path / "link-to-file").symlink_to("file")
    (tmp_path / "dangling").symlink_to("nowhere/at/all")
    (tmp_path / "loop").symlink_to("loop")
    (tmp_path / "stdout").symlink_to(f"/proc/self/fd/{write_end}")
    (tmp_path / "stdin").symlink_to(f"/proc/self/fd/{read_end}")
    return {
        "fifo": (tmp_path / "fifo", None),
        "link to a fifo": (tmp_path / "link-to-fifo", None),
        "link to a file": (tmp_path / "link-to-file", None),
        "regular file": (tmp_path / "file", None),
        "missing folders": (tmp_path / "new" / "deep" / "r.json", None),
        "a descriptor open for writing": (tmp_path / "stdout", None),
        "a descriptor open for reading": (tmp_path / "stdin", "stdin: not writable"),
        "dangling link": (tmp_path / "dangling", "dangling: dangling symbolic link"),
        "under a dangling link": (tmp_path / "dangling" / "r.json", "dangling symbolic link"),
        "folder": (tmp_path / "folder", "folder: is a directory"),
        "under a file": (tmp_path / "file" / "r.json", "file: not a directory"),
        "link loop": (tmp_path / "loop", "loop: Too many levels of symbolic links"),
    }


def test_check_writable_agrees_with_writing_and_creates_nothing(
    tmp_path: Path, pipe: tuple[int, int]
) -> None:
    cases = _cases(tmp_path, pipe)
    before = snapshot(tmp_path)

    found = {name: check_writable(path) for name, (path, _) in cases.items()}

    assert snapshot(tmp_path) == before
    for name, (_, expected) in cases.items():
        if expected is None:
            assert found[name] is None, name
        else:
            assert found[name] is not None, name
            assert found[name].endswith(expected), (name, found[name])
    assert check_writable(STDOUT) is None


def test_check_writable_refuses_a_socket(tmp_path: Path) -> None:
    with socket.socket(socket.AF_UNIX) as listening:
        listening.bind(str(tmp_path / "sock"))

        assert check_writable(tmp_path / "sock") == f"{tmp_path / 'sock'}: is a socket"


def test_what_check_writable_refuses_write_report_refuses(tmp_path: Path) -> None:
    (tmp_path / "dangling").symlink_to("nowhere")
    (tmp_path / "folder").mkdir()
    (tmp_path / "file").write_text("")
    before = snapshot(tmp_path)

    for path in (tmp_path / "dangling", tmp_path / "folder", tmp_path / "file" / "r.json"):
        assert check_writable(path) is not None
        with pytest.raises(OSError, match=r".") as raised:
            write_report(path, REPORT)
        assert raised.value.strerror

    assert snapshot(tmp_path) == before


def test_at_most_one_report_on_standard_output(tmp_path: Path) -> None:
    problem = check_reports({"--json": STDOUT, "--junit": tmp_path / "r.xml", "--gradescope": None})
    assert problem is None

    problem = check_reports({"--json": STDOUT, "--junit": None, "--summary-md": STDOUT})

    assert problem is not None
    assert problem.en == (
        "only one report can go to standard output (-); asked by --json, --summary-md"
    )


def test_a_link_to_stdout_counts_as_standard_output(tmp_path: Path, pipe: tuple[int, int]) -> None:
    """``--json - --junit /dev/stdout`` would mix two documents on one output."""
    stdout, other = tmp_path / "stdout", tmp_path / "other"
    stdout.symlink_to("/proc/self/fd/1")
    other.symlink_to(f"/proc/self/fd/{pipe[1]}")

    assert goes_to_stdout(stdout)
    assert not goes_to_stdout(other)
    assert not goes_to_stdout(tmp_path / "r.json")
    problem = check_reports({"--json": STDOUT, "--junit": stdout, "--gradescope": other})
    assert problem is not None
    assert problem.en.endswith("asked by --json, --junit")


def test_check_reports_names_the_unwritable_path(tmp_path: Path) -> None:
    problem = check_reports({"--json": tmp_path})

    assert problem is not None
    assert problem.en == f"cannot write report: {tmp_path}: is a directory"
    assert problem.fr == f"rapport impossible à écrire : {tmp_path}: is a directory"


def test_module_keeps_atomic_writes_for_batch_outputs(tmp_path: Path) -> None:
    """``grade batch`` writes its own files through :func:`files.write_atomically`."""
    files.write_atomically(tmp_path / "students" / "ada" / "report.json", REPORT)

    assert (tmp_path / "students" / "ada" / "report.json").read_text() == REPORT
