"""The audit trail: one append-only table ``audit_log`` whose rows form a plain sha256 hash chain.

Each row holds ``seq`` (1, 2, 3 … without gaps), ``time_utc``, ``user``, ``action``, ``outcome``, ``input_sha256``,
``signature_sha256``, ``software_version``, ``details`` (JSON text), ``prev_hash`` and ``hash`` where

    hash = sha256( prev_hash + "\\n" + json.dumps([seq, time_utc, user, action, outcome, input_sha256,
                                                  signature_sha256, software_version, details],
                                                 ensure_ascii=False, separators=(",", ":")) )

in UTF-8 hex, and ``prev_hash`` is the previous row's ``hash`` (64 zeros for row 1). Anyone can recompute it
from the table alone (:func:`verify`). The application has no update or delete path and the database refuses
them (triggers); an edit, insertion or deletion made behind its back breaks the chain at that row. Removing the
newest rows leaves a shorter valid chain: compare the head (``seq``/``hash`` printed by ``audit verify``) with
one recorded earlier to detect that. Patient identifiers never enter ``details``.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from .._version import __version__
from .db import AuditLog, utc_now

__all__ = ["append", "row_hash", "verify", "VerifyReport", "export", "GENESIS", "COLUMNS"]

GENESIS = "0" * 64
COLUMNS = ["seq", "time_utc", "user", "action", "outcome", "input_sha256", "signature_sha256",
           "software_version", "details", "prev_hash", "hash"]


def row_hash(prev_hash: str, seq: int, time_utc: str, user: str, action: str, outcome: str, input_sha256: str,
             signature_sha256: str, software_version: str, details: str) -> str:
    """The chain hash of one row (see the module docstring)."""
    body = json.dumps([seq, time_utc, user, action, outcome, input_sha256, signature_sha256, software_version,
                       details], ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256((prev_hash + "\n" + body).encode("utf-8")).hexdigest()


def _lock(session: Session) -> None:
    """Serialise appenders: PostgreSQL takes a transaction advisory lock; SQLite already began IMMEDIATE."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(727274)"))


def append(session: Session, *, user: str, action: str, outcome: str, input_sha256: str = "",
           signature_sha256: str = "", details: dict[str, Any] | None = None) -> AuditLog:
    """Add one chained row inside ``session``'s transaction (committed with the change it records)."""
    _lock(session)
    last = session.execute(select(AuditLog.seq, AuditLog.hash).order_by(AuditLog.seq.desc()).limit(1)).first()
    seq, prev = (1, GENESIS) if last is None else (last[0] + 1, last[1])
    det = json.dumps(details or {}, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    row = AuditLog(seq=seq, time_utc=utc_now(), user=str(user), action=action, outcome=outcome,
                   input_sha256=input_sha256 or "", signature_sha256=signature_sha256 or "",
                   software_version=__version__, details=det, prev_hash=prev)
    row.hash = row_hash(prev, seq, row.time_utc, row.user, action, outcome, row.input_sha256,
                        row.signature_sha256, row.software_version, det)
    session.add(row)
    session.flush()
    return row


@dataclass(frozen=True)
class VerifyReport:
    """``ok``; ``n_rows``; the head (``last_seq``, ``last_hash``); ``broken_seq`` and ``problem`` when not ok."""

    ok: bool
    n_rows: int
    last_seq: int
    last_hash: str
    broken_seq: int | None = None
    problem: str = ""


def verify(rows: Iterable[Any]) -> VerifyReport:
    """Recompute the chain over ``rows`` (objects or mappings with the audit columns, any order)."""
    def get(r, k):
        return r[k] if isinstance(r, dict) else getattr(r, k)

    ordered = sorted(rows, key=lambda r: get(r, "seq"))
    prev, expect, n = GENESIS, 1, 0
    for r in ordered:
        seq = get(r, "seq")
        n += 1
        if seq != expect:
            return VerifyReport(False, n, expect - 1, prev, expect,
                                f"row {expect} is missing (next row is {seq}): a row was deleted")
        if get(r, "prev_hash") != prev:
            return VerifyReport(False, n, seq - 1, prev, seq,
                                f"row {seq}: prev_hash does not match row {seq - 1}'s hash: a row before it was "
                                "deleted, inserted or edited")
        h = row_hash(prev, seq, *(get(r, k) for k in COLUMNS[1:9]))
        if h != get(r, "hash"):
            return VerifyReport(False, n, seq - 1, prev, seq,
                                f"row {seq}: its hash does not match its content: the row was edited")
        prev, expect = h, expect + 1
    return VerifyReport(True, n, expect - 1, prev)


def verify_database(session: Session) -> VerifyReport:
    """:func:`verify` over every row of ``audit_log`` in the database."""
    rows = session.execute(select(AuditLog).order_by(AuditLog.seq)).scalars().all()
    return verify(rows)


def select_rows(session: Session, since: str | None = None, until: str | None = None) -> list[AuditLog]:
    """Rows with ``since <= time_utc < until`` (ISO dates or date-times, UTC), by sequence."""
    q = select(AuditLog).order_by(AuditLog.seq)
    if since:
        q = q.where(AuditLog.time_utc >= since)
    if until:
        q = q.where(AuditLog.time_utc < until)
    return list(session.execute(q).scalars().all())


def export(rows: list[AuditLog], fmt: str) -> str:
    """The rows as CSV (header = :data:`COLUMNS`) or as a JSON list of objects, every column verbatim."""
    recs = [{k: getattr(r, k) for k in COLUMNS} for r in rows]
    if fmt == "json":
        return json.dumps(recs, ensure_ascii=False, indent=1) + "\n"
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=COLUMNS, lineterminator="\n")
    w.writeheader()
    w.writerows(recs)
    return buf.getvalue()
