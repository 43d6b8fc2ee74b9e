"""Building a submission's images, bounded, before ``compose up``.

Compose builds with BuildKit when the engine has it, and a BuildKit build takes no resource
limit: a Dockerfile's ``RUN`` steps would run unbounded on the grading engine. So the batch
builds each image itself, with the engine's classic builder (the Engine API's ``/build``), which
runs every step in a container with the batch's memory (no swap) and CPU limits, and within a
deadline (past it the request is dropped and the engine cancels the build). ``compose up``
then runs the model with those images and no ``build:`` left in it: it builds nothing.

What a build makes the engine itself fetch (base images, ``ADD <url>``) was reviewed before
(:mod:`grader.batch.gate.dockerfile`). The classic builder has no pids limit to give: a fork
bomb in a ``RUN`` step is bounded by the memory limit and the deadline only (the README's
threat model says so). Its layer cache is the engine's, shared by every build there.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from grader import defaults
from grader.batch.gate.prescan import read_capped
from grader.engine.base import Engine
from grader.engine.sandbox import BuildSpec
from grader.i18n import Text
from grader.report.sanitize import clean_text

#: The name an inline Dockerfile (``dockerfile_inline``) gets inside the build context.
INLINE_DOCKERFILE = ".tp-grader.Dockerfile"


@dataclass(frozen=True)
class Built:
    """The images of one submission, built (or why not)."""

    model: dict[str, Any]
    """The model with every ``build:`` replaced by the image built for it."""
    log: str
    problem: Text | None = None
    duration_s: float = 0.0


def build_images(
    engine: Engine,
    model: Mapping[str, Any],
    *,
    deadline_s: float = defaults.BATCH_BUILD_TIMEOUT_S,
) -> Built:
    """Build every image ``model`` (isolated: its ``image:`` tags are the run's own) builds,
    once per tag; return the model without ``build:`` keys, or the first build's failure."""
    services: dict[str, Any] = {
        name: dict(service) for name, service in (model.get("services") or {}).items()
    }
    built: dict[str, str] = {}
    logs: list[str] = []
    total = 0.0
    for name, service in services.items():
        build = service.pop("build", None)
        if build is None:
            continue
        tag = str(service["image"])
        service["pull_policy"] = "never"  # the image is here: nothing to pull, nothing to build
        if tag in built:
            continue
        outcome = engine.build_bounded(_spec(build, tag, deadline_s - total))
        total += outcome.duration_s
        logs.append(f"$ build {name} ({tag}) [{outcome.duration_s:.1f} s]\n{outcome.log}")
        if outcome.image_id is None:
            reason = "timeout" if outcome.timed_out else clean_text(outcome.problem or "", 400)
            return Built(
                dict(model),
                "\n".join(logs),
                Text(
                    fr=f"la construction de l'image du service {name} a échoué : {reason}",
                    en=f"building service {name}'s image failed: {reason}",
                ),
                total,
            )
        built[tag] = outcome.image_id
    return Built({**model, "services": services}, "\n".join(logs), None, total)


def _spec(build: Mapping[str, Any], tag: str, deadline_s: float) -> BuildSpec:
    context = Path(str(build["context"]))
    inline = build.get("dockerfile_inline")
    dockerfile = INLINE_DOCKERFILE if inline is not None else str(build.get("dockerfile") or "")
    return BuildSpec(
        context=context_tar(context, dockerfile or "Dockerfile", inline),
        dockerfile=dockerfile or "Dockerfile",
        tag=tag,
        labels={str(k): str(v) for k, v in (build.get("labels") or {}).items()},
        buildargs={str(k): str(v) for k, v in (build.get("args") or {}).items() if v is not None},
        target=str(build["target"]) if build.get("target") else None,
        no_cache=bool(build.get("no_cache")),
        pull=bool(build.get("pull")),
        memory_bytes=defaults.BATCH_BUILD_MEMORY_BYTES,
        cpus=defaults.BATCH_BUILD_CPUS,
        deadline_s=max(deadline_s, 1.0),
    )


def context_tar(folder: Path, dockerfile: str, inline: str | None = None) -> bytes:
    """The build context ``folder`` as a tar, without what its ``.dockerignore`` excludes (as
    the Docker CLI sends it), and with an inline Dockerfile as :data:`INLINE_DOCKERFILE`."""
    from docker.utils.build import tar

    ignore = folder / ".dockerignore"
    exclude: list[str] = []
    if ignore.is_file():
        text = read_capped(ignore, defaults.STAGE_MAX_ENV_BYTES)
        exclude = [line.strip() for line in text.splitlines() if line.strip()[:1] not in ("", "#")]
    named = (dockerfile, inline) if inline is not None else (dockerfile, None)
    buffer = io.BytesIO()
    tar(str(folder), exclude=exclude, dockerfile=named, fileobj=buffer)
    return buffer.getvalue()
