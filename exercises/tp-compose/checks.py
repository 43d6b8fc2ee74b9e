"""Checks of tp-compose; points, titles, hints and prerequisites: rubrics/tp-compose.yaml.

Every name is a Compose key of the graded project (``names: compose-project``): services
``identidock``, ``dnmonster`` and ``redis``, network ``identinet``, volume
``identiredis_volume``. Two probes, started together: one in identidock's namespace (DNS and
TCP to both services, at the addresses the engine gave them on identinet), one on the engine
host (the published port).
"""

from __future__ import annotations

import pytest

from grader.checks import DnsLookup, Lab, Observation, Params, TcpToContainer, check, expect


def services(params: Params) -> tuple[str, str, str]:
    return (params.app, params.dnmonster, params.redis)


def dnmonster_port(params: Params) -> TcpToContainer:
    return TcpToContainer(params.dnmonster, params.dnmonster_port, network=params.network)


def redis_port(params: Params) -> TcpToContainer:
    return TcpToContainer(params.redis, params.redis_port, network=params.network)


@pytest.fixture(scope="module")
def seen_from_app(lab: Lab, params: Params) -> Observation:
    """What identidock sees of its two services: the embedded DNS's answers, and a TCP
    connection to each."""
    return lab.observe_from(
        params.app,
        DnsLookup(params.dnmonster),
        DnsLookup(params.redis),
        dnmonster_port(params),
        redis_port(params),
    )


@pytest.fixture(scope="module")
def seen_from_host(lab: Lab, params: Params) -> Observation:
    """GET / on identidock's published port, from the engine host, at the address each of its
    bindings listens on."""
    return lab.observe_published(params.app, params.app_container_port, params.app_port)


@pytest.fixture(scope="module", autouse=True)
def _probes_start_together(seen_from_app: Observation, seen_from_host: Observation) -> None:
    """The two probes are independent: asking for them here starts them at once."""


@check("services-lances")
def test_services_lances(lab: Lab, params: Params) -> None:
    for name in services(params):
        lab.running_container(name)


@check("image-construite")
def test_image_construite(lab: Lab, params: Params) -> None:
    """identidock runs an image Compose built for it: no registry digest (a pull, even tagged
    afterwards, keeps one), and Compose's build labels naming identidock's own project and
    service (its BuildKit builds), or its classic builder's label; ``docker build -t`` by hand
    puts neither. Not told apart: the build context, labels written by hand, a classic build
    of another project tagged with this one's name, a build pushed to a registry (taken for a
    pull). The reasons: :func:`grader.judge.expect.built_by_compose`."""
    app = lab.container(params.app)
    expect.built_by_compose(app, lab.image_of(app))


@check("reseau-projet")
def test_reseau_projet(lab: Lab, params: Params) -> None:
    # Names resolve through the project's labels only: a network found is the project's.
    network = lab.network(params.network)
    expect.driver(network, "bridge")
    for name in services(params):
        expect.attached(lab.running_container(name), network)


@check("dns-services")
def test_dns_services(lab: Lab, params: Params, seen_from_app: Observation) -> None:
    network = lab.network(params.network)
    for name in (params.dnmonster, params.redis):
        endpoint = expect.attached(lab.running_container(name), network)
        expect.resolves_to(
            seen_from_app.of(DnsLookup(name)),
            endpoint.ip_address,
            where=params.app,
            target=name,
            network=network.name,
        )


@check("app-vers-dnmonster")
def test_app_vers_dnmonster(params: Params, seen_from_app: Observation) -> None:
    expect.reaches(seen_from_app.of(dnmonster_port(params)), where=params.app)


@check("app-vers-redis")
def test_app_vers_redis(params: Params, seen_from_app: Observation) -> None:
    expect.reaches(seen_from_app.of(redis_port(params)), where=params.app)


@check("port-publie")
def test_port_publie(lab: Lab, params: Params, seen_from_host: Observation) -> None:
    app = lab.running_container(params.app)
    expect.publishes(app, params.app_container_port, params.app_port)
    responses = seen_from_host.results()
    # Inspected again after the requests: the answer is credited only to the same run of it.
    expect.published_answer(app, responses, lab.reinspect(app), 200)


@check("volume-redis")
def test_volume_redis(lab: Lab, params: Params) -> None:
    redis = lab.running_container(params.redis)
    expect.volume_mounted(redis, params.redis_mount, lab.volume(params.volume), writable=True)


@check("sans-link")
def test_sans_link(lab: Lab, params: Params) -> None:
    found = (lab.find_container(name) for name in services(params))
    expect.no_legacy_links(container for container in found if container is not None)
