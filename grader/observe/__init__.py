"""Observations: facts about a lab gathered through the engine, never judged here.

- :mod:`grader.observe.names` -- logical names to engine objects (exact, or Compose labels);
- :mod:`grader.observe.steps` -- many observations (steps) per probe container, one per site;
- :mod:`grader.observe.dns`, :mod:`~grader.observe.tcp`, :mod:`~grader.observe.http` -- the
  network observations made from inside a namespace;
- :mod:`grader.observe.process` -- who a container's main process runs as, read from its PID
  namespace;
- :mod:`grader.observe.prober` -- the probe image and labels of one run.
"""

from grader.observe.dns import DnsAnswer, DnsLookup
from grader.observe.http import HttpGet, HttpResult
from grader.observe.names import ComposeNames, ExactNames, NameResolver
from grader.observe.prober import Prober
from grader.observe.steps import ProbeSite, ProbeStep, StepOutput
from grader.observe.tcp import TcpConnect, TcpResult, TcpToContainer

__all__ = [
    "ComposeNames",
    "DnsAnswer",
    "DnsLookup",
    "ExactNames",
    "HttpGet",
    "HttpResult",
    "NameResolver",
    "ProbeSite",
    "ProbeStep",
    "Prober",
    "StepOutput",
    "TcpConnect",
    "TcpResult",
    "TcpToContainer",
]
