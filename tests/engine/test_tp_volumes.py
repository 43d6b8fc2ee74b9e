"""tp-volumes against the real engine: the reference scores 20/20, each mutant flips the
checks it should, backups of every shape (gzip, stale, hostile) get a clear verdict, and a
compose-based setup graded with --project scores 20.

The engine-host folders of the lab (/tmp/data, /tmp/backup) are given per test, under a
temporary folder, through the exercise's parameters.
"""

from __future__ import annotations

import contextlib
import gzip
import io
import os
import secrets
import shutil
import tarfile
import tempfile
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest
import yaml

from grader import defaults
from grader.compose import Compose, add_labels
from grader.engine.docker_engine import DockerEngine
from grader.exercise.catalog import find
from grader.exercise.model import Exercise
from grader.harness import GradeRequest, grade
from grader.result import GradeResult
from grader.setup.scratch import scratch_folder
from grader.setup.solution import reference_solution
from grader.setup.stand_ins import build_stand_ins
from tests.support.images import BUSYBOX
from tests.support.lab import TEST_RUN_LABEL, LabBuilder
from tests.support.wait import wait_for

PASSED, FAILED, SKIPPED = "passed", "failed", "skipped"

EXPECTED: dict[str, dict[str, str]] = {
    "reference": {},
    "bind-mount": {"bind-mount": FAILED, "bind-contenu": SKIPPED},  # mounted :ro
    "bind-contenu": {"bind-contenu": FAILED},  # testfile never created
    # The volume is named redis-data: everything that names redis_data misses it. (No other
    # volume driver than local exists on this engine, so a wrong driver cannot be made.)
    "volume-nomme": {
        "volume-nomme": FAILED,
        "redis-volume": FAILED,
        "donnees-persistees": SKIPPED,
        "lecture-seule": FAILED,
        "volumes-from": FAILED,
        "sauvegarde": SKIPPED,
    },
    "redis-volume": {"redis-volume": FAILED},  # redis mounts it read-only
    "donnees-persistees": {"donnees-persistees": FAILED, "sauvegarde": SKIPPED},  # no SAVE
    "lecture-seule": {"lecture-seule": FAILED},  # redis2 mounts it read-write
    "volumes-from": {"volumes-from": FAILED},  # -v redis_data:/data instead
    # `--volumes-from redis:ro` / `redis:rw`: the engine keeps the mode in VolumesFrom, and
    # the reference is still redis.
    "volumes-from-ro": {},
    "volumes-from-rw": {},
    "sauvegarde": {"sauvegarde": FAILED},  # stale: data saved again after the backup
    "permissions": {"permissions": FAILED},  # an image without USER: runs as root
}

SLEEP = ["sleep", "infinity"]


@pytest.fixture(scope="session")
def volumes() -> Exercise:
    return find("tp-volumes")


@pytest.fixture(scope="session")
def volumes_images(volumes: Exercise, engine: DockerEngine, busybox: str) -> dict[str, str]:
    return build_stand_ins(volumes, engine, busybox)


@pytest.fixture
def host_root() -> Iterator[Path]:
    """The engine host's folders for one test (the engine runs on this machine)."""
    root = Path(tempfile.mkdtemp(prefix="tp-grader-test-", dir="/tmp"))
    yield root
    shutil.rmtree(root, ignore_errors=True)


def build_graphite(client: docker.DockerClient, base: str, tag: str, *, root: bool) -> str:
    """Build the solution's graphite Dockerfile (without its USER line when ``root``)."""
    context = find("tp-volumes").directory / "solution" / "graphite"
    with tempfile.TemporaryDirectory() as copy:
        dockerfile = (context / "Dockerfile").read_text()
        if root:
            dockerfile = dockerfile.replace("USER graphite\n", "")
        (Path(copy) / "Dockerfile").write_text(dockerfile)
        client.images.build(
            path=copy, tag=tag, buildargs={"BASE": base}, labels={"io.tp-grader.test": "1"},
            rm=True, forcerm=True,
        )  # fmt: skip
    return tag


def build_volumes(
    lab: LabBuilder, images: dict[str, str], mutant: str = "reference", *, host_root: Path
) -> dict[str, str]:
    """The lab as the prompt walks it, with the one mistake ``mutant`` names. Returns the
    parameters to grade it with (its host folders, and an image name when it differs)."""
    data, backup = host_root / "data", host_root / "backup"
    params = {"data_dir": str(data), "backup_dir": str(backup)}
    tools, redis_image = images["tools"], images["redis"]

    # 1. bind mount
    read_only = mutant == "bind-mount"
    lab.run(
        "testdata", tools, command=SLEEP,
        binds={str(data): {"bind": "/data", "mode": "ro" if read_only else "rw"}},
    )  # fmt: skip
    if read_only:
        lab.run_to_completion(tools, ["touch", "/d/testfile"], binds={str(data): "/d"})
    elif mutant != "bind-contenu":
        lab.exec("testdata", "touch", "/data/testfile")

    # 2. named volume
    volume = "redis-data" if mutant == "volume-nomme" else "redis_data"
    lab.volume(volume)
    redis_mode = "ro" if mutant == "redis-volume" else "rw"
    lab.run("redis", redis_image, binds={volume: {"bind": "/data", "mode": redis_mode}})
    if mutant == "redis-volume":  # redis cannot write: the dump comes from elsewhere
        lab.run_to_completion(
            tools, ["sh", "-c", "echo REDIS0009 >/data/dump.rdb"], binds={volume: "/data"}
        )
    elif mutant != "donnees-persistees":
        lab.exec("redis", "redis-cli", "SAVE")

    # 3. read-only share, 4. --volumes-from
    redis2_mode = "rw" if mutant == "lecture-seule" else "ro"
    lab.run("redis2", redis_image, binds={volume: {"bind": "/data", "mode": redis2_mode}})
    if mutant == "volumes-from":
        lab.run("sidecar", tools, command=SLEEP, binds={volume: "/data"})
    else:
        mode = {"volumes-from-ro": ":ro", "volumes-from-rw": ":rw"}.get(mutant, "")
        lab.run("sidecar", tools, command=SLEEP, volumes_from=[f"redis{mode}"])

    # 5. backup with a dedicated container
    lab.run_to_completion(
        tools, ["tar", "cvf", "/backup/redis_data.tar", "/data"],
        volumes_from=["redis"], binds={str(backup): "/backup"},
    )  # fmt: skip
    if mutant == "sauvegarde":
        lab.exec("redis", "redis-cli", "SET", "visits", "42")
        lab.exec("redis", "redis-cli", "SAVE")

    # 6. permissions
    base = images["graphite_base"]
    if mutant == "permissions":
        image = build_graphite(lab.client, base, "tp-graphite-root", root=True)
        params["graphite_image"] = image
    else:
        image = build_graphite(lab.client, base, "tp-graphite", root=False)
    lab.volume("graphite_data")
    lab.run("graphite", image, binds={"graphite_data": "/data/graphite"})
    lab.wait_ready()
    return params


def statuses(result: GradeResult) -> dict[str, str]:
    return {check.check_id: check.status.value for check in result.sheet.checks}


def expected_score(exercise: Exercise, missed: dict[str, str]) -> float:
    return sum(entry.points for entry in exercise.rubric.entries if entry.check_id not in missed)


#: What the student reads for some of the mutants (the failing check's message, in English).
MESSAGES = {
    "bind-mount": ("bind-mount", "/data is mounted read-only in 'testdata'; it must be read-write"),
    "bind-contenu": ("bind-contenu", "/testfile does not exist on the Docker Engine's host"),
    "lecture-seule": ("lecture-seule", "/data is mounted read-write in 'redis2'; it must be"),
    "volumes-from": ("volumes-from", "'sidecar' was not created with --volumes-from redis"),
    "sauvegarde": ("sauvegarde", "the backup is out of date"),
    "permissions": ("permissions", "the main process of 'graphite' runs as root (uid 0)"),
}  # fmt: skip


@pytest.mark.parametrize("mutant", list(EXPECTED))
def test_reference_and_mutants(
    mutant: str,
    lab: LabBuilder,
    engine: DockerEngine,
    volumes: Exercise,
    volumes_images: dict[str, str],
    host_root: Path,
) -> None:
    params = build_volumes(lab, volumes_images, mutant, host_root=host_root)

    result = grade(
        GradeRequest(volumes, probe_image=BUSYBOX, student="t", lang="en", param_overrides=params),
        engine=engine,
    )

    expected = dict.fromkeys(volumes.rubric.check_ids, PASSED) | EXPECTED[mutant]
    assert statuses(result) == expected, [
        (c.check_id, c.outcome.message.en) for c in result.sheet.checks if c.outcome.message
    ]
    assert result.score == expected_score(volumes, EXPECTED[mutant])
    if mutant in MESSAGES:
        check_id, expected_message = MESSAGES[mutant]
        message = next(c.outcome.message for c in result.sheet.checks if c.check_id == check_id)
        assert expected_message in message.en


# -- backups of every shape -------------------------------------------------------------------
def _tar_bytes(members: dict[str, bytes], *, compress: bool = False) -> bytes:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as archive:
        for name, content in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(content)
            archive.addfile(info, io.BytesIO(content))
    return gzip.compress(raw.getvalue()) if compress else raw.getvalue()


def _gzip_bomb(path: Path, unpacked: int) -> None:
    """A gzip stream of one tar member claiming ``unpacked`` bytes of zeros."""
    header = tarfile.TarInfo("zeros")
    header.size = unpacked
    with gzip.open(path, "wb", compresslevel=1) as out:
        out.write(header.tobuf())
        block = bytes(1 << 20)
        for _ in range(unpacked >> 20):
            out.write(block)


def shape_backup(shape: str, backup: Path, dump: bytes) -> None:
    target = backup / "redis_data.tar"
    target.unlink()
    if shape == "gzip":
        target.write_bytes(_tar_bytes({"data/dump.rdb": dump}, compress=True))
    elif shape == "dot-prefix":
        target.write_bytes(_tar_bytes({"./dump.rdb": dump}))
    elif shape == "no-dump":
        target.write_bytes(_tar_bytes({"data/other.txt": b"x"}))
    elif shape == "not-a-tar":
        target.write_text("this is not an archive\n")
    elif shape == "directory":
        target.mkdir()
    elif shape == "symlink-to-shadow":
        target.symlink_to("/etc/shadow")
    elif shape == "two-gigabytes":
        with target.open("wb") as sparse:  # sparse: costs no disk
            sparse.truncate(2 << 30)
    elif shape == "gzip-bomb":
        _gzip_bomb(target, defaults.ARCHIVE_MAX_UNPACKED + (64 << 20))
    elif shape == "member-bomb":
        many = {f"junk/{i}": b"" for i in range(defaults.ARCHIVE_MAX_MEMBERS + 10)}
        target.write_bytes(_tar_bytes(many, compress=True))
    else:
        raise AssertionError(shape)


BACKUPS = {
    "gzip": (PASSED, ""),
    "dot-prefix": (PASSED, ""),
    "no-dump": (FAILED, "holds no file dump.rdb (entries: data/other.txt)"),
    "not-a-tar": (FAILED, "is not a tar (or tar.gz) archive"),
    "directory": (FAILED, "is a directory on the Docker Engine's host, not an archive file"),
    "symlink-to-shadow": (FAILED, "is a symbolic link on the Docker Engine's host"),
    "two-gigabytes": (FAILED, "is 2147483648 bytes on the Docker Engine's host: far too large"),
    "gzip-bomb": (FAILED, "unpacks beyond what this lab's backup may take"),
    "member-bomb": (FAILED, "holds too many entries"),
}


@pytest.mark.parametrize("shape", list(BACKUPS))
def test_backup_shapes(
    shape: str,
    lab: LabBuilder,
    engine: DockerEngine,
    volumes: Exercise,
    volumes_images: dict[str, str],
    host_root: Path,
) -> None:
    params = build_volumes(lab, volumes_images, host_root=host_root)
    dump = lab.run_to_completion(
        volumes_images["tools"], ["cat", "/data/dump.rdb"], binds={"redis_data": "/data"}
    ).encode()
    shape_backup(shape, Path(params["backup_dir"]), dump)

    result = grade(
        GradeRequest(volumes, probe_image=BUSYBOX, student="t", lang="en", param_overrides=params),
        engine=engine,
    )

    status, message = BACKUPS[shape]
    backup = next(c for c in result.sheet.checks if c.check_id == "sauvegarde")
    assert backup.status.value == status, backup.outcome.message
    if message:
        assert message in backup.outcome.message.en
    others = {k: v for k, v in statuses(result).items() if k != "sauvegarde"}
    assert set(others.values()) == {PASSED}


def test_owner_of_the_volume(
    lab: LabBuilder,
    engine: DockerEngine,
    volumes: Exercise,
    volumes_images: dict[str, str],
    host_root: Path,
) -> None:
    """A graphite_data volume filled by root before graphite first mounts it stays root's:
    Docker copies the image's folder (and its owner) only into an empty volume."""
    params = build_volumes(lab, volumes_images, host_root=host_root)
    lab.api.remove_container(lab.containers.pop("graphite"), force=True)
    lab.volume("graphite_data_root")
    lab.run_to_completion(
        volumes_images["tools"], ["touch", "/v/by-root"], binds={"graphite_data_root": "/v"}
    )
    lab.run("graphite", "tp-graphite", binds={"graphite_data_root": "/data/graphite"})
    params["graphite_volume"] = "graphite_data_root"

    result = grade(
        GradeRequest(volumes, probe_image=BUSYBOX, student="t", lang="en", param_overrides=params),
        engine=engine,
    )

    permissions = next(c for c in result.sheet.checks if c.check_id == "permissions")
    assert permissions.status.value == FAILED
    assert "/data/graphite in container 'graphite' is owned by uid 0, not 999 (graphite)" in (
        permissions.outcome.message.en
    )


def test_reading_backups_writes_nothing_on_the_host(
    lab: LabBuilder,
    engine: DockerEngine,
    volumes: Exercise,
    volumes_images: dict[str, str],
    host_root: Path,
) -> None:
    """Grading a lab whose host folders do not exist does not create them."""
    missing = host_root / "never-made"
    params = {"data_dir": str(missing / "data"), "backup_dir": str(missing / "backup")}

    result = grade(
        GradeRequest(volumes, probe_image=BUSYBOX, student="t", lang="en", param_overrides=params),
        engine=engine,
    )

    assert not missing.exists()
    assert statuses(result)["bind-contenu"] == SKIPPED


def test_compose_setup_graded_through_project(
    engine: DockerEngine, volumes: Exercise, volumes_images: dict[str, str]
) -> None:
    """Everything resolves through the project's labels, the image the solution builds too
    (reference solutions tag and label what they build as the project's own), strictly."""
    project = f"tpg-test-{secrets.token_hex(4)}"
    with reference_solution(
        volumes, engine=engine, project=project, images=volumes_images, probe_image=BUSYBOX
    ) as running:
        # Compose records --volumes-from by container id: the check must follow ids too.
        sidecar = engine.containers(
            {"com.docker.compose.project": project, "com.docker.compose.service": "sidecar"}
        )[0]
        result = grade(
            GradeRequest(
                volumes,
                probe_image=BUSYBOX,
                student="t",
                lang="en",
                project=project,
                strict_project=True,
                param_overrides=running.param_overrides,
            ),
            engine=engine,
        )

    assert statuses(result) == dict.fromkeys(volumes.rubric.check_ids, PASSED), [
        (c.check_id, c.outcome.message.en) for c in result.sheet.checks if c.outcome.message
    ]
    assert result.notes == ()
    assert sidecar.volumes_from
    assert not os.path.exists(scratch_folder(project))  # the run's host folders are gone
    assert not engine.containers({"com.docker.compose.project": project})


@pytest.fixture
def project_without_its_image(
    tmp_path: Path,
    lab: LabBuilder,
    volumes: Exercise,
    volumes_images: dict[str, str],
    host_root: Path,
) -> Iterator[tuple[str, dict[str, str]]]:
    """The solution as a compose project whose graphite service builds nothing: it runs an
    image built by hand beforehand, under the name the lab asks for."""
    project = f"tpg-test-{secrets.token_hex(4)}"
    image = build_graphite(
        lab.client, volumes_images["graphite_base"], f"tp-grader-test/graphite-{project}",
        root=False,
    )  # fmt: skip
    overrides = {
        "data_dir": str(host_root / "data"),
        "backup_dir": str(host_root / "backup"),
        "graphite_image": image,
    }
    params = volumes.params.with_overrides(overrides)
    assert volumes.solution is not None
    model = yaml.safe_load(volumes.render(volumes.solution.compose, params, volumes_images))
    del model["services"][params.graphite]["build"]
    add_labels(model, {TEST_RUN_LABEL: project})
    compose_file = tmp_path / "compose.yaml"
    compose_file.write_text(yaml.safe_dump(model))
    compose = Compose(project, (compose_file,), workdir=tmp_path)
    try:
        up = compose.run("up", "--detach", "--wait", timeout_s=120)
        assert up.ok, up.output
        for step in volumes.solution.steps:
            done = compose.run(*(volumes.render(arg, params, volumes_images) for arg in step))
            assert done.ok, done.output
        yield project, overrides
    finally:
        compose.down()
        lab.api.remove_image(image, force=True)


def test_strict_project_takes_only_images_it_built(
    project_without_its_image: tuple[str, dict[str, str]], engine: DockerEngine, volumes: Exercise
) -> None:
    project, overrides = project_without_its_image

    strict = grade(
        GradeRequest(
            volumes,
            probe_image=BUSYBOX,
            student="t",
            lang="en",
            project=project,
            strict_project=True,
            param_overrides=overrides,
        ),
        engine=engine,
    )
    lenient = grade(
        GradeRequest(
            volumes,
            probe_image=BUSYBOX,
            student="t",
            lang="en",
            project=project,
            param_overrides=overrides,
        ),
        engine=engine,
    )

    missed = {"permissions": FAILED}
    assert statuses(strict) == dict.fromkeys(volumes.rubric.check_ids, PASSED) | missed, [
        (c.check_id, c.outcome.message.en) for c in strict.sheet.checks if c.outcome.message
    ]
    assert strict.score == expected_score(volumes, missed)
    permissions = next(c for c in strict.sheet.checks if c.check_id == "permissions")
    assert permissions.outcome.message.en == (
        f"image '{overrides['graphite_image']}' does not exist"
    )
    assert statuses(lenient) == dict.fromkeys(volumes.rubric.check_ids, PASSED)
    assert [note.en for note in lenient.notes] == [
        f"image '{overrides['graphite_image']}' found outside project {project} (by its exact name)"
    ]


# -- forging: a `cat` of the student's image that lies about the main process's user ----------
#: ``cat``, except that a process's status claims uid 999 (graphite's): what an image can ship to
#: fool a grader reading /proc/1/status with a program it finds inside the student's container.
FORGING_CAT = r"""#!/bin/sh
for file in "$@"; do
  case "$file" in
    /proc/*/status) busybox sed -E 's/^(Uid|Gid):.*/\1:\t999\t999\t999\t999/' "$file" ;;
    *) busybox cat "$file" ;;
  esac
done
"""


def build_forging_graphite(client: docker.DockerClient, base: str, tag: str) -> str:
    """The solution's graphite without its USER line (it runs as root), with the forging
    ``cat`` first on its PATH."""
    context = find("tp-volumes").directory / "solution" / "graphite"
    with tempfile.TemporaryDirectory() as copy:
        dockerfile = (context / "Dockerfile").read_text().replace("USER graphite\n", "")
        (Path(copy) / "Dockerfile").write_text(dockerfile + "COPY cat /usr/local/bin/cat\n")
        (Path(copy) / "cat").write_text(FORGING_CAT)
        (Path(copy) / "cat").chmod(0o755)
        client.images.build(
            path=copy, tag=tag, buildargs={"BASE": base}, labels={"io.tp-grader.test": "1"},
            rm=True, forcerm=True,
        )  # fmt: skip
    return tag


def test_a_forging_cat_does_not_hide_root(
    lab: LabBuilder,
    engine: DockerEngine,
    volumes: Exercise,
    volumes_images: dict[str, str],
    host_root: Path,
) -> None:
    """graphite runs as root, and every program of its image that shows /proc/1/status says
    uid 999: the grader reads the kernel's answer with a probe of its own, and is not fooled."""
    params = build_volumes(lab, volumes_images, host_root=host_root)
    lab.api.remove_container(lab.containers.pop("graphite"), force=True)
    image = build_forging_graphite(
        lab.client, volumes_images["graphite_base"], "tp-grader-test/graphite-forging"
    )
    params["graphite_image"] = image
    lab.run("graphite", image, binds={"graphite_data": "/data/graphite"})
    lab.wait_ready()
    # Inside graphite, the forgery holds: root's status reads as graphite's.
    assert "Uid:\t999\t999\t999\t999" in lab.exec("graphite", "cat", "/proc/1/status")

    result = grade(
        GradeRequest(volumes, probe_image=BUSYBOX, student="t", lang="en", param_overrides=params),
        engine=engine,
    )

    missed = {"permissions": FAILED}
    assert statuses(result) == dict.fromkeys(volumes.rubric.check_ids, PASSED) | missed, [
        (c.check_id, c.outcome.message.en) for c in result.sheet.checks if c.outcome.message
    ]
    permissions = next(c for c in result.sheet.checks if c.check_id == "permissions")
    assert permissions.outcome.message.en == "the main process of 'graphite' runs as root (uid 0)"


# -- a frozen container -----------------------------------------------------------------------
FREEZER = Path("/sys/fs/cgroup/freezer")


class FrozenParent:
    """A cgroup parent of our own (``--cgroup-parent``) whose freezer stops every process of
    the containers under it. The runtime refuses to exec into a container frozen itself, but
    sees one frozen through an ancestor as thawed: the exec then starts, and never finishes."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.parent = f"/{name}"

    def _state(self, value: str | None = None) -> str:
        path = FREEZER / self.name / "freezer.state"
        if value is not None:
            path.write_text(value)
        return path.read_text().strip()

    def freeze(self) -> None:
        self._state("FROZEN")
        wait_for(lambda: self._state() == "FROZEN", what=f"cgroup {self.name} to freeze")

    def thaw(self) -> None:
        if (FREEZER / self.name).is_dir():
            self._state("THAWED")

    def remove(self) -> None:
        """Remove the parent's folder from every hierarchy (once its containers are gone)."""

        def removed() -> bool:
            for folder in Path("/sys/fs/cgroup").glob(f"*/{self.name}"):
                with contextlib.suppress(FileNotFoundError):
                    folder.rmdir()
            return not list(Path("/sys/fs/cgroup").glob(f"*/{self.name}"))

        wait_for(removed, what=f"cgroup {self.name} to be removed")


@pytest.fixture
def frozen_parent(lab: LabBuilder) -> Iterator[FrozenParent]:
    """Set up after ``lab`` so that it is torn down first: a frozen container cannot be
    removed, so it is thawed and removed here, then its cgroup parent."""
    assert (FREEZER / "docker").is_dir(), "this test needs the cgroup v1 freezer of Docker"
    frozen = FrozenParent(f"tpg-test-{lab.run_id}")
    yield frozen
    frozen.thaw()
    for container_id in lab.containers.values():
        data = lab.api.inspect_container(container_id)
        if data["HostConfig"].get("CgroupParent") == frozen.parent:
            lab.api.remove_container(container_id, force=True)
    frozen.remove()


def test_frozen_container_is_graded_all_the_same(
    lab: LabBuilder,
    engine: DockerEngine,
    volumes: Exercise,
    volumes_images: dict[str, str],
    host_root: Path,
    frozen_parent: FrozenParent,
) -> None:
    """graphite is frozen, which the engine does not know: grading runs nothing in it (its
    user is read by a probe in its PID namespace, its files through the archive API), so
    nothing waits on it, and it is graded as it is."""
    params = build_volumes(lab, volumes_images, host_root=host_root)
    lab.api.remove_container(lab.containers.pop("graphite"), force=True)
    lab.run(
        "graphite",
        "tp-graphite",
        binds={"graphite_data": "/data/graphite"},
        cgroup_parent=frozen_parent.parent,
    )
    frozen_parent.freeze()
    assert engine.container("graphite").running  # the engine does not know

    result = grade(
        GradeRequest(volumes, probe_image=BUSYBOX, student="t", lang="fr", param_overrides=params),
        engine=engine,
    )

    assert statuses(result) == dict.fromkeys(volumes.rubric.check_ids, PASSED), [
        (c.check_id, c.outcome.message.en) for c in result.sheet.checks if c.outcome.message
    ]
    permissions = next(c for c in result.sheet.checks if c.check_id == "permissions")
    assert permissions.outcome.duration_s < defaults.PROBE_DEADLINE_S
