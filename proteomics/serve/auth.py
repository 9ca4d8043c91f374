"""Users, roles, argon2 password hashes, login throttling, server-side sessions and CSRF tokens.

Roles: ``admin`` (users, audit trail), ``reviewer`` (signature import, approval, revocation), ``clinician``
(scoring, results). Every change is recorded in the audit trail within the same transaction.

Throttling: the first ``max_failures`` (5) consecutive failed logins of a user are answered normally; after
that the user is locked for ``lockout`` seconds, during which every attempt (even with the right password) is
refused and recorded. A successful login resets the count; an administrator's re-enable or reset clears it.

Sessions live in the database (``web_sessions``): the browser holds a random token in a signed cookie, the
table holds its sha256, the user, a CSRF token and the last-seen time. Idle sessions expire; logout deletes
the row, so a stolen cookie is useless afterwards.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from ..errors import InputError
from . import audit
from .db import AppSetting, User, WebSession, utc_now

__all__ = ["ROLES", "add_user", "set_active", "set_password", "change_password", "list_users", "login",
           "LoginResult", "new_session", "load_session", "end_session", "check_password_strength",
           "session_secret", "csrf_ok"]

ROLES = ("admin", "reviewer", "clinician")
MIN_PASSWORD = 10
_hasher = PasswordHasher()
_DUMMY = _hasher.hash("not a real password, used to even out timing")


def check_password_strength(password: str) -> None:
    """Refuse a password shorter than ``MIN_PASSWORD`` characters (InputError)."""
    if len(password) < MIN_PASSWORD:
        raise InputError(f"the password is shorter than {MIN_PASSWORD} characters", hint="choose a longer one")


def _user(session: Session, name: str) -> User:
    u = session.execute(select(User).where(User.name == name)).scalar_one_or_none()
    if u is None:
        raise InputError(f"no user named {name!r}", hint="see 'proteomics users list'")
    return u


def add_user(session: Session, name: str, role: str, password: str, *, by: str) -> User:
    """Create a user (name: letters, digits, ``._-@``; role in :data:`ROLES`)."""
    if role not in ROLES:
        raise InputError(f"unknown role {role!r}", hint=f"use one of {', '.join(ROLES)}")
    if not name or len(name) > 64 or not all(c.isalnum() or c in "._-@" for c in name):
        raise InputError(f"invalid user name {name!r}", hint="use letters, digits and . _ - @ (at most 64)")
    check_password_strength(password)
    if session.execute(select(User).where(User.name == name)).scalar_one_or_none() is not None:
        raise InputError(f"user {name!r} already exists", hint="choose another name or reset its password")
    u = User(name=name, role=role, password_hash=_hasher.hash(password), active=True, must_change_password=False,
             failed_logins=0, locked_until=0.0, created_at=utc_now())
    session.add(u)
    session.flush()
    audit.append(session, user=by, action="user_add", outcome="ok", details={"name": name, "role": role})
    return u


def list_users(session: Session) -> list[User]:
    """Every account, by name."""
    return list(session.execute(select(User).order_by(User.name)).scalars().all())


def set_active(session: Session, name: str, active: bool, *, by: str) -> User:
    """Disable (ends the user's sessions) or re-enable a user (clears the lock-out)."""
    u = _user(session, name)
    u.active = active
    if active:
        u.failed_logins, u.locked_until = 0, 0.0
    else:
        session.execute(delete(WebSession).where(WebSession.user_id == u.id))
    audit.append(session, user=by, action="user_enable" if active else "user_disable", outcome="ok",
                 details={"name": name})
    return u


def set_password(session: Session, name: str, password: str, *, by: str) -> User:
    """Administrator reset: new password, lock-out cleared, sessions ended, change required at next login."""
    check_password_strength(password)
    u = _user(session, name)
    u.password_hash = _hasher.hash(password)
    u.failed_logins, u.locked_until, u.must_change_password = 0, 0.0, True
    session.execute(delete(WebSession).where(WebSession.user_id == u.id))
    audit.append(session, user=by, action="password_reset", outcome="ok", details={"name": name})
    return u


def change_password(session: Session, user: User, old: str, new: str) -> bool:
    """The user's own change; False (recorded) when ``old`` is wrong."""
    if not _verify(user.password_hash, old):
        audit.append(session, user=user.name, action="password_change", outcome="failed")
        return False
    check_password_strength(new)
    user.password_hash = _hasher.hash(new)
    user.must_change_password = False
    audit.append(session, user=user.name, action="password_change", outcome="ok")
    return True


def _verify(stored: str, password: str) -> bool:
    try:
        return _hasher.verify(stored, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


@dataclass(frozen=True)
class LoginResult:
    """``user`` when the login succeeded; ``message`` for the page otherwise (never says which part was wrong,
    except for the lock-out, which says how long to wait)."""

    user: User | None
    message: str = ""


def login(session: Session, name: str, password: str, *, max_failures: int = 5, lockout: float = 300.0,
          now: float | None = None) -> LoginResult:
    """Check a login attempt and record it (``login`` ok / failed / refused)."""
    now = time.time() if now is None else now
    u = session.execute(select(User).where(User.name == name)).scalar_one_or_none()
    bad = LoginResult(None, "Wrong user name or password.")
    if u is None:
        _verify(_DUMMY, password)
        audit.append(session, user=name[:64], action="login", outcome="failed", details={"reason": "unknown user"})
        return bad
    if u.locked_until > now:
        wait = int(u.locked_until - now) + 1
        audit.append(session, user=u.name, action="login", outcome="refused",
                     details={"reason": "throttled", "failures": u.failed_logins})
        return LoginResult(None, f"Too many failed attempts: this account is locked for {wait} more seconds.")
    if not _verify(u.password_hash, password):
        u.failed_logins += 1
        if u.failed_logins >= max_failures:
            u.locked_until = now + lockout
        audit.append(session, user=u.name, action="login", outcome="failed",
                     details={"reason": "wrong password", "failures": u.failed_logins})
        return bad
    if not u.active:
        audit.append(session, user=u.name, action="login", outcome="refused", details={"reason": "disabled"})
        return LoginResult(None, "This account is disabled; ask an administrator.")
    u.failed_logins, u.locked_until = 0, 0.0
    if _hasher.check_needs_rehash(u.password_hash):
        u.password_hash = _hasher.hash(password)
    audit.append(session, user=u.name, action="login", outcome="ok")
    return LoginResult(u)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("ascii")).hexdigest()


def new_session(session: Session, user: User) -> str:
    """Start a session; returns the raw token to put (signed) in the cookie."""
    token = secrets.token_urlsafe(32)
    now = time.time()
    session.add(WebSession(id=_digest(token), user_id=user.id, csrf=secrets.token_urlsafe(32), created=now,
                           last_seen=now))
    return token


def load_session(session: Session, token: str, idle_timeout: float) -> tuple[WebSession, User] | None:
    """The live session and its (active) user, touching ``last_seen``; None when unknown, idle or disabled."""
    ws = session.get(WebSession, _digest(token))
    if ws is None:
        return None
    now = time.time()
    user = session.get(User, ws.user_id)
    if now - ws.last_seen > idle_timeout or user is None or not user.active:
        session.delete(ws)
        return None
    if now - ws.last_seen > 5:
        ws.last_seen = now
    return ws, user


def end_session(session: Session, token: str) -> None:
    """Delete the session whose cookie token is ``token`` (log out)."""
    session.execute(delete(WebSession).where(WebSession.id == _digest(token)))


def csrf_ok(expected: str, given: str | None) -> bool:
    """Whether the form's CSRF token equals the session's (constant-time comparison)."""
    return bool(given) and hmac.compare_digest(expected, str(given))


def session_secret(session: Session) -> str:
    """The cookie-signing secret, created once and kept in the database (shared by every server machine)."""
    row = session.get(AppSetting, "session_secret")
    if row is None:
        row = AppSetting(key="session_secret", value=secrets.token_hex(32))
        session.add(row)
        session.flush()
    return row.value
