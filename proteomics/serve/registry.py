"""The signature registry: import (verified), approval of one exact sha256, revocation, validation metrics.

A signature is identified by the sha256 of its file's exact bytes (``SignatureRecord.sha256``); its own
``sha256`` field (the checksum ``proteomics verify-signature`` checks and ``proteomics score`` prints) is shown
beside it. Import and every use verify the checksum and schema (:meth:`Signature.from_bytes`) and the signing
key against the trusted keys (:func:`proteomics.signing.verify_signed`): unsigned signatures and signatures of
untrusted keys are refused; the web service never accepts unsigned ones. Approval stores the sha256 the
reviewer approved; at use the stored bytes must hash to it, so bytes changed behind the application's back
are refused. Revocation keeps the record and its history. Two versions of one signature may coexist; the
*current* one of a name is its most recently approved, unrevoked record.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..errors import InputError, SignatureError
from ..panel.metrics import reaches_chance
from . import audit
from .db import SignatureRecord, Validation, utc_now

__all__ = ["import_signature", "approve", "revoke", "attach_validation", "offered", "current_ids",
           "load_for_use", "verify_bytes", "MAX_SIGNATURE_BYTES"]

MAX_SIGNATURE_BYTES = 20 * 1024 * 1024


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def verify_bytes(data: bytes, trusted_keys: Path):
    """Checksum + schema + signing key of signature file bytes; returns (Signature, key_id) or SignatureError."""
    from ..signature import Signature
    from ..signing import verify_signed

    if len(data) > MAX_SIGNATURE_BYTES:
        raise SignatureError(f"the file is larger than {MAX_SIGNATURE_BYTES // (1024 * 1024)} MB",
                             hint="upload the signature.json written by 'proteomics panel'")
    sig = Signature.from_bytes(data)
    key_id = verify_signed(data, trusted_keys=trusted_keys)
    return sig, str(key_id)


def import_signature(session: Session, data: bytes, *, trusted_keys: Path | None, by: str) -> SignatureRecord:
    """Verify and store a signature file (not yet approved). SignatureError/InputError when refused (the refusal
    is recorded by the caller, in its own transaction, since this one is rolled back)."""
    sig, key_id = verify_bytes(data, trusted_keys)
    if sig.kind != "panel":
        raise SignatureError(f"signature {sig.name!r} is a {sig.kind}; the service scores panel signatures",
                             hint="score stratifiers with 'proteomics score'")
    sha = _sha(data)
    if session.execute(select(SignatureRecord).where(SignatureRecord.sha256 == sha)).scalar_one_or_none():
        raise InputError("this signature file is already imported", hint="open it from the signature list")
    from .db import User

    uid = session.execute(select(User.id).where(User.name == by)).scalar_one()
    rec = SignatureRecord(sha256=sha, name=sig.name, version=str(sig.version), kind=sig.kind,
                          specimen=sig.specimen, key_id=key_id, content=data, imported_by=uid,
                          imported_at=utc_now())
    session.add(rec)
    session.flush()
    audit.append(session, user=by, action="signature_import", outcome="ok", signature_sha256=sha,
                 details={"signature": rec.id, "name": sig.name, "version": str(sig.version), "key": key_id})
    return rec


def _get(session: Session, rec_id: int) -> SignatureRecord:
    rec = session.get(SignatureRecord, rec_id)
    if rec is None:
        raise InputError("no such signature")
    return rec


def approve(session: Session, rec_id: int, *, user_id: int, by: str, justification: str,
            trusted_keys: Path | None) -> SignatureRecord:
    """Approve the stored bytes (verified again now) for clinical use, with a required justification."""
    rec = _get(session, rec_id)
    text = (justification or "").strip()
    if len(text) < 5:
        raise InputError("a justification is required to approve a signature", hint="say why it may be used")
    if rec.revoked_at:
        raise InputError("this signature was revoked; import a new version instead")
    if rec.approved_at:
        raise InputError("this signature is already approved")
    verify_bytes(rec.content, trusted_keys)
    rec.approved_sha256, rec.approved_by, rec.approved_at, rec.justification = (
        _sha(rec.content), user_id, utc_now(), text[:4000])
    audit.append(session, user=by, action="signature_approve", outcome="ok", signature_sha256=rec.sha256,
                 details={"signature": rec.id, "justification": text[:4000]})
    return rec


def revoke(session: Session, rec_id: int, *, user_id: int, by: str, reason: str) -> SignatureRecord:
    """Withdraw a signature from clinical use (the record, its approval and results stay)."""
    rec = _get(session, rec_id)
    text = (reason or "").strip()
    if len(text) < 5:
        raise InputError("a reason is required to revoke a signature")
    if rec.revoked_at:
        raise InputError("this signature is already revoked")
    rec.revoked_by, rec.revoked_at, rec.revoke_reason = user_id, utc_now(), text[:4000]
    audit.append(session, user=by, action="signature_revoke", outcome="ok", signature_sha256=rec.sha256,
                 details={"signature": rec.id, "reason": text[:4000]})
    return rec


def attach_validation(session: Session, rec_id: int, data: bytes, *, user_id: int, by: str) -> Validation:
    """Attach ``proteomics validate`` metrics (JSON whose ``signature_sha256`` is this signature's checksum)."""
    from ..signature import Signature

    rec = _get(session, rec_id)
    try:
        metrics = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise InputError("the validation file is not JSON", hint="upload the metrics JSON of 'proteomics "
                                                                  "validate'") from None
    sig = Signature.from_bytes(rec.content)
    if not isinstance(metrics, dict) or metrics.get("signature_sha256") != sig.sha256:
        raise InputError("these validation metrics were computed with another signature",
                         hint=f"use the metrics whose signature_sha256 is {sig.sha256}")
    v = Validation(signature_id=rec.id, metrics=json.dumps(metrics, sort_keys=True), sha256=_sha(data),
                   added_by=user_id, added_at=utc_now())
    session.add(v)
    session.flush()
    audit.append(session, user=by, action="validation_attach", outcome="ok", input_sha256=v.sha256,
                 signature_sha256=rec.sha256, details={"signature": rec.id})
    return v


def offered(session: Session) -> list[SignatureRecord]:
    """Approved, unrevoked signatures (the only ones offered to clinicians), by name then newest approval."""
    q = (select(SignatureRecord).where(SignatureRecord.approved_at.is_not(None), SignatureRecord.revoked_at.is_(None))
         .order_by(SignatureRecord.name, SignatureRecord.approved_at.desc()))
    return list(session.execute(q).scalars().all())


def current_ids(session: Session) -> set[int]:
    """Ids of the current record of every name (its most recently approved, unrevoked one)."""
    seen: dict[str, int] = {}
    for rec in offered(session):
        seen.setdefault(rec.name, rec.id)
    return set(seen.values())


def load_for_use(session: Session, rec_id: int, trusted_keys: Path | None) -> tuple[SignatureRecord, Any]:
    """The approved record and its verified Signature; SignatureError when it may not be used."""
    rec = session.get(SignatureRecord, rec_id)
    if rec is None or not rec.approved_at or rec.revoked_at:
        raise SignatureError("this signature is not approved for clinical use", hint="pick an approved signature")
    if _sha(rec.content) != rec.approved_sha256 or rec.approved_sha256 != rec.sha256:
        raise SignatureError("the stored signature's bytes differ from the bytes the reviewer approved",
                             hint="ask a reviewer to revoke it and import the original file")
    sig, _ = verify_bytes(rec.content, trusted_keys)
    return rec, sig


def summary(rec: SignatureRecord, sig) -> dict[str, Any]:
    """What the signature is: name, version, kind, specimen, proteins, training size, CV AUC (CI), thresholds."""
    perf, train = dict(sig.performance), dict(sig.training)
    n_train = train.get("n_samples") or train.get("n") or sum(v for k, v in train.items()
                                                               if k.startswith("n_") and isinstance(v, int)) or None
    return {"name": sig.name, "version": sig.version, "kind": sig.kind, "specimen": sig.specimen,
            "intended_use": sig.intended_use, "proteins": list(sig.proteins), "n_training": n_train,
            "training": train, "auc": perf.get("auc"), "auc_ci_low": perf.get("auc_ci_low"),
            "auc_ci_high": perf.get("auc_ci_high"), "reaches_chance": reaches_chance(perf.get("auc_ci_low")),
            "thresholds": dict(sig.thresholds),
            "categories": list(sig.categories), "checksum": sig.sha256, "file_sha256": rec.sha256}
