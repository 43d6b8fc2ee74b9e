"""Assertion helpers for checks: each passes silently or raises :class:`CheckFailed` with an
explanation in both languages.

Checks read as the rubric does::

    @check("redis-attache")
    def test_redis_attache(lab: Lab, params: Params) -> None:
        redis = lab.running_container(params.redis)
        expect.attached(redis, lab.network(params.network))

Each helper sets ``__tracebackhide__`` so a failure points at the check, not at the helper.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterable, Sequence
from typing import NoReturn

from grader.engine.facts import (
    COMPOSE_IMAGE_BUILDER,
    COMPOSE_PROJECT,
    COMPOSE_SERVICE,
    RESTART_LOOP_RUN_S,
    ContainerFacts,
    Endpoint,
    ImageFacts,
    Mount,
    NetworkFacts,
    PortBinding,
    VolumeFacts,
    tagged,
)
from grader.i18n import Text
from grader.judge import messages as m
from grader.judge.outcome import CheckFailed
from grader.observe.dns import DnsAnswer
from grader.observe.files import PathFacts
from grader.observe.http import HttpResult
from grader.observe.process import ProcessUser
from grader.observe.tarball import TarListing, TarMember
from grader.observe.tcp import TcpResult


def fail(text: Text) -> NoReturn:
    __tracebackhide__ = True
    raise CheckFailed(text)


def that(condition: bool, text: Text) -> None:
    """Fail with ``text`` unless ``condition`` holds."""
    __tracebackhide__ = True
    if not condition:
        raise CheckFailed(text)


def running(container: ContainerFacts) -> None:
    """``container`` runs: not stopped, not paused, and not in a restart loop.

    A restart loop is the engine's ``restarting`` state, and also a run the restart policy
    started less than :data:`~grader.engine.facts.RESTART_LOOP_RUN_S` ago (the engine's own
    measure of a failed start): a container crashing every second is seen "running" a good
    part of the time, and must not be judged on that chance.
    """
    __tracebackhide__ = True
    if restart_looping(container):
        fail(m.CONTAINER_RESTARTING.format(name=container.name, count=container.restart_count))
    if container.status == "paused":
        fail(m.CONTAINER_PAUSED.format(name=container.name))
    that(
        container.running,
        m.CONTAINER_NOT_RUNNING.format(name=container.name, status=container.status or "?"),
    )


def restart_looping(container: ContainerFacts) -> bool:
    """Whether ``container`` is in a restart loop (see :func:`running`)."""
    if container.status == "restarting":
        return True
    up_for = container.running_for_s
    return container.restart_count > 0 and up_for is not None and up_for < RESTART_LOOP_RUN_S


def driver(network: NetworkFacts, expected: str) -> None:
    __tracebackhide__ = True
    that(
        network.driver == expected,
        m.NETWORK_DRIVER.format(name=network.name, driver=network.driver, expected=expected),
    )


def volume_driver(volume: VolumeFacts, expected: str) -> None:
    __tracebackhide__ = True
    that(
        volume.driver == expected,
        m.VOLUME_DRIVER.format(name=volume.name, driver=volume.driver, expected=expected),
    )


def attached(container: ContainerFacts, network: NetworkFacts) -> Endpoint:
    """The container's endpoint on ``network``; fails if it is not attached."""
    __tracebackhide__ = True
    endpoint = container.endpoint_on(network)
    if endpoint is None:
        fail(
            m.NOT_ATTACHED.format(
                container=container.name,
                network=network.name,
                networks=_names(e.network_name for e in container.endpoints),
            )
        )
    return endpoint


def attached_only(container: ContainerFacts, network: NetworkFacts) -> Endpoint:
    """Like :func:`attached`, and fails if the container is on any other network too."""
    __tracebackhide__ = True
    endpoint = attached(container, network)
    others = [e.network_name for e in container.endpoints if e is not endpoint]
    that(
        not others,
        m.ALSO_ATTACHED.format(
            container=container.name, network=network.name, others=_names(others)
        ),
    )
    return endpoint


def resolves_to(answer: DnsAnswer, address: str, *, where: str, target: str, network: str) -> None:
    """The DNS answer includes ``address`` (other answers, round-robin peers, are allowed)."""
    __tracebackhide__ = True
    _answered(answer, where)
    that(
        answer.has(address),
        m.DNS_WRONG_ADDRESS.format(
            where=where,
            name=answer.name,
            answers=_names(answer.addresses),
            address=address or "?",
            target=target,
            network=network,
        ),
    )


def never_resolves_to(
    answer: DnsAnswer, addresses: Iterable[str], *, where: str, target: str
) -> None:
    """No answer is one of ``addresses``. A name that does not resolve at all (NXDOMAIN, or no
    reply: Docker's DNS forwards unknown names upstream, which may not answer) passes."""
    __tracebackhide__ = True
    for address in addresses:
        that(
            not address or not answer.has(address),
            m.DNS_NOT_ISOLATED.format(
                where=where, name=answer.name, address=address, target=target
            ),
        )


def _answered(answer: DnsAnswer, where: str) -> None:
    __tracebackhide__ = True
    if answer.outcome == "nxdomain":
        fail(m.DNS_NXDOMAIN.format(where=where, name=answer.name))
    if answer.outcome == "no-reply":
        fail(m.DNS_NO_REPLY.format(where=where, name=answer.name))
    if answer.outcome == "failed":
        fail(m.DNS_FAILED.format(where=where, name=answer.name, detail=answer.detail or "?"))


def connected(result: TcpResult, *, where: str) -> None:
    """``where`` opened a TCP connection to ``result``'s host and port, whatever answered
    there (a :class:`~grader.observe.tcp.TcpConnect` to a name goes where ``where`` sends
    that name; to credit a container, see :func:`reaches`)."""
    __tracebackhide__ = True
    that(
        result.connected,
        m.TCP_FAILED.format(
            where=where, host=result.host, port=result.port, detail=result.detail or "timeout"
        ),
    )


def reaches(result: TcpResult, *, where: str, through: DnsAnswer | None = None) -> None:
    """``where`` reaches the container of ``result``: a TCP connection to its port, at the
    address the engine gave it on the network they share, was accepted (a
    :class:`~grader.observe.tcp.TcpToContainer`, made from ``where``'s namespace). Only that
    container holds the address, so no listener of ``where``'s own earns it.

    ``through``: the answer of Docker's embedded DNS for the name ``where`` uses (an alias),
    made by the same probe; it must include that address too, so the name leads there.
    """
    __tracebackhide__ = True
    if through is not None:
        resolves_to(through, result.host, where=where, target=result.target, network=result.network)
    that(
        result.connected,
        m.TCP_TO_CONTAINER_FAILED.format(
            where=where,
            target=result.target or result.host,
            port=result.port,
            network=result.network or "?",
            address=result.host,
            detail=result.detail or "timeout",
        ),
    )


def publishes(
    container: ContainerFacts, container_port: int, host_port: int, protocol: str = "tcp"
) -> PortBinding:
    """The binding that publishes ``container_port`` on ``host_port`` (any host address)."""
    __tracebackhide__ = True
    for binding in container.published(container_port, protocol):
        if binding.host_port == host_port:
            return binding
    published = [
        f"{b.host_ip or '*'}:{b.host_port}->{b.container_port}/{b.protocol}"
        for b in container.ports
    ]
    fail(
        m.NOT_PUBLISHED.format(
            container=container.name,
            container_port=container_port,
            protocol=protocol,
            host_port=host_port,
            published=_names(published),
        )
    )


def http_status(result: HttpResult, expected: int = 200) -> None:
    __tracebackhide__ = True
    if result.status is None:
        fail(m.HTTP_NO_RESPONSE.format(url=result.url, detail=result.detail or "timeout"))
    that(
        result.status == expected,
        m.HTTP_STATUS.format(url=result.url, status=result.status, expected=expected),
    )


def published_answer(
    container: ContainerFacts,
    responses: Sequence[HttpResult],
    now: ContainerFacts | None,
    expected: int = 200,
) -> HttpResult:
    """One of ``responses`` answered ``expected``, and that answer came from ``container``.

    ``responses`` are GETs made, from the engine host, at the addresses ``container``'s
    bindings listen on (:meth:`~grader.judge.lab.Lab.observe_published`); ``now`` is
    ``container`` inspected again after them (:meth:`~grader.judge.lab.Lab.reinspect`).

    "Came from ``container``" rests on how the engine publishes a port: for each binding it
    holds the host socket itself (docker-proxy, or a placeholder socket without the userland
    proxy) for as long as the container runs, and forwards what reaches it to that container;
    meanwhile no other process can listen at that address and port, nor at any address of it
    when the binding is a wildcard. So the request goes to exactly the binding's address (not
    to 127.0.0.1 whatever the binding says), and ``now`` must be the same container in the
    same run (same start, same restart count) and still running: the engine then held the
    socket for it over the whole request. What the engine cannot tell apart is not judged
    either: processes of other containers sharing ``container``'s network namespace
    (``--network container:...``) are, to the engine, that container's network.
    """
    __tracebackhide__ = True
    if now is None:
        fail(m.PUBLISHED_CHANGED.format(container=container.name, change=m.CHANGE_GONE))
    running(now)
    if (now.started_at, now.restart_count) != (container.started_at, container.restart_count):
        fail(m.PUBLISHED_CHANGED.format(container=container.name, change=m.CHANGE_RESTARTED))
    for response in responses:
        if response.status == expected:
            return response
    # Nothing answered as expected: tell of the most telling response (a status, then any
    # answer, then the silence of the first address).
    worst = min(
        responses,
        key=lambda r: (r.status is None, not r.answered),
        default=HttpResult("?", None),
    )
    if worst.status is not None:
        fail(m.HTTP_STATUS.format(url=worst.url, status=worst.status, expected=expected))
    if worst.answered:
        fail(m.HTTP_NOT_HTTP.format(url=worst.url, detail=worst.detail or "?"))
    fail(m.HTTP_NO_RESPONSE.format(url=worst.url, detail=worst.detail or "timeout"))


def no_legacy_links(containers: Iterable[ContainerFacts]) -> None:
    """No container uses ``--link``: neither ``HostConfig.Links`` nor an endpoint's links."""
    __tracebackhide__ = True
    found = [
        f"{c.name}: {link}"
        for c in containers
        for link in (*c.links, *(link for e in c.endpoints for link in e.links))
    ]
    that(not found, m.LEGACY_LINKS.format(links=_names(found)))


def _names(items: Iterable[str]) -> str | Text:
    return ", ".join(items) or m.NONE


# -- mounts ------------------------------------------------------------------------------------
def _mount_at(container: ContainerFacts, destination: str) -> Mount:
    __tracebackhide__ = True
    mount = container.mount_at(destination)
    if mount is None:
        listed = [f"{m.source or m.name}:{m.destination}" for m in container.mounts]
        fail(
            m.NOTHING_MOUNTED.format(
                destination=destination, container=container.name, mounts=_names(listed)
            )
        )
    return mount


def _access(container: ContainerFacts, mount: Mount, writable: bool | None) -> None:
    __tracebackhide__ = True
    if writable is True and mount.read_only:
        fail(m.MOUNT_READ_ONLY.format(destination=mount.destination, container=container.name))
    if writable is False and not mount.read_only:
        fail(m.MOUNT_WRITABLE.format(destination=mount.destination, container=container.name))


def bind_mounted(
    container: ContainerFacts, destination: str, host_path: str, *, writable: bool | None
) -> Mount:
    """``host_path`` of the engine host is bind-mounted at ``destination`` (matched by
    destination, never by position). ``writable``: True read-write, False read-only, None
    either."""
    __tracebackhide__ = True
    mount = _mount_at(container, destination)
    where = {"destination": destination, "container": container.name}
    if mount.type != "bind":
        fail(m.NOT_A_BIND.format(type=mount.type or "?", **where))
    if _normal(mount.source) != _normal(host_path):
        fail(m.WRONG_BIND_SOURCE.format(source=mount.source, expected=host_path, **where))
    _access(container, mount, writable)
    return mount


def volume_mounted(
    container: ContainerFacts, destination: str, volume: VolumeFacts, *, writable: bool | None
) -> Mount:
    """Named volume ``volume`` is mounted at ``destination``."""
    __tracebackhide__ = True
    mount = _mount_at(container, destination)
    where = {"destination": destination, "container": container.name}
    if mount.type != "volume":
        fail(m.NOT_A_VOLUME.format(type=mount.type or "?", expected=volume.name, **where))
    if mount.name != volume.name:
        fail(m.WRONG_VOLUME.format(name=mount.name, expected=volume.name, **where))
    _access(container, mount, writable)
    return mount


def volumes_from(
    container: ContainerFacts,
    source: ContainerFacts,
    referenced: Iterable[ContainerFacts | None],
) -> None:
    """``container`` was created with ``--volumes-from source`` (``:ro`` or ``:rw`` alike);
    ``referenced`` are the containers its ``VolumesFrom`` entries name (by name or by id, as
    Compose records them)."""
    __tracebackhide__ = True
    that(
        any(ref is not None and ref.id == source.id for ref in referenced),
        m.NO_VOLUMES_FROM.format(
            container=container.name,
            source=source.name,
            refs=_names(str(entry) for entry in container.volumes_from),
        ),
    )


def _normal(path: str) -> str:
    return posixpath.normpath(path) if path else path


# -- files -------------------------------------------------------------------------------------
def regular_file(facts: PathFacts, *, where: Text, non_empty: bool = False) -> PathFacts:
    """A regular file (not a directory, not a symlink) is at ``facts.path``."""
    __tracebackhide__ = True
    if not facts.exists:
        fail(m.PATH_MISSING.format(path=facts.path, where=where))
    if not facts.is_file:
        fail(
            m.PATH_NOT_FILE.format(path=facts.path, where=where, kind=m.KIND[facts.kind or "other"])
        )
    if non_empty and facts.size == 0:
        fail(m.FILE_EMPTY.format(path=facts.path, where=where))
    return facts


def tar_member(listing: TarListing, *, where: Text, limit: int, name: str, size: int) -> TarMember:
    """The archive holds a regular member named ``name`` (any leading folders) of ``size``
    bytes."""
    __tracebackhide__ = True
    path = listing.file.path
    matching = [
        member
        for member in listing.members
        if member.kind == "file" and (member.path == name or member.path.endswith("/" + name))
    ]
    if listing.problem is not None and not matching:
        fail(
            m.ARCHIVE_PROBLEM[listing.problem].format(
                path=path,
                where=where,
                kind=m.KIND[listing.file.kind or "other"],
                size=listing.file.size,
                limit=limit,
            )
        )
    if not matching:
        listed = [member.path for member in listing.members[:10]]
        fail(m.ARCHIVE_NO_MEMBER.format(path=path, name=name, members=_names(listed)))
    for member in matching:
        if member.size == size:
            return member
    member = matching[0]
    fail(
        m.ARCHIVE_STALE.format(
            member=member.path, path=path, size=member.size, name=name, expected=size
        )
    )


# -- users -------------------------------------------------------------------------------------
def runs_as(container: ContainerFacts, user: ProcessUser, expected: str) -> int:
    """The main process runs as user ``expected`` (by its name in the container), and can
    never become root again (no uid 0 among its real, effective and saved uids)."""
    __tracebackhide__ = True
    if user.uids is None:
        fail(
            m.PID_NAMESPACE_SHARED.format(
                container=container.name, other=user.pid_namespace_of or "?"
            )
        )
    if user.uids.effective == 0:
        fail(m.RUNS_AS_ROOT.format(container=container.name))
    if user.uids.may_become_root:
        fail(m.MAY_BECOME_ROOT.format(container=container.name, uid=user.uids.effective))
    that(
        user.name == expected,
        m.RUNS_AS_OTHER.format(
            container=container.name,
            uid=user.uids.effective,
            name=user.name or m.UNNAMED,
            expected=expected,
        ),
    )
    return user.uids.effective


def owned_by(facts: PathFacts, uid: int, *, where: Text, name: str) -> None:
    __tracebackhide__ = True
    if not facts.exists:
        fail(m.PATH_MISSING.format(path=facts.path, where=where))
    that(
        facts.uid == uid,
        m.NOT_OWNED.format(path=facts.path, where=where, owner=facts.uid, uid=uid, name=name),
    )


def from_image(container: ContainerFacts, image: ImageFacts, reference: str) -> None:
    """``container`` was created from ``image`` (by its id, or by the ``reference`` tag)."""
    __tracebackhide__ = True
    that(
        container.image_id == image.id or tagged(container.image) == tagged(reference),
        m.WRONG_IMAGE.format(container=container.name, image=container.image, expected=reference),
    )


def built_by_compose(container: ContainerFacts, image: ImageFacts) -> None:
    """``image``, the one ``container`` runs, was built by Docker Compose for the service and
    project ``container`` belongs to (``build:``), not pulled, not built or tagged by hand.

    The evidence, strongest first, as the engine records it:

    - ``RepoDigests``: an image pulled from a registry carries its digest there, whatever tag
      it is given afterwards (``docker pull python && docker tag python proj-identidock``);
      a local build never does. So an image with a digest fails.
    - The labels Compose puts on what it builds: ``com.docker.compose.project`` and
      ``com.docker.compose.service`` (its BuildKit builds, which are the default with Compose
      v2 on any engine that has BuildKit; batch grading, ``grade demo`` and ``grade selftest``
      label the project themselves, see :func:`grader.compose.own_built_images`). They must
      name ``container``'s own project and service (Compose labels the container too).
      ``docker build -t proj-identidock .`` by hand has none of them: Compose, finding an
      image of the name it would build, runs it without building, and it fails here.
    - Compose's classic builder (``DOCKER_BUILDKIT=0``) labels neither project nor service;
      it adds ``com.docker.compose.image.builder=classic`` to what it builds, which a hand
      build has not: that label is accepted.

    What this cannot tell apart: the build context (``build: ../elsewhere`` passes like
    ``build: .``; nothing on an image records its context); labels written by hand
    (``LABEL com.docker.compose.project=...`` in a Dockerfile, or ``docker build --label``),
    which are Compose's to the engine; under the classic builder, an image Compose built for
    another project and tagged with this project's name; and an image built here then pushed
    to a registry, which carries a digest and is taken for a pulled one.
    """
    __tracebackhide__ = True
    project = container.labels.get(COMPOSE_PROJECT)
    service = container.labels.get(COMPOSE_SERVICE, "")
    if not project:
        fail(m.NOT_CREATED_BY_COMPOSE.format(container=container.name))
    where = {"container": container.name, "image": container.image or image.id}
    if image.repo_digests:
        fail(m.IMAGE_PULLED.format(digest=image.repo_digests[0], **where))
    built_for = image.labels.get(COMPOSE_PROJECT)
    if built_for is not None:
        built_service = image.labels.get(COMPOSE_SERVICE, service)
        that(
            (built_for, built_service) == (project, service),
            m.IMAGE_BUILT_FOR_OTHER.format(
                project=built_for,
                service=built_service,
                expected_project=project,
                expected_service=service,
                **where,
            ),
        )
        return
    that(
        image.labels.get(COMPOSE_IMAGE_BUILDER) == "classic",
        m.IMAGE_NOT_BUILT_BY_COMPOSE.format(**where),
    )
