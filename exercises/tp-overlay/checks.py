"""Checks of tp-overlay; points, titles, hints and prerequisites: rubrics/tp-overlay.yaml.

The swarm's objects come from the engine (its swarm state, services and their tasks, networks,
volumes); a service is judged once it has converged, or as it is after a bounded wait
(:func:`grader.observe.swarm.settle`). Probes join a namespace, as in the other labs: one in a
moby-counter task's (DNS of the service and of its tasks, TCP to redis), one in each
moby-counter task's (GET /), one in debug's (DNS), one on the engine host (GET at the
published port).

What a machine may not do is not held against the student: the swarm's virtual IPs and its
ingress routing mesh rest on the kernel's IPVS, which some machines lack. Where redis's
virtual IP does not answer but redis's task does, at its own address from the same place, the
connection is credited and the report says the virtual IP was not observed; where the
published port does not answer on the engine host but every task answers in its own
namespace, likewise for the routing mesh. An answer that is wrong is always the student's.
"""

from __future__ import annotations

import pytest

from grader.checks import (
    CheckFailed,
    DnsLookup,
    HttpGet,
    Lab,
    Observation,
    Params,
    TcpConnect,
    Text,
    check,
    expect,
)
from grader.engine.facts import NetworkFacts, ServiceFacts

NOT_IN_A_SWARM = Text(
    fr="ce Docker Engine n'est pas le manager d'un swarm (état : {state}) : "
    "lancez docker swarm init",
    en="this Docker Engine is not a swarm manager (state: {state}): run docker swarm init",
)
NO_LAB_SERVICE = Text(
    fr="le swarm ne fait tourner aucun des services du TP ({names}) : docker service ls",
    en="the swarm runs none of the lab's services ({names}): docker service ls",
)
NO_TASK = Text(
    fr="le service {name} n'a aucune tâche en marche d'où observer",
    en="service {name} has no running task to observe from",
)
NOT_SWARM_SCOPED = Text(
    fr="le réseau {name} a la portée « {scope} », pas « swarm »",
    en="network {name} has scope '{scope}', not 'swarm'",
)
NOT_ATTACHABLE = Text(
    fr="le réseau {name} n'est pas attachable : un conteneur lancé par docker run ne peut pas "
    "le rejoindre (docker network create --driver overlay --attachable ...)",
    en="network {name} is not attachable: a container started with docker run cannot join "
    "it (docker network create --driver overlay --attachable ...)",
)
WRONG_REPLICAS = Text(
    fr="le service {name} demande {replicas} réplique(s), le TP en demande {expected}",
    en="service {name} asks for {replicas} replica(s), the lab asks for {expected}",
)
NOT_ON_NETWORK = Text(
    fr="le service {name} n'est pas sur le réseau {network} (docker service inspect {name})",
    en="service {name} is not on network {network} (docker service inspect {name})",
)
NO_VIP = Text(
    fr="le service {name} n'a pas d'IP virtuelle sur {network} (mode de point d'accès : "
    "{mode}) : le TP utilise le mode vip par défaut",
    en="service {name} has no virtual IP on {network} (endpoint mode: {mode}): the lab uses "
    "the default vip mode",
)
TASKS_DNS = Text(
    fr="depuis une tâche de {where}, tasks.{name} donne {answers}, au lieu des adresses de "
    "ses {count} tâches sur {network} ({expected})",
    en="from a task of {where}, tasks.{name} gives {answers}, instead of the addresses of its "
    "{count} tasks on {network} ({expected})",
)
TCP_FAILED = Text(
    fr="depuis une tâche de {where}, {name}:{port} ne répond pas, ni à son IP virtuelle "
    "({vip}) ni à l'adresse de ses tâches ({tasks}) : {detail}",
    en="from a task of {where}, {name}:{port} does not answer, neither at its virtual IP "
    "({vip}) nor at its tasks' addresses ({tasks}): {detail}",
)
VIP_NOT_OBSERVED = Text(
    fr="{check} : l'IP virtuelle de {name} ({vip}) n'a pas répondu sur cette machine (le "
    "répartiteur du swarm repose sur IPVS) ; la tâche de {name} a répondu à sa propre adresse : "
    "la connexion est comptée, l'IP virtuelle n'a pas été observée",
    en="{check}: {name}'s virtual IP ({vip}) did not answer on this machine (the swarm's load "
    "balancer rests on IPVS); {name}'s task answered at its own address: the connection is "
    "credited, the virtual IP was not observed",
)
NOT_PUBLISHED = Text(
    fr="le service {name} ne publie pas son port {target} sur le port {published} "
    "(ports publiés : {ports})",
    en="service {name} does not publish its port {target} on port {published} "
    "(published ports: {ports})",
)
NOT_INGRESS = Text(
    fr="le service {name} publie {published} en mode « {mode} », pas par l'ingress (le mode par "
    "défaut : --publish {published}:{target})",
    en="service {name} publishes {published} in '{mode}' mode, not through the ingress (the "
    "default mode: --publish {published}:{target})",
)
TASK_HTTP = Text(
    fr="la tâche {slot} de {name} ne répond pas 200 à GET / sur son port {target} : {detail}",
    en="task {slot} of {name} does not answer 200 to GET / on its port {target}: {detail}",
)
MESH_WRONG = Text(
    fr="GET / sur le port publié {published} de l'hôte répond {detail}, pas 200",
    en="GET / at published port {published} of the host answers {detail}, not 200",
)
MESH_NOT_OBSERVED = Text(
    fr="{check} : le port publié {published} n'a pas répondu sur l'hôte du Docker Engine (le "
    "routage ingress repose sur IPVS, absent de certaines machines) ; chaque tâche de {name} a "
    "répondu dans son propre espace réseau : le routage ingress n'a pas été observé",
    en="{check}: published port {published} did not answer on the Docker Engine's host (ingress "
    "routing rests on IPVS, which some machines lack); each task of {name} answered in its own "
    "network namespace: ingress routing was not observed",
)
VOLUME_OPTIONS = Text(
    fr="le volume {name} n'a pas les options attendues : {options} (attendu : type=tmpfs, "
    "device=tmpfs, o=size=...)",
    en="volume {name} lacks the expected options: {options} (expected: type=tmpfs, "
    "device=tmpfs, o=size=...)",
)


#: Seconds a connection to a virtual IP, or to the published port on the engine host, is given:
#: both are local (the same node), and where IPVS is missing nothing ever answers them. Neither
#: is tried again: a miss there costs the student nothing when the tasks answer (they are tried
#: again), so waiting again would only slow every grading down.
LOCAL_TIMEOUT_S = 2


def _options(options: dict[str, str]) -> str:
    return ", ".join(f"{k}={v}" for k, v in sorted(options.items())) or "-"


def _on(service: ServiceFacts, network: NetworkFacts) -> bool:
    return any(target in (network.id, network.name) for target in service.networks)


def _vip(service: ServiceFacts, network: NetworkFacts) -> str:
    __tracebackhide__ = True
    vip = service.vip_on(network.id)
    if not vip:
        expect.fail(
            NO_VIP.format(name=service.name, network=network.name, mode=service.endpoint_mode)
        )
    return vip


def redis_connections(lab: Lab, params: Params) -> tuple[TcpConnect, ...]:
    """TCP to redis's port at its virtual IP on the overlay, then at each of its running tasks'
    own addresses there (to tell a missing load balancer from a redis that does not listen)."""
    network = lab.find_network(params.network)
    redis = lab.find_service(params.redis)
    if network is None or redis is None:
        return ()
    vip = redis.vip_on(network.id)
    tasks = lab.settled(redis).running
    addresses = [vip, *(t.address_on(network.id) for t in tasks)]
    return tuple(
        TcpConnect(a, params.redis_port, timeout_s=LOCAL_TIMEOUT_S, retried=a != vip)
        for a in dict.fromkeys(addresses)
        if a
    )


@pytest.fixture(scope="module")
def seen_from_app(lab: Lab, params: Params) -> Observation:
    """From moby-counter's first task: DNS of redis and of tasks.moby-counter, TCP to redis."""
    names = (DnsLookup(params.redis), DnsLookup(f"tasks.{params.app}"))
    try:
        running = lab.running_service(params.app).running
        if not running:  # a service that wants no replica
            expect.fail(NO_TASK.format(name=params.app))
        container = lab.task_container(running[0].container_id)
    except CheckFailed as missing:
        return Observation.failed(names, missing)
    return lab.observe_in(container, *names, *redis_connections(lab, params))


def task_get(params: Params) -> HttpGet:
    return HttpGet(f"http://127.0.0.1:{params.app_container_port}/")


@pytest.fixture(scope="module")
def seen_in_app_tasks(lab: Lab, params: Params) -> list[Observation]:
    """GET / in each running moby-counter task's own namespace (one probe each)."""
    try:
        tasks = lab.running_service(params.app).running
    except CheckFailed as missing:
        return [Observation.failed((task_get(params),), missing)]
    return [lab.observe_in(lab.task_container(t.container_id), task_get(params)) for t in tasks]


def mesh_get(params: Params) -> HttpGet:
    return HttpGet(f"http://127.0.0.1:{params.app_port}/", timeout_s=LOCAL_TIMEOUT_S, retried=False)


@pytest.fixture(scope="module")
def seen_from_host(lab: Lab, params: Params) -> Observation:
    """GET / at the published port, from the engine host (the routing mesh, where it works)."""
    return lab.observe_from_engine_host(mesh_get(params))


@pytest.fixture(scope="module")
def seen_from_debug(lab: Lab, params: Params) -> Observation:
    return lab.observe_from(params.debug, DnsLookup(params.app))


@pytest.fixture(scope="module", autouse=True)
def _observations_start_together(
    lab: Lab,
    params: Params,
    seen_from_debug: Observation,
    seen_from_host: Observation,
) -> None:
    """The services' waits and the probes that need no service start at once; the probes in
    tasks start as their service converges."""
    if lab.swarm().manager:
        lab.observe_settling(params.redis, params.app)


@check("swarm-manager")
def test_swarm_manager(lab: Lab, params: Params) -> None:
    # A swarm alone is not the lab's doing (a machine may be in one already): the points go
    # to a manager that runs the lab's services.
    swarm = lab.swarm()
    state = swarm.local_node_state
    if swarm.active and not swarm.control_available:
        state = f"{state}, worker"
    expect.that(swarm.manager, NOT_IN_A_SWARM.format(state=state))
    names = (params.redis, params.app)
    expect.that(
        any(lab.find_service(name) is not None for name in names),
        NO_LAB_SERVICE.format(names=", ".join(names)),
    )


@check("overlay-cree")
def test_overlay_cree(lab: Lab, params: Params) -> None:
    network = lab.network(params.network)
    expect.driver(network, "overlay")
    expect.that(
        network.scope == "swarm", NOT_SWARM_SCOPED.format(name=network.name, scope=network.scope)
    )
    expect.that(network.attachable, NOT_ATTACHABLE.format(name=network.name))


def _service_on_overlay(lab: Lab, params: Params, name: str, replicas: int) -> None:
    __tracebackhide__ = True
    service = lab.service(name)
    expect.that(
        service.replicas == replicas,
        WRONG_REPLICAS.format(name=name, replicas=service.replicas or "global", expected=replicas),
    )
    network = lab.network(params.network)
    expect.that(_on(service, network), NOT_ON_NETWORK.format(name=name, network=network.name))
    lab.running_service(name)


@check("redis-service")
def test_redis_service(lab: Lab, params: Params) -> None:
    _service_on_overlay(lab, params, params.redis, 1)


@check("app-service")
def test_app_service(lab: Lab, params: Params) -> None:
    _service_on_overlay(lab, params, params.app, int(params.app_replicas))


@check("dns-services")
def test_dns_services(lab: Lab, params: Params, seen_from_app: Observation) -> None:
    network = lab.network(params.network)
    vip = _vip(lab.service(params.redis), network)
    expect.resolves_to(
        seen_from_app.of(DnsLookup(params.redis)),
        vip,
        where=params.app,
        target=params.redis,
        network=network.name,
    )
    tasks = lab.running_service(params.app).running
    expected = sorted(a for t in tasks if (a := t.address_on(network.id)))
    answer = seen_from_app.of(DnsLookup(f"tasks.{params.app}"))
    expect.that(
        sorted(answer.addresses) == expected,
        TASKS_DNS.format(
            where=params.app,
            name=params.app,
            answers=", ".join(answer.addresses) or answer.outcome,
            count=len(tasks),
            network=network.name,
            expected=", ".join(expected),
        ),
    )


@check("app-vers-redis")
def test_app_vers_redis(lab: Lab, params: Params, seen_from_app: Observation) -> None:
    network = lab.network(params.network)
    vip = _vip(lab.service(params.redis), network)
    connections = redis_connections(lab, params)
    results = {c.host: seen_from_app.of(c) for c in connections}
    if results[vip].connected:
        return
    answered = [host for host, result in results.items() if host != vip and result.connected]
    expect.that(
        bool(answered),
        TCP_FAILED.format(
            where=params.app,
            name=params.redis,
            port=params.redis_port,
            vip=vip,
            tasks=", ".join(h for h in results if h != vip) or "-",
            detail=results[vip].detail or "timeout",
        ),
    )
    lab.note(VIP_NOT_OBSERVED.format(check="app-vers-redis", name=params.redis, vip=vip))


@check("ingress")
def test_ingress(
    lab: Lab,
    params: Params,
    seen_in_app_tasks: list[Observation],
    seen_from_host: Observation,
) -> None:
    app = lab.running_service(params.app)
    target, published = int(params.app_container_port), int(params.app_port)
    port = next(
        (p for p in app.service.ports if (p.target, p.published) == (target, published)), None
    )
    if port is None:
        shown = ", ".join(f"{p.published}->{p.target}/{p.mode}" for p in app.service.ports)
        expect.fail(
            NOT_PUBLISHED.format(
                name=params.app, target=target, published=published, ports=shown or "-"
            )
        )
    expect.that(
        port.mode == "ingress",
        NOT_INGRESS.format(name=params.app, published=published, target=target, mode=port.mode),
    )
    for task, seen in zip(app.running, seen_in_app_tasks, strict=False):
        answer = seen.of(task_get(params))
        expect.that(
            answer.status == 200,
            TASK_HTTP.format(
                slot=task.slot, name=params.app, target=target, detail=answer.detail or "-"
            ),
        )
    mesh = seen_from_host.of(mesh_get(params))
    if mesh.status == 200:
        return
    expect.that(
        not mesh.answered, MESH_WRONG.format(published=published, detail=mesh.detail or "?")
    )
    lab.note(MESH_NOT_OBSERVED.format(check="ingress", published=published, name=params.app))


@check("debug-overlay")
def test_debug_overlay(lab: Lab, params: Params, seen_from_debug: Observation) -> None:
    network = lab.network(params.network)
    expect.attached(lab.running_container(params.debug), network)
    vip = _vip(lab.service(params.app), network)
    expect.resolves_to(
        seen_from_debug.of(DnsLookup(params.app)),
        vip,
        where=params.debug,
        target=params.app,
        network=network.name,
    )


@check("volume-cache")
def test_volume_cache(lab: Lab, params: Params) -> None:
    volume = lab.volume(params.volume)
    expect.volume_driver(volume, "local")
    options = dict(volume.options)
    expect.that(
        options.get("type") == "tmpfs"
        and options.get("device") == "tmpfs"
        and "size=" in options.get("o", ""),
        VOLUME_OPTIONS.format(name=volume.name, options=_options(options)),
    )
    expect.volume_mounted(
        lab.running_container(params.debug), params.volume_path, volume, writable=True
    )
