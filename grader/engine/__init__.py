"""Observation's lowest layer: the one narrow seam to a Docker Engine.

- :mod:`grader.engine.base` -- the :class:`Engine` protocol every observation goes through;
- :mod:`grader.engine.facts` -- inspect data as frozen dataclasses (swarm services and tasks
  too);
- :mod:`grader.engine.swarm` -- what a swarm lab's reference solution asks a manager to make;
- :mod:`grader.engine.probe` -- short-lived, labelled, deadline-bound probe containers;
- :mod:`grader.engine.docker_engine` and :mod:`grader.engine.connection` -- the real engine.
"""

from grader.engine.base import Engine, LabelSelector, Removed
from grader.engine.facts import (
    ContainerFacts,
    Endpoint,
    EngineInfo,
    ImageFacts,
    Mount,
    NetworkFacts,
    PortBinding,
    ServiceFacts,
    ServicePort,
    SwarmFacts,
    TaskFacts,
    VolumeFacts,
)
from grader.engine.probe import ProbeMount, ProbeOutput, ProbeSpec

__all__ = [
    "ContainerFacts",
    "Endpoint",
    "Engine",
    "EngineInfo",
    "ImageFacts",
    "LabelSelector",
    "Mount",
    "NetworkFacts",
    "PortBinding",
    "ProbeMount",
    "ProbeOutput",
    "ProbeSpec",
    "Removed",
    "ServiceFacts",
    "ServicePort",
    "SwarmFacts",
    "TaskFacts",
    "VolumeFacts",
]
