"""Reviewer pages (signature registry) and administrator pages (users, read-only audit trail).

A reviewer imports, approves (with a justification) and revokes signatures and attaches validation metrics;
nobody deletes anything. An administrator adds, disables, re-enables users and resets passwords, and reads the
audit trail (no page changes it).
"""

from __future__ import annotations

import hashlib
import json

from fastapi import APIRouter, Depends, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy import func, select
from starlette.concurrency import run_in_threadpool

from ..errors import InputError
from . import audit, auth, registry
from .db import AuditLog, SignatureRecord, User, Validation
from .web import Ctx, Forbidden, check_csrf, record, render, require, response_download

__all__ = ["router"]

router = APIRouter()
reviewer = require("reviewer")
admin = require("admin")
reader = require("reviewer", "admin")


def _msg(exc: InputError) -> str:
    return exc.message + (f". Fix: {exc.hint}" if exc.hint else "")


def _names(s) -> dict[int, str]:
    return dict(s.execute(select(User.id, User.name)).all())


def _list_page(request: Request, ctx: Ctx, message: str = "", status: int = 200):
    with request.app.state.db() as s:
        current = registry.current_ids(s)
        names = _names(s)
        recs = s.execute(select(SignatureRecord).order_by(SignatureRecord.name, SignatureRecord.id)).scalars().all()
        rows = [{"id": r.id, "name": r.name, "version": r.version, "specimen": r.specimen, "sha": r.sha256,
                 "state": "revoked" if r.revoked_at else "approved" if r.approved_at else "awaiting approval",
                 "current": r.id in current, "imported_by": names.get(r.imported_by, "?")} for r in recs]
    return render(request, "signatures.html", ctx, status, rows=rows, message=message)


@router.get("/signatures", response_class=HTMLResponse)
def signatures(request: Request, ctx: Ctx = Depends(reader)):
    """GET: the imported signatures and their approval state."""
    return _list_page(request, ctx)


@router.post("/signatures/import")
async def signature_import(request: Request, file: UploadFile | None = None, csrf: str = Form(""),
                           ctx: Ctx = Depends(reviewer)):
    check_csrf(ctx, csrf)
    data = await file.read(registry.MAX_SIGNATURE_BYTES + 1) if file is not None else b""
    st = request.app.state

    def work():
        try:
            with st.db() as s, s.begin():
                rec = registry.import_signature(s, data, trusted_keys=st.settings.keys_dir, by=ctx.name)
                return rec.id, ""
        except InputError as exc:
            record(request, user=ctx.name, action="signature_import", outcome="refused",
                   input_sha256=hashlib.sha256(data).hexdigest(), details={"reason": _msg(exc)[:500]})
            return None, _msg(exc)

    rid, why = await run_in_threadpool(work)
    if rid is None:
        return await run_in_threadpool(_list_page, request, ctx, f"Import refused: {why}", 400)
    return RedirectResponse(f"/signatures/{rid}", status_code=303)


@router.get("/signatures/{sid}", response_class=HTMLResponse)
def signature_view(request: Request, sid: int, ctx: Ctx = Depends(reader)):
    """GET: one signature (content, performance, approval, validations)."""
    return signature_page(request, sid, ctx)


def signature_page(request: Request, sid: int, ctx: Ctx, message: str = "", status: int = 200):
    """The signature page of ``sid``, with an optional message and HTTP status."""
    from ..signature import Signature

    with request.app.state.db() as s:
        rec = s.get(SignatureRecord, sid)
        if rec is None:
            raise Forbidden("No such signature.")
        names = _names(s)
        vals = s.execute(select(Validation).where(Validation.signature_id == sid)).scalars().all()
        info = registry.summary(rec, Signature.from_bytes(rec.content))
        current = sid in registry.current_ids(s)
        others = s.execute(select(SignatureRecord.id, SignatureRecord.version).where(
            SignatureRecord.name == rec.name, SignatureRecord.id != sid)).all()
        v = [{"metrics": json.loads(x.metrics), "by": names.get(x.added_by), "at": x.added_at} for x in vals]
        return render(request, "signature.html", ctx, status, rec=rec, info=info, validations=v, current=current,
                      others=others, names=names, message=message)


@router.post("/signatures/{sid}/approve")
def signature_approve(request: Request, sid: int, justification: str = Form(""), csrf: str = Form(""),
                      ctx: Ctx = Depends(reviewer)):
    """POST (reviewer): approve the signature's exact sha256, with a justification."""
    return _change(request, sid, ctx, csrf, "signature_approve",
                   lambda s: registry.approve(s, sid, user_id=ctx.user_id, by=ctx.name, justification=justification,
                                              trusted_keys=request.app.state.settings.keys_dir))


@router.post("/signatures/{sid}/revoke")
def signature_revoke(request: Request, sid: int, reason: str = Form(""), csrf: str = Form(""),
                     ctx: Ctx = Depends(reviewer)):
    """POST (reviewer): revoke the signature; it is refused for scoring from then on."""
    return _change(request, sid, ctx, csrf, "signature_revoke",
                   lambda s: registry.revoke(s, sid, user_id=ctx.user_id, by=ctx.name, reason=reason))


@router.post("/signatures/{sid}/validation")
async def signature_validation(request: Request, sid: int, file: UploadFile | None = None, csrf: str = Form(""),
                               ctx: Ctx = Depends(reviewer)):
    data = await file.read(5 * 1024 * 1024) if file is not None else b""
    return await run_in_threadpool(
        _change, request, sid, ctx, csrf, "validation_attach",
        lambda s: registry.attach_validation(s, sid, data, user_id=ctx.user_id, by=ctx.name))


def _change(request: Request, sid: int, ctx: Ctx, csrf: str, action: str, fn):
    check_csrf(ctx, csrf)
    try:
        with request.app.state.db() as s, s.begin():
            fn(s)
    except InputError as exc:
        record(request, user=ctx.name, action=action, outcome="refused", details={"signature": sid,
                                                                                "reason": _msg(exc)[:500]})
        return signature_page(request, sid, ctx, message=f"Refused: {_msg(exc)}", status=400)
    return RedirectResponse(f"/signatures/{sid}", status_code=303)


# -- administrator ----------------------------------------------------------------------------------------------
def _users_page(request: Request, ctx: Ctx, message: str = "", status: int = 200):
    with request.app.state.db() as s:
        users = [{"name": u.name, "role": u.role, "active": u.active, "locked": u.failed_logins >= 5}
                 for u in auth.list_users(s)]
    return render(request, "users.html", ctx, status, users=users, roles=auth.ROLES, message=message)


@router.get("/admin/users", response_class=HTMLResponse)
def users(request: Request, ctx: Ctx = Depends(admin)):
    """GET (admin): the accounts."""
    return _users_page(request, ctx)


@router.post("/admin/users")
def users_add(request: Request, name: str = Form(""), role: str = Form(""), password: str = Form(""),
              csrf: str = Form(""), ctx: Ctx = Depends(admin)):
    """POST (admin): add an account."""
    check_csrf(ctx, csrf)
    try:
        with request.app.state.db() as s, s.begin():
            auth.add_user(s, name.strip(), role, password, by=ctx.name)
    except InputError as exc:
        return _users_page(request, ctx, f"Not added: {_msg(exc)}", 400)
    return _users_page(request, ctx, f"Added {name.strip()} ({role}).")


@router.post("/admin/users/{name}/{what}")
def users_change(request: Request, name: str, what: str, password: str = Form(""), csrf: str = Form(""),
                 ctx: Ctx = Depends(admin)):
    """POST (admin): disable, enable or reset the password of an account."""
    check_csrf(ctx, csrf)
    if what not in ("disable", "enable", "reset"):
        raise Forbidden("Unknown action.")
    if what == "disable" and name == ctx.name:
        return _users_page(request, ctx, "You cannot disable yourself.", 400)
    try:
        with request.app.state.db() as s, s.begin():
            if what == "reset":
                auth.set_password(s, name, password, by=ctx.name)
            else:
                auth.set_active(s, name, what == "enable", by=ctx.name)
    except InputError as exc:
        return _users_page(request, ctx, f"Not changed: {_msg(exc)}", 400)
    return _users_page(request, ctx, f"{name}: {what} done.")


@router.get("/admin/audit", response_class=HTMLResponse)
def audit_page(request: Request, page: int = 1, ctx: Ctx = Depends(admin)):
    """GET (admin): the audit trail, newest first, 100 rows a page."""
    per = 100
    with request.app.state.db() as s:
        n = s.execute(select(func.count()).select_from(AuditLog)).scalar_one()
        rows = s.execute(select(AuditLog).order_by(AuditLog.seq.desc()).offset((max(page, 1) - 1) * per)
                         .limit(per)).scalars().all()
        rep = audit.verify_database(s)
    record(request, user=ctx.name, action="audit_view", outcome="ok")
    return render(request, "audit.html", ctx, rows=rows, n=n, page=max(page, 1), pages=max(1, -(-n // per)),
                  report=rep)


@router.get("/admin/audit.csv")
def audit_csv(request: Request, ctx: Ctx = Depends(admin)):
    """GET (admin): the whole audit trail as CSV (the export is itself audited)."""
    with request.app.state.db() as s:
        text = audit.export(audit.select_rows(s), "csv")
    record(request, user=ctx.name, action="audit_export", outcome="ok", details={"format": "csv"})
    return response_download(text, "audit_log.csv", "text/csv; charset=utf-8")
