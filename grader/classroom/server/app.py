"""The class server's ASGI application (Starlette).

Two kinds of callers, never mixed:

- **students**, with their enrolment token (``Authorization: Bearer``): ``POST /api/reports``
  stores a report of their own (see :mod:`.reports`), ``GET /api/me`` says whose token it is
  (for ``grade join``). That is all a student token can do: it reads nothing of the class.
- **the teacher**, logged in with the class's teacher token (a session cookie: ``HttpOnly``,
  ``SameSite=Strict``, ``Secure`` over https), or giving that token as a bearer token (for
  scripts): the page ``/``, the class's state, a student's timeline, the live stream, the
  exports.

Every answer carries a strict Content-Security-Policy (scripts and styles from this server
only): on top of the page writing every text as text, never as markup.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import jinja2
from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import (
    HTMLResponse,
    JSONResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
    StreamingResponse,
)
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send

from grader import defaults
from grader.classroom.server import guard
from grader.classroom.server.events import Event, Hub
from grader.classroom.server.reports import Refused, accept, parse
from grader.classroom.state import SOURCES, ClassView, StuckRule
from grader.classroom.store import queries
from grader.classroom.store.database import Database
from grader.classroom.store.queries import StoredAttempt, StudentIdentity
from grader.classroom.tokens import new_token, token_hash
from grader.exercise.model import Exercise
from grader.i18n import Lang, Text

PAGE = Path(__file__).resolve().parent.parent / "page"
log = logging.getLogger("grader.classroom")

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)


@dataclass(frozen=True)
class Ingested:
    """What became of a pushed report: whose token it came with (``None``: nobody's), and
    either why it was refused, or what was stored (``None`` with no refusal: a duplicate)."""

    identity: StudentIdentity | None
    stored: StoredAttempt | None
    refused: Refused | None


@dataclass(frozen=True)
class ServeSettings:
    """How the server behaves (the ``grade serve`` options)."""

    lang: Lang = defaults.DEFAULT_LANG
    stuck: StuckRule = field(default_factory=StuckRule)
    max_report_bytes: int = defaults.SERVE_MAX_REPORT_BYTES
    rate_burst: int = defaults.SERVE_RATE_BURST
    rate_every_s: float = defaults.SERVE_RATE_EVERY_S
    session_hours: float = defaults.SERVE_SESSION_HOURS


class Classes:
    """Each class's :class:`~grader.classroom.state.ClassView`, loaded from the database the
    first time it is asked for, then kept up to date by every stored attempt."""

    def __init__(self, db: Database, exercises: Callable[[str], Exercise | None]) -> None:
        self.db = db
        self.exercises = exercises
        self._views: dict[int, ClassView] = {}
        self._locks: dict[int, asyncio.Lock] = {}

    async def view(self, class_id: int) -> ClassView | None:
        found = self._views.get(class_id)
        if found is not None:
            return found
        lock = self._locks.setdefault(class_id, asyncio.Lock())
        async with lock:
            if class_id not in self._views:
                loaded = await run_in_threadpool(self._load, class_id)
                if loaded is None:
                    return None
                self._views[class_id] = loaded
        return self._views[class_id]

    def _load(self, class_id: int) -> ClassView | None:
        info = queries.class_info(self.db, class_id)
        if info is None:
            return None
        labs: dict[str, tuple[str, ...]] = {}
        for lab in info.labs:
            exercise = self.exercises(lab)
            if exercise is not None:
                labs[lab] = exercise.rubric.check_ids
        view = ClassView(info.id, info.name, info.students, labs)
        for attempt in queries.attempts(self.db, class_id):
            view.add(attempt)
        return view

    async def apply(self, attempt: StoredAttempt) -> tuple[ClassView | None, list[str]]:
        """Take a stored attempt into its class's view (loading the view if needed)."""
        view = await self.view(attempt.class_id)
        if view is None:
            return None, []
        return view, view.add(attempt)


class SecurityHeaders:
    """Adds the Content-Security-Policy and its companions to every answer."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Mapping[str, Any]) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers += [
                    (b"content-security-policy", CSP.encode()),
                    (b"x-content-type-options", b"nosniff"),
                    (b"referrer-policy", b"no-referrer"),
                    (b"x-frame-options", b"DENY"),
                ]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, with_headers)


def create_app(
    db: Database,
    settings: ServeSettings | None = None,
    *,
    exercises: Callable[[str], Exercise | None] | None = None,
    stopping: Callable[[], bool] = lambda: False,
    background: Callable[[ClassServer], contextlib.AbstractAsyncContextManager[None]] | None = None,
) -> Starlette:
    """The application over ``db``. ``exercises`` finds a lab by id (default: the catalog);
    ``stopping`` tells live streams to end; ``background`` runs beside the server (the
    observed grading)."""
    server = ClassServer(db, settings or ServeSettings(), exercises or _catalog(), stopping)

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        if background is None:
            yield
        else:
            async with background(server):
                yield
        server.hub.close()

    app = Starlette(
        routes=server.routes(),
        middleware=[Middleware(SecurityHeaders)],
        lifespan=lifespan,
    )
    app.state.server = server
    return app


def _catalog() -> Callable[[str], Exercise | None]:
    from grader.errors import GraderError
    from grader.exercise.catalog import find

    found: dict[str, Exercise | None] = {}

    def exercise(lab: str) -> Exercise | None:
        if lab not in found:
            try:
                found[lab] = find(lab)
            except GraderError as exc:
                log.warning("lab %s cannot be loaded: %s", lab, exc.text.en)
                found[lab] = None
        return found[lab]

    return exercise


class ClassServer:
    """The routes and what they share."""

    def __init__(
        self,
        db: Database,
        settings: ServeSettings,
        exercises: Callable[[str], Exercise | None],
        stopping: Callable[[], bool],
    ) -> None:
        self.db = db
        self.settings = settings
        self.exercises = exercises
        self.stopping = stopping
        self.hub = Hub()
        self.classes = Classes(db, exercises)
        self.rate = guard.RateLimit(settings.rate_burst, settings.rate_every_s)
        self.failed_logins = guard.RateLimit(
            defaults.SERVE_LOGIN_BURST, defaults.SERVE_LOGIN_EVERY_S
        )
        self.templates = jinja2.Environment(
            loader=jinja2.FileSystemLoader(PAGE / "templates"),
            autoescape=True,
            undefined=jinja2.StrictUndefined,
        )

    def routes(self) -> list[Route | Mount]:
        return [
            Route("/", self.page),
            Route("/login", self.login_form, methods=["GET"]),
            Route("/login", self.login, methods=["POST"]),
            Route("/logout", self.logout, methods=["POST"]),
            Route("/healthz", self.health),
            Route("/api/me", self.me),
            Route("/api/reports", self.post_report, methods=["POST"]),
            Route("/api/class", self.class_state),
            Route("/api/timeline", self.timeline),
            Route("/api/events", self.events),
            Route("/export/gradebook.csv", self.export_gradebook),
            Route("/export/attempts.json", self.export_attempts),
            Mount("/static", StaticFiles(directory=PAGE / "static"), name="static"),
        ]

    # -- storing an attempt (reported or observed) ----------------------------------------------
    async def store(self, accepted_attempt: queries.NewAttempt) -> StoredAttempt | None:
        """Commit an attempt, then tell the open pages; ``None`` for a duplicate."""
        stored = await run_in_threadpool(queries.store_attempt, self.db, accepted_attempt)
        if stored is not None:
            await self.announce(stored)
        return stored

    async def announce(self, stored: StoredAttempt) -> None:
        """Take a committed attempt into its class's view and tell the open pages."""
        view, sources = await self.classes.apply(stored)
        if view is None or not sources:
            return
        now = datetime.now(timezone.utc)
        rows = {}
        for source in sources:
            lab_view = view.view(stored.lab, source)
            stuck = lab_view.stuck_checks(stored.student, now, self.settings.stuck)
            rows[source] = lab_view.row(stored.student, stuck)
        data = {
            "id": stored.id,
            "lab": stored.lab,
            "student": stored.student,
            "source": stored.source,
            "rows": rows,
        }
        self.hub.publish(stored.class_id, Event("attempt", data, id=stored.id))

    def _ingest(self, token: str, body: bytes) -> Ingested:
        """Who the token is, the report checked against them, and stored: one trip to a worker
        thread for the whole of it (the event loop keeps serving meanwhile)."""
        identity = queries.student_for_token(self.db, token)
        if identity is None:
            return Ingested(None, None, None)
        try:
            accepted = accept(parse(body), identity, self.rubrics_of(identity), source="reported")
        except Refused as refused:
            return Ingested(identity, None, refused)
        return Ingested(identity, queries.store_attempt(self.db, accepted.attempt), None)

    # -- students ---------------------------------------------------------------------------------
    async def _student(self, request: Request) -> tuple[StudentIdentity | None, Response | None]:
        token = guard.bearer(request)
        identity = None
        if token is not None:
            identity = await run_in_threadpool(queries.student_for_token, self.db, token)
        if identity is not None:
            return identity, None
        return None, await self._no_student(request, token)

    async def _no_student(self, request: Request, token: str | None) -> Response:
        """The answer to a request without a student token, or with one nobody has."""
        wait = self.failed_logins.wait(guard.client_address(request))
        if wait:
            return _error(429, "too many refused tokens: wait", guard.retry_after(wait))
        reason = "no token" if token is None else "unknown token"
        return _error(
            401,
            f"{reason}: give the student's enrolment token (Authorization: Bearer)",
            {"WWW-Authenticate": "Bearer"},
        )

    async def me(self, request: Request) -> Response:
        identity, refusal = await self._student(request)
        if identity is None:
            return refusal  # type: ignore[return-value]
        return JSONResponse(
            {"class": identity.class_name, "student": identity.student, "labs": identity.labs}
        )

    async def post_report(self, request: Request) -> Response:  # noqa: PLR0911 - one per refusal
        token = guard.bearer(request)
        if token is None:
            return await self._no_student(request, None)
        wait = self.rate.wait(token_hash(token))
        if wait:
            return _error(
                429,
                f"too many reports: at most {self.settings.rate_burst} at once, then one every "
                f"{self.settings.rate_every_s:g} s",
                guard.retry_after(wait),
            )
        kind = request.headers.get("content-type", "application/json").split(";")[0].strip()
        if kind.lower() != "application/json":
            return _error(
                415,
                Text(
                    fr="envoyez le rapport en application/json",
                    en="send the report as application/json",
                ),
            )
        try:
            body = await guard.read_body(request, self.settings.max_report_bytes)
        except guard.TooLarge:
            return _error(413, f"report too large: at most {self.settings.max_report_bytes} bytes")
        ingested = await run_in_threadpool(self._ingest, token, body)
        if ingested.identity is None:
            return await self._no_student(request, token)
        if ingested.refused is not None:
            return _error(ingested.refused.status, ingested.refused.text)
        stored = ingested.stored
        if stored is None:
            return JSONResponse(
                {"status": "duplicate", "error": "already stored: this report was received before"},
                status_code=409,
            )
        # Committed: answer now, and tell the pages right after the answer is sent.
        return JSONResponse(
            {
                "status": "stored",
                "id": stored.id,
                "class": ingested.identity.class_name,
                "variant_ok": stored.variant_ok,
            },
            status_code=201,
            background=BackgroundTask(self.announce, stored),
        )

    def rubrics_of(self, identity: StudentIdentity) -> dict[str, Any]:
        rubrics = {}
        for lab in identity.labs:
            exercise = self.exercises(lab)
            if exercise is not None:
                rubrics[lab] = exercise.rubric
        return rubrics

    # -- the teacher ------------------------------------------------------------------------------
    async def _teacher(self, request: Request) -> int | None:
        token = guard.bearer(request)
        if token is not None:
            return await run_in_threadpool(queries.class_for_teacher, self.db, token)
        cookie = request.cookies.get(guard.SESSION_COOKIE)
        if cookie:
            return await run_in_threadpool(queries.session_class, self.db, cookie)
        return None

    async def login_form(self, request: Request) -> Response:
        return self._render("login.html", problem=None)

    async def login(self, request: Request) -> Response:
        try:
            body = await guard.read_body(request, 4096)
        except guard.TooLarge:
            return _error(413, "too large")
        token = (parse_qs(body.decode("utf-8", "replace")).get("token") or [""])[0].strip()
        class_id = (
            await run_in_threadpool(queries.class_for_teacher, self.db, token) if token else None
        )
        if class_id is None:
            wait = self.failed_logins.wait(guard.client_address(request))
            status = 429 if wait else 401
            problem = self._text(
                Text(fr="Trop d'essais : patientez.", en="Too many attempts: wait.")
                if wait
                else Text(
                    fr="Ce jeton n'est celui d'aucune classe.",
                    en="This token is no class's teacher token.",
                )
            )
            return self._render("login.html", status_code=status, problem=problem)
        cookie = new_token()
        await run_in_threadpool(
            queries.open_session, self.db, class_id, token_hash(cookie), self.settings.session_hours
        )
        response = RedirectResponse("/", status_code=303)
        response.set_cookie(
            guard.SESSION_COOKIE,
            cookie,
            max_age=int(self.settings.session_hours * 3600),
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
            path="/",
        )
        return response

    async def logout(self, request: Request) -> Response:
        cookie = request.cookies.get(guard.SESSION_COOKIE)
        if cookie:
            await run_in_threadpool(queries.close_session, self.db, cookie)
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(guard.SESSION_COOKIE, path="/")
        return response

    async def health(self, request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def page(self, request: Request) -> Response:
        class_id = await self._teacher(request)
        if class_id is None:
            return RedirectResponse("/login", status_code=303)
        view = await self.classes.view(class_id)
        if view is None:
            return RedirectResponse("/login", status_code=303)
        labels = {key: text.render(self.settings.lang) for key, text in PAGE_TEXTS.items()}
        return self._render(
            "class.html",
            class_name=view.name,
            labs=list(view.labs),
            labels=labels,
            config={
                "stuck_attempts": self.settings.stuck.attempts,
                "stuck_minutes": self.settings.stuck.minutes,
                "lang": self.settings.lang,
            },
        )

    async def _view_or_401(self, request: Request) -> tuple[ClassView | None, Response | None]:
        class_id = await self._teacher(request)
        view = await self.classes.view(class_id) if class_id is not None else None
        if view is None:
            return None, _error(401, "log in with the class's teacher token")
        return view, None

    def _lab_and_source(self, request: Request, view: ClassView) -> tuple[str, str] | Response:
        lab = request.query_params.get("lab") or next(iter(view.labs), "")
        source = request.query_params.get("source", "all")
        if lab not in view.labs:
            return _error(404, f"no lab {lab!r} in this class")
        if source not in SOURCES:
            return _error(400, f"source is one of {', '.join(SOURCES)}")
        return lab, source

    async def class_state(self, request: Request) -> Response:
        view, refusal = await self._view_or_401(request)
        if view is None:
            return refusal  # type: ignore[return-value]
        chosen = self._lab_and_source(request, view)
        if isinstance(chosen, Response):
            return chosen
        lab, source = chosen
        lab_view = view.view(lab, source)
        now = datetime.now(timezone.utc)
        rule = self.settings.stuck
        exercise = self.exercises(lab)
        rubric = exercise.rubric_with() if exercise is not None else None
        lang = self.settings.lang
        return JSONResponse(
            {
                "class": view.name,
                "lab": lab,
                "labs": list(view.labs),
                "source": source,
                "now": now.isoformat(timespec="seconds"),
                "checks": [
                    {
                        "id": entry.check_id,
                        "title": entry.title.render(lang),
                        "points": entry.points,
                        "penalty": entry.is_penalty,
                    }
                    for entry in (rubric.entries if rubric else ())
                ],
                "rows": lab_view.rows(now, rule),
                "stuck": lab_view.stuck(now, rule),
                "per_check": lab_view.checks_summary(),
            }
        )

    async def timeline(self, request: Request) -> Response:
        view, refusal = await self._view_or_401(request)
        if view is None:
            return refusal  # type: ignore[return-value]
        chosen = self._lab_and_source(request, view)
        if isinstance(chosen, Response):
            return chosen
        lab, _source = chosen
        student = request.query_params.get("student", "")
        if student not in view.roster:
            return _error(404, "no such student in this class")
        found = await run_in_threadpool(
            queries.attempts, self.db, view.class_id, lab=lab, student=student
        )
        return JSONResponse(
            {
                "student": student,
                "lab": lab,
                "attempts": [
                    {
                        "id": attempt.id,
                        "at": attempt.received_at.isoformat(timespec="seconds"),
                        "started_at": attempt.started_at.isoformat(timespec="seconds"),
                        "source": attempt.source,
                        "score": attempt.score,
                        "max_score": attempt.max_score,
                        "variant_ok": attempt.variant_ok,
                        "statuses": {c.check_id: c.status for c in attempt.checks},
                        "misses": [
                            {"check": c.check_id, "status": c.status, "message": c.message}
                            for c in attempt.checks
                            if c.status in ("failed", "error")
                        ],
                    }
                    for attempt in found[-200:]
                ],
            }
        )

    async def events(self, request: Request) -> Response:
        view, refusal = await self._view_or_401(request)
        if view is None:
            return refusal  # type: ignore[return-value]
        return StreamingResponse(
            self.hub.stream(view.class_id, self.stopping),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
        )

    async def export_gradebook(self, request: Request) -> Response:
        view, refusal = await self._view_or_401(request)
        if view is None:
            return refusal  # type: ignore[return-value]
        chosen = self._lab_and_source(request, view)
        if isinstance(chosen, Response):
            return chosen
        lab, source = chosen
        pick = request.query_params.get("pick", "best")
        id_column = request.query_params.get("id_column", defaults.GRADEBOOK_ID_COLUMN)
        if pick not in ("best", "last"):
            return _error(400, "pick is best or last")
        if id_column not in ("idnumber", "email", "username"):
            return _error(400, "id_column is idnumber, email or username")
        exercise = self.exercises(lab)
        if exercise is None:
            return _error(404, f"lab {lab!r} is not installed on this server")
        text = await run_in_threadpool(
            gradebook, self.db, view, exercise, source, pick, id_column, self.settings.lang
        )
        name = f"{_safe(view.name)}-{lab}-{pick}.csv"
        return PlainTextResponse(
            text,
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )

    async def export_attempts(self, request: Request) -> Response:
        view, refusal = await self._view_or_401(request)
        if view is None:
            return refusal  # type: ignore[return-value]
        lab = request.query_params.get("lab") or None
        if lab is not None and lab not in view.labs:
            return _error(404, f"no lab {lab!r} in this class")

        async def chunks() -> AsyncIterator[str]:
            head = {
                "schema": "tp-grader.class-attempts/1",
                "class": view.name,
                "exported_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            }
            yield json.dumps(head, ensure_ascii=False)[:-1] + ', "attempts": ['
            pages = queries.reports(self.db, view.class_id, lab=lab)
            first = True
            while True:
                batch = await run_in_threadpool(_take, pages, 200)
                if not batch:
                    break
                for item in batch:
                    yield ("" if first else ",") + "\n" + json.dumps(item, ensure_ascii=False)
                    first = False
            yield "\n]}\n"

        name = f"{_safe(view.name)}-attempts.json"
        return StreamingResponse(
            chunks(),
            media_type="application/json",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )

    # -- rendering --------------------------------------------------------------------------------
    def _text(self, text: Text) -> str:
        return text.render(self.settings.lang)

    def _render(self, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
        labels = {key: text.render(self.settings.lang) for key, text in LOGIN_TEXTS.items()}
        html = self.templates.get_template(template).render(
            lang=self.settings.lang, t=labels, **context
        )
        return HTMLResponse(html, status_code=status_code, headers={"Cache-Control": "no-store"})


def _take(iterator: Any, count: int) -> list[Any]:
    out = []
    for item in iterator:
        out.append(item)
        if len(out) >= count:
            break
    return out


def _error(
    status: int, reason: str | Text, headers: Mapping[str, str] | None = None
) -> JSONResponse:
    """An error answer: ``error`` in English, and ``error_fr`` when the reason is a
    :class:`~grader.i18n.Text` a student may read."""
    body = (
        {"error": reason}
        if isinstance(reason, str)
        else {"error": reason.en, "error_fr": reason.fr}
    )
    return JSONResponse(body, status_code=status, headers=dict(headers or {}))


def _safe(name: str) -> str:
    """A file-name-safe version of a class name, for Content-Disposition."""
    return "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in name)[:60] or "class"


def gradebook(
    db: Database,
    view: ClassView,
    exercise: Exercise,
    source: str,
    pick: str,
    id_column: str,
    lang: Lang,
) -> str:
    """The class's gradebook CSV, in ``grade batch``'s columns: per student, the best (highest
    score, the latest of equals) or the last attempt of ``source``. ``flags`` says where each
    mark comes from (``reported``: the student's claim; ``observed``), and
    ``variant-mismatch`` when the attempt was not graded against the student's variant. A
    student with no attempt gets status ``error``, feedback "no attempt"."""
    from grader.batch.verdicts import failed
    from grader.report.gradebook import gradebook_csv
    from grader.report.json_report import from_dict

    chosen: dict[str, tuple[int, float, str, bool | None, str]] = {}
    for item in queries.reports(db, view.class_id, lab=exercise.id):
        if source != "all" and item["source"] != source:
            continue
        score = float(item["report"]["score"])
        earlier = chosen.get(item["student"])
        if pick == "last" or earlier is None or score >= earlier[1]:
            chosen[item["student"]] = (
                item["id"], score, json.dumps(item["report"]), item["variant_ok"], item["source"]
            )  # fmt: skip
    results = []
    nothing = Text(fr="aucune tentative", en="no attempt")
    for student in view.roster:
        if student not in chosen:
            results.append(failed(student, exercise, lang, nothing))
            continue
        _id, _score, report, variant_ok, origin = chosen[student]
        result = from_dict(json.loads(report), exercise.rubric_with())
        flags = (*result.flags, origin, *(("variant-mismatch",) if variant_ok is False else ()))
        results.append(dataclasses.replace(result, flags=flags))
    return gradebook_csv(exercise.rubric_with(), results, id_column=id_column)


#: Texts of the login page (and the page's frame).
LOGIN_TEXTS = {
    "title": Text(fr="Vue de classe", en="Class view"),
    "token": Text(fr="Jeton enseignant", en="Teacher token"),
    "login": Text(fr="Se connecter", en="Log in"),
    "logout": Text(fr="Se déconnecter", en="Log out"),
    "noscript": Text(fr="Cette page a besoin de JavaScript.", en="This page needs JavaScript."),
}

#: Texts the page's script shows.
PAGE_TEXTS = {
    "student": Text(fr="Élève", en="Student"),
    "score": Text(fr="Note", en="Score"),
    "attempts": Text(fr="Essais", en="Attempts"),
    "last": Text(fr="Dernier", en="Last"),
    "stuck": Text(fr="Bloqués", en="Stuck"),
    "nobody_stuck": Text(fr="Personne n'est bloqué.", en="Nobody is stuck."),
    "per_check": Text(fr="Par vérification", en="Per check"),
    "pass_rate": Text(fr="réussite", en="pass rate"),
    "messages": Text(fr="Messages d'échec les plus fréquents", en="Most frequent failure messages"),
    "no_failure": Text(fr="aucun échec en cours", en="no failure now"),
    "students_n": Text(fr="élève(s)", en="student(s)"),
    "timeline": Text(fr="Historique", en="Timeline"),
    "close": Text(fr="Fermer", en="Close"),
    "live": Text(fr="en direct", en="live"),
    "reconnecting": Text(fr="reconnexion…", en="reconnecting…"),
    "source_all": Text(fr="tout", en="all"),
    "source_reported": Text(fr="déclaré par l'élève", en="reported by the student"),
    "source_observed": Text(fr="observé par le correcteur", en="observed by the grader"),
    "reported": Text(fr="déclaré", en="reported"),
    "observed": Text(fr="observé", en="observed"),
    "passed": Text(fr="validé", en="passed"),
    "failed": Text(fr="échoué", en="failed"),
    "skipped": Text(fr="non évalué", en="skipped"),
    "error": Text(fr="erreur", en="error"),
    "never": Text(fr="jamais essayé", en="never tried"),
    "failed_n_times": Text(
        fr="échoue depuis {n} essais, {m} min", en="failing for {n} attempts, {m} min"
    ),
    "variant_mismatch": Text(
        fr="variante d'examen qui n'est pas la sienne",
        en="not graded against their own exam variant",
    ),
    "export_best": Text(fr="Carnet de notes (meilleur essai)", en="Gradebook (best attempt)"),
    "export_last": Text(fr="Carnet de notes (dernier essai)", en="Gradebook (last attempt)"),
    "export_all": Text(fr="Tous les essais (JSON)", en="All attempts (JSON)"),
    "minutes_ago": Text(fr="il y a {m} min", en="{m} min ago"),
    "just_now": Text(fr="à l'instant", en="just now"),
    "lab": Text(fr="TP", en="Lab"),
    "show": Text(fr="Afficher", en="Show"),
}
