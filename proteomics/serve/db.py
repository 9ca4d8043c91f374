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

from sqlalchemy import (
    Boolean,
    Float,
    ForeignKey,
    Integer,
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


class Base(DeclarativeBase):
    """Declarative base of the web service's tables."""


class User(Base):
    """An account: role, argon2 password hash, lock-out state."""

    __tablename__ = "users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[float] = mapped_column(Float, default=0.0)
    created_at: Mapped[str] = mapped_column(String(32))


class WebSession(Base):
    """A logged-in browser: ``id`` is the sha256 of the random token held (signed) in the cookie."""

    __tablename__ = "web_sessions"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    csrf: Mapped[str] = mapped_column(String(64))
    created: Mapped[float] = mapped_column(Float)
    last_seen: Mapped[float] = mapped_column(Float)


class SignatureRecord(Base):
    """An imported signature: its exact bytes, and the reviewer's approval of one sha256 (or its revocation)."""

    __tablename__ = "signatures"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    version: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(32))
    specimen: Mapped[str | None] = mapped_column(String(64), nullable=True)
    key_id: Mapped[str] = mapped_column(String(200))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    imported_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    imported_at: Mapped[str] = mapped_column(String(32))
    approved_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    approved_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    approved_at: Mapped[str | None] = mapped_column(String(32), nullable=True)
    justification: Mapped[str | None] = mapped_column(Text, nullable=True)
    revoked_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    revoked_at: Mapped[str | None] = mapped_column(String(32), nullable=True)
    revoke_reason: Mapped[str | None] = mapped_column(Text, nullable=True)


class Validation(Base):
    """External-validation metrics (``proteomics validate``'s JSON) attached to one signature."""

    __tablename__ = "validations"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    signature_id: Mapped[int] = mapped_column(ForeignKey("signatures.id"))
    metrics: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
    added_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    added_at: Mapped[str] = mapped_column(String(32))


class Result(Base):
    """One scoring request's outcome (``ok`` or ``refused``), written once, with the score table's TSV text."""

    __tablename__ = "results"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    patient_id: Mapped[str] = mapped_column(String(128), index=True)
    specimen: Mapped[str] = mapped_column(String(64))
    collected_on: Mapped[str] = mapped_column(String(10))
    received_on: Mapped[str] = mapped_column(String(10))
    reported_at: Mapped[str] = mapped_column(String(32))
    signature_id: Mapped[int] = mapped_column(ForeignKey("signatures.id"))
    signature_sha256: Mapped[str] = mapped_column(String(64))
    input_sha256: Mapped[str] = mapped_column(String(64))
    input_name: Mapped[str] = mapped_column(String(255))
    outcome: Mapped[str] = mapped_column(String(16))
    category: Mapped[str | None] = mapped_column(String(64), nullable=True)
    probability: Mapped[float | None] = mapped_column(Float, nullable=True)
    prob_low: Mapped[float | None] = mapped_column(Float, nullable=True)
    prob_high: Mapped[float | None] = mapped_column(Float, nullable=True)
    reasons: Mapped[str] = mapped_column(Text, default="[]")
    qc_flags: Mapped[str] = mapped_column(Text, default="")
    scores_tsv: Mapped[str] = mapped_column(Text, default="")
    panel_json: Mapped[str] = mapped_column(Text, default="[]")
    software_version: Mapped[str] = mapped_column(String(32))


class AuditLog(Base):
    """The append-only, hash-chained audit trail (see :mod:`proteomics.serve.audit` for the hash)."""

    __tablename__ = "audit_log"
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    time_utc: Mapped[str] = mapped_column(String(32))
    user: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(32))
    outcome: Mapped[str] = mapped_column(String(16))
    input_sha256: Mapped[str] = mapped_column(String(64), default="")
    signature_sha256: Mapped[str] = mapped_column(String(64), default="")
    software_version: Mapped[str] = mapped_column(String(32))
    details: Mapped[str] = mapped_column(Text, default="{}")
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class AppSetting(Base):
    """Key/value settings kept in the database (the session-signing secret), so every machine shares them."""

    __tablename__ = "app_settings"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


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
