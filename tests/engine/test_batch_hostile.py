"""A hostile class: every submission tries to act on the grading machine or engine, and each
is refused, with its reason named, through the real tools (staging on this machine's
filesystem, the real ``docker compose config``); the batch is run by the command line exactly
as the README shows it, with relative paths.

After the batch: the engine's images (ids and tags), containers, networks and volumes are
exactly as before, a canary host folder is untouched, and neither a canary secret placed
outside the submissions nor a canary variable of the batch's environment appears in any file
the batch wrote. A control student in the same class gets full marks.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import docker
import pytest
import yaml
from typer.testing import CliRunner

from grader.batch.submissions import unique_ids
from grader.cli import app
from grader.exercise.model import Exercise
from tests.support.cpu_hog import cpu_hog

Model = dict[str, Any]
TOKEN = secrets.token_hex(12)
#: One batch: a folder per student, in a class folder next to the canaries.
Build = Callable[[Path, Model, "Canaries"], None]


class Canaries:
    def __init__(self, root: Path) -> None:
        self.secret_dir = root / "outside"
        self.secret_dir.mkdir()
        self.secret = self.secret_dir / "secret.txt"
        self.secret.write_text(f"canary-secret={TOKEN}\n")
        (self.secret_dir / "compose.yaml").write_text(
            yaml.safe_dump({"services": {"leak": {"image": f"x{TOKEN}", "labels": {"k": TOKEN}}}})
        )
        self.host_folder = Path(f"/tmp/tpg-canary-{TOKEN[:8]}")
        self.host_folder.mkdir()
        (self.host_folder / "keep.txt").write_text("untouched\n")

    def host_state(self) -> list[tuple[str, int, float]]:
        return sorted(
            (str(p.relative_to(self.host_folder)), p.stat().st_size, p.stat().st_mtime)
            for p in self.host_folder.rglob("*")
        )


def write(folder: Path, model: Model) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "compose.yaml").write_text(yaml.safe_dump(model, sort_keys=False))


def changed(**service: Any) -> Build:
    """The reference solution with redis changed (a key given ``None`` is removed)."""

    def build(folder: Path, reference: Model, canaries: Canaries) -> None:
        model = json.loads(json.dumps(reference))
        redis = model["services"]["redis"]
        redis.update(service)
        for key in [k for k, v in redis.items() if v is None]:
            del redis[key]
        write(folder, model)

    return build


def top(redis: Model | None = None, **keys: Any) -> Build:
    """The reference solution with top-level keys added (``redis``: changes to redis, so that
    it uses them: Compose drops what no service uses)."""

    def build(folder: Path, reference: Model, canaries: Canaries) -> None:
        model = {**json.loads(json.dumps(reference)), **keys}
        model["services"]["redis"].update(redis or {})
        write(folder, model)

    return build


def with_files(files: dict[str, str], **service: Any) -> Build:
    def build(folder: Path, reference: Model, canaries: Canaries) -> None:
        changed(**service)(folder, reference, canaries)
        for name, text in files.items():
            (folder / name).parent.mkdir(parents=True, exist_ok=True)
            (folder / name).write_text(text)

    return build


def symlink(name: str) -> Build:
    def build(folder: Path, reference: Model, canaries: Canaries) -> None:
        write(folder, reference)
        (folder / name).unlink(missing_ok=True)
        (folder / name).symlink_to(canaries.secret)

    return build


def folder_is_symlink(folder: Path, reference: Model, canaries: Canaries) -> None:
    folder.symlink_to(canaries.secret_dir)


def hard_link(folder: Path, reference: Model, canaries: Canaries) -> None:
    write(folder, reference)
    os.link(canaries.secret, folder / "notes.txt")


def fifo(folder: Path, reference: Model, canaries: Canaries) -> None:
    write(folder, reference)
    os.mkfifo(folder / "pipe")


def alias_bomb(folder: Path, reference: Model, canaries: Canaries) -> None:
    folder.mkdir()
    lines = ['a0: &a0 ["x","x","x","x","x","x","x","x","x","x"]']
    lines += [
        f"a{i}: &a{i} [*a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}]" for i in range(1, 10)
    ]
    text = "x-bomb:\n" + "\n".join(f"  {line}" for line in lines) + "\n"
    (folder / "compose.yaml").write_text(text + yaml.safe_dump(reference))


def pointing_outside(key: str) -> Build:
    """A file key that ``config`` would read: pointed at the canary secret."""

    def build(folder: Path, reference: Model, canaries: Canaries) -> None:
        model = json.loads(json.dumps(reference))
        relative = os.path.relpath(canaries.secret, folder)
        if key == "include":
            model["include"] = [os.path.relpath(canaries.secret_dir / "compose.yaml", folder)]
        elif key == "extends":
            model["services"]["redis"]["extends"] = {
                "file": str(canaries.secret_dir / "compose.yaml"),
                "service": "leak",
            }
        else:
            model["services"]["redis"][key] = relative
        write(folder, model)

    return build


def nested(name: str, text: str, how: str = "include") -> Build:
    """The reference, with ``include: [name]`` (or a service that ``extends`` it) and ``name``
    holding ``text`` (``{secret}`` is the canary secret's absolute path)."""

    def build(folder: Path, reference: Model, canaries: Canaries) -> None:
        model = json.loads(json.dumps(reference))
        if how == "include":
            model["include"] = [name]
        else:
            model["services"]["redis"]["extends"] = {"file": name, "service": "base"}
        write(folder, model)
        (folder / name).write_text(text.format(secret=canaries.secret))

    return build


def binary_key(folder: Path, reference: Model, canaries: Canaries) -> None:
    write(folder, reference)
    text = (folder / "compose.yaml").read_text()
    secret = os.path.relpath(canaries.secret, folder)
    text = text.replace(
        "services:\n", f"services:\n  leak:\n    image: x\n    !!binary ZW52X2ZpbGU=: {secret}\n", 1
    )
    (folder / "compose.yaml").write_text(text)


def many_networks(folder: Path, reference: Model, canaries: Canaries) -> None:
    model = json.loads(json.dumps(reference))
    names = [f"n{i}" for i in range(40)]
    model["networks"] |= {name: {} for name in names}
    model["services"]["redis"]["networks"] = ["moby-network", *names]
    write(folder, model)


def dockerfile_outside(folder: Path, reference: Model, canaries: Canaries) -> None:
    model = json.loads(json.dumps(reference))
    model["services"]["redis"]["build"] = {
        "context": ".",
        "dockerfile": os.path.relpath(canaries.secret, folder),
    }
    write(folder, model)


def dotenv(line: str) -> Build:
    def build(folder: Path, reference: Model, canaries: Canaries) -> None:
        write(folder, reference)
        (folder / ".env").write_text(f"{line}\n")

    return build


def include_elsewhere(folder: Path, reference: Model, canaries: Canaries) -> None:
    """Compose resolves the included file's own ``include:`` from ``project_directory``, the
    prescan beside the included file, where there is nothing: the file Compose loads instead
    was never prescanned, and names the canary secret by its absolute path."""
    model = json.loads(json.dumps(reference))
    model["include"] = [{"path": "sub/inc.yaml", "project_directory": "."}]
    write(folder, model)
    (folder / "sub").mkdir()
    (folder / "sub" / "inc.yaml").write_text("include: [evil.yaml]\n")
    (folder / "evil.yaml").write_text(
        yaml.safe_dump({"services": {"leak": {"image": "x", "env_file": str(canaries.secret)}}})
    )


def extends_elsewhere(folder: Path, reference: Model, canaries: Canaries) -> None:
    """The same through ``extends``: the service that reaches the canary is a runnable one."""
    model = json.loads(json.dumps(reference))
    model["include"] = [{"path": "sub/inc.yaml", "project_directory": "."}]
    write(folder, model)
    (folder / "sub").mkdir()
    (folder / "sub" / "inc.yaml").write_text(
        "services:\n  helper:\n    extends: {file: base.yaml, service: base}\n"
    )
    (folder / "base.yaml").write_text(
        yaml.safe_dump({"services": {"base": {"image": "redis", "env_file": str(canaries.secret)}}})
    )


def big_include(folder: Path, reference: Model, canaries: Canaries) -> None:
    model = json.loads(json.dumps(reference))
    model["include"] = ["big.yaml"]
    write(folder, model)
    (folder / "big.yaml").write_text("x-big: '" + "a" * (300 << 10) + "'\n")


def deep_yaml(folder: Path, reference: Model, canaries: Canaries) -> None:
    write(folder, reference)
    with (folder / "compose.yaml").open("a") as file:
        file.write("x-deep: " + "[" * 50_000 + "]" * 50_000 + "\n")


def dockerfile(text: str) -> Build:
    """redis built from a Dockerfile holding ``text``."""

    def build(folder: Path, reference: Model, canaries: Canaries) -> None:
        changed(build={"context": "."})(folder, reference, canaries)
        (folder / "Dockerfile").write_text(text)

    return build


#: Compose led to a host file: the confined ``config`` cannot reach it (an error, no leak).
CONFINED: dict[str, Build] = {
    "include-project-directory": include_elsewhere,
    "extends-project-directory": extends_elsewhere,
}

#: student -> (how the folder is made, the reason its report must name)
HOSTILE: dict[str, tuple[Build, str]] = {
    "provider": (changed(provider={"type": "sh", "options": {"c": "touch /tmp/pwned"}}),
                 "services.redis.provider"),
    "build-tags": (changed(build={"context": ".", "tags": ["redis:alpine"]}), "build.tags"),
    "dockerfile-climbs-out": (dockerfile_outside, "dockerfile outside the build context"),
    "use-api-socket": (changed(use_api_socket=True), "services.redis.use_api_socket"),
    "post-start": (changed(post_start=[{"command": ["id"], "privileged": True, "user": "root"}]),
                   "services.redis.post_start"),
    "pre-stop": (changed(pre_stop=[{"command": ["id"]}]), "services.redis.pre_stop"),
    "network-mode-bridge": (changed(network_mode="bridge", networks=None),
                            "network_mode 'bridge'"),
    "network-mode-host": (changed(network_mode="host", networks=None), "network_mode 'host'"),
    "logging": (changed(logging={"driver": "syslog",
                                 "options": {"syslog-address": "udp://192.0.2.1:514"}}),
                "services.redis.logging"),
    "ulimits": (changed(ulimits={"nofile": 1048576}), "services.redis.ulimits"),
    "oom-score-adj": (changed(oom_score_adj=-1000), "services.redis.oom_score_adj"),
    "oom-kill-disable": (changed(oom_kill_disable=True), "services.redis.oom_kill_disable"),
    "memswap": (changed(memswap_limit="4g"), "services.redis.memswap_limit"),
    "cgroup-parent": (changed(cgroup_parent="/"), "services.redis.cgroup_parent"),
    "runtime": (changed(runtime="runc"), "services.redis.runtime"),
    "sysctls": (changed(sysctls={"net.core.somaxconn": 1024}), "services.redis.sysctls"),
    "seccomp-file": (with_files({"seccomp.json": "{}"}, security_opt=["seccomp=seccomp.json"]),
                     "services.redis.security_opt"),
    "cap-add": (changed(cap_add=["SYS_ADMIN"]), "services.redis.cap_add"),
    "privileged": (changed(privileged=True), "services.redis.privileged"),
    "devices": (changed(devices=["/dev/kmsg:/dev/kmsg"]), "services.redis.devices"),
    "device-cgroup-rules": (changed(device_cgroup_rules=["a *:* rwm"]),
                            "services.redis.device_cgroup_rules"),
    "pid-host": (changed(pid="host"), "services.redis.pid"),
    "ipc-host": (changed(ipc="host"), "services.redis.ipc"),
    "userns-host": (changed(userns_mode="host"), "services.redis.userns_mode"),
    "deploy-replicas": (changed(deploy={"replicas": 40}), "deploy.replicas: 40"),
    "scale": (changed(scale=40), "scale: 40"),
    "extra-hosts": (changed(extra_hosts=["registry-1.docker.io:192.0.2.1"]),
                    "services.redis.extra_hosts"),
    "dns": (changed(dns=["192.0.2.1"]), "services.redis.dns"),
    "external-links": (changed(external_links=["other"]), "services.redis.external_links"),
    "storage-opt": (changed(storage_opt={"size": "1G"}), "services.redis.storage_opt"),
    "docker-socket": (changed(volumes=["/var/run/docker.sock:/var/run/docker.sock"]),
                      "host folder '/var/run/docker.sock' mounted"),
    "canary-folder": (changed(volumes=["/tmp/tpg-canary-" + TOKEN[:8] + ":/c"]),
                      "only the exercise's folders may be, exactly"),
    "volume-device": (top(volumes={"hostvol": {"driver_opts": {"type": "none", "o": "bind",
                                                         "device": "/etc"}}},
                          redis={"volumes": ["hostvol:/data"]}),
                      "volumes.hostvol.driver_opts"),
    "external-network": (top(networks={"moby-network": {"external": True},
                                       "moby-network2": {}}),
                         "networks.moby-network.external: external network"),
    "port-range-over-the-pool": (changed(ports=["20000-29999:6379"]),
                                 "ports declared, ranges and expose included"),
    "secrets-file": (top(secrets={"s": {"file": "/etc/shadow"}}, redis={"secrets": ["s"]}),
                     "secrets"),
    "label-file": (pointing_outside("label_file"), "services.redis.label_file"),
    "env-file-outside": (pointing_outside("env_file"), "services.redis.env_file"),
    "include-outside": (pointing_outside("include"), "include: '../"),
    "extends-outside": (pointing_outside("extends"), "services.redis.extends.file"),
    "symlinked-env": (symlink(".env"), ".env is a symbolic link"),
    "symlinked-compose-file": (symlink("compose.yaml"), "compose.yaml is a symbolic link"),
    "symlinked-folder": (folder_is_symlink, "the submission folder is a symbolic link"),
    "hard-link": (hard_link, "notes.txt is a hard link"),
    "fifo": (fifo, "pipe is a named pipe (FIFO)"),
    "dotenv-compose-file": (dotenv("COMPOSE_FILE=/etc/passwd"), ".env sets COMPOSE_FILE"),
    "alias-bomb": (alias_bomb, "YAML anchors and aliases"),
    "models": (top(models={"m": {"model": "ai/smollm2"}}), "models"),
    # Files that `include` and `extends` make Compose read are prescanned as the first one.
    "nested-include-env-file": (
        nested("inc.yaml", "services:\n  leak:\n    image: x\n    env_file: {secret}\n"),
        "inc.yaml: services.leak.env_file",
    ),
    "nested-extends-env-file": (
        nested("base.yaml", "services:\n  base:\n    image: x\n    env_file: {secret}\n",
               how="extends"),
        "base.yaml: services.base.env_file",
    ),
    "nested-include-of-an-outside-file": (
        nested("inc.yaml", "include: [{secret}]\n"), "inc.yaml: include: '/",
    ),
    "nested-alias-bomb": (
        nested("inc.yaml", "x-a: &a [1,1,1,1,1,1,1,1,1,1]\n"
               + "".join(f"x-{i}: &{chr(98 + i)} [*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)},"
                         f"*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)}]\n"
                         for i in range(8))),
        "YAML anchors and aliases",
    ),
    "binary-key": (binary_key, "a key must be plain text"),
    "port-target-ranges": (changed(ports=["1-65535"]), "ports declared, ranges and expose"),
    "many-networks": (many_networks, "networks (at most 8)"),
    "dotenv-colon-form": (dotenv("COMPOSE_PROFILES: x"), ".env sets COMPOSE_PROFILES"),
    # Bounds before work: sizes, depth and ports counted before `config` runs.
    "big-include": (big_include, "big.yaml is larger than 256 KiB"),
    "deep-yaml": (deep_yaml, "unreadable compose file"),
    "expose-range": (changed(expose=["1-65535"]), "ports declared, ranges and expose included"),
    "big-dotenv": (dotenv("A=" + "a" * (100 << 10)), ".env is larger than 64 KiB"),
    # What the engine itself would fetch, from its host's network (loopback included).
    "image-on-loopback": (changed(image="127.0.0.1:5000/redis:alpine"),
                          "comes from registry 127.0.0.1:5000"),
    "from-localhost": (dockerfile("FROM localhost:5000/base\n"), "comes from registry localhost"),
    "from-arg-loopback": (dockerfile("ARG BASE=127.0.0.2:80/x\nFROM ${BASE}\n"),
                          "comes from registry 127.0.0.2:80"),
    "add-url": (dockerfile("FROM scratch\nADD http://127.0.0.1:9/x /x\n"),
                "the engine would fetch it itself"),
    "copy-from-registry": (dockerfile("FROM scratch\nCOPY --from=[::1]:5000/x / /\n"),
                           "comes from registry [::1]:5000"),
    "additional-contexts": (changed(build={"context": ".", "additional_contexts": {"a": "."}}),
                            "build.additional_contexts"),
}  # fmt: skip

#: Honest students with odd folder names or odd but valid YAML: each graded, with full marks,
#: in a row of their own. (name -> what is added to the reference's compose file)
ODD_NAMES = [
    "Ada Lovelace",
    "ada lovelace",
    "ADA-LOVELACE",  # the same once cleaned
    '=HYPERLINK("http:x")',
    "+1+1",
    "@SUM(A1)",
    "-2",  # spreadsheet formulas
    "<img src=x onerror=alert(1)>",
    "\x1b]0;pwned\x07\x1b[31mred",  # markup, terminal
    "e" * 200,  # longer than a folder name the outputs keep
]
ODD_YAML = {
    "invalid-date": "x-exam-date: 2024-13-01\n",  # a date that does not exist, unquoted
    "long-number": "x-n: " + "9" * 5000 + "\n",  # past Python's int() digit limit
}
UNDECODABLE = os.fsdecode(b"caf\xe9-latin1")
#: A refused student whose id is markup: listed in the summaries, to look at, as text.
MARKUP = "<svg onload=alert(1)>"


def engine_state(client: docker.DockerClient) -> dict[str, list[Any]]:
    api = client.api
    return {
        "images": sorted((i["Id"], sorted(i.get("RepoTags") or ())) for i in api.images(all=True)),
        "containers": sorted(c["Id"] for c in api.containers(all=True)),
        "networks": sorted(n["Id"] for n in api.networks()),
        "volumes": sorted(v["Name"] for v in api.volumes()["Volumes"] or ()),
    }


def misses(report: dict[str, Any]) -> str:
    """A report's checks that did not pass, with message and retries, and its notes."""
    lines = [
        f"{c['id']} {c['status']} ({c['retries']} retries): {c['message']}"
        for c in report["checks"]
        if c["status"] != "passed"
    ]
    return "; ".join([f"{report['student']}:", *lines, *report["notes"]])


@pytest.fixture
def hostile_class(
    tmp_path: Path, reseau: Exercise, reseau_images: dict[str, str]
) -> Iterator[tuple[Path, Canaries]]:
    canaries = Canaries(tmp_path)
    reference = yaml.safe_load(reseau.render(reseau.solution.compose, images=reseau_images))
    root = tmp_path / "class"
    root.mkdir()
    for student, (build, _) in HOSTILE.items():
        build(root / student, reference, canaries)
    write(root / "control", reference)
    for student, build in CONFINED.items():
        build(root / student, reference, canaries)
    for name in [*ODD_NAMES, UNDECODABLE]:
        write(root / name, reference)
    changed(privileged=True)(root / MARKUP, reference, canaries)
    for student, text in ODD_YAML.items():
        write(root / student, reference)
        with (root / student / "compose.yaml").open("a") as file:
            file.write(text)
    # Interpolates a variable the batch machine has: Compose must not see it.
    model = json.loads(json.dumps(reference))
    model["services"]["redis"]["labels"] = {"leak": "${TPG_CANARY:-none}"}
    model["services"]["redis"]["image"] = "tp-grader-test/absent-${TPG_CANARY:-none}:1"
    model["services"]["redis"]["pull_policy"] = "never"  # no registry is reached for it
    write(root / "env-canary", model)
    try:
        yield tmp_path, canaries
    finally:
        shutil.rmtree(canaries.host_folder, ignore_errors=True)


def test_a_hostile_class_is_refused_and_changes_nothing(
    hostile_class: tuple[Path, Canaries],
    docker_client: docker.DockerClient,
    monkeypatch: pytest.MonkeyPatch,
    busybox: str,
) -> None:
    workdir, canaries = hostile_class
    monkeypatch.chdir(workdir)
    monkeypatch.setenv("TPG_CANARY", TOKEN)
    before = engine_state(docker_client)
    folder_before = canaries.host_state()
    assert len(HOSTILE) >= 30

    try:
        with cpu_hog():  # a correct setup scores full marks however busy the machine
            done = CliRunner().invoke(
                app,
                ["batch", "tp-reseau", "class/", "--out", "grades/", "--jobs", "4",
                 "--lang", "en", "--probe-image", busybox],
            )  # fmt: skip
    finally:
        leftovers = Path("/tmp/pwned").exists()

    assert done.exit_code == 1, done.output  # env-canary is in error (its image is absent)
    students = workdir / "grades" / "students"
    reports = {
        (data := json.loads(p.read_text()))["student"]: data for p in students.glob("*/report.json")
    }
    every = [*HOSTILE, *CONFINED, *ODD_NAMES, *ODD_YAML, UNDECODABLE, MARKUP, "control"]
    assert len(reports) == len(every) + 1  # each student a row of their own, none merged
    assert len({p.parent.name for p in students.glob("*/report.json")}) == len(reports)
    wrong = {
        student: (reports[student]["status"], reports[student]["notes"][:1])
        for student, (_, reason) in HOSTILE.items()
        if reports[student]["status"] != "refused" or reason not in reports[student]["notes"][0]
    }
    assert wrong == {}
    assert all(reports[student]["score"] == 0 for student in HOSTILE)
    assert (reports["control"]["status"], reports["control"]["score"]) == ("graded", 20), misses(
        reports["control"]
    )
    odd = [*ODD_NAMES, UNDECODABLE, *ODD_YAML]
    honest = {s: (reports[s]["status"], reports[s]["score"]) for s in unique_ids(odd)}
    assert honest == dict.fromkeys(unique_ids(odd), ("graded", 20)), "\n".join(
        misses(reports[s]) for s in unique_ids(odd) if honest[s] != ("graded", 20)
    )
    assert "caf\\xe9-latin1~" in "".join(reports)  # shown escaped, not dropped
    confined = {s: reports[s]["status"] for s in CONFINED}
    assert confined == dict.fromkeys(CONFINED, "error"), [reports[s]["notes"] for s in CONFINED]
    assert all("docker compose config failed" in reports[s]["notes"][0] for s in CONFINED)
    assert reports["env-canary"]["status"] == "error"
    assert "absent-none" in reports["env-canary"]["notes"][0]  # the variable was not there
    assert not leftovers  # the provider never ran
    assert engine_state(docker_client) == before
    assert canaries.host_state() == folder_before
    written = [p for p in (workdir / "grades").rglob("*") if p.is_file()]
    assert len(written) > 3 * len(HOSTILE)
    for path in written:
        assert TOKEN not in path.read_text(errors="replace"), path
    assert "\x1b" not in done.output  # no student text drives the teacher's terminal
    gradebook = (workdir / "grades" / "gradebook.csv").read_text()
    ids = [row.split(",", 1)[0] for row in gradebook.splitlines()[1:]]
    assert not [i for i in ids if i.lstrip('"')[:1] in ("=", "+", "-", "@")]
    canvas = (workdir / "grades" / "gradebook-canvas.csv").read_text()
    assert not [c for c in canvas.split(",") if c.lstrip('"')[:1] in ("=", "+", "-", "@")]
    html = (workdir / "grades" / "summary.html").read_text()
    assert reports[MARKUP]["status"] == "refused"
    assert "<svg onload" not in html
    assert "&lt;svg onload=alert(1)&gt;" in html
    markdown = (workdir / "grades" / "summary.md").read_text()
    assert "<svg onload" not in markdown
    assert "&lt;svg onload=alert(1)&gt;" in markdown
