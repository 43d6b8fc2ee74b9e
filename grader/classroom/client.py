"""Delivering a student's reports to the class server: each exactly once, oldest first, never
holding up the grading.

A new report is first written to the outbox (so nothing is lost if the server does not answer,
or the process dies), then the outbox is sent, oldest first, until it is empty or a
:data:`~grader.defaults.PUSH_DEADLINE_S` deadline passes: what is left waits for the next
``grade check`` or ``grade push``. A report leaves the outbox only once the server said it has
it: a 2xx, or 409 "already stored" (the server had it, the answer was lost). A report the server
refuses for good (malformed, another student's id, a lab the class does not have) is set aside,
never sent again, and the student is told why. 401 (the token was replaced), 429 and 5xx leave
the outbox as it is. Concurrent runs are safe: one sends at a time, and the server stores a
report once whoever sends it.

Standard library only (``urllib``): ``grade check`` imports this only once a class is joined.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from typing import Any

from grader import defaults
from grader._version import __version__
from grader.classroom import membership
from grader.classroom.membership import Membership
from grader.i18n import Text

#: Answers after which a report is never sent again (the server will refuse it every time).
_REFUSED_FOR_GOOD = frozenset({400, 403, 404, 413, 415, 422})
#: Characters of a server's reason shown to the student.
_REASON_LIMIT = 200


class ServerProblem(Exception):
    """The server could not be reached, or did not answer as a class server does."""


@dataclass(frozen=True)
class Answer:
    """A server's answer: its status and its JSON body (``{}`` when there is none)."""

    status: int
    body: dict[str, Any]

    @property
    def reason(self) -> str:
        """The server's one-line reason (``error``), cleaned and capped: it is shown as is."""
        return self.reason_text.en

    @property
    def reason_text(self) -> Text:
        """The reason in both languages (``error_fr`` when the server gives one)."""
        english = str(self.body.get("error") or self.body.get("status") or f"HTTP {self.status}")
        french = str(self.body.get("error_fr") or english)
        return Text(fr=_one_line(french), en=_one_line(english))


def _one_line(raw: str) -> str:
    line = "".join(ch if ch.isprintable() else " " for ch in raw)
    return " ".join(line.split())[:_REASON_LIMIT]


def check_server_url(url: str) -> str:
    """``url`` without a trailing slash, if it can be a class server's address (``http`` or
    ``https``, a host, no credentials, query or fragment); ``ValueError`` otherwise.

    >>> check_server_url("https://grade.example.org/tp/")
    'https://grade.example.org/tp'
    """
    parts = urllib.parse.urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("expected an http:// or https:// address")
    if parts.username or parts.password or parts.query or parts.fragment:
        raise ValueError("the address must not hold credentials, a query or a fragment")
    return urllib.parse.urlunsplit(parts._replace(path=parts.path.rstrip("/")))


def is_loopback(url: str) -> bool:
    host = urllib.parse.urlsplit(url).hostname or ""
    return host in ("localhost", "::1") or host.startswith("127.")


def call(
    server: str, path: str, token: str, *, body: bytes | None = None, timeout_s: float
) -> Answer:
    """One request to the class server; :class:`ServerProblem` when it cannot be had."""
    request = urllib.request.Request(
        server + path,
        data=body,
        method="POST" if body is not None else "GET",
        headers={
            "Authorization": f"Bearer {token}",
            "Content-Type": "application/json",
            "Accept": "application/json",
            "User-Agent": f"tp-grader/{__version__}",
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            return Answer(response.status, _json(response.read(64 << 10)))
    except urllib.error.HTTPError as exc:
        with exc:
            return Answer(exc.code, _json(exc.read(64 << 10)))
    except (OSError, ValueError) as exc:  # URLError, timeouts, resets, bad status lines
        raise ServerProblem(str(getattr(exc, "reason", exc))) from exc


def _json(raw: bytes) -> dict[str, Any]:
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def whoami(server: str, token: str, timeout_s: float = 10.0) -> Answer:
    """What the server says a student token is (its class, student id and labs)."""
    return call(server, "/api/me", token, timeout_s=timeout_s)


@dataclass
class Delivery:
    """How one delivery went (filled in by the sending thread)."""

    sent: int = 0
    refused: list[Text] = field(default_factory=list)
    problem: str | None = None
    """Why sending stopped with reports left (unreachable, token refused, busy...)."""
    token_refused: bool = False
    finished: bool = False

    def waiting(self) -> int:
        return len(membership.pending())


def deliver(
    joined: Membership, report: bytes | None, *, deadline_s: float = defaults.PUSH_DEADLINE_S
) -> Delivery:
    """Queue ``report`` (if any), then send the outbox oldest first until it is empty or
    ``deadline_s`` has passed. Never raises for the server's sake: the returned
    :class:`Delivery` says what happened."""
    if report is not None:
        membership.enqueue(report)
    delivery = Delivery()
    sender = threading.Thread(
        target=_send_outbox, args=(joined, delivery, deadline_s), name="push", daemon=True
    )
    sender.start()
    # A daemon thread: past the deadline this process goes on (and may exit) without it. A
    # report it was sending stays in the outbox; if the server stored it meanwhile, the next
    # send is answered "already stored" and the report leaves the outbox then.
    sender.join(deadline_s)
    if not delivery.finished and delivery.problem is None:
        delivery.problem = "timeout"
    return delivery


def _send_outbox(joined: Membership, delivery: Delivery, deadline_s: float) -> None:
    ends = time.monotonic() + deadline_s
    try:
        with membership.sending_lock() as mine:
            if not mine:
                delivery.problem = "busy"
                return
            for path in membership.pending():
                left = ends - time.monotonic()
                if left <= 0:
                    delivery.problem = "timeout"
                    return
                try:
                    body = path.read_bytes()
                except FileNotFoundError:  # another sender delivered it
                    continue
                try:
                    answer = call(
                        joined.server, "/api/reports", joined.token, body=body, timeout_s=left
                    )
                except ServerProblem as exc:
                    delivery.problem = str(exc) or "unreachable"
                    return
                if 200 <= answer.status < 300 or answer.body.get("status") == "duplicate":
                    path.unlink(missing_ok=True)
                    delivery.sent += 1
                elif answer.status in _REFUSED_FOR_GOOD:
                    membership.set_aside(path)
                    delivery.refused.append(answer.reason_text)
                else:
                    delivery.token_refused = answer.status == 401
                    delivery.problem = answer.reason
                    return
    except OSError as exc:  # the outbox itself (a full disk...)
        delivery.problem = str(exc)
    finally:
        delivery.finished = True


def one_line(joined: Membership, delivery: Delivery) -> Text:
    """What ``grade check`` prints about its push: one line."""
    name = joined.class_name
    waiting = delivery.waiting()
    if delivery.refused:
        reason = delivery.refused[-1]
        return Text(
            fr=f"non envoyé à la classe {name} : {reason.fr}",
            en=f"not sent to class {name}: {reason.en}",
        )
    if delivery.token_refused:
        return Text(
            fr=f"non envoyé à la classe {name} : jeton refusé par le serveur ; demandez-en un "
            f"nouveau, puis grade join ({waiting} en attente)",
            en=f"not sent to class {name}: the server refused the token; ask for a new one, "
            f"then grade join ({waiting} waiting)",
        )
    if waiting == 0:
        return Text(fr=f"envoyé à la classe {name}", en=f"sent to class {name}")
    if delivery.problem == "busy":
        return Text(
            fr=f"rapport gardé pour la classe {name} : un autre grade envoie "
            f"({waiting} en attente)",
            en=f"report kept for class {name}: another grade is sending ({waiting} waiting)",
        )
    return Text(
        fr=f"classe {name} injoignable pour l'instant : rapport gardé, {waiting} en attente "
        "(envoyés au prochain grade check, ou par grade push)",
        en=f"class {name} not reachable now: report kept, {waiting} waiting (sent by the next "
        "grade check, or grade push)",
    )


def push(report: dict[str, Any], joined: Membership) -> Text:
    """Send a grading's JSON report to the joined class (queued if the server does not answer
    in time); the line to print."""
    name = joined.class_name
    student, lab = str(report.get("student")), str(report.get("exercise"))
    if student != joined.student:
        return Text(
            fr=f"non envoyé à la classe {name} : noté comme {student}, la classe vous connaît "
            f"comme {joined.student}",
            en=f"not sent to class {name}: graded as {student}, the class knows you as "
            f"{joined.student}",
        )
    if joined.labs and lab not in joined.labs:
        return Text(
            fr=f"non envoyé à la classe {name} : {lab} n'est pas un TP de cette classe",
            en=f"not sent to class {name}: {lab} is not a lab of this class",
        )
    body = json.dumps(report, ensure_ascii=False).encode("utf-8")
    return one_line(joined, deliver(joined, body))
