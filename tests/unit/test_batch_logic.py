"""Batch grading's pure parts: the allowlist policy and the raw prescan, the isolation rewrite,
the scheduler, the gradebook and the summary (no engine: models and results built by hand; the
hostile corpus of tests/engine/test_batch_hostile.py runs the same rules through the real
``docker compose config``)."""

from __future__ import annotations

import csv
import io
import threading
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from grader import defaults
from grader.batch.gate.allowlist import TOP_LEVEL, review
from grader.batch.gate.prepare import Prepared, project_name
from grader.batch.gate.prescan import prescan
from grader.batch.gate.rules import Context
from grader.batch.rewrite import isolate, published_ports
from grader.batch.schedule import Scheduler
from grader.batch.submissions import Submission, read_hosts
from grader.errors import UsageError
from grader.exercise.catalog import find
from grader.exercise.model import Exercise
from grader.i18n import Text
from grader.judge.outcome import CheckOutcome, CheckStatus
from grader.judge.scoring import score
from grader.report.gradebook import gradebook_csv
from grader.report.summary import summarise
from grader.result import GradeResult, RunStatus
from tests.support.wait import wait_for

FOLDER = Path("/srv/stage/tpgx-ada")


def context(**changes: Any) -> Context:
    given: dict[str, Any] = {
        "folder": FOLDER,
        "host_paths": ("/tmp/data",),
        "services": frozenset({"redis", "app"}),
        "networks": frozenset({"net", "default"}),
        "volumes": frozenset({"data"}),
        "max_services": 3,
    }
    return Context(**(given | changes))


def service(**changes: Any) -> dict[str, Any]:
    return {"image": "redis:alpine", "command": None, "entrypoint": None, **changes}


def reasons(model: dict[str, Any], **changes: Any) -> list[str]:
    return [r.en for r in review(model, context(**changes))]


def test_a_plain_submission_passes_review() -> None:
    model = {
        "name": "ada",
        "services": {
            "redis": service(
                networks={"net": {"aliases": ["db"]}, "default": None},
                ports=[{"mode": "ingress", "target": 80, "published": "8000", "protocol": "tcp"}],
                volumes=[
                    {"type": "volume", "source": "data", "target": "/data", "volume": {}},
                    {"type": "bind", "source": "/tmp/data", "target": "/d", "read_only": True,
                     "bind": {"create_host_path": True}},
                    {"type": "tmpfs", "target": "/run", "tmpfs": {"size": "1000"}},
                ],
                healthcheck={"test": ["CMD", "true"], "interval": "1s"},
                depends_on={"app": {"condition": "service_started", "required": True}},
                volumes_from=["app:ro"],
                build={"context": f"{FOLDER}/app", "dockerfile": "Dockerfile", "args": {"A": "1"}},
                deploy={"replicas": 1, "placement": {}},
                **{"x-note": "ignored"},
            ),
        },
        "networks": {"net": {"name": "ada_net", "ipam": {}}, "default": {"name": "d", "ipam": {}}},
        "volumes": {"data": {"name": "ada_data"}},
        "x-anything": {"privileged": True},
    }  # fmt: skip

    assert reasons(model) == []


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"privileged": True}, "not allowed in a submission: services.redis.privileged"),
        ({"cap_add": ["SYS_ADMIN"]}, "services.redis.cap_add (privileges on the host)"),
        ({"devices": [{"source": "/dev/sda"}]}, "services.redis.devices"),
        ({"network_mode": "host"}, "network_mode 'host': only service:SERVICE"),
        ({"network_mode": "bridge"}, "network_mode 'bridge': only service:SERVICE"),
        ({"network_mode": "container:abc"}, "network_mode 'container:abc'"),
        ({"pid": "host"}, "services.redis.pid"),
        ({"security_opt": ["seccomp=p.json"]}, "services.redis.security_opt (changed confinement)"),
        ({"volumes_from": ["container:other"]}, "volumes_from 'container:other'"),
        ({"volumes_from": ["nobody"]}, "volumes_from 'nobody': only a service of the project"),
        (
            {"volumes": [{"type": "bind", "source": "/var/run/docker.sock", "target": "/s"}]},
            "host folder '/var/run/docker.sock' mounted",
        ),
        (
            {"volumes": [{"type": "bind", "source": "/tmp/data/sub", "target": "/s"}]},
            "host folder '/tmp/data/sub' mounted: only the exercise's folders may be, exactly",
        ),
        (
            {"volumes": [{"type": "volume", "source": "other", "target": "/s"}]},
            "volume 'other' that is not a volume of the project",
        ),
        (
            {
                "volumes": [
                    {
                        "type": "bind",
                        "source": "/tmp/data",
                        "target": "/s",
                        "bind": {"propagation": "rshared"},
                    }
                ]
            },
            "services.redis.volumes.0.bind.propagation",
        ),
        ({"build": {"context": "/srv/stage/tpgx-bob"}}, "build context outside the submission"),
        ({"build": {"context": "/srv/stage/tpgx-ada/../x"}}, "build context outside"),
        ({"build": {"context": f"{FOLDER}", "dockerfile": "../../etc/passwd"}}, "dockerfile"),
        ({"build": {"context": f"{FOLDER}", "dockerfile": "/etc/passwd"}}, "dockerfile"),
        ({"build": {"context": f"{FOLDER}", "tags": ["redis:alpine"]}}, "build.tags"),
        ({"build": {"context": f"{FOLDER}", "ssh": ["default"]}}, "build.ssh"),
        ({"build": {"context": f"{FOLDER}", "network": "host"}}, "build.network"),
        ({"ports": [{"target": 80, "published": "20000-29999"}]}, "a port range cannot be"),
        ({"deploy": {"replicas": 3}}, "deploy.replicas: 3 (one instance per service)"),
        ({"scale": 2}, "scale: 2"),
        ({"labels": {"io.tp-grader.role": "probe"}}, "labels reserved to the grader"),
        ({"provider": {"type": "sh"}}, "services.redis.provider (runs a program outside"),
        ({"use_api_socket": True}, "services.redis.use_api_socket"),
        ({"post_start": [{"command": "id", "privileged": True}]}, "services.redis.post_start"),
        ({"logging": {"driver": "syslog"}}, "services.redis.logging"),
        ({"ulimits": {"nproc": 1}}, "services.redis.ulimits"),
        ({"oom_score_adj": -1000}, "services.redis.oom_score_adj"),
        ({"extra_hosts": ["h=1.2.3.4"]}, "services.redis.extra_hosts"),
        ({"sysctls": {"net.x": "1"}}, "services.redis.sysctls"),
        ({"some_future_key": 1}, "not supported in a submission: services.redis.some_future_key"),
    ],
)
def test_refusals(changes: dict[str, Any], reason: str) -> None:
    found = reasons({"services": {"redis": service(**changes)}})

    assert any(reason in r for r in found), found


def test_model_wide_refusals() -> None:
    model = {
        "services": {f"s{i}": service() for i in range(4)},
        "networks": {"outer": {"external": True}, "mac": {"driver": "macvlan"}},
        "volumes": {"etc": {"driver_opts": {"type": "none", "o": "bind", "device": "/etc"}}},
        "secrets": {"key": {"file": "/etc/ssh/ssh_host_rsa_key"}},
    }

    assert reasons(model) == [
        "networks.outer.external: external network",
        "networks.mac.driver: network driver 'macvlan'",
        "not allowed in a submission: volumes.etc.driver_opts (a volume backed by the host)",
        "not allowed in a submission: secrets (reads a host file)",
        "4 services (at most 3)",
    ]


def test_every_key_of_composes_schema_is_placed() -> None:
    """Every service and build key Compose knows today is allowed, rewritten or refused here,
    by name: unknown keys are refused anyway, but a key must be read to be placed."""
    from grader.batch.gate.allowlist import BUILD, SERVICE
    from tests.support.compose_schema import compose_schema

    schema = compose_schema()
    service_keys = set(schema["definitions"]["service"]["properties"])
    build = schema["definitions"]["service"]["properties"]["build"]["oneOf"][1]["properties"]
    top = set(schema["properties"])

    assert service_keys - set(SERVICE) == set()
    assert set(build) - set(BUILD) == set()
    assert top - set(TOP_LEVEL) == set()


def test_an_exercise_may_allow_a_refused_service_key() -> None:
    model = {"services": {"redis": service(cap_add=["NET_ADMIN"])}}

    assert review(model, context(), allowed_service_keys=["cap_add"]) == []


def test_prescan_refuses_what_config_would_read() -> None:
    raw = [
        {
            "include": ["../bob/compose.yaml", "https://github.com/x/y.git", "ok.yaml"],
            "services": {
                "a": {"env_file": "../../etc/passwd", "label_file": "labels"},
                "b": {"extends": {"file": "/etc/compose.yaml", "service": "x"}},
                "c": {"env_file": [{"path": "${HOME}/x"}, {"path": "ok.env"}]},
                "d": {"provider": {"type": "./evil.sh"}},
            },
        },
        {"models": {"m": {"model": "ai/x"}}},
    ]

    found = [r.en for r in prescan(raw)]

    assert found == [
        "include: '../bob/compose.yaml' must be a plain relative path inside the submission's "
        "folder (no .., ~, $ or URL)",
        "include: 'https://github.com/x/y.git' must be a plain relative path inside the "
        "submission's folder (no .., ~, $ or URL)",
        "not allowed in a submission: services.a.label_file (reads a host file)",
        "services.a.env_file: '../../etc/passwd' must be a plain relative path inside the "
        "submission's folder (no .., ~, $ or URL)",
        "services.b.extends.file: '/etc/compose.yaml' must be a plain relative path inside the "
        "submission's folder (no .., ~, $ or URL)",
        "services.c.env_file: '${HOME}/x' must be a plain relative path inside the submission's "
        "folder (no .., ~, $ or URL)",
        "not allowed in a submission: services.d.provider (runs a program outside containers)",
        "not allowed in a submission: models (runs a program outside containers)",
    ]


@pytest.fixture(scope="module")
def reseau() -> Exercise:
    return find("tp-reseau")


@pytest.fixture(scope="module")
def volumes() -> Exercise:
    return find("tp-volumes")


def port(published: str, target: int = 80, **more: Any) -> dict[str, Any]:
    return {"mode": "ingress", "target": target, "published": published, "protocol": "tcp", **more}


def test_isolation_rewrite(reseau: Exercise) -> None:
    model = {
        "name": "ada",
        "services": {
            "moby-counter": service(container_name="moby-counter", ports=[port("8000")]),
            "extra": service(ports=[port("7000", host_ip="0.0.0.0"), port("")], mem_limit="2g"),
            "twin": service(ports=[port("7000")], tmpfs=["/run:size=1g,mode=1777", "/tmp"]),
        },
        "networks": {"moby-network": {"name": "moby-network"}},
    }

    done = isolate(
        model, exercise=reseau, project="tpgx-ada", scratch="/tmp/tp-grader-tpgx-ada",
        ports=[20001, 20002], labels={"io.tp-grader.run": "x"},
    )  # fmt: skip

    services = done.model["services"]
    app = services["moby-counter"]
    assert "container_name" not in app
    assert app["ports"][0] | {} == port("20001", host_ip="127.0.0.1")
    assert services["extra"]["ports"] == [
        port("20002", host_ip="127.0.0.1"),
        port("", host_ip="127.0.0.1"),
    ]
    assert services["twin"]["ports"][0]["published"] == "20002"  # the same host port as extra
    assert done.param_overrides == {"app_port": "20001"}
    assert services["twin"]["tmpfs"] == [
        f"/run:size={64 << 20},mode=1777",
        f"/tmp:size={64 << 20}",
    ]
    assert "name" not in done.model["networks"]["moby-network"]
    assert done.model["networks"]["moby-network"]["labels"] == {"io.tp-grader.run": "x"}
    assert app["labels"] == {"io.tp-grader.run": "x"}
    assert (app["mem_limit"], app["pids_limit"], app["cpus"]) == (256 << 20, 256, 1.0)
    assert services["extra"]["mem_limit"] == 256 << 20  # 2g lowered
    assert "name" not in done.model
    assert [n.en for n in done.notes] == [
        "published ports bound to 127.0.0.1, at the batch's numbers: 8000→20001, 7000→20002",
        "container_name of service moby-counter ignored: in batch grading each submission "
        "gets names of its own (checks find your services by their Compose keys)",
        "name of network moby-network ignored: in batch grading each submission gets names of "
        "its own (checks find your services by their Compose keys)",
    ]
    assert model["services"]["moby-counter"]["container_name"] == "moby-counter"  # untouched


def test_isolation_of_host_folders_and_built_images(volumes: Exercise) -> None:
    model = {
        "services": {
            "testdata": service(volumes=[{"type": "bind", "source": "/tmp/data/"}]),
            "graphite": service(image="tp-graphite", build={"context": "/srv/class/ada/g"}),
        }
    }

    done = isolate(
        model, exercise=volumes, project="tpgx-ada", scratch="/tmp/tp-grader-tpgx-ada", ports=[],
        labels={"io.tp-grader.run": "x"},
    )  # fmt: skip

    assert done.model["services"]["testdata"]["volumes"][0]["source"] == (
        "/tmp/tp-grader-tpgx-ada/data_dir"
    )
    assert done.param_overrides == {
        "data_dir": "/tmp/tp-grader-tpgx-ada/data_dir",
        "backup_dir": "/tmp/tp-grader-tpgx-ada/backup_dir",
    }
    graphite = done.model["services"]["graphite"]
    assert graphite["image"] == "tpgx-ada/tp-graphite:latest"
    assert graphite["build"]["labels"]["io.tp-grader.image"] == "tp-graphite:latest"


def test_published_ports() -> None:
    model = {"services": {"a": {"ports": [port("7000"), port(""), port("7000")]}}}

    assert published_ports(model) == [("7000", "tcp")]


def prepared(student: str, ports: int) -> Prepared:
    model = {"services": {"s": {"ports": [port(str(7000 + i)) for i in range(ports)]}}}
    return Prepared(Submission(student, FOLDER), student, FOLDER, model=model)


def scheduled(items: list[Prepared], **options: Any) -> Scheduler:
    scheduler = Scheduler(**options)
    for item in items:
        scheduler.add(item)
    scheduler.complete()
    return scheduler


def test_scheduler_hands_out_free_pool_ports() -> None:
    scheduler = scheduled(
        [prepared("a", 2), prepared("b", 2), prepared("c", 0)], engines=1, port_range=(20000, 20002)
    )

    first = scheduler.take(0)
    assert first is not None
    assert (first.prepared.project, first.ports) == ("a", [20000, 20001])
    waiting: list[str] = []
    worker = threading.Thread(target=lambda: waiting.append(scheduler.take(0).prepared.project))  # type: ignore[union-attr]
    worker.start()
    worker.join(0.3)
    assert waiting == []  # b needs two ports, one is free: it waits, in order
    scheduler.release(0, first)
    worker.join(5)
    assert waiting == ["b"]
    last = scheduler.take(0)
    assert last is not None
    assert (last.prepared.project, last.ports) == ("c", [])
    assert scheduler.take(0) is None


def test_scheduler_uses_every_engine() -> None:
    scheduler = scheduled([prepared("a", 1), prepared("b", 1)], engines=2)

    taken = [scheduler.take(0), scheduler.take(1)]

    assert [(t.prepared.project, t.ports) for t in taken if t] == [
        ("a", [20000]), ("b", [20000]),
    ]  # fmt: skip


def test_scheduler_hands_out_each_submission_as_soon_as_it_is_prepared() -> None:
    scheduler = Scheduler(engines=1)
    taken: list[str | None] = []

    def take_all() -> None:
        while (assignment := scheduler.take(0)) is not None:
            taken.append(assignment.prepared.project)
        taken.append(None)

    worker = threading.Thread(target=take_all)
    worker.start()
    scheduler.add(prepared("first", 0))
    wait_for(lambda: taken == ["first"], timeout_s=5, what="the first submission to be taken")
    scheduler.add(prepared("second", 0))  # the class is not all prepared yet
    scheduler.complete()
    worker.join(5)

    assert taken == ["first", "second", None]


def test_a_retired_engine_is_handed_nothing_more() -> None:
    scheduler = scheduled([prepared("a", 0), prepared("b", 0)], engines=2)

    scheduler.retire(0)

    assert scheduler.take(0) is None
    taken = [scheduler.take(1), scheduler.take(1), scheduler.take(1)]
    assert [t.prepared.project if t else None for t in taken] == ["a", "b", None]


def test_project_names_are_distinct_and_valid() -> None:
    names = {project_name("abc123", s) for s in ("Ada.L", "ada-l", "ADA L", "été", "")}

    assert len(names) == 5
    assert all(n.startswith("tpgabc123-") and n == n.lower() for n in names)


def test_hosts_file(tmp_path: Path) -> None:
    good = tmp_path / "hosts.csv"
    good.write_text("student,docker_host\nada,ssh://ada@vm1\n# comment\nbob,tcp://10.0.0.2:2376\n")
    bad = tmp_path / "bad.csv"
    bad.write_text("ada,ssh://vm1\nada,ssh://vm2\nbob,not-a-host\n")

    assert [(s.student, s.host) for s in read_hosts(good)] == [
        ("ada", "ssh://ada@vm1"), ("bob", "tcp://10.0.0.2:2376"),
    ]  # fmt: skip
    with pytest.raises(UsageError) as caught:
        read_hosts(bad)
    assert caught.value.text.en == (
        f"{bad}:2: student 'ada' appears twice; {bad}:3: expected 'student,docker_host' "
        "(ssh://, tcp://...)"
    )


def result_for(
    exercise: Exercise,
    student: str,
    missed: dict[str, CheckStatus],
    status: RunStatus = RunStatus.GRADED,
) -> GradeResult:
    outcomes = [
        CheckOutcome(c, missed.get(c, CheckStatus.PASSED), Text.same("x"))
        for c in exercise.rubric.check_ids
    ]
    return GradeResult(
        exercise.id, exercise.title, student, score(exercise.rubric_with(), outcomes),
        datetime.now(timezone.utc), 1.0, "en", status=status,
        notes=(Text.same("=HYPERLINK(evil)"),) if status is not RunStatus.GRADED else (),
    )  # fmt: skip


def test_gradebook_rows(reseau: Exercise) -> None:
    results = [
        result_for(reseau, "ada", {}),
        result_for(
            reseau, "bob", {"alias-redis": CheckStatus.FAILED, "sans-link": CheckStatus.FAILED}
        ),
        result_for(
            reseau,
            "eve",
            {c: CheckStatus.SKIPPED for c in reseau.rubric.check_ids},
            RunStatus.REFUSED,
        ),
    ]

    rows = list(
        csv.DictReader(io.StringIO(gradebook_csv(reseau.rubric, results, id_column="email")))
    )

    assert [(r["email"], r["score"], r["max"], r["status"]) for r in rows] == [
        ("ada", "20", "20", "graded"), ("bob", "15", "20", "graded"), ("eve", "0", "20", "refused"),
    ]  # fmt: skip
    assert (rows[1]["alias-redis"], rows[1]["sans-link"]) == ("0", "-2")
    assert rows[1]["feedback"] == "to review: alias-redis, redis2-joignable, sans-link"
    assert rows[2]["feedback"] == "'=HYPERLINK(evil)"  # no formula reaches a spreadsheet


def test_summary_rates_and_histogram(reseau: Exercise) -> None:
    results = [
        result_for(reseau, "ada", {}),
        result_for(reseau, "bob", {"alias-redis": CheckStatus.FAILED}),
        result_for(reseau, "eve", {}, RunStatus.ERROR),
    ]

    summary = summarise(reseau, results, "en")

    assert (summary.students, summary.graded, summary.errors) == (3, 2, 1)
    assert (summary.mean, summary.median) == (18.5, 18.5)
    alias = next(c for c in summary.checks if c.check_id == "alias-redis")
    assert (alias.passed, alias.graded, alias.rate) == (1, 2, 0.5)
    assert [b.count for b in summary.histogram if b.count] == [1, 1]
    assert summary.to_look_at[0][:2] == ("eve", "error")


class ScriptedGraders:
    """Gradings answered in turn from a script (pure orchestration: no engine is claimed)."""

    def __init__(self, *results: GradeResult) -> None:
        self.results = list(results)
        self.calls = 0

    def grade(self, job: Any, deadline_s: float) -> GradeResult:
        self.calls += 1
        return self.results.pop(0)


def test_a_grading_with_checks_in_error_is_graded_again(reseau: Exercise) -> None:
    from grader.batch.replay import _grade

    in_error = result_for(reseau, "ada", {"alias-redis": CheckStatus.ERROR})
    clean = result_for(reseau, "ada", {})
    graders = ScriptedGraders(in_error, clean)
    log: list[str] = []

    got = _grade(graders, None, 60, threading.Event(), log)  # type: ignore[arg-type]

    assert (got, graders.calls) == (clean, 2)
    assert log == ["graded again: 1 checks in error\n"]


def test_a_clean_grading_or_a_miss_is_graded_once(reseau: Exercise) -> None:
    from grader.batch.replay import _grade

    missed = result_for(reseau, "ada", {"alias-redis": CheckStatus.FAILED})
    graders = ScriptedGraders(missed)

    assert _grade(graders, None, 60, threading.Event(), []) == missed  # type: ignore[arg-type]
    assert graders.calls == 1


def test_the_grading_with_fewer_errors_stands(reseau: Exercise) -> None:
    from grader.batch.replay import _grade

    one = result_for(reseau, "ada", {"alias-redis": CheckStatus.ERROR})
    two = result_for(reseau, "ada", {c: CheckStatus.ERROR for c in ("alias-redis", "isolation")})
    graders = ScriptedGraders(one, two)

    assert _grade(graders, None, 60, threading.Event(), []) == one  # type: ignore[arg-type]
    assert graders.calls == defaults.BATCH_GRADE_ATTEMPTS
