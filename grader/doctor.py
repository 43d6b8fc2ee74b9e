"""``grade doctor``: is everything grading needs there?"""

from __future__ import annotations

from dataclasses import dataclass

from grader import defaults
from grader.compose import find_compose, run_bounded
from grader.errors import GraderError
from grader.i18n import Text


@dataclass(frozen=True)
class Finding:
    ok: bool
    what: Text
    detail: str


def diagnose(host: str | None = None, probe_image: str = defaults.PROBE_IMAGE) -> list[Finding]:
    from grader.engine.connection import choose_endpoint, connect

    findings: list[Finding] = []
    choice = choose_endpoint(host)
    try:
        engine = connect(host)
    except GraderError as exc:
        findings.append(Finding(False, Text(fr="moteur Docker", en="Docker Engine"), exc.text.en))
        engine = None
    if engine is not None:
        info = engine.info
        findings.append(
            Finding(
                True,
                Text(fr="moteur Docker", en="Docker Engine"),
                f"{info.endpoint} ({choice.source}) — Docker {info.server_version}, "
                f"API {info.api_version}",
            )
        )
        present = engine.image(probe_image) is not None
        findings.append(
            Finding(
                present,
                Text(fr="image de sonde", en="probe image"),
                probe_image
                + ("" if present else " — absent: pulled at first use, or --probe-image IMAGE"),
            )
        )
        engine.close()
    try:
        command = find_compose()
        version = run_bounded([*command, "version", "--short"], timeout_s=20)
        findings.append(
            Finding(version.ok, Text.same("docker compose"), version.output.strip() or "?")
        )
    except GraderError as exc:
        findings.append(Finding(False, Text.same("docker compose"), exc.text.en))
    return findings
