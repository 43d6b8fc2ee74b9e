"""Batch grading's pure parts: the safety review, the isolation rewrite, the scheduler, the
gradebook and the summary (no engine: models and results built by hand)."""

from __future__ import annotations

import csv
import io
import threading
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from grader.batch.replay import Prepared, project_name
from grader.batch.review import prescan, review
from grader.batch.rewrite import isolate, published_host_ports
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

FOLDER = Path("/srv/class/ada")


def service(**changes: Any) -> dict[str, Any]:
    return {"image": "redis:alpine", **changes}


def reasons(model: dict[str, Any], allowed: tuple[str, ...] = ()) -> list[str]:
    return [r.en for r in review(model, folder=FOLDER, allowed_host_paths=allowed, max_services=3)]


def test_a_plain_submission_passes_review() -> None:
    model = {
        "services": {"redis": service(networks={"net": None}, ports=[{"published": "8000"}])},
        "networks": {"net": {"name": "x_net"}},
        "volumes": {"data": {}},
    }

    assert reasons(model) == []


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"privileged": True}, "privileged mode"),
        ({"cap_add": ["SYS_ADMIN"]}, "added capabilities (SYS_ADMIN)"),
        ({"devices": [{"source": "/dev/sda"}]}, "devices"),
        ({"network_mode": "host"}, "network_mode: host"),
        ({"pid": "host"}, "pid: host"),
        ({"ipc": "container:other"}, "ipc: container:other"),
        ({"uts": "host"}, "uts: host"),
        ({"userns_mode": "host"}, "userns_mode: host"),
        ({"network_mode": "container:abc"}, "network_mode: container:abc"),
        ({"security_opt": ["seccomp=unconfined"]}, "confinement turned off"),
        ({"security_opt": ["apparmor:unconfined"]}, "confinement turned off"),
        ({"security_opt": ["label=disable"]}, "confinement turned off"),
        ({"volumes_from": ["container:other"]}, "outside container's volumes"),
        ({"volumes": [{"type": "bind", "source": "/var/run/docker.sock"}]}, "Docker socket"),
        ({"volumes": [{"type": "bind", "source": "/etc"}]}, "host path mounted (/etc)"),
        ({"volumes": [{"type": "bind", "source": "/srv/class/ada/html"}]}, "host path mounted"),
        ({"build": {"context": "/srv/class/bob"}}, "build outside the folder"),
        ({"build": {"context": "https://example.org/x.git"}}, "build outside the folder"),
        ({"build": {"context": "/srv/class/ada", "network": "host"}}, "host-network build"),
        ({"env_file": ["/etc/shadow"]}, "env_file outside the folder"),
        ({"runtime": "runsc"}, "custom runtime"),
    ],
)
def test_refusals(changes: dict[str, Any], reason: str) -> None:
    found = reasons({"services": {"redis": service(**changes)}})

    assert any(reason in r for r in found), found
    assert all(r.startswith("service 'redis': ") for r in found)


def test_model_wide_refusals() -> None:
    model = {
        "services": {f"s{i}": service() for i in range(4)},
        "networks": {"outer": {"external": True}},
        "volumes": {"etc": {"driver_opts": {"type": "none", "o": "bind", "device": "/etc"}}},
        "secrets": {"key": {"file": "/etc/ssh/ssh_host_rsa_key"}},
    }

    assert reasons(model) == [
        "4 services (at most 3)",
        "external networks 'outer'",
        "volume 'etc' backed by a driver or a host device",
        "secrets 'key' read from a host file",
    ]


def test_declared_host_folders_are_allowed() -> None:
    model = {"services": {"t": service(volumes=[{"type": "bind", "source": "/tmp/data/x"}])}}

    assert reasons(model, allowed=("/tmp/data",)) == []
    assert reasons(model, allowed=("/tmp/dat",)) != []  # a prefix of the name is not inside


def test_prescan_refuses_paths_outside_before_compose_reads_them() -> None:
    raw = {
        "include": ["../bob/compose.yaml"],
        "services": {
            "a": {"env_file": "../../etc/passwd"},
            "b": {"extends": {"file": "/etc/compose.yaml", "service": "x"}},
            "c": {"env_file": [{"path": "ok.env"}]},
        },
    }

    found = [r.en for r in prescan(raw, FOLDER)]

    assert found == [
        "include outside the submission's folder: ../bob/compose.yaml",
        "env_file (a) outside the submission's folder: ../../etc/passwd",
        "extends (b) outside the submission's folder: /etc/compose.yaml",
    ]


@pytest.fixture(scope="module")
def reseau() -> Exercise:
    return find("tp-reseau")


@pytest.fixture(scope="module")
def volumes() -> Exercise:
    return find("tp-volumes")


def test_isolation_rewrite(reseau: Exercise) -> None:
    model = {
        "name": "ada",
        "services": {
            "redis": service(container_name="redis", ports=[{"published": "8000", "target": 80}]),
            "extra": service(ports=[{"published": "7000", "target": 80}], mem_limit="2g"),
        },
        "networks": {"moby-network": {"name": "moby-network"}},
    }

    done = isolate(
        model, exercise=reseau, project="tpgx-ada", scratch="/tmp/tp-grader-tpgx-ada",
        ports={"app_port": 20001, "app2_port": 20002}, labels={"io.tp-grader.run": "x"},
    )  # fmt: skip

    redis = done.model["services"]["redis"]
    assert "container_name" not in redis
    assert redis["ports"][0]["published"] == "20001"
    assert done.model["services"]["extra"]["ports"][0]["published"] == "7000"
    assert done.param_overrides == {"app_port": "20001"}
    assert "name" not in done.model["networks"]["moby-network"]
    assert done.model["networks"]["moby-network"]["labels"] == {"io.tp-grader.run": "x"}
    assert redis["labels"] == {"io.tp-grader.run": "x"}
    assert (redis["mem_limit"], redis["pids_limit"], redis["cpus"]) == (256 << 20, 256, 1.0)
    assert done.model["services"]["extra"]["mem_limit"] == 256 << 20  # 2g lowered
    assert "name" not in done.model
    assert [n.en.split(" ignored")[0] for n in done.notes] == [
        "container_name of service redis", "name of network moby-network",
    ]  # fmt: skip
    assert model["services"]["redis"]["container_name"] == "redis"  # the input is untouched


def test_isolation_of_host_folders_and_built_images(volumes: Exercise) -> None:
    model = {
        "services": {
            "testdata": service(volumes=[{"type": "bind", "source": "/tmp/data"}]),
            "graphite": service(image="tp-graphite", build={"context": "/srv/class/ada/g"}),
        }
    }

    done = isolate(
        model, exercise=volumes, project="tpgx-ada", scratch="/tmp/tp-grader-tpgx-ada", ports={},
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


def test_published_host_ports() -> None:
    model = {"services": {"a": {"ports": [{"published": "7000-7002"}, {"published": ""}, {}]}}}

    assert published_host_ports(model) == {7000, 7001, 7002}


def prepared(student: str, ports: set[int]) -> Prepared:
    return Prepared(Submission(student, FOLDER, None), student, {}, host_ports=frozenset(ports))


def test_scheduler_keeps_same_port_submissions_apart() -> None:
    scheduler = Scheduler(
        [prepared("a", {7000}), prepared("b", {7000}), prepared("c", set())],
        engines=1,
        declared=["app_port"],
        port_range=(20000, 20010),
    )

    first, ports_a = scheduler.take(0) or (None, {})
    second, ports_c = scheduler.take(0) or (None, {})

    assert (first and first.project, second and second.project) == ("a", "c")  # b must wait
    assert ports_a["app_port"] != ports_c["app_port"]
    waiting: list[str] = []
    worker = threading.Thread(target=lambda: waiting.append(scheduler.take(0)[0].project))  # type: ignore[index]
    worker.start()
    worker.join(0.3)
    assert waiting == []  # blocked while "a" holds port 7000
    assert first is not None
    scheduler.release(0, first, ports_a)
    worker.join(5)
    assert waiting == ["b"]
    assert scheduler.take(0) is None


def test_scheduler_uses_every_engine() -> None:
    scheduler = Scheduler([prepared("a", {7000}), prepared("b", {7000})], engines=2, declared=[])

    taken = [scheduler.take(0), scheduler.take(1)]

    assert [t[0].project for t in taken if t] == ["a", "b"]  # same port, other engine: fine


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
        exercise.id, exercise.title, student, score(exercise.rubric, outcomes),
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
    assert rows[1]["feedback"] == "to review: alias-redis, sans-link"
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
    assert summary.not_graded[0][:2] == ("eve", "error")
