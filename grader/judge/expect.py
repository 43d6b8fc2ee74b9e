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

from collections.abc import Iterable
from typing import NoReturn

from grader.engine.facts import ContainerFacts, Endpoint, NetworkFacts, PortBinding, VolumeFacts
from grader.i18n import Text
from grader.judge import messages as m
from grader.judge.outcome import CheckFailed
from grader.observe.dns import DnsAnswer
from grader.observe.http import HttpResult
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
    __tracebackhide__ = True
    that(
        container.running,
        m.CONTAINER_NOT_RUNNING.format(name=container.name, status=container.status or "?"),
    )


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
    """No answer (NXDOMAIN included) is one of ``addresses``."""
    __tracebackhide__ = True
    if answer.outcome == "no-reply":
        fail(m.DNS_NO_REPLY.format(where=where))
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
        fail(m.DNS_NO_REPLY.format(where=where))
    if answer.outcome == "failed":
        fail(m.DNS_FAILED.format(where=where, name=answer.name, detail=answer.detail or "?"))


def connected(result: TcpResult, *, where: str) -> None:
    __tracebackhide__ = True
    that(
        result.connected,
        m.TCP_FAILED.format(
            where=where, host=result.host, port=result.port, detail=result.detail or "timeout"
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
