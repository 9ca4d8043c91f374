"""The FastAPI application: middleware (security headers, upload limit, origin check), sessions, login/logout,
password change, error pages. The pages live in :mod:`.views` (clinician) and :mod:`.admin` (reviewer and
administrator); all three use the helpers of :mod:`.web` (:func:`require`, :func:`check_csrf`, :func:`render`).

Every response carries ``Content-Security-Policy`` (no inline script, ``frame-ancestors 'none'``),
``X-Content-Type-Options: nosniff``, ``X-Frame-Options: DENY``, ``Referrer-Policy: same-origin`` and
``Cache-Control: no-store``. Pages never show stack traces or internal paths. Request logs hold no patient
identifiers (URLs carry only numeric result ids; uvicorn's access log is off).
"""

from __future__ import annotations

import logging
import secrets
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from ..errors import InputError
from . import audit, auth
from .db import open_database
from .settings import ServeSettings
from .web import (  # noqa: F401 - re-exported: the helpers lived here
    COOKIE,
    HERE,
    Ctx,
    Forbidden,
    NotLoggedIn,
    _ChangePassword,
    _load_ctx,
    _serializer,
    check_csrf,
    pool,
    record,
    render,
    require,
    response_download,
    templates,
)

__all__ = ["create_app", "require", "check_csrf", "render", "Ctx", "COOKIE"]

log = logging.getLogger("proteomics.serve")
PRE_COOKIE = "proteomics_login"
SECURITY_HEADERS = [
    (b"content-security-policy", b"default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                                 b"object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
    (b"cache-control", b"no-store"),
    (b"cross-origin-opener-policy", b"same-origin"),
]


class UploadTooLarge(Exception):
    """Raised when an upload exceeds the configured size limit (HTTP 413 page)."""


class Guard:
    """ASGI middleware: security headers on every response; request bodies above the limit refused (413)
    before and while streaming; cross-site POSTs (an ``Origin`` of another host) refused (403). A POST without
    ``Origin`` (or with ``null``, sent by privacy settings) is judged by its CSRF token alone."""

    def __init__(self, app, max_body: int):
        self.app, self.max_body = app, max_body

    @property
    def state(self):
        """The wrapped application's state (settings, database, worker pool)."""
        return self.app.state

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = dict(scope.get("headers") or [])

        async def send_secure(message):
            if message["type"] == "http.response.start":
                have = {k.lower() for k, _ in message.get("headers", [])}
                message["headers"] = list(message.get("headers", [])) + [
                    (k, v) for k, v in SECURITY_HEADERS if k not in have]
            await send(message)

        if scope["method"] == "POST":
            origin = headers.get(b"origin")
            host = headers.get(b"host", b"")
            if origin and origin != b"null" and origin.split(b"://", 1)[-1] != host:
                return await _plain(send_secure, 403, "Cross-site request refused.")
            try:
                length = int(headers.get(b"content-length", b"0"))
            except ValueError:
                length = 0
            if length > self.max_body:
                return await _plain(send_secure, 413, "The upload is larger than the limit.")
            seen = 0

            async def counted():
                nonlocal seen
                message = await receive()
                seen += len(message.get("body", b""))
                if seen > self.max_body:
                    raise UploadTooLarge()
                return message

            return await self.app(scope, counted, send_secure)
        return await self.app(scope, receive, send_secure)


async def _plain(send, status: int, text: str):
    body = text.encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"text/plain; charset=utf-8"),
                            (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


def create_app(settings: ServeSettings) -> FastAPI:
    """The application for ``settings`` (database opened and upgraded, worker pool created lazily)."""
    engine = open_database(settings)
    db = sessionmaker(engine, class_=Session, expire_on_commit=False)
    with db() as s, s.begin():
        secret = auth.session_secret(s)
    if settings.retain_uploads_days is not None:
        from .views import purge_uploads

        purge_uploads(settings, db)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        yield
        if app.state.pool is not None:
            await run_in_threadpool(app.state.pool.shutdown, True)
        engine.dispose()

    app = FastAPI(title="proteomics serve", docs_url=None, redoc_url=None, openapi_url=None, lifespan=lifespan)
    app.state.settings, app.state.engine, app.state.db, app.state.secret = settings, engine, db, secret
    app.state.pool = None
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")

    @app.exception_handler(NotLoggedIn)
    async def _not_logged_in(request: Request, exc: NotLoggedIn):
        if request.method == "GET":
            return RedirectResponse("/login", status_code=303)
        return render(request, "error.html", None, 401, title="Not signed in",
                      message="Your session ended. Sign in again.")

    @app.exception_handler(_ChangePassword)
    async def _change_pw(request: Request, exc):
        return RedirectResponse("/password", status_code=303)

    @app.exception_handler(Forbidden)
    async def _forbidden(request: Request, exc: Forbidden):
        return render(request, "error.html", None, 403, title="Not allowed", message=exc.message)

    @app.exception_handler(UploadTooLarge)
    async def _too_large(request: Request, exc):
        mb = settings.max_upload / (1024 * 1024)
        return render(request, "error.html", None, 413, title="Upload too large",
                      message=f"The file is larger than the limit of {mb:g} MB.")

    @app.exception_handler(404)
    async def _not_found(request: Request, exc):
        return render(request, "error.html", None, 404, title="Not found", message="This page does not exist.")

    @app.exception_handler(Exception)
    async def _internal(request: Request, exc: Exception):
        log.error("internal error on %s %s: %s", request.method, request.url.path, type(exc).__name__)
        resp = render(request, "error.html", None, 500, title="Internal error",
                      message="Something went wrong on the server. Nothing was half-written; try again or ask "
                              "the administrator.")
        for k, v in SECURITY_HEADERS:
            resp.headers[k.decode()] = v.decode()
        return resp

    @app.get("/login", response_class=HTMLResponse)
    def login_form(request: Request):
        if _load_ctx(request) is not None:
            return RedirectResponse("/", status_code=303)
        return _login_page(request, "")

    @app.post("/login")
    def login(request: Request, name: str = Form(""), password: str = Form(""), csrf: str = Form("")):
        pre = request.cookies.get(PRE_COOKIE, "")
        try:
            expected = URLSafeSerializer(request.app.state.secret, salt="login").loads(pre)
        except BadSignature:
            expected = ""
        if not expected or not auth.csrf_ok(str(expected), csrf):
            return _login_page(request, "The form expired; please sign in again.", 403)
        with db() as s, s.begin():
            res = auth.login(s, name.strip(), password, max_failures=settings.max_failures, lockout=settings.lockout)
            token = auth.new_session(s, res.user) if res.user is not None else None
        if token is None:
            return _login_page(request, res.message, 401)
        resp = RedirectResponse("/", status_code=303)
        resp.set_cookie(COOKIE, _serializer(request).dumps(token), httponly=True, samesite="strict",
                        secure=settings.secure_cookies, path="/")
        resp.delete_cookie(PRE_COOKIE, path="/")
        return resp

    @app.post("/logout")
    def logout(request: Request, csrf: str = Form(""), ctx: Ctx = Depends(require())):
        check_csrf(ctx, csrf)
        with db() as s, s.begin():
            auth.end_session(s, ctx.token)
            audit.append(s, user=ctx.name, action="logout", outcome="ok")
        resp = RedirectResponse("/login", status_code=303)
        resp.delete_cookie(COOKIE, path="/")
        return resp

    @app.get("/password", response_class=HTMLResponse)
    def password_form(request: Request, ctx: Ctx = Depends(require())):
        return render(request, "password.html", ctx, message="")

    @app.post("/password")
    def password_change(request: Request, old: str = Form(""), new: str = Form(""), repeat: str = Form(""),
                        csrf: str = Form(""), ctx: Ctx = Depends(require())):
        check_csrf(ctx, csrf)
        if new != repeat:
            return render(request, "password.html", ctx, 400, message="The new passwords differ.")
        try:
            with db() as s, s.begin():
                from .db import User

                ok = auth.change_password(s, s.get(User, ctx.user_id), old, new)
        except InputError as exc:
            return render(request, "password.html", ctx, 400, message=exc.message + ".")
        if not ok:
            return render(request, "password.html", ctx, 400, message="The current password is wrong.")
        return render(request, "password.html", ctx, message="Password changed.")

    @app.get("/", response_class=HTMLResponse)
    def home(request: Request):
        ctx = _load_ctx(request)
        if ctx is None:
            return RedirectResponse("/login", status_code=303)
        if ctx.must_change_password:
            return RedirectResponse("/password", status_code=303)
        target = {"clinician": "/score", "reviewer": "/signatures", "admin": "/admin/users"}[ctx.role]
        return RedirectResponse(target, status_code=303)

    from . import admin, views

    app.include_router(views.router)
    app.include_router(admin.router)

    return Guard(app, settings.max_upload + 64 * 1024)  # type: ignore[return-value]


def _login_page(request: Request, message: str, status: int = 200) -> HTMLResponse:
    token = secrets.token_urlsafe(24)
    resp = render(request, "login.html", None, status, message=message, csrf=token)
    resp.set_cookie(PRE_COOKIE, URLSafeSerializer(request.app.state.secret, salt="login").dumps(token),
                    httponly=True, samesite="strict", secure=request.app.state.settings.secure_cookies, path="/")
    return resp
