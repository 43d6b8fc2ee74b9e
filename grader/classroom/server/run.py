"""Running the class server under Uvicorn: the database opened and migrated, the address
bound, the application served until Ctrl-C (or SIGTERM), live streams ended at once on the way
out."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from grader import defaults
from grader.classroom.observed import ObservePlan
from grader.classroom.server.app import ServeSettings, create_app
from grader.classroom.store.database import open_database
from grader.errors import EnvironmentProblem, UsageError
from grader.i18n import Text


@dataclass(frozen=True)
class Listening:
    url: str
    database: str


def bind(host: str, port: int) -> socket.socket:
    """A listening socket at ``host:port`` (port 0: any free port)."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
    except socket.gaierror as exc:
        raise UsageError(
            Text(fr=f"adresse inconnue : {host}", en=f"unknown address: {host}")
        ) from exc
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        raise EnvironmentProblem(
            Text(
                fr=f"impossible d'écouter sur {host}:{port} : {exc.strerror}",
                en=f"cannot listen on {host}:{port}: {exc.strerror}",
            )
        ) from exc
    sock.set_inheritable(True)
    return sock


def serve(
    *,
    database_url: str,
    host: str,
    port: int,
    settings: ServeSettings,
    observe: ObservePlan | None = None,
    access_log: bool = False,
    on_ready: Callable[[Listening], None] = lambda _: None,
) -> None:
    """Serve until stopped."""
    import uvicorn

    from grader.classroom.store.database import shown_url

    db = open_database(database_url)
    sock = bind(host, port)
    bound_host, bound_port = sock.getsockname()[:2]
    shown_host = f"[{bound_host}]" if ":" in bound_host else bound_host
    ready = Listening(f"http://{shown_host}:{bound_port}", shown_url(database_url))

    class Server(uvicorn.Server):
        async def startup(self, sockets: Any = None) -> None:
            await super().startup(sockets)
            if not self.should_exit:
                on_ready(ready)

    background = None
    if observe is not None:
        from grader.classroom.observed import observer
        from grader.exercise.catalog import find

        background = observer(observe, find)

    holder: dict[str, Server] = {}
    app = create_app(
        db,
        settings,
        stopping=lambda: holder["server"].should_exit if "server" in holder else False,
        background=background,
    )
    config = uvicorn.Config(
        app,
        log_level="warning",
        access_log=access_log,
        timeout_graceful_shutdown=defaults.SERVE_GRACEFUL_S,
        lifespan="on",
        # Behind a reverse proxy on this machine, its X-Forwarded-Proto says https (the
        # session cookie is then Secure) and X-Forwarded-For the student's address.
        proxy_headers=True,
        forwarded_allow_ips="127.0.0.1,::1",
    )
    server = Server(config)
    holder["server"] = server
    try:
        server.run(sockets=[sock])
    finally:
        with contextlib.suppress(OSError):
            sock.close()
        db.close()
