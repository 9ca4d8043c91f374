"""What every page module of the web app uses (:mod:`.app`, :mod:`.views`, :mod:`.admin`): the logged-in user
(:class:`Ctx`, :func:`require`), CSRF check, template rendering, audit recording, the scoring pool and downloads.
Kept apart from :mod:`.app` so the page modules never import the application that includes them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, Response
from fastapi.templating import Jinja2Templates
from itsdangerous import BadSignature, URLSafeSerializer

from .._version import __version__
from . import audit, auth

__all__ = ["Ctx", "COOKIE", "NotLoggedIn", "Forbidden", "require", "check_csrf", "render", "record", "pool",
           "response_download", "templates"]

HERE = Path(__file__).parent
COOKIE = "proteomics_session"


class NotLoggedIn(Exception):
    """Raised by a route dependency when the request has no valid session (redirects to the login page)."""


class Forbidden(Exception):
    """Raised when the user's role does not allow an action, or a form's CSRF check fails (HTTP 403 page)."""

    def __init__(self, message: str = "You are not allowed to do this."):
        self.message = message


@dataclass(frozen=True)
class Ctx:
    """The logged-in user of a request (plain values, detached from the database)."""

    user_id: int
    name: str
    role: str
    csrf: str
    must_change_password: bool
    token: str


templates = Jinja2Templates(directory=str(HERE / "templates"))


def render(request: Request, name: str, ctx: Ctx | None = None, status: int = 200, **values: Any) -> HTMLResponse:
    """Render a page with the user, CSRF token and version available to the template."""
    values.update(user=ctx, csrf=ctx.csrf if ctx else values.get("csrf", ""), version=__version__)
    return templates.TemplateResponse(request, name, values, status_code=status)


def _serializer(request: Request) -> URLSafeSerializer:
    return URLSafeSerializer(request.app.state.secret, salt="proteomics-session")


def _load_ctx(request: Request) -> Ctx | None:
    raw = request.cookies.get(COOKIE)
    if not raw:
        return None
    try:
        token = _serializer(request).loads(raw)
    except BadSignature:
        return None
    st = request.app.state
    with st.db() as s, s.begin():
        got = auth.load_session(s, str(token), st.settings.idle_timeout)
        if got is None:
            return None
        ws, u = got
        return Ctx(u.id, u.name, u.role, ws.csrf, bool(u.must_change_password), str(token))


def require(*roles: str):
    """A dependency: the logged-in user, who must hold one of ``roles`` (any role when none given)."""
    def dep(request: Request) -> Ctx:
        ctx = _load_ctx(request)
        if ctx is None:
            raise NotLoggedIn()
        if ctx.must_change_password and request.url.path not in ("/password", "/logout"):
            raise _ChangePassword()
        if roles and ctx.role not in roles:
            raise Forbidden(f"This page is for the {' or '.join(roles)} role; you are signed in as "
                            f"{ctx.role}.")
        return ctx
    return dep


class _ChangePassword(Exception):
    pass


def check_csrf(ctx: Ctx, token: str | None) -> None:
    """Raise :class:`Forbidden` unless ``token`` is the session's CSRF token."""
    if not auth.csrf_ok(ctx.csrf, token):
        raise Forbidden("The form expired or did not come from this site (CSRF check failed). Reload the page "
                        "and try again.")


def record(request: Request, **kw) -> None:
    """Append one audit row in its own transaction."""
    with request.app.state.db() as s, s.begin():
        audit.append(s, **kw)


def pool(request: Request):
    """The scoring worker pool (created on first use)."""
    st = request.app.state
    if st.pool is None:
        from .scoring import make_pool

        st.pool = make_pool(st.settings.workers)
    return st.pool


def response_download(data: str | bytes, filename: str, media: str) -> Response:
    """A download response (``content-disposition: attachment``) of ``data`` as ``filename``."""
    return Response(data, media_type=media, headers={"content-disposition": f'attachment; filename="{filename}"'})
