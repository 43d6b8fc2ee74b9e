"""Checks of tp-volumes; points, titles, hints and prerequisites: rubrics/tp-volumes.yaml.

Files and mounts are read without starting a container: mounts from inspect data, files
through the archive API (in the student's containers, and in never-started readers mounting the
volume or the engine host's folders read-only). Who graphite's main process runs as is the
kernel's to tell: one probe of the grader's image, in graphite's PID namespace, reads it (see
grader.observe.process); it starts first and runs while the other checks read files.
"""

from __future__ import annotations

import posixpath

import pytest

from grader.checks import Lab, Params, Text, check, expect, messages


@pytest.fixture(scope="module", autouse=True)
def _graphite_user_read_early(lab: Lab, params: Params) -> None:
    """The lab's one probe (who graphite's main process runs as), started before the checks."""
    lab.observe_main_process_user(params.graphite)


def in_container(name: str) -> Text:
    return messages.IN_CONTAINER.format(name=name)


@check("bind-mount")
def test_bind_mount(lab: Lab, params: Params) -> None:
    testdata = lab.running_container(params.testdata)
    expect.bind_mounted(testdata, params.data_mount, params.data_dir, writable=True)


@check("bind-contenu")
def test_bind_contenu(lab: Lab, params: Params) -> None:
    on_host = lab.host_path(posixpath.join(params.data_dir, params.testfile))
    expect.regular_file(on_host, where=messages.ON_ENGINE_HOST)
    testdata = lab.running_container(params.testdata)
    inside = lab.path_in(testdata, posixpath.join(params.data_mount, params.testfile))
    expect.regular_file(inside, where=in_container(testdata.name))


@check("volume-nomme")
def test_volume_nomme(lab: Lab, params: Params) -> None:
    expect.volume_driver(lab.volume(params.volume), "local")


@check("redis-volume")
def test_redis_volume(lab: Lab, params: Params) -> None:
    redis = lab.running_container(params.redis)
    expect.volume_mounted(redis, params.redis_mount, lab.volume(params.volume), writable=True)


@check("donnees-persistees")
def test_donnees_persistees(lab: Lab, params: Params) -> None:
    volume = lab.volume(params.volume)
    dump = lab.path_in_volume(volume, params.dump)
    expect.regular_file(dump, where=messages.IN_VOLUME.format(name=volume.name), non_empty=True)


@check("lecture-seule")
def test_lecture_seule(lab: Lab, params: Params) -> None:
    redis2 = lab.running_container(params.redis2)
    expect.volume_mounted(redis2, params.redis_mount, lab.volume(params.volume), writable=False)


@check("volumes-from")
def test_volumes_from(lab: Lab, params: Params) -> None:
    sidecar = lab.running_container(params.sidecar)
    redis = lab.container(params.redis)
    referenced = [lab.container_by_reference(entry.container) for entry in sidecar.volumes_from]
    expect.volumes_from(sidecar, redis, referenced)
    expect.volume_mounted(sidecar, params.redis_mount, lab.volume(params.volume), writable=None)


@check("sauvegarde")
def test_sauvegarde(lab: Lab, params: Params) -> None:
    volume = lab.volume(params.volume)
    dump = lab.path_in_volume(volume, params.dump)  # the same observation as above: cached
    archive = lab.host_tar(
        posixpath.join(params.backup_dir, params.backup_file), params.backup_max_bytes
    )
    expect.tar_member(
        archive,
        where=messages.ON_ENGINE_HOST,
        limit=params.backup_max_bytes,
        name=params.dump,
        size=dump.size,
    )


@check("permissions")
def test_permissions(lab: Lab, params: Params) -> None:
    image = lab.image(params.graphite_image)
    graphite = lab.running_container(params.graphite)
    expect.from_image(graphite, image, params.graphite_image)
    # Read-write: the lab is about the graphite user being able to write there.
    expect.volume_mounted(
        graphite, params.graphite_mount, lab.volume(params.graphite_volume), writable=True
    )
    uid = expect.runs_as(graphite, lab.main_process_user(graphite), params.graphite_user)
    expect.owned_by(
        lab.path_in(graphite, params.graphite_mount),
        uid,
        where=in_container(graphite.name),
        name=params.graphite_user,
    )
