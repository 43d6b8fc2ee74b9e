"""Where a report goes: standard output, a regular file, or whatever else a path names.

A target is ``-`` (standard output) or a path. A path's symbolic links are followed: a regular
file at the end (or no file yet) is written atomically, through a temporary file in the same
folder and a rename, so a reader sees the old report or the new one, never half; anything else
(a FIFO, a device, ``/dev/stdout``) is opened and written in place, never replaced, and a link
into this process's ``/proc/self/fd`` is written to that descriptor. Links stay links. New
files get the usual permissions (``0666`` less the umask), so a CI job's other steps can read
them.

Any command that writes reports uses :func:`check_reports` before its work and
:func:`write_report` after it.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import stat
import sys
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

from grader.i18n import Text

STDOUT: Literal["-"] = "-"

#: ``-`` for standard output, or a path.
Target = Path | Literal["-"]

#: How many links a path may go through, as the kernel allows (``MAXSYMLINKS``).
_MAX_LINKS = 40


def as_target(value: str | os.PathLike[str]) -> Target:
    """The target a command-line value names: only the string ``-`` is standard output (so
    ``./-`` is a file named ``-``); ``~`` is the user's home, even where no shell expanded it
    (``--json=~/score.json``).

    >>> as_target("-"), as_target("./-")
    ('-', PosixPath('-'))
    """
    if isinstance(value, str) and value == STDOUT:
        return STDOUT
    return Path(value).expanduser()


def check_reports(targets: Mapping[str, Target | None]) -> Text | None:
    """Why these reports (by option name) could not all be written, or ``None``.

    Checked before the work that produces them, and creating or replacing nothing: at most
    one report may go to standard output (``-``, or a path to it such as ``/dev/stdout``), and
    each path must be writable."""
    to_stdout = [
        option
        for option, target in targets.items()
        if target is not None and goes_to_stdout(target)
    ]
    if len(to_stdout) > 1:
        names = ", ".join(to_stdout)
        return Text(
            fr=f"un seul rapport peut aller sur la sortie standard (-) ; demandée par {names}",
            en=f"only one report can go to standard output (-); asked by {names}",
        )
    for target in targets.values():
        problem = check_writable(target) if target is not None else None
        if problem is not None:
            return Text(
                fr=f"rapport impossible à écrire : {problem}",
                en=f"cannot write report: {problem}",
            )
    return None


def goes_to_stdout(target: Target) -> bool:
    """Whether ``target`` names this process's standard output: ``-``, or a link to a
    descriptor that shares descriptor 1's file (``/dev/stdout``, ``/dev/fd/1``)."""
    if target == STDOUT:
        return True
    try:
        end = _follow(target)
        if not isinstance(end, int):
            return False
        found, stdout = os.fstat(end), os.fstat(1)
    except OSError:
        return False
    return (found.st_dev, found.st_ino) == (stdout.st_dev, stdout.st_ino)


def check_writable(target: Target) -> str | None:
    """Why ``target`` could not receive a report, or ``None``; creates and replaces nothing."""
    if target == STDOUT:
        return None
    path = target
    try:
        end = _follow(path)
        if isinstance(end, int):
            return _descriptor_problem(path, end)
        mode = end.stat().st_mode
    except (FileNotFoundError, NotADirectoryError):
        if path.is_symlink():
            return f"{path}: dangling symbolic link"
        return _creatable(Path(os.path.abspath(path)))
    except OSError as exc:
        return f"{path}: {exc.strerror}"
    return _kind_problem(path, end, mode)


def write_report(target: Target, data: str | bytes, *, append: bool = False) -> None:
    """Write (or with ``append``, add) ``data`` to ``target``, as the module docstring says.

    Raises ``OSError`` naming the target when it cannot be written."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    if target == STDOUT:
        _write_stdout(raw)
        return
    path = target
    end = _follow(path)
    if isinstance(end, int):
        _write_descriptor(end, raw)
        return
    try:
        mode = end.stat().st_mode
    except FileNotFoundError:
        if path.is_symlink():
            raise OSError(errno.ENOENT, "dangling symbolic link", str(path)) from None
        path.parent.mkdir(parents=True, exist_ok=True)
        mode = None
    if mode is not None and stat.S_ISDIR(mode):
        raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(path))
    if mode is not None and not stat.S_ISREG(mode):
        _write_in_place(end, raw, append=append)
    elif append:
        with end.open("ab") as handle:
            handle.write(raw)
    else:
        write_atomically(end, raw)


def write_atomically(path: Path, data: str | bytes) -> None:
    """Write ``data`` to the regular file ``path`` through a temporary file in the same folder
    and a rename (a reader sees the old file or the new one, never half)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    raw = data.encode("utf-8") if isinstance(data, str) else data
    fd, temporary = _temporary_beside(path)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(raw)
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.replace(temporary, path)
        except OSError as exc:
            # A file bind-mounted into a container (``docker run -v out.json:/out.json``)
            # cannot be renamed over: it is written in place, the only way to reach it.
            if exc.errno != errno.EBUSY:
                raise
            _write_in_place(path, raw, append=False)
            os.unlink(temporary)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise


# -- internals ---------------------------------------------------------------------------------
def _temporary_beside(path: Path) -> tuple[int, str]:
    """A new file next to ``path``, created with mode 0666 so that the umask alone decides
    its permissions (``mkstemp`` makes 0600, and reading the umask is not thread-safe)."""
    for _ in range(100):
        name = str(path.parent / f".{path.name}.{secrets.token_hex(4)}.tmp")
        try:
            return os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666), name
        except FileExistsError:
            continue
    raise FileExistsError(errno.EEXIST, "no free temporary name", str(path.parent))


def _follow(path: Path) -> Path | int:
    """Where writing to ``path`` lands: the path its links lead to (which may not exist), or
    the number of this process's descriptor when they lead into ``/proc/self/fd``
    (``/dev/stdout``, ``/dev/fd/1``). Raises ``OSError`` (``ELOOP``) on a link loop."""
    current = Path(os.path.abspath(path))
    for _ in range(_MAX_LINKS):
        folder = Path(os.path.realpath(current.parent))
        descriptor = _own_descriptor(folder, current.name)
        if descriptor is not None:
            return descriptor
        current = folder / current.name
        if not current.is_symlink():
            return current
        # Not normalised here: ".." in a link is resolved by realpath on the next turn.
        current = folder / os.readlink(current)
    raise OSError(errno.ELOOP, os.strerror(errno.ELOOP), str(path))


def _own_descriptor(folder: Path, name: str) -> int | None:
    # ``realpath`` has turned ``/proc/self`` and ``/proc/thread-self`` into numbers already.
    if not name.isdigit():
        return None
    own = {
        Path(f"/proc/{os.getpid()}/fd"),
        Path(f"/proc/{os.getpid()}/task/{threading.get_native_id()}/fd"),
    }
    return int(name) if folder in own else None


def _descriptor_problem(path: Path, descriptor: int) -> str | None:
    import fcntl  # only reached through /proc, so only where fcntl exists

    try:
        flags = fcntl.fcntl(descriptor, fcntl.F_GETFL)
    except OSError as exc:
        return f"{path}: {exc.strerror}"
    if flags & os.O_ACCMODE not in (os.O_WRONLY, os.O_RDWR):
        return f"{path}: not writable"
    return None


def _kind_problem(path: Path, end: Path, mode: int) -> str | None:
    """Why the existing file ``end`` (which ``path`` names) could not receive a report."""
    if stat.S_ISDIR(mode):
        return f"{path}: is a directory"
    if stat.S_ISSOCK(mode):
        return f"{path}: is a socket"
    if stat.S_ISREG(mode):
        return _folder_problem(end.parent)
    return None if os.access(end, os.W_OK) else f"{path}: not writable"


def _creatable(path: Path) -> str | None:
    """Why a file could not be created at ``path`` (with its missing folders), or ``None``."""
    existing = path.parent
    while not os.path.lexists(existing):
        existing = existing.parent
    if existing.is_symlink() and not existing.exists():
        return f"{existing}: dangling symbolic link"
    if not existing.is_dir():
        return f"{existing}: not a directory"
    return _folder_problem(existing)


def _folder_problem(folder: Path) -> str | None:
    # Creating the temporary file needs write, and reaching it search, permission.
    return None if os.access(folder, os.W_OK | os.X_OK) else f"{folder}: not writable"


def _write_stdout(raw: bytes) -> None:
    sys.stdout.flush()
    try:
        sys.stdout.buffer.write(raw)
        sys.stdout.buffer.flush()
    except BrokenPipeError:
        # The reader has gone (``| head``): say so once, not again when Python exits.
        with contextlib.suppress(OSError, ValueError):
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            os.close(devnull)
        raise BrokenPipeError(errno.EPIPE, os.strerror(errno.EPIPE), STDOUT) from None


def _write_descriptor(descriptor: int, raw: bytes) -> None:
    # What Python buffered for the same descriptor goes first.
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    _write_all(descriptor, raw)


def _write_in_place(path: Path, raw: bytes, *, append: bool) -> None:
    # No O_CREAT: what we were asked to write in place must still be there.
    flags = os.O_WRONLY | (os.O_APPEND if append else os.O_TRUNC)
    descriptor = os.open(path, flags)
    try:
        _write_all(descriptor, raw)
    finally:
        os.close(descriptor)


def _write_all(descriptor: int, raw: bytes) -> None:
    view = memoryview(raw)
    while view:
        view = view[os.write(descriptor, view) :]
