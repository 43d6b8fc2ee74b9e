"""Staging a submission: a private copy of directories and regular files, or a refusal that
names the reason. Real files on this machine's filesystem; no engine."""

from __future__ import annotations

import json
import os
import socket
import stat
import tempfile
from pathlib import Path
from typing import Any

import pytest

from grader import defaults
from grader.batch.gate.prescan import ComposeFileProblem, load_documents
from grader.batch.gate.stage import stage


@pytest.fixture
def submission(tmp_path: Path) -> Path:
    folder = tmp_path / "class" / "ada"
    (folder / "app").mkdir(parents=True)
    (folder / "compose.yaml").write_text("services: {web: {build: app}}\n")
    (folder / "app" / "Dockerfile").write_text("FROM scratch\n")
    script = folder / "app" / "start.sh"
    script.write_text("#!/bin/sh\n")
    script.chmod(0o4755)  # set-uid: must not survive the copy
    (folder / ".env").write_text("TAG=1\n")
    return folder


def refusal(folder: Path, into: Path) -> str:
    staged = stage(folder, into)
    assert staged.folder is None
    assert not into.exists()  # nothing left behind
    (reason,) = staged.refusals
    return reason.en


def test_a_plain_submission_is_copied(submission: Path, tmp_path: Path) -> None:
    staged = stage(submission, tmp_path / "stage")

    assert staged.refusals == ()
    assert staged.folder == tmp_path / "stage"
    assert staged.compose_file == tmp_path / "stage" / "compose.yaml"
    copied = staged.folder / "app" / "start.sh"
    assert copied.read_text() == "#!/bin/sh\n"
    assert stat.S_IMODE(copied.stat().st_mode) == 0o755
    assert (staged.folder / ".env").read_text() == "TAG=1\n"


def test_a_submission_folder_that_is_a_symlink(submission: Path, tmp_path: Path) -> None:
    link = tmp_path / "class" / "bob"
    link.symlink_to(submission)

    assert refusal(link, tmp_path / "stage") == "the submission folder is a symbolic link"


@pytest.mark.parametrize("target", ["/etc/passwd", "compose.yaml", "../../outside", "/nonexistent"])
def test_any_symlink_inside(submission: Path, tmp_path: Path, target: str) -> None:
    (submission / "app" / "link").symlink_to(target)

    assert refusal(submission, tmp_path / "stage") == (
        "app/link is a symbolic link: a submission holds files and folders only"
    )


def test_a_symlinked_env_file(submission: Path, tmp_path: Path) -> None:
    (submission / ".env").unlink()
    (submission / ".env").symlink_to("/etc/passwd")

    assert refusal(submission, tmp_path / "stage").startswith(".env is a symbolic link")


def test_a_fifo_is_refused_without_waiting(submission: Path, tmp_path: Path) -> None:
    os.mkfifo(submission / "pipe")

    assert refusal(submission, tmp_path / "stage") == (
        "pipe is a named pipe (FIFO): a submission holds files and folders only"
    )


def test_a_socket(submission: Path, tmp_path: Path) -> None:
    listener = socket.socket(socket.AF_UNIX)
    try:
        listener.bind(str(submission / "s.sock"))
        assert refusal(submission, tmp_path / "stage").startswith("s.sock is a socket")
    finally:
        listener.close()


def test_a_hard_link(submission: Path, tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("canary\n")
    os.link(secret, submission / "innocent.txt")

    assert refusal(submission, tmp_path / "stage") == (
        "innocent.txt is a hard link (the same file has another name)"
    )


def test_too_many_files(submission: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(defaults, "STAGE_MAX_FILES", 5)
    for index in range(5):
        (submission / f"f{index}").write_text("x")

    assert refusal(submission, tmp_path / "stage") == "more than 5 files and folders"


def test_too_many_bytes(submission: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(defaults, "STAGE_MAX_BYTES", 1 << 20)
    with (submission / "big.bin").open("wb") as big:
        big.truncate(2 << 20)  # sparse: the size counts, not the blocks

    assert refusal(submission, tmp_path / "stage") == "more than 1 MiB of files (at big.bin)"


def test_nesting_too_deep(submission: Path, tmp_path: Path) -> None:
    deep = submission.joinpath(*["d"] * (defaults.STAGE_MAX_DEPTH + 2))
    deep.mkdir(parents=True)

    assert refusal(submission, tmp_path / "stage").startswith("folders nested more than")


def test_a_compose_file_too_large(submission: Path, tmp_path: Path) -> None:
    big = "# padding\n" * (defaults.STAGE_MAX_COMPOSE_BYTES // 10 + 1)
    (submission / "compose.yaml").write_text("services: {}\n" + big)

    assert refusal(submission, tmp_path / "stage") == "compose.yaml is larger than 256 KiB"


@pytest.mark.parametrize(
    "line", ["COMPOSE_FILE=/etc/passwd", "export COMPOSE_PROFILES=x", "DOCKER_HOST=tcp://x:2375"]
)
def test_a_dotenv_that_steers_the_tools(submission: Path, tmp_path: Path, line: str) -> None:
    (submission / ".env").write_text(f"TAG=1\n{line}\n")
    variable = line.removeprefix("export ").split("=")[0]

    assert refusal(submission, tmp_path / "stage") == (
        f".env sets {variable}, a variable of Compose or Docker"
    )


def test_no_compose_file(submission: Path, tmp_path: Path) -> None:
    (submission / "compose.yaml").unlink()
    (submission / "docker-compose.yaml").mkdir()  # a folder by that name is not a file

    staged = stage(submission, tmp_path / "stage")

    assert (staged.refusals, staged.compose_file) == ((), None)


def test_a_path_too_long_once_staged_is_refused_with_its_reason(tmp_path: Path) -> None:
    # The submission's own paths fit; with the staging folder in front, one no longer does.
    folder = tmp_path / "class" / "deep"
    folder.mkdir(parents=True)
    inner = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        name = "d" * 250
        for _ in range(defaults.STAGE_MAX_DEPTH - 1):
            os.mkdir(name, dir_fd=inner)
            child = os.open(name, os.O_RDONLY | os.O_DIRECTORY, dir_fd=inner)
            os.close(inner)
            inner = child
        os.close(os.open("f", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=inner))
    finally:
        os.close(inner)
    into = tmp_path / ("s" * 250) / ("t" * 250) / "stage"
    into.parent.mkdir(parents=True)
    assert len(str(into)) + 15 * 251 > os.pathconf(tmp_path, "PC_PATH_MAX")

    reason = refusal(folder, into)

    assert "cannot be copied (File name too long)" in reason


def staged_as_nobody(folder: Path, into: Path) -> dict[str, Any]:
    """:func:`stage` run by a process of user nobody (a fork of this one: no interpreter to
    find), as the batch runs under a teacher's own account."""
    reading, writing = os.pipe()
    child = os.fork()
    if child == 0:  # the child: become nobody, stage, say what happened
        code = 1
        try:
            os.close(reading)
            os.setgroups([])
            os.setgid(65534)
            os.setuid(65534)
            staged = stage(folder, into)
            answer = {
                "folder": str(staged.folder),
                "refusals": [r.en for r in staged.refusals],
                "error": staged.error.en if staged.error else None,
            }
            os.write(writing, json.dumps(answer).encode())
            code = 0
        finally:
            os._exit(code)
    os.close(writing)
    with os.fdopen(reading, "rb") as pipe:
        data = pipe.read()
    _, status = os.waitpid(child, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    return dict(json.loads(data))


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to run the copy as another user")
def test_a_file_the_batch_cannot_read_is_an_error_to_fix_then_resume() -> None:
    # Root reads everything: the copy runs as nobody, as under a teacher's own account, in a
    # folder nobody can reach (pytest's own are root's only).
    with tempfile.TemporaryDirectory(prefix="tpg-stage-") as top:
        staged_unreadable(Path(top))


def staged_unreadable(tmp_path: Path) -> None:
    tmp_path.chmod(0o755)
    folder = tmp_path / "class" / "ada"
    folder.mkdir(parents=True)
    (tmp_path / "class").chmod(0o755)
    folder.chmod(0o755)
    (folder / "compose.yaml").write_text("services: {}\n")
    (folder / "compose.yaml").chmod(0o644)
    (folder / "secret.txt").write_text("x")
    (folder / "secret.txt").chmod(0o600)  # root's, unreadable by nobody
    out = tmp_path / "out"
    out.mkdir()
    out.chmod(0o777)

    answer = staged_as_nobody(folder, out / "stage")

    assert answer["folder"] == "None"
    assert answer["refusals"] == []
    assert answer["error"].startswith("secret.txt cannot be read by the batch (Permission denied)")
    assert "--resume" in answer["error"]
    assert not (out / "stage").exists()


def _nested(levels: int) -> str:
    return "services:\n  redis:\n    image: redis:alpine\nx-deep: " + "[" * levels + "]" * levels


def test_yaml_nested_past_the_bound_is_refused_where_it_goes_too_deep(tmp_path: Path) -> None:
    compose = tmp_path / "compose.yaml"
    compose.write_text(_nested(50_000) + "\n")

    with pytest.raises(ComposeFileProblem) as refused:
        load_documents(compose)

    assert refused.value.text.en == (
        "unreadable compose file (compose.yaml): nested deeper than "
        f"{defaults.STAGE_MAX_YAML_DEPTH} levels (line 4)"
    )


def test_yaml_nested_up_to_the_bound_is_read(tmp_path: Path) -> None:
    compose = tmp_path / "compose.yaml"
    # The bound counts every level: the root mapping and x-deep's own sequence included.
    compose.write_text(_nested(defaults.STAGE_MAX_YAML_DEPTH - 1) + "\n")

    (document,) = load_documents(compose)

    assert document["services"] == {"redis": {"image": "redis:alpine"}}
