"""Several observations, one probe container.

Starting a container costs far more than a DNS query, so every observation made from the same
place (one network namespace, one set of mounts) runs as a *step* of one probe script; the
steps run together (they wait on the network), so a step must not depend on another's. Each
step's output is framed by markers that carry a random nonce, so nothing a student's program
prints can forge a frame; each step's output is capped and its exit code recorded.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from grader import defaults
from grader.engine.base import Engine
from grader.engine.facts import ContainerFacts
from grader.engine.probe import ProbeMount, ProbeSpec, Standby
from grader.errors import ObservationError
from grader.i18n import Text

R_co = TypeVar("R_co", covariant=True)


class ProbeStep(Protocol[R_co]):
    """One observation inside a probe: a shell fragment and the parser of what it prints."""

    def script(self) -> str:
        """A busybox ``sh`` fragment; its stdout, stderr and exit status are captured. It runs
        beside the probe's other steps, in a folder of its own (its working directory), with
        an empty stdin."""
        ...

    def parse(self, output: StepOutput) -> R_co: ...


@dataclass(frozen=True)
class StepOutput:
    text: str
    """stdout and stderr of the step, decoded (invalid bytes replaced), capped."""
    exit_code: int
    truncated: bool = False


@dataclass(frozen=True)
class ProbeSite:
    """Where a probe runs: a network namespace, a PID namespace, a user namespace and
    read-only mounts (see :class:`~grader.engine.probe.ProbeSpec`)."""

    network_mode: str = "none"
    mounts: tuple[ProbeMount, ...] = ()
    description: str = ""
    pid_mode: str = ""
    userns_mode: str = ""


#: Where probes on the engine host run (127.0.0.1 is its loopback, where ports are published).
ENGINE_HOST = ProbeSite(network_mode="host", description="engine host")


def netns_site(container: ContainerFacts) -> ProbeSite:
    """Where probes sharing ``container``'s network namespace run (pinned by its id)."""
    return ProbeSite(
        network_mode=f"container:{container.id}", description=f"netns {container.name}"
    )


def run_steps(
    engine: Engine,
    site: ProbeSite,
    steps: Sequence[ProbeStep[Any]],
    *,
    image: str,
    labels: dict[str, str],
    deadline_s: float = defaults.PROBE_DEADLINE_S,
    standby: Standby | None = None,
) -> list[Any]:
    """Run ``steps`` in one probe at ``site``, a new one or the ``standby`` probe started there
    ahead of them; return each step's parsed result, in order."""
    nonce = secrets.token_hex(8)
    spec = probe_spec(
        site,
        build_script(steps, nonce),
        image,
        labels,
        deadline_s,
        f"{done_line(nonce)}\n".encode(),
    )
    output = (
        engine.run_probe(spec) if standby is None else engine.run_in_standby_probe(standby, spec)
    )
    frames = split_frames(output.stdout, nonce)
    results: list[Any] = []
    for index, step in enumerate(steps):
        frame = frames.get(index)
        if frame is None:
            stderr = output.stderr.decode("utf-8", "replace").strip()[-300:]
            raise ObservationError(
                Text(
                    fr=f"la sonde ({site.description}) s'est arrêtée avant la fin : {stderr}",
                    en=f"the probe ({site.description}) stopped before the end: {stderr}",
                )
            )
        results.append(step.parse(frame))
    return results


def probe_spec(
    site: ProbeSite,
    script: str,
    image: str,
    labels: dict[str, str],
    deadline_s: float = defaults.PROBE_DEADLINE_S,
    last_line: bytes = b"",
) -> ProbeSpec:
    """What a probe at ``site`` running ``script`` is given (a standby's script is empty)."""
    return ProbeSpec(
        image=image,
        script=script,
        purpose=site.description or site.network_mode,
        network_mode=site.network_mode,
        pid_mode=site.pid_mode,
        userns_mode=site.userns_mode,
        mounts=site.mounts,
        deadline_s=deadline_s,
        labels=labels,
        last_line=last_line,
    )


def build_script(steps: Sequence[ProbeStep[Any]], nonce: str) -> str:
    """One probe's script: its steps run at once (at most :data:`~grader.defaults.
    PROBE_STEPS_AT_ONCE` together, each in a folder of its own: they are independent
    observations, and a probe waits on the network, not on its CPU), then each step's output
    is printed in a frame, in order."""
    limit, at_once = defaults.STEP_OUTPUT_LIMIT, defaults.PROBE_STEPS_AT_ONCE

    def collect(index: int) -> list[str]:
        return [f"wait $p{index}", f"r{index}=$?"]

    lines = ["cd /tmp"]
    for index, step in enumerate(steps):
        if index >= at_once:
            lines += collect(index - at_once)
        lines += [
            f"mkdir s{index}",
            f"( cd s{index} || exit 125\n{step.script()}\n) >o{index} 2>&1 </dev/null &",
            f"p{index}=$!",
        ]
    for index in range(max(0, len(steps) - at_once), len(steps)):
        lines += collect(index)
    for index in range(len(steps)):
        lines += [
            f"size=$(wc -c <o{index})",
            f"echo '@@{nonce}:begin {index}'",
            f"head -c {limit} o{index}",
            "echo",
            f'echo "@@{nonce}:end {index} $r{index} $size"',
        ]
    lines.append(f"echo '{done_line(nonce)}'")
    return "\n".join(lines)


def done_line(nonce: str) -> str:
    """The last line a probe script prints: no step's output can forge it (the nonce)."""
    return f"@@{nonce}:done"


def split_frames(stdout: bytes, nonce: str) -> dict[int, StepOutput]:
    """Parse the framed output of :func:`build_script`; missing frames are simply absent."""
    pattern = re.compile(
        rb"@@"
        + nonce.encode()
        + rb":begin (\d+)\n(.*?)\n@@"
        + nonce.encode()
        + rb":end \1 (\d+) *(\d*)\n",
        re.DOTALL,
    )
    frames: dict[int, StepOutput] = {}
    for match in pattern.finditer(stdout):
        body = match.group(2)
        size = int(match.group(4) or 0)
        frames[int(match.group(1))] = StepOutput(
            text=body.decode("utf-8", "replace"),
            exit_code=int(match.group(3)),
            truncated=size > defaults.STEP_OUTPUT_LIMIT,
        )
    return frames
