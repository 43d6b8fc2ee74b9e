"""Staging: a submission is copied into a private folder before anything reads it.

A student's folder is hostile input on the teacher's machine. Compose, the YAML parser and the
image builder never see it: they see a *staged copy*, made here, that holds nothing but
directories and regular files, within bounds. Refused, with the reason in the report:

- a submission folder that is itself a symlink, or any symlink inside it (a link that points
  inside the folder would be safe, but allowing none is simpler to get right);
- device files, FIFOs (opening one could hang the batch) and sockets;
- a regular file with several names (a hard link may share its content with a host file);
- more than :data:`~grader.defaults.STAGE_MAX_FILES` entries, more than
  :data:`~grader.defaults.STAGE_MAX_BYTES` bytes, nesting deeper than
  :data:`~grader.defaults.STAGE_MAX_DEPTH`, a compose file over
  :data:`~grader.defaults.STAGE_MAX_COMPOSE_BYTES`;
- a ``.env`` that sets Compose's or Docker's own variables (``COMPOSE_*``, ``DOCKER_*``,
  ``BUILDKIT_*``): ``.env`` is for interpolation, not for steering the tool that reads it.

The copy walks the folder with directory file descriptors and ``O_NOFOLLOW`` at every step, so
a path component swapped for a symlink while the copy runs cannot lead it outside. Permission
bits are kept (scripts stay executable) without set-id bits; the copy belongs to the batch.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from grader import defaults
from grader.i18n import Text


@dataclass(frozen=True)
class Staged:
    """A submission's private copy, or why there is none."""

    folder: Path | None
    """The staged copy (``None`` when refused)."""
    compose_file: Path | None = None
    """The compose file found in the copy's root (``None``: there is none)."""
    refusals: tuple[Text, ...] = ()
    error: Text | None = None
    """Why the folder could not be copied when that is not the submission's doing (a file
    the batch's account may not read): graded again by ``--resume`` once fixed."""


class _Refused(Exception):
    def __init__(self, text: Text) -> None:
        super().__init__(text.en)
        self.text = text


class _Unreadable(Exception):
    def __init__(self, text: Text) -> None:
        super().__init__(text.en)
        self.text = text


@dataclass
class _Budget:
    files: int = 0
    bytes: int = 0

    def spend(self, where: str, size: int = 0) -> None:
        self.files += 1
        self.bytes += size
        if self.files > defaults.STAGE_MAX_FILES:
            raise _Refused(
                Text(
                    fr=f"plus de {defaults.STAGE_MAX_FILES} fichiers et dossiers",
                    en=f"more than {defaults.STAGE_MAX_FILES} files and folders",
                )
            )
        if self.bytes > defaults.STAGE_MAX_BYTES:
            mib = defaults.STAGE_MAX_BYTES >> 20
            raise _Refused(
                Text(
                    fr=f"plus de {mib} Mio de fichiers (à {where})",
                    en=f"more than {mib} MiB of files (at {where})",
                )
            )


_OPEN_DIR = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
# O_NONBLOCK: opening a FIFO never waits for a writer (the fstat that follows refuses it).
_OPEN_FILE = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC


def staging_root() -> Path:
    """A new private folder (mode 0700) for one batch's staged copies."""
    return Path(tempfile.mkdtemp(prefix="tp-grader-stage-"))


def stage(submission: Path, into: Path) -> Staged:
    """Copy ``submission`` (a folder) to ``into`` (which must not exist), or refuse it.

    Never raises for what the folder holds: a refusal, or an error naming the file."""
    try:
        if submission.is_symlink():
            raise _Refused(
                Text(
                    fr="le dossier de la soumission est un lien symbolique",
                    en="the submission folder is a symbolic link",
                )
            )
        try:
            top = os.open(submission, _OPEN_DIR)
        except OSError as exc:
            raise _problem_with(exc, "") from exc
        os.mkdir(into, 0o700)
        try:
            _copy_tree(top, into, "", _Budget(), depth=0)
        finally:
            os.close(top)
        compose_file = _compose_file(into)
        _check_dotenv(into / ".env")
    except _Refused as refused:
        shutil.rmtree(into, ignore_errors=True)
        return Staged(None, refusals=(refused.text,))
    except _Unreadable as unreadable:
        shutil.rmtree(into, ignore_errors=True)
        return Staged(None, error=unreadable.text)
    return Staged(into, compose_file)


def _problem_with(exc: OSError, where: str) -> _Refused | _Unreadable:
    """What an ``OSError`` while copying ``where`` means: the batch may not read it (an error,
    the teacher can fix it and ``--resume``), or the submission cannot be copied at all (a
    name too long once staged, a name the filesystem refuses: a refusal)."""
    what = where or "."
    reason = exc.strerror or type(exc).__name__
    if isinstance(exc, PermissionError):
        return _Unreadable(
            Text(
                fr=f"{what} n'est pas lisible par la correction groupée ({reason}) : corrigez "
                "ses droits puis relancez avec --resume",
                en=f"{what} cannot be read by the batch ({reason}): fix its permissions, then "
                "run again with --resume",
            )
        )
    return _Refused(
        Text(
            fr=f"{what} ne peut pas être copié ({reason})",
            en=f"{what} cannot be copied ({reason})",
        )
    )


def _copy_tree(source_fd: int, target: Path, relative: str, budget: _Budget, depth: int) -> None:
    if depth > defaults.STAGE_MAX_DEPTH:
        raise _Refused(
            Text(
                fr=f"dossiers imbriqués sur plus de {defaults.STAGE_MAX_DEPTH} niveaux",
                en=f"folders nested more than {defaults.STAGE_MAX_DEPTH} levels deep",
            )
        )
    for name in sorted(_entries(source_fd)):
        where = f"{relative}{name}"
        try:
            _copy_entry(source_fd, name, target, where, budget, depth)
        except OSError as exc:
            raise _problem_with(exc, where) from exc


def _copy_entry(
    source_fd: int, name: str, target: Path, where: str, budget: _Budget, depth: int
) -> None:
    info = os.stat(name, dir_fd=source_fd, follow_symlinks=False)
    kind = stat.S_IFMT(info.st_mode)
    if kind == stat.S_IFDIR:
        budget.spend(where)
        child = os.open(name, _OPEN_DIR, dir_fd=source_fd)
        try:
            os.mkdir(target / name, 0o700)
            _copy_tree(child, target / name, f"{where}/", budget, depth + 1)
        finally:
            os.close(child)
        os.chmod(target / name, _safe_mode(info.st_mode) | 0o700)
    elif kind == stat.S_IFREG:
        if info.st_nlink > 1:
            raise _Refused(
                Text(
                    fr=f"{where} est un lien physique (le même fichier a un autre nom)",
                    en=f"{where} is a hard link (the same file has another name)",
                )
            )
        budget.spend(where, info.st_size)
        _copy_file(source_fd, name, target / name, where, info.st_size)
    else:
        raise _Refused(_not_a_file(where, kind))


def _entries(directory_fd: int) -> Iterator[str]:
    with os.scandir(directory_fd) as entries:
        for entry in entries:
            yield entry.name


def _copy_file(directory_fd: int, name: str, target: Path, where: str, counted: int) -> None:
    fd = os.open(name, _OPEN_FILE, dir_fd=directory_fd)
    try:
        info = os.fstat(fd)  # what was opened, not what the name pointed at a moment ago
        if not stat.S_ISREG(info.st_mode) or info.st_nlink > 1:
            raise _Refused(_not_a_file(where, stat.S_IFMT(info.st_mode)))
        if info.st_size != counted:  # swapped since it was counted against the budget
            raise _Refused(
                Text(
                    fr=f"{where} a changé pendant la copie",
                    en=f"{where} changed while it was being copied",
                )
            )
        with (
            os.fdopen(os.dup(fd), "rb", closefd=True) as source,
            open(target, "xb", opener=_private_opener) as sink,
        ):
            remaining = info.st_size
            while remaining > 0 and (chunk := source.read(min(remaining, 1 << 16))):
                sink.write(chunk)
                remaining -= len(chunk)
            if remaining or source.read(1):
                raise _Refused(
                    Text(
                        fr=f"{where} a changé pendant la copie",
                        en=f"{where} changed while it was being copied",
                    )
                )
        os.chmod(target, _safe_mode(info.st_mode))
    finally:
        os.close(fd)


def _private_opener(path: str, flags: int) -> int:
    return os.open(path, flags | os.O_NOFOLLOW, 0o600)


def _safe_mode(mode: int) -> int:
    """Permission bits without set-uid, set-gid and sticky."""
    return stat.S_IMODE(mode) & 0o777


def _not_a_file(where: str, kind: int) -> Text:
    names = {
        stat.S_IFLNK: ("un lien symbolique", "a symbolic link"),
        stat.S_IFIFO: ("un tube nommé (FIFO)", "a named pipe (FIFO)"),
        stat.S_IFSOCK: ("une socket", "a socket"),
        stat.S_IFCHR: ("un périphérique", "a device"),
        stat.S_IFBLK: ("un périphérique", "a device"),
        stat.S_IFREG: ("un fichier à plusieurs noms", "a file with several names"),
    }
    fr, en = names.get(kind, ("ni un fichier ni un dossier", "neither a file nor a folder"))
    return Text(
        fr=f"{where} est {fr} : une soumission ne contient que des fichiers et des dossiers",
        en=f"{where} is {en}: a submission holds files and folders only",
    )


def _compose_file(folder: Path) -> Path | None:
    for name in defaults.COMPOSE_FILE_NAMES:
        candidate = folder / name
        if candidate.is_file():
            if candidate.stat().st_size > defaults.STAGE_MAX_COMPOSE_BYTES:
                kib = defaults.STAGE_MAX_COMPOSE_BYTES >> 10
                raise _Refused(
                    Text(
                        fr=f"{name} dépasse {kib} Kio",
                        en=f"{name} is larger than {kib} KiB",
                    )
                )
            return candidate
    return None


#: Variables a ``.env`` may not set: they steer Compose, the Docker CLI or BuildKit.
_TOOL_VARIABLE = re.compile(
    r"^\ufeff?\s*(?:export\s+)?((?:COMPOSE|DOCKER|BUILDKIT)_\w*)\s*[=:]", re.IGNORECASE
)


def _check_dotenv(path: Path) -> None:
    if not path.is_file():
        return
    if path.stat().st_size > defaults.STAGE_MAX_ENV_BYTES:
        raise _Refused(
            Text(
                fr=f".env dépasse {defaults.STAGE_MAX_ENV_BYTES >> 10} Kio",
                en=f".env is larger than {defaults.STAGE_MAX_ENV_BYTES >> 10} KiB",
            )
        )
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        found = _TOOL_VARIABLE.match(line)
        if found:
            raise _Refused(
                Text(
                    fr=f".env définit {found.group(1)}, une variable de Compose ou de Docker",
                    en=f".env sets {found.group(1)}, a variable of Compose or Docker",
                )
            )
