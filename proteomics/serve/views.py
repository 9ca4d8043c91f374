"""The clinician's pages: the scoring form, result page, print view, downloads and a patient's history.

URLs carry numeric result ids only, never a patient identifier (a patient's history is found by a POST form),
so request logs never hold one. Audit rows name the result id and the file/signature sha256s, never the patient.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import re
import secrets
import time
from concurrent.futures.process import BrokenProcessPool
from datetime import date

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from .._version import __version__
from ..errors import InputError
from ..report.patient import plain_refusals, reading_guide
from ..samples import SPECIMENS
from . import audit, plots, registry
from .db import Result, SignatureRecord, User, utc_now
from .scoring import run_in_pool
from .web import Ctx, Forbidden, check_csrf, pool, record, render, require, response_download

__all__ = ["router", "purge_uploads", "store_upload"]

router = APIRouter()
clinician = require("clinician")
_PATIENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._/:-]{0,127}$")


def store_upload(settings, fileobj) -> tuple[str, str]:
    """Copy an uploaded stream to ``uploads/<sha256>[.gz]`` (the user's file name is never a path);
    returns (sha256, stored path). Written to a temporary file first, then renamed (atomic)."""
    h = hashlib.sha256()
    tmp = settings.work_dir / f"upload-{secrets.token_hex(8)}"
    head = b""
    with open(tmp, "wb") as out:
        while chunk := fileobj.read(1 << 20):
            if not head:
                head = chunk[:2]
            h.update(chunk)
            out.write(chunk)
    sha = h.hexdigest()
    final = settings.uploads_dir / (sha + (".gz" if head == b"\x1f\x8b" else ""))
    os.replace(tmp, final)
    return sha, str(final)


def purge_uploads(settings, db) -> int:
    """Delete stored uploads older than ``retain_uploads_days`` (results and audit rows stay); returns count."""
    cutoff = time.time() - 86400 * float(settings.retain_uploads_days)
    n = 0
    for f in settings.uploads_dir.iterdir():
        if f.is_file() and f.stat().st_mtime < cutoff:
            f.unlink()
            n += 1
    with db() as s, s.begin():
        audit.append(s, user="system", action="upload_purge", outcome="ok",
                     details={"deleted": n, "days": settings.retain_uploads_days})
    return n


def _form_page(request: Request, ctx: Ctx, errors: list[str] | None = None, status: int = 200, values=None):
    st = request.app.state
    with st.db() as s:
        offered = registry.offered(s)
        current = registry.current_ids(s)
        recent = s.execute(select(Result).order_by(Result.id.desc()).limit(20)).scalars().all()
        sigs = [{"id": r.id, "label": f"{r.name} v{r.version} ({r.specimen})" + (" — current" if r.id in current
                                                                                else ""), "current": r.id in current}
                for r in offered]
        rec = [{"id": r.id, "patient": r.patient_id, "category": r.category or r.outcome, "when": r.reported_at[:16]}
               for r in recent]
    return render(request, "score.html", ctx, status, signatures=sigs, specimens=SPECIMENS, errors=errors or [],
                  recent=rec, values=values or {}, max_mb=st.settings.max_upload / (1024 * 1024))


@router.get("/score", response_class=HTMLResponse)
def score_form(request: Request, ctx: Ctx = Depends(clinician)):
    """GET (clinician): the scoring form."""
    return _form_page(request, ctx)


def _check_fields(patient: str, specimen: str, collected: str, received: str) -> list[str]:
    errors = []
    if not _PATIENT.match(patient):
        errors.append("Patient identifier: 1–128 letters, digits, spaces or . _ / : -, starting with a letter or "
                      "digit.")
    if specimen not in SPECIMENS:
        errors.append(f"Specimen: choose one of {', '.join(SPECIMENS)}.")
    dates = {}
    for label, v in (("Collection date", collected), ("Receipt date", received)):
        try:
            dates[label] = date.fromisoformat(v)
        except ValueError:
            errors.append(f"{label}: give a date as YYYY-MM-DD.")
    if len(dates) == 2:
        if dates["Receipt date"] < dates["Collection date"]:
            errors.append("Receipt date: the sample cannot be received before it was collected.")
        if max(dates.values()) > date.today():
            errors.append("Dates cannot be in the future.")
    return errors


@router.post("/score")
async def score(request: Request, ctx: Ctx = Depends(clinician)):
    st = request.app.state
    form = await request.form(max_files=1, max_fields=20)
    check_csrf(ctx, form.get("csrf"))
    f = {k: str(form.get(k) or "").strip() for k in ("patient_id", "specimen", "collected", "received", "signature")}
    upload = form.get("file")
    errors = _check_fields(f["patient_id"], f["specimen"], f["collected"], f["received"])
    if upload is None or isinstance(upload, str) or not upload.filename:
        errors.append("Upload the patient's search-engine output file.")
    if not f["signature"].isdigit():
        errors.append("Choose an approved signature.")
    if errors:
        await run_in_threadpool(record, request, user=ctx.name, action="score", outcome="refused",
                                details={"reason": "incomplete form"})
        return await run_in_threadpool(_form_page, request, ctx, errors, 400, f)
    sha, path = await run_in_threadpool(store_upload, st.settings, upload.file)
    await upload.close()
    name = os.path.basename(upload.filename.replace("\\", "/"))[:255] or "upload"

    def prepare():
        with st.db() as s, s.begin():
            try:
                rec, sig = registry.load_for_use(s, int(f["signature"]), st.settings.keys_dir)
            except InputError as exc:
                audit.append(s, user=ctx.name, action="score", outcome="refused", input_sha256=sha,
                             details={"reason": "signature refused", "signature": int(f["signature"])})
                return None, exc.message + (f". Fix: {exc.hint}" if exc.hint else "")
            audit.append(s, user=ctx.name, action="score_request", outcome="ok", input_sha256=sha,
                         signature_sha256=rec.sha256, details={"signature": rec.id})
            return (rec.id, rec.sha256, bytes(rec.content)), ""

    got, why = await run_in_threadpool(prepare)
    if got is None:
        return await run_in_threadpool(_form_page, request, ctx, [f"Signature refused: {why}"], 409, f)
    sig_id, sig_sha, content = got
    try:
        out = await run_in_pool(pool(request), path, name, content, f["specimen"], str(st.settings.work_dir),
                                str(st.settings.keys_dir))
    except Exception as exc:  # noqa: BLE001 - recorded as failed, no trace on the page
        if isinstance(exc, BrokenProcessPool):  # a worker was killed: the next request gets a fresh pool
            st.pool = None
        await run_in_threadpool(record, request, user=ctx.name, action="score", outcome="failed",
                                input_sha256=sha, signature_sha256=sig_sha,
                                details={"error": type(exc).__name__, "signature": sig_id})
        return render(request, "error.html", ctx, 500, title="Scoring failed",
                      message="Scoring failed because of an internal error. It was recorded; nothing was saved.")

    def store():
        first = next((r for r in out["rows"] if r.get("category") != "refused"), (out["rows"] or [{}])[0])
        with st.db() as s, s.begin():
            res = Result(user_id=ctx.user_id, patient_id=f["patient_id"], specimen=f["specimen"],
                         collected_on=f["collected"], received_on=f["received"], reported_at=utc_now(),
                         signature_id=sig_id, signature_sha256=sig_sha, input_sha256=sha, input_name=name,
                         outcome=out["outcome"], category=first.get("category") or "refused",
                         probability=first.get("probability"), prob_low=first.get("prob_low"),
                         prob_high=first.get("prob_high"), reasons=json.dumps(out["reasons"]),
                         qc_flags=str(first.get("qc_flags") or ""), scores_tsv=out["tsv"],
                         panel_json=json.dumps(out["panel"]), software_version=__version__)
            s.add(res)
            s.flush()
            audit.append(s, user=ctx.name, action="score", outcome=out["outcome"], input_sha256=sha,
                         signature_sha256=sig_sha, details={"result": res.id, "category": res.category})
            return res.id

    rid = await run_in_threadpool(store)
    return RedirectResponse(f"/results/{rid}", status_code=303)


def _load(request: Request, rid: int, ctx: Ctx, action: str, fmt: str | None = None):
    st = request.app.state
    with st.db() as s, s.begin():
        res = s.get(Result, rid)
        if res is None:
            raise Forbidden("No such result.")
        sig = s.get(SignatureRecord, res.signature_id)
        who = s.get(User, res.user_id)
        audit.append(s, user=ctx.name, action=action, outcome="ok", input_sha256=res.input_sha256,
                     signature_sha256=res.signature_sha256, details={"result": rid, **({"format": fmt} if fmt else {})})
        s.expunge_all()
    return res, sig, who


def _view(res: Result, sig: SignatureRecord, who: User) -> dict:
    from ..signature import Signature

    s = Signature.from_bytes(sig.content)
    panel = json.loads(res.panel_json)
    for p in panel:
        p["strip"] = plots.protein_strip(p)
    rows = []
    if res.scores_tsv:
        rows = list(csv.DictReader(io.StringIO(res.scores_tsv), delimiter="\t"))
    thr = [(k, v.get("probability")) for k, v in dict(s.thresholds).items() if isinstance(v, dict)]
    # per-sample refusals in plain words (the score table's reason codes); whole-input refusals have no table
    explained = [e for row in rows if row.get("category") == "refused" and row.get("reason_codes")
                 for e in plain_refusals(row.get("reasons", ""), row["reason_codes"])]
    return {"r": res, "sig": sig, "ran_by": who.name, "reasons": json.loads(res.reasons), "panel": panel,
            "rows": rows, "thresholds": thr, "checksum": s.sha256, "categories": list(s.categories),
            "intended_use": s.intended_use, "explained": explained,
            "guide": reading_guide(s) if s.kind == "panel" else None}


@router.get("/results/{rid}", response_class=HTMLResponse)
def result_page(request: Request, rid: int, ctx: Ctx = Depends(clinician)):
    """GET (clinician): a result, as a lab report (audited as a view)."""
    res, sig, who = _load(request, rid, ctx, "report_view")
    return render(request, "result.html", ctx, **_view(res, sig, who))


@router.get("/results/{rid}/print", response_class=HTMLResponse)
def result_print(request: Request, rid: int, ctx: Ctx = Depends(clinician)):
    """GET (clinician): the one-page printable result (audited)."""
    res, sig, who = _load(request, rid, ctx, "report_print")
    return render(request, "print.html", ctx, **_view(res, sig, who))


@router.get("/results/{rid}/scores.tsv")
def download_tsv(request: Request, rid: int, ctx: Ctx = Depends(clinician)):
    """GET (clinician): the scores TSV, byte-identical to ``proteomics score``."""
    res, _, _ = _load(request, rid, ctx, "report_download", "tsv")
    return response_download(res.scores_tsv, f"result-{rid}.tsv", "text/tab-separated-values; charset=utf-8")


@router.get("/results/{rid}/scores.json")
def download_json(request: Request, rid: int, ctx: Ctx = Depends(clinician)):
    """GET (clinician): the scores as JSON records."""
    res, _, _ = _load(request, rid, ctx, "report_download", "json")
    rows = list(csv.DictReader(io.StringIO(res.scores_tsv), delimiter="\t")) if res.scores_tsv else []
    body = {"columns": list(rows[0].keys()) if rows else [], "rows": rows, "outcome": res.outcome,
            "reasons": json.loads(res.reasons), "input_sha256": res.input_sha256,
            "software_version": res.software_version}
    return response_download(json.dumps(body, indent=1), f"result-{rid}.json", "application/json")


@router.get("/results/{rid}/history", response_class=HTMLResponse)
def history(request: Request, rid: int, ctx: Ctx = Depends(clinician)):
    """GET (clinician): the patient's earlier results with the same signature, with a plot."""
    res, sig, _ = _load(request, rid, ctx, "history_view")
    st = request.app.state
    with st.db() as s:
        same = s.execute(select(Result, SignatureRecord).join(SignatureRecord, Result.signature_id == SignatureRecord.id)
                         .where(Result.patient_id == res.patient_id, SignatureRecord.name == sig.name)
                         .order_by(Result.collected_on, Result.id)).all()
        items = [{"id": r.id, "collected": r.collected_on, "reported": r.reported_at[:16], "version": g.version,
                  "category": r.category or r.outcome, "probability": r.probability, "prob_low": r.prob_low,
                  "prob_high": r.prob_high, "label": r.collected_on} for r, g in same]
    from ..signature import Signature

    thr = sorted({float(v["probability"]) for v in dict(Signature.from_bytes(sig.content).thresholds).values()
                  if isinstance(v, dict) and "probability" in v})
    return render(request, "history.html", ctx, r=res, sig=sig, items=items, plot=plots.history_plot(items, thr))


@router.post("/patients/find")
def find_patient(request: Request, patient_id: str = Form(""), csrf: str = Form(""), ctx: Ctx = Depends(clinician)):
    """POST (clinician): open the newest result of a patient id."""
    check_csrf(ctx, csrf)
    with request.app.state.db() as s:
        rid = s.execute(select(Result.id).where(Result.patient_id == patient_id.strip())
                        .order_by(Result.id.desc()).limit(1)).scalar_one_or_none()
    if rid is None:
        return _form_page(request, ctx, ["No result for this patient identifier."], 404)
    return RedirectResponse(f"/results/{rid}/history", status_code=303)
