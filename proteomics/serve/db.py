"""The service's database: SQLAlchemy 2 models and Alembic migrations (SQLite by default, PostgreSQL by URL).

The schema is versioned by Alembic (``proteomics/serve/migrations``, shipped with the package) and upgraded in
place by :func:`open_database`, so a newer package opens an older database without losing anything. Times that
enter the audit chain are stored as ISO-8601 UTC strings (``2026-12-03T07:45:12.123456Z``) so that the chain is
recomputed from exactly the stored text; session and lock-out times are epoch seconds (floats).

SQLite: every transaction starts with ``BEGIN IMMEDIATE`` (writers are serialised, so the audit chain never
forks), foreign keys are on, and a busy database is waited for (30 s). ``audit_log`` refuses UPDATE and DELETE
through triggers on both databases (see the migration).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

from sqlalchemy import (
    Float,
    ForeignKey,
    LargeBinary,
    String,
    Text,
    create_engine,
    event,
    select,
)
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

__all__ = ["Base", "User", "WebSession", "SignatureRecord", "Validation", "Result", "AuditLog", "AppSetting",
           "make_engine", "open_database", "upgrade", "utc_now", "MIGRATIONS"]

MIGRATIONS = Path(__file__).with_name("migrations")


def utc_now() -> str:
    """The current UTC time as the ISO-8601 text stored in the database."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


#: Column types that several tables share, each defined once (``Mapped[Stamp]`` → VARCHAR(32) NOT NULL,
#: ``Mapped[Stamp | None]`` → nullable; ``int``/``float``/``bool`` take SQLAlchemy's defaults). A string used
#: by one column only keeps its length at the column.
Stamp = Annotated[str, "ISO-8601 UTC time text, as it enters the audit chain"]
Sha256 = Annotated[str, "64 hex digits"]
Name = Annotated[str, "a user, specimen or signature version name"]
Code = Annotated[str, "a short code: role, outcome, kind, action"]
LongText = Annotated[str, "JSON or TSV text of any length"]
Day = Annotated[str, "YYYY-MM-DD"]
Version = Annotated[str, "a software version"]
Word = Annotated[str, "a role or an outcome"]
UserRef = Annotated[int, mapped_column(ForeignKey("users.id"))]
SignatureRef = Annotated[int, mapped_column(ForeignKey("signatures.id"))]


class Base(DeclarativeBase):
    """Declarative base of the web service's tables."""

    type_annotation_map = {Stamp: String(32), Sha256: String(64), Name: String(64), Code: String(32),
                           LongText: Text, Day: String(10), Version: String(32), Word: String(16),
                           float: Float, bytes: LargeBinary}


class User(Base):
    """An account: role, argon2 password hash, lock-out state."""

    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[Name] = mapped_column(unique=True)
    role: Mapped[Word]
    password_hash: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(default=True)
    must_change_password: Mapped[bool] = mapped_column(default=False)
    failed_logins: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[float] = mapped_column(default=0.0)
    created_at: Mapped[Stamp]


class WebSession(Base):
    """A logged-in browser: ``id`` is the sha256 of the random token held (signed) in the cookie."""

    __tablename__ = "web_sessions"
    id: Mapped[Sha256] = mapped_column(primary_key=True)
    user_id: Mapped[UserRef]
    csrf: Mapped[Sha256]
    created: Mapped[float]
    last_seen: Mapped[float]


class SignatureRecord(Base):
    """An imported signature: its exact bytes, and the reviewer's approval of one sha256 (or its revocation)."""

    __tablename__ = "signatures"
    id: Mapped[int] = mapped_column(primary_key=True)
    sha256: Mapped[Sha256] = mapped_column(unique=True)
    name: Mapped[str] = mapped_column(String(200))
    version: Mapped[Name]
    kind: Mapped[Code]
    specimen: Mapped[Name | None]
    key_id: Mapped[str] = mapped_column(String(200))
    content: Mapped[bytes]
    imported_by: Mapped[UserRef]
    imported_at: Mapped[Stamp]
    approved_sha256: Mapped[Sha256 | None]
    approved_by: Mapped[UserRef | None]
    approved_at: Mapped[Stamp | None]
    justification: Mapped[LongText | None]
    revoked_by: Mapped[UserRef | None]
    revoked_at: Mapped[Stamp | None]
    revoke_reason: Mapped[LongText | None]


class Validation(Base):
    """External-validation metrics (``proteomics validate``'s JSON) attached to one signature."""

    __tablename__ = "validations"
    id: Mapped[int] = mapped_column(primary_key=True)
    signature_id: Mapped[SignatureRef]
    metrics: Mapped[LongText]
    sha256: Mapped[Sha256]
    added_by: Mapped[UserRef]
    added_at: Mapped[Stamp]


class Result(Base):
    """One scoring request's outcome (``ok`` or ``refused``), written once, with the score table's TSV text."""

    __tablename__ = "results"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[UserRef]
    patient_id: Mapped[str] = mapped_column(String(128), index=True)
    specimen: Mapped[Name]
    collected_on: Mapped[Day]
    received_on: Mapped[Day]
    reported_at: Mapped[Stamp]
    signature_id: Mapped[SignatureRef]
    signature_sha256: Mapped[Sha256]
    input_sha256: Mapped[Sha256]
    input_name: Mapped[str] = mapped_column(String(255))
    outcome: Mapped[Word]
    category: Mapped[Name | None]
    probability: Mapped[float | None]
    prob_low: Mapped[float | None]
    prob_high: Mapped[float | None]
    reasons: Mapped[LongText] = mapped_column(default="[]")
    qc_flags: Mapped[LongText] = mapped_column(default="")
    scores_tsv: Mapped[LongText] = mapped_column(default="")
    panel_json: Mapped[LongText] = mapped_column(default="[]")
    software_version: Mapped[Version]


class AuditLog(Base):
    """The append-only, hash-chained audit trail (see :mod:`proteomics.serve.audit` for the hash)."""

    __tablename__ = "audit_log"
    seq: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    time_utc: Mapped[Stamp]
    user: Mapped[Name]
    action: Mapped[Code]
    outcome: Mapped[Word]
    input_sha256: Mapped[Sha256] = mapped_column(default="")
    signature_sha256: Mapped[Sha256] = mapped_column(default="")
    software_version: Mapped[Version]
    details: Mapped[LongText] = mapped_column(default="{}")
    prev_hash: Mapped[Sha256]
    hash: Mapped[Sha256]


class AppSetting(Base):
    """Key/value settings kept in the database (the session-signing secret), so every machine shares them."""

    __tablename__ = "app_settings"
    key: Mapped[Name] = mapped_column(primary_key=True)
    value: Mapped[LongText]


def make_engine(url: str) -> Engine:
    """An Engine for ``url``; SQLite gets serialised writers (BEGIN IMMEDIATE), a busy timeout and foreign keys."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _connect(dbapi_conn, _record):  # pragma: no cover - exercised by every SQLite test
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA journal_mode=WAL")
            cur.close()

        @event.listens_for(engine, "begin")
        def _begin(conn):  # pragma: no cover
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)


def upgrade(engine: Engine) -> None:
    """Bring the schema to the newest version in place (Alembic ``upgrade head``)."""
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


def open_database(settings) -> Engine:
    """Create the data folder, connect, and upgrade the schema; returns the Engine."""
    settings.prepare()
    engine = make_engine(settings.url)
    upgrade(engine)
    return engine


def get_setting(session: Session, key: str) -> str | None:
    """The value stored under ``key`` in the settings table, or None."""
    row = session.execute(select(AppSetting).where(AppSetting.key == key)).scalar_one_or_none()
    return None if row is None else row.value
