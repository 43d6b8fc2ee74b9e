"""``grade doctor``: what grading will find here, and whether anything in it will fail.

Each finding is ``ok`` (ready), ``note`` (fine, but worth knowing: the probe image is absent and
will be pulled at first use) or ``problem`` (grading will fail until it is fixed). Only problems
make ``doctor`` fail: a fresh CI runner, which has no probe image yet, passes.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from grader import defaults
from grader.compose import find_compose, run_bounded
from grader.errors import GraderError, probe_image_build_command
from grader.i18n import Text


class Level(str, Enum):
    OK = "ok"
    NOTE = "note"
    PROBLEM = "problem"


@dataclass(frozen=True)
class Finding:
    level: Level
    what: Text
    detail: Text

    @property
    def ok(self) -> bool:
        """Whether grading can go on despite this finding."""
        return self.level is not Level.PROBLEM


ENGINE = Text(fr="moteur Docker", en="Docker Engine")
PROBE_IMAGE = Text(fr="image de sonde", en="probe image")
COMPOSE = Text.same("docker compose")


def diagnose(host: str | None = None, probe_image: str = defaults.PROBE_IMAGE) -> list[Finding]:
    from grader.engine.connection import choose_endpoint, connect

    findings: list[Finding] = []
    choice = choose_endpoint(host)
    try:
        engine = connect(host)
    except GraderError as exc:
        findings.append(Finding(Level.PROBLEM, ENGINE, exc.text))
        engine = None
    if engine is not None:
        try:
            info = engine.info
            findings.append(
                Finding(
                    Level.OK,
                    ENGINE,
                    Text.same(
                        f"{info.endpoint} ({choice.source}) — Docker {info.server_version}, "
                        f"API {info.api_version}"
                    ),
                )
            )
            findings.append(_probe_image(engine.image(probe_image) is not None, probe_image))
        except GraderError as exc:
            findings.append(Finding(Level.PROBLEM, ENGINE, exc.text))
        finally:
            engine.close()
    try:
        command = find_compose()
        version = run_bounded([*command, "version", "--short"], timeout_s=20)
        findings.append(
            Finding(
                Level.OK if version.ok else Level.PROBLEM,
                COMPOSE,
                Text.same(version.output.strip() or "?"),
            )
        )
    except GraderError as exc:
        # Only `grade demo`, `selftest` and `batch` need Compose: a self-check does not.
        findings.append(Finding(Level.NOTE, COMPOSE, exc.text))
    return findings


def _probe_image(present: bool, image: str) -> Finding:
    if present:
        return Finding(Level.OK, PROBE_IMAGE, Text.same(image))
    build = probe_image_build_command(image)
    return Finding(
        Level.NOTE,
        PROBE_IMAGE,
        Text(
            fr=f"{image} — absente du moteur : téléchargée à la première correction "
            f"(hors ligne, construisez-la ici : `{build}`, ou --probe-image IMAGE_LOCALE)",
            en=f"{image} — not on the engine: pulled at the first grading "
            f"(offline, build it here: `{build}`, or --probe-image LOCAL_IMAGE)",
        ),
    )
