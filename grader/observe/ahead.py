"""Probes started before the checks are loaded.

Starting probe containers is the longest wait of a self-check, and the engine starts them one
at a time. An exercise says where its checks will look from (``probe_sites:`` in
exercise.yaml): the network namespaces of some of its containers, the engine host. Grading
starts a standby probe at each of those sites first (:meth:`~grader.observe.prober.Prober.
start_ahead`), then loads pytest and the checks while the engine starts them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from grader.engine.facts import ContainerFacts
from grader.errors import ObservationError
from grader.observe.names import NameResolver
from grader.observe.prober import Prober
from grader.observe.steps import ENGINE_HOST, netns_site

if TYPE_CHECKING:
    from grader.exercise.model import ProbeSites


def start_probes_ahead(
    prober: Prober, names: NameResolver, sites: ProbeSites, params: Mapping[str, Any]
) -> dict[str, ContainerFacts | None]:
    """Start a standby probe in the network namespace of each running container that
    ``sites`` names (by parameter), and on the engine host if it says so. Returns what the
    engine said of each container looked up, by name, for the run to reuse: a container that
    is missing or stopped is left to the checks to report."""
    seen: dict[str, ContainerFacts | None] = {}
    for key in sites.network_of:
        name = str(params[key])
        try:
            container = names.container(name)
        except ObservationError:  # the checks ask again, and say why
            continue
        seen[name] = container
        if container is not None and container.running:
            prober.start_ahead(netns_site(container))
    if sites.engine_host:
        prober.start_ahead(ENGINE_HOST)
    return seen
