"""Judgement helpers on hand-made facts (pure logic). The engine tests prove the observations;
these cover verdicts that this machine's engine cannot produce (a macvlan network, an nfs
volume) and the edges of each helper."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from grader.engine.facts import (
    ContainerFacts,
    ImageFacts,
    Mount,
    NetworkFacts,
    VolumeFacts,
    VolumesFrom,
)
from grader.i18n import Text
from grader.judge import expect
from grader.judge.outcome import CheckFailed
from grader.observe.files import PathFacts
from grader.observe.http import HttpResult
from grader.observe.process import ProcessUser, Uids
from grader.observe.tarball import TarListing, TarMember

WHERE = Text(fr="sur l'hôte", en="on the host")


def container(**changes: object) -> ContainerFacts:
    base: dict[str, object] = {
        "id": "c" * 64, "name": "redis", "image": "redis:alpine", "image_id": "sha256:aa",
        "status": "running",
    }  # fmt: skip
    return ContainerFacts(**(base | changes))  # type: ignore[arg-type]


def failure(call: object, *args: object, **kwargs: object) -> str:
    with pytest.raises(CheckFailed) as caught:
        call(*args, **kwargs)  # type: ignore[operator]
    return caught.value.text.en


def test_network_driver_other_than_bridge() -> None:
    macvlan = NetworkFacts("n1", "moby-network", "macvlan")

    assert failure(expect.driver, macvlan, "bridge") == (
        "network 'moby-network' uses driver 'macvlan', not 'bridge'"
    )
    expect.driver(NetworkFacts("n2", "moby-network", "bridge"), "bridge")


def test_volume_driver_other_than_local() -> None:
    nfs = VolumeFacts("redis_data", "nfs")

    assert failure(expect.volume_driver, nfs, "local") == (
        "volume 'redis_data' uses driver 'nfs', not 'local'"
    )


def test_paused_container_is_not_running() -> None:
    assert failure(expect.running, container(status="paused")) == (
        "container 'redis' is paused (docker unpause redis)"
    )


def test_restarting_container_is_not_running() -> None:
    assert failure(expect.running, container(status="restarting", restart_count=4)) == (
        "container 'redis' keeps restarting (restarted 4 times by its restart policy): "
        "look at docker logs redis"
    )


def test_a_run_shorter_than_the_engines_restart_backoff_is_a_restart_loop() -> None:
    started = datetime(2024, 5, 1, 10, 0, tzinfo=timezone.utc)

    def seen(restarts: int, after_s: float) -> ContainerFacts:
        return container(
            restart_count=restarts,
            started_at=started,
            observed_at=started + timedelta(seconds=after_s),
        )

    assert "keeps restarting" in failure(expect.running, seen(restarts=2, after_s=1))
    expect.running(seen(restarts=2, after_s=10))  # settled, as the engine itself judges it
    expect.running(seen(restarts=0, after_s=1))  # started by hand: no loop
    expect.running(container(restart_count=3))  # no clock known: judged on the state


def test_mounts_are_matched_by_destination_not_position() -> None:
    mounts = (
        Mount("volume", "/other", name="x"),
        Mount("bind", "/data/", source="/tmp/data/"),
    )

    found = expect.bind_mounted(container(mounts=mounts), "/data", "/tmp/data", writable=True)

    assert found.destination == "/data/"


@pytest.mark.parametrize(
    ("mount", "message"),
    [
        (None, "nothing is mounted on /data in 'redis' (mounts: none)"),
        (Mount("volume", "/data", name="v"), "/data in 'redis' is a volume mount, not a host"),
        (Mount("bind", "/data", source="/srv"), "comes from host folder '/srv', not '/tmp/data'"),
        (Mount("bind", "/data", source="/tmp/data", read_only=True), "mounted read-only"),
    ],
)
def test_bind_mount_misses(mount: Mount | None, message: str) -> None:
    facts = container(mounts=(mount,) if mount else ())

    assert message in failure(expect.bind_mounted, facts, "/data", "/tmp/data", writable=True)


def test_volume_mount_misses() -> None:
    volume = VolumeFacts("redis_data", "local")
    anonymous = container(mounts=(Mount("volume", "/data", name="3f2a"),))
    writable = container(mounts=(Mount("volume", "/data", name="redis_data"),))

    assert "is volume '3f2a', not 'redis_data'" in failure(
        expect.volume_mounted, anonymous, "/data", volume, writable=None
    )
    assert "must be read-only (:ro)" in failure(
        expect.volume_mounted, writable, "/data", volume, writable=False
    )


def test_volumes_from_by_name_or_id() -> None:
    redis = container()
    sidecar = container(name="sidecar", volumes_from=(VolumesFrom(redis.id, "rw"),))

    expect.volumes_from(sidecar, redis, [redis])
    assert "(volumes-from: c" in failure(expect.volumes_from, sidecar, redis, [None])


def test_volumes_from_message_shows_the_entries_as_given() -> None:
    sidecar = container(name="sidecar", volumes_from=(VolumesFrom("other", "ro"),))

    assert failure(expect.volumes_from, sidecar, container(), [None]) == (
        "'sidecar' was not created with --volumes-from redis (volumes-from: other:ro)"
    )


def test_regular_file() -> None:
    assert "is a directory on the host" in failure(
        expect.regular_file, PathFacts("/x", "dir"), where=WHERE
    )
    assert failure(expect.regular_file, PathFacts("/x", "file"), where=WHERE, non_empty=True) == (
        "/x is empty on the host"
    )
    assert failure(expect.regular_file, PathFacts.missing("/x"), where=WHERE) == (
        "/x does not exist on the host"
    )


def listing(*members: TarMember, problem: str | None = None) -> TarListing:
    return TarListing(PathFacts("/b/r.tar", "file", 10), "tar", members, problem)  # type: ignore[arg-type]


def test_tar_member_any_prefix_and_size() -> None:
    for name in ("dump.rdb", "data/dump.rdb", "./dump.rdb"):
        found = expect.tar_member(
            listing(TarMember(name, "file", 7)), where=WHERE, limit=1, name="dump.rdb", size=7
        )
        assert found.path == name
    assert "out of date" in failure(
        expect.tar_member, listing(TarMember("data/dump.rdb", "file", 6)), where=WHERE,
        limit=1, name="dump.rdb", size=7,
    )  # fmt: skip
    assert "holds no file dump.rdb" in failure(
        expect.tar_member, listing(TarMember("data/old-dump.rdbx", "file", 7)), where=WHERE,
        limit=1, name="dump.rdb", size=7,
    )  # fmt: skip


def test_tar_member_found_before_a_problem_still_counts() -> None:
    truncated = listing(TarMember("data/dump.rdb", "file", 7), problem="truncated")

    expect.tar_member(truncated, where=WHERE, limit=1, name="dump.rdb", size=7)


def as_uid(effective: int, *, real: int | None = None, saved: int | None = None) -> Uids:
    real = effective if real is None else real
    return Uids(real, effective, effective if saved is None else saved, effective)


def test_runs_as() -> None:
    graphite = container(name="graphite")

    assert expect.runs_as(graphite, ProcessUser(as_uid(999), "graphite"), "graphite") == 999
    assert failure(expect.runs_as, graphite, ProcessUser(as_uid(0), "root"), "graphite") == (
        "the main process of 'graphite' runs as root (uid 0)"
    )
    assert "uid 33 (www-data), not user 'graphite'" in failure(
        expect.runs_as, graphite, ProcessUser(as_uid(33), "www-data"), "graphite"
    )
    assert "uid 1234 (no name), not user 'graphite'" in failure(
        expect.runs_as, graphite, ProcessUser(as_uid(1234)), "graphite"
    )


@pytest.mark.parametrize("uids", [as_uid(999, real=0), as_uid(999, saved=0)])
def test_a_process_that_keeps_root_in_reserve_runs_as_root(uids: Uids) -> None:
    """seteuid(999) with a real or saved uid 0: back to root with one seteuid(0)."""
    graphite = container(name="graphite")

    assert failure(expect.runs_as, graphite, ProcessUser(uids, "graphite"), "graphite") == (
        "the main process of 'graphite' runs as uid 999 but keeps uid 0 (real or saved): it can "
        "become root again at any time"
    )


def test_a_shared_pid_namespace_has_no_main_process_to_judge() -> None:
    graphite = container(name="graphite", pid_mode="container:honest")

    text = failure(expect.runs_as, graphite, ProcessUser(None, pid_namespace_of="honest"), "g")

    assert text.startswith("'graphite' shares the PID namespace of 'honest'")


def test_from_image_by_id_or_tag() -> None:
    image = ImageFacts("sha256:bb", ("tp-graphite:latest",))

    expect.from_image(container(image="x", image_id="sha256:bb"), image, "tp-graphite")
    expect.from_image(container(image="tp-graphite"), image, "tp-graphite:latest")
    assert "runs from image 'debian', not 'tp-graphite'" in failure(
        expect.from_image, container(name="graphite", image="debian"), image, "tp-graphite"
    )


def test_isolation_holds_when_the_name_does_not_resolve() -> None:
    from grader.observe.dns import DnsAnswer

    forbidden = ["172.18.0.2"]
    for unresolved in (DnsAnswer("redis", "nxdomain"), DnsAnswer("redis", "no-reply")):
        expect.never_resolves_to(unresolved, forbidden, where="moby-counter2", target="redis")
    leaked = DnsAnswer("redis", "answered", ("172.19.0.3", "172.18.0.2"))
    assert "resolves to 172.18.0.2, an address of 'redis'" in failure(
        expect.never_resolves_to, leaked, forbidden, where="moby-counter2", target="redis"
    )


def test_published_answer_is_the_first_expected_status() -> None:
    app = container(name="moby-counter")
    refused = HttpResult("http://127.0.0.1:8000/", None, "Connection refused")
    ok = HttpResult("http://[::1]:8000/", 200, "HTTP/1.1 200 OK", answered=True)

    assert expect.published_answer(app, [refused, ok], app) is ok


def test_published_answer_tells_the_most_telling_miss() -> None:
    app = container(name="moby-counter")
    silent = HttpResult("http://127.0.0.1:8000/", None, "")
    junk = HttpResult("http://[::1]:8000/", None, "'EVIL'", answered=True)
    redirect = HttpResult("http://192.0.2.7:8000/", 302, "HTTP/1.1 302 Found", answered=True)

    assert failure(expect.published_answer, app, [silent, junk, redirect], app) == (
        "GET http://192.0.2.7:8000/ on the Docker Engine's host answers 302, not 200"
    )
    assert "does not start with an HTTP status line ('EVIL')" in failure(
        expect.published_answer, app, [silent, junk], app
    )
    assert "no response (timeout)" in failure(expect.published_answer, app, [silent], app)


def test_published_answer_needs_the_same_container_in_the_same_run() -> None:
    started = datetime(2024, 5, 1, 10, 0, tzinfo=timezone.utc)
    app = container(name="moby-counter", started_at=started)
    ok = HttpResult("http://127.0.0.1:8000/", 200, "HTTP/1.1 200 OK", answered=True)
    restarted = container(name="moby-counter", started_at=started + timedelta(seconds=3))

    assert "changed during grading (it is gone)" in failure(
        expect.published_answer, app, [ok], None
    )
    assert "changed during grading (restarted)" in failure(
        expect.published_answer, app, [ok], restarted
    )
    assert "is not running (state: exited)" in failure(
        expect.published_answer, app, [ok], container(name="moby-counter", status="exited")
    )
