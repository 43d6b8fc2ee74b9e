"""Finding and connecting to the Docker Engine to grade.

The endpoint is, in order: ``--host``, ``DOCKER_HOST`` (with ``DOCKER_TLS_VERIFY`` and
``DOCKER_CERT_PATH``), the Docker CLI's current context, then the default local socket. The
API version is negotiated with the engine, never pinned.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from grader import defaults
from grader.engine.docker_engine import DockerEngine
from grader.engine.facts import EngineInfo
from grader.errors import EngineUnreachable


@dataclass(frozen=True)
class EndpointChoice:
    url: str
    source: str
    """Where it came from: ``--host``, ``DOCKER_HOST``, ``context NAME`` or ``default``."""
    tls: Any = None


def choose_endpoint(host: str | None = None) -> EndpointChoice:
    """Where ``host`` (or, without it, the environment) says the engine is. A ``host`` that
    is the environment's own ``DOCKER_HOST`` keeps its TLS settings, so a URL found once can be
    passed on (to grading workers, to Compose) without losing them."""
    if host and host != os.environ.get("DOCKER_HOST"):
        context = _current_context()
        if context is not None and context.url == host:
            return context
        return EndpointChoice(host, "--host")
    if os.environ.get("DOCKER_HOST"):
        from docker.utils import kwargs_from_env

        kwargs = kwargs_from_env()
        return EndpointChoice(os.environ["DOCKER_HOST"], "DOCKER_HOST", kwargs.get("tls"))
    context = _current_context()
    if context is not None:
        return context
    return EndpointChoice(defaults.DEFAULT_DOCKER_HOST, "default")


def _current_context() -> EndpointChoice | None:
    """The Docker CLI's current context, unless it is the default one."""
    name = os.environ.get("DOCKER_CONTEXT")
    config = os.path.join(
        os.environ.get("DOCKER_CONFIG", os.path.expanduser("~/.docker")), "config.json"
    )
    if name is None and not os.path.exists(config):
        return None  # no CLI configuration: skip importing the context machinery
    try:
        from docker.context import ContextAPI

        context = ContextAPI.get_context(name) if name else ContextAPI.get_current_context()
    except Exception:  # a broken CLI config must not stop grading with explicit endpoints
        return None
    if context is None or context.name == "default" or not context.Host:
        return None
    return EndpointChoice(context.Host, f"context {context.name}", context.TLSConfig or None)


def connect(host: str | None = None, timeout_s: float = defaults.ENGINE_TIMEOUT_S) -> DockerEngine:
    """Connect to the engine and negotiate the API version.

    Raises :class:`~grader.errors.EngineUnreachable` with the endpoint and the reason.
    """
    import docker
    from docker.errors import DockerException
    from requests.exceptions import RequestException

    choice = choose_endpoint(host)
    try:
        api = docker.APIClient(
            base_url=choice.url,
            version="auto",
            timeout=timeout_s,
            tls=choice.tls or False,
            use_ssh_client=choice.url.startswith("ssh://"),
        )
        # The engine is reached as its endpoint says, never through a proxy from the
        # environment: reading those settings walks os.environ key by key on every call, and
        # pytest, which runs the checks, adds and removes PYTEST_CURRENT_TEST meanwhile (a
        # probe thread's call then raised KeyError).
        api.trust_env = False
        version = api.version()
    except (DockerException, RequestException, OSError, ValueError) as exc:
        raise EngineUnreachable(choice.url, _reason(exc)) from exc
    info = EngineInfo(
        endpoint=choice.url,
        server_version=str(version.get("Version", "")),
        api_version=str(api.api_version),
        os=str(version.get("Os", "")),
        arch=str(version.get("Arch", "")),
    )
    return DockerEngine(api, info)


def _reason(exc: BaseException) -> str:
    """The innermost useful sentence of a connection error, without the SDK's wrapping."""
    text = str(exc)
    for marker in ("Error while fetching server API version: ", "Connection aborted."):
        text = text.rsplit(marker, maxsplit=1)[-1]
    for cause in (exc.__cause__, exc.__context__):
        if isinstance(cause, (FileNotFoundError, ConnectionRefusedError, PermissionError)):
            return cause.strerror or type(cause).__name__
    text = text.strip(" ()'\"")
    if "No such file or directory" in text:
        return "No such file or directory"
    if "Permission denied" in text:
        return "Permission denied"
    if "Connection refused" in text:
        return "Connection refused"
    return text[:200] or type(exc).__name__
