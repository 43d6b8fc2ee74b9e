"""``compose config``, confined: Compose reads a submission where nothing but its staged copy
exists.

Compose resolves ``include``, ``extends``, ``env_file``, ``.env`` and interpolation with path
rules of its own, which change between releases (``include`` with ``project_directory``, for one,
makes the included file's own paths relative to another folder). Re-implementing them to decide
which host files it may open is a race the grader loses. So ``config`` does not run on the
grading machine at all: it runs in a sandbox container on the grading engine
(:mod:`grader.engine.sandbox`) whose filesystem is the Compose binary and the staged copy,
copied in through the Engine API at the very path it has on the grading machine (so the model's
paths are the copy's). No network, a read-only root, no capability, user ``nobody``, memory, CPU
and pids limits, a deadline; no Docker socket, no credentials, no environment of the batch's.
Whatever Compose's version and whatever the submission names, the only files it can read are
the submission's own.

The sandbox image is ``FROM scratch`` plus the Compose binary the batch itself runs (found by
:func:`~grader.compose.binary.compose_executable`), built once per engine and reused, found by
the binary's digest and pinned by id. It works the same on a remote engine (``ssh://``,
``tcp://``): the binary and the files travel through the API.
"""

from __future__ import annotations

import functools
import hashlib
import io
import json
import tarfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from grader import defaults
from grader.compose import compose_executable, untrusted_environment
from grader.engine.base import Engine
from grader.engine.sandbox import SandboxSpec
from grader.errors import EnvironmentProblem, ObservationError, ProbeTimeout
from grader.i18n import Text
from grader.report.sanitize import clean_text

#: Where the Compose binary is in the sandbox image.
BINARY = "/compose"
#: The sandbox image's repository (its tag: the binary's digest); ``grade clean`` removes it.
SANDBOX_REPOSITORY = "tp-grader/compose-sandbox"
_SANDBOX_UID = int(defaults.SANDBOX_USER.split(":", 1)[0])


class ConfigRefused(Exception):
    """The model is one a submission may not have (too large for the sandbox's bounds)."""

    def __init__(self, text: Text) -> None:
        super().__init__(text.en)
        self.text = text


class ConfigFailed(Exception):
    """Compose could not make a model of the submission (its error, or a timeout)."""

    def __init__(self, text: Text) -> None:
        super().__init__(text.en)
        self.text = text


def sandbox_image(engine: Engine) -> str:
    """The id of the Compose sandbox image on ``engine``, built if the engine has none for
    this Compose binary; checked to run there (an engine of another architecture cannot).
    Raises :class:`~grader.errors.EnvironmentProblem` when it cannot be had."""
    binary = compose_executable()
    digest = _digest(binary, binary.stat().st_size, binary.stat().st_mtime_ns)
    labels = {defaults.LABEL_ROLE: "tool", defaults.LABEL_TOOL: f"compose-{digest[:24]}"}
    tag = f"{SANDBOX_REPOSITORY}:{digest[:16]}"
    try:
        image = engine.tool_image(tag, labels, lambda: _sandbox_context(binary))
        answer = engine.run_sandboxed(
            SandboxSpec(
                image=image,
                argv=(BINARY, "version", "--short"),
                purpose="compose version",
                workspace="/tmp/tp-grader",
                files=_tar({}),
                deadline_s=defaults.BATCH_CONFIG_TIMEOUT_S,
                output_limit=4096,
                labels=labels,
            )
        )
    except ObservationError as exc:
        raise EnvironmentProblem(_cannot_run(exc.text.en)) from exc
    if answer.exit_code != 0:
        raise EnvironmentProblem(_cannot_run(answer.stderr.decode("utf-8", "replace")[-300:]))
    return image


def confined_config(
    engine: Engine,
    image: str,
    *,
    folder: Path,
    compose_file: Path,
    project: str,
    labels: Mapping[str, str],
) -> dict[str, Any]:
    """The normalised model (``config --format json``) of the staged copy ``folder``, made in
    the sandbox. Raises :class:`ConfigFailed` (Compose's error, a timeout, the memory limit)
    or :class:`ConfigRefused` (a model past :data:`~grader.defaults.CONFIG_MODEL_LIMIT`)."""
    dotenv = folder / ".env"
    argv = (
        BINARY, "--ansi", "never", "--project-name", project,
        "--file", str(compose_file), "--project-directory", str(folder),
        "--env-file", str(dotenv) if dotenv.is_file() else "/dev/null",
        "config", "--format", "json",
    )  # fmt: skip
    environment = untrusted_environment(Path("/nonexistent"), None)
    for key in ("DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH", "SSH_AUTH_SOCK"):  # of no use in there
        environment.pop(key, None)
    try:
        answer = engine.run_sandboxed(
            SandboxSpec(
                image=image,
                argv=argv,
                purpose="compose config",
                workspace=str(folder),
                files=_folder_tar(folder),
                environment=environment,
                labels=labels,
            )
        )
    except ProbeTimeout as exc:
        seconds = f"{defaults.BATCH_CONFIG_TIMEOUT_S:g}"
        raise ConfigFailed(
            Text(
                fr=f"error: timeout — docker compose config n'a pas fini en {seconds} s",
                en=f"error: timeout — docker compose config did not finish within {seconds} s",
            )
        ) from exc
    if answer.truncated:
        raise ConfigRefused(
            Text(
                fr=f"le modèle Compose dépasse {defaults.CONFIG_MODEL_LIMIT >> 20} Mio",
                en=f"the Compose model is larger than {defaults.CONFIG_MODEL_LIMIT >> 20} MiB",
            )
        )
    if answer.exit_code == 137:  # killed: the only killer in there is the memory limit
        mib = defaults.CONFIG_SANDBOX_MEMORY_BYTES >> 20
        raise ConfigFailed(
            Text(
                fr=f"docker compose config a dépassé sa limite de mémoire ({mib} Mio)",
                en=f"docker compose config went past its memory limit ({mib} MiB)",
            )
        )
    if answer.exit_code != 0:
        said = answer.stderr.decode("utf-8", "replace").strip().splitlines()[-3:]
        tail = clean_text(" ".join(said), 400)
        raise ConfigFailed(
            Text(
                fr=f"docker compose config a échoué (code {answer.exit_code}) : {tail}",
                en=f"docker compose config failed (exit {answer.exit_code}): {tail}",
            )
        )
    try:
        model = json.loads(answer.stdout.decode("utf-8"))
    except ValueError as exc:
        raise ConfigFailed(
            Text(
                fr="docker compose config n'a pas donné de modèle lisible",
                en="docker compose config gave no readable model",
            )
        ) from exc
    if not isinstance(model, dict):
        raise ConfigFailed(Text.same("docker compose config: not a model"))
    return model


@functools.cache
def _digest(binary: Path, size: int, mtime_ns: int) -> str:
    hasher = hashlib.sha256()
    with binary.open("rb") as file:
        for chunk in iter(lambda: file.read(1 << 20), b""):
            hasher.update(chunk)
    return hasher.hexdigest()


def _sandbox_context(binary: Path) -> bytes:
    dockerfile = f"FROM scratch\nCOPY compose {BINARY}\nUSER {defaults.SANDBOX_USER}\n"
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        tar.add(binary, arcname="compose", filter=_root_owned(0o555))
        _add_bytes(tar, "Dockerfile", dockerfile.encode())
    return buffer.getvalue()


def _folder_tar(folder: Path) -> bytes:
    """The staged copy as a tar owned by the sandbox's user (its modes kept): what Compose
    may read of it is what the student made readable to its owner."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for entry in sorted(folder.rglob("*")):
            info = tar.gettarinfo(str(entry), arcname=entry.relative_to(folder).as_posix())
            info.uid = info.gid = _SANDBOX_UID
            info.uname = info.gname = ""
            if info.isreg():
                with entry.open("rb") as file:
                    tar.addfile(info, file)
            elif info.isdir():
                tar.addfile(info)
    return buffer.getvalue()


def _tar(files: Mapping[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name, data in files.items():
            _add_bytes(tar, name, data)
    return buffer.getvalue()


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = 0o644
    tar.addfile(info, io.BytesIO(data))


def _root_owned(mode: int) -> Any:
    def set_owner(info: tarfile.TarInfo) -> tarfile.TarInfo:
        info.uid = info.gid = 0
        info.uname = info.gname = ""
        info.mode = mode
        return info

    return set_owner


def _cannot_run(reason: str) -> Text:
    return Text(
        fr=f"le bac à sable de docker compose ne fonctionne pas sur ce moteur : {reason}",
        en=f"the docker compose sandbox does not run on this engine: {reason}",
    )
