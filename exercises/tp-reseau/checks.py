"""Checks of tp-reseau; points, titles, hints and prerequisites: rubrics/tp-reseau.yaml.

Three probes, started together: one in moby-counter's namespace (DNS + TCP), one in
moby-counter2's (DNS and TCP for the alias, DNS for the isolation check), one on the engine
host (both published ports). TCP goes to the address the engine gave redis (redis2) on the
network: a listener of the app's own, under a name it rewrote, earns nothing.
"""

from __future__ import annotations

import pytest

from grader.checks import (
    DnsLookup,
    Lab,
    Observation,
    Params,
    TcpToContainer,
    check,
    expect,
)


def redis_port(params: Params) -> TcpToContainer:
    """redis's port, at redis's address on moby-network."""
    return TcpToContainer(params.redis, params.redis_port, network=params.network)


def redis2_port(params: Params) -> TcpToContainer:
    """redis2's port, at redis2's address on moby-network2."""
    return TcpToContainer(params.redis2, params.redis_port, network=params.network2)


@pytest.fixture(scope="module")
def seen_from_app(lab: Lab, params: Params) -> Observation:
    """What moby-counter sees of redis: the embedded DNS's answer, and a TCP connection."""
    return lab.observe_from(params.app, DnsLookup(params.redis), redis_port(params))


def names_seen_from_app2(params: Params) -> list[str]:
    """The names moby-counter2's DNS is asked about: the alias, and the first redis's name."""
    return list(dict.fromkeys([params.redis_alias, params.redis]))


@pytest.fixture(scope="module")
def seen_from_app2(lab: Lab, params: Params) -> Observation:
    """What moby-counter2's DNS says of the alias and of the first redis's name, and whether
    it reaches redis2's port."""
    return lab.observe_from(
        params.app2,
        *(DnsLookup(name) for name in names_seen_from_app2(params)),
        redis2_port(params),
    )


@pytest.fixture(scope="module")
def seen_from_host_both(lab: Lab, params: Params) -> list[Observation]:
    """GET / on moby-counter's and moby-counter2's published ports, from the engine host, at
    the address each of their bindings listens on: one probe for both."""
    return lab.observe_published_ports(
        (params.app, params.app_container_port, params.app_port),
        (params.app2, params.app_container_port, params.app2_port),
    )


@pytest.fixture(scope="module")
def seen_from_host(seen_from_host_both: list[Observation]) -> Observation:
    return seen_from_host_both[0]


@pytest.fixture(scope="module")
def seen_from_host2(seen_from_host_both: list[Observation]) -> Observation:
    return seen_from_host_both[1]


@pytest.fixture(scope="module", autouse=True)
def _probes_start_together(
    seen_from_app: Observation,
    seen_from_app2: Observation,
    seen_from_host: Observation,
    seen_from_host2: Observation,
) -> None:
    """The three probes are independent: asking for them here starts them at once."""


@check("reseau-cree")
def test_reseau_cree(lab: Lab, params: Params) -> None:
    expect.driver(lab.network(params.network), "bridge")


@check("redis-attache")
def test_redis_attache(lab: Lab, params: Params) -> None:
    expect.attached(lab.running_container(params.redis), lab.network(params.network))


@check("app-attache")
def test_app_attache(lab: Lab, params: Params) -> None:
    expect.attached(lab.running_container(params.app), lab.network(params.network))


@check("dns-redis")
def test_dns_redis(lab: Lab, params: Params, seen_from_app: Observation) -> None:
    network = lab.network(params.network)
    redis = expect.attached(lab.running_container(params.redis), network)
    expect.resolves_to(
        seen_from_app.of(DnsLookup(params.redis)),
        redis.ip_address,
        where=params.app,
        target=params.redis,
        network=network.name,
    )


@check("app-vers-redis")
def test_app_vers_redis(params: Params, seen_from_app: Observation) -> None:
    expect.reaches(seen_from_app.of(redis_port(params)), where=params.app)


@check("port-publie")
def test_port_publie(lab: Lab, params: Params, seen_from_host: Observation) -> None:
    app = lab.running_container(params.app)
    expect.publishes(app, params.app_container_port, params.app_port)
    responses = seen_from_host.results()
    expect.published_answer(app, responses, lab.reinspect(app), 200)


@check("port-publie-2")
def test_port_publie_2(lab: Lab, params: Params, seen_from_host2: Observation) -> None:
    app2 = lab.running_container(params.app2)
    expect.publishes(app2, params.app_container_port, params.app2_port)
    responses = seen_from_host2.results()
    expect.published_answer(app2, responses, lab.reinspect(app2), 200)


@check("reseau-2")
def test_reseau_2(lab: Lab, params: Params) -> None:
    network2 = lab.network(params.network2)
    expect.driver(network2, "bridge")
    expect.attached_only(lab.running_container(params.app2), network2)


@check("alias-redis")
def test_alias_redis(lab: Lab, params: Params, seen_from_app2: Observation) -> None:
    network2 = lab.network(params.network2)
    redis2 = expect.attached(lab.running_container(params.redis2), network2)
    expect.resolves_to(
        seen_from_app2.of(DnsLookup(params.redis_alias)),
        redis2.ip_address,
        where=params.app2,
        target=params.redis2,
        network=network2.name,
    )


@check("redis2-joignable")
def test_redis2_joignable(params: Params, seen_from_app2: Observation) -> None:
    expect.reaches(
        seen_from_app2.of(redis2_port(params)),
        where=params.app2,
        through=seen_from_app2.of(DnsLookup(params.redis_alias)),
    )


@check("isolation")
def test_isolation(lab: Lab, params: Params, seen_from_app2: Observation) -> None:
    # Any address of the first redis, not only its moby-network one: a redis attached to both
    # networks is just as visible from moby-counter2, and the lab is about not seeing it.
    redis = lab.running_container(params.redis)
    for name in names_seen_from_app2(params):
        answer = seen_from_app2.of(DnsLookup(name))
        expect.never_resolves_to(
            answer,
            [endpoint.ip_address for endpoint in redis.endpoints],
            where=params.app2,
            target=params.redis,
        )


@check("sans-link")
def test_sans_link(lab: Lab, params: Params) -> None:
    names = (params.redis, params.app, params.app2, params.redis2)
    expect.no_legacy_links(c for name in names if (c := lab.find_container(name)) is not None)
