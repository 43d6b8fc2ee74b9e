"""A student's class: which server, which token (``grade join``), and the outbox of reports not
yet delivered.

Both live in the user's config folder (``$GRADER_CONFIG_DIR``, else
``$XDG_CONFIG_HOME/tp-grader``, else ``~/.config/tp-grader``; ``%APPDATA%\\tp-grader`` on
Windows): ``class.json`` (mode 0600: it holds the token) and ``outbox/``, one file per report,
named so that names sort oldest first. Every file is written atomically (a temporary file, then
a rename), so a crash leaves a report whole or absent, never half.

Standard library only, and cheap to import (about a millisecond: no ``secrets``, no
``shutil`` up front): ``grade check`` reads :func:`joined` on every run.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

from grader import defaults

MEMBERSHIP_FILE = "class.json"
OUTBOX = "outbox"
#: Reports the server refused for good (malformed, another student's...): kept to be read.
REFUSED = "refused"


@dataclass(frozen=True)
class Membership:
    """What ``grade join`` learnt: the server's URL, the student's token, and who the server
    says the token is."""

    server: str
    token: str
    class_name: str
    student: str
    labs: tuple[str, ...] = ()


def config_dir() -> Path:
    """The student's tp-grader config folder (it may not exist yet)."""
    given = os.environ.get(defaults.CONFIG_DIR_ENV)
    if given:
        return Path(given).expanduser()
    if sys.platform == "win32" and os.environ.get("APPDATA"):
        return Path(os.environ["APPDATA"]) / "tp-grader"
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base).expanduser() / "tp-grader"


def membership_path() -> Path:
    return config_dir() / MEMBERSHIP_FILE


def outbox_dir() -> Path:
    return config_dir() / OUTBOX


def joined() -> Membership | None:
    """The class this user joined, or ``None`` (also for a file that is not a membership:
    grading never fails because of it; ``grade push`` says what is wrong)."""
    try:
        return read_membership()
    except ValueError:
        return None


def read_membership() -> Membership | None:
    """The class this user joined, ``None`` if none; ``ValueError`` for an unreadable file."""
    path = membership_path()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path}: {exc}") from exc
    try:
        return Membership(
            server=str(data["server"]),
            token=str(data["token"]),
            class_name=str(data["class_name"]),
            student=str(data["student"]),
            labs=tuple(str(lab) for lab in data.get("labs") or ()),
        )
    except (KeyError, TypeError, AttributeError) as exc:
        raise ValueError(f"{path}: not a class membership ({exc})") from exc


def save_membership(membership: Membership) -> Path:
    """Write ``class.json``, readable by its owner only (it holds the token)."""
    folder = config_dir()
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    data = asdict(membership) | {"labs": list(membership.labs)}
    path = membership_path()
    write_private(path, (json.dumps(data, indent=2) + "\n").encode())
    return path


def forget_membership() -> tuple[bool, int]:
    """Remove ``class.json`` and the outbox; whether there was a membership, and how many
    reports were still waiting."""
    import shutil

    waiting = len(pending())
    had = membership_path().exists()
    with contextlib.suppress(FileNotFoundError):
        membership_path().unlink()
    shutil.rmtree(outbox_dir(), ignore_errors=True)
    return had, waiting


def write_private(path: Path, data: bytes) -> None:
    """Write ``path`` atomically with mode 0600, whatever the umask."""
    temporary = path.with_name(f".{path.name}.{os.urandom(4).hex()}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(temporary, 0o600)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            temporary.unlink()
        raise


# -- the outbox --------------------------------------------------------------------------------
def enqueue(report: bytes) -> Path:
    """Keep ``report`` in the outbox until the server has it; returns its file. Past
    :data:`~grader.defaults.PUSH_OUTBOX_MAX` reports, the oldest are dropped."""
    folder = outbox_dir()
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    # Nanoseconds since the epoch, zero-padded: names sort in the order reports were made.
    path = folder / f"{time.time_ns():020d}-{os.urandom(4).hex()}.json"
    write_private(path, report)
    for old in pending()[: -defaults.PUSH_OUTBOX_MAX]:
        with contextlib.suppress(FileNotFoundError):
            old.unlink()
    return path


def pending() -> list[Path]:
    """Reports waiting to be delivered, oldest first."""
    try:
        return sorted(p for p in outbox_dir().glob("*.json") if not p.name.startswith("."))
    except OSError:
        return []


def set_aside(path: Path) -> None:
    """Move a report the server refused for good out of the way (never sent again)."""
    folder = outbox_dir() / REFUSED
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    with contextlib.suppress(FileNotFoundError):
        path.replace(folder / path.name)


@contextlib.contextmanager
def sending_lock() -> Iterator[bool]:
    """Whether this process may send the outbox now: one sender at a time per user (a second
    ``grade check`` that finds it busy leaves its report queued). Where there is no ``fcntl``
    every process sends; the server stores a report once whoever sends it."""
    try:
        import fcntl
    except ImportError:  # Windows
        yield True
        return
    folder = outbox_dir()
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    descriptor = os.open(folder / ".lock", os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            yield False
            return
        yield True
    finally:
        os.close(descriptor)
