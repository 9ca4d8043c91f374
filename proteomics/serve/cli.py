"""``proteomics serve``, ``proteomics users …`` and ``proteomics audit …`` (registered by :func:`register`).

All three find the same database: ``--db URL`` (or ``PROTEOMICS_SERVE_DB``), else ``DATA_DIR/serve.db`` under
``--data-dir`` (default ``./proteomics-serve``). Heavy imports (SQLAlchemy, FastAPI) happen inside the commands.
"""

from __future__ import annotations

import getpass
import sys
from contextlib import contextmanager
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from ..cli_support import examples
from .settings import DEFAULT_DATA_DIR

__all__ = ["register", "users_app", "audit_app"]

UserName = Annotated[str, typer.Argument(help="User name.")]
DataDir = Annotated[Path, typer.Option("--data-dir", help="Data folder: serve.db (SQLite) and uploads.")]
DbUrl = Annotated[str | None, typer.Option("--db", envvar="PROTEOMICS_SERVE_DB",
                                           help="Database URL instead of DATA_DIR/serve.db, e.g. "
                                                "postgresql+psycopg://user@host/db.")]

SERVE_EPILOG = examples(
    "proteomics users add alice --role admin",
    "proteomics keys trust my_key.pem --trusted-dir proteomics-serve/trusted_keys",
    "proteomics serve",
    notes="\n\n".join([
    "The first adds the first administrator (password prompted, or read from standard input); the second says who "
    "may sign signatures; the third serves http://127.0.0.1:8000 with its data in ./proteomics-serve. "
    "PostgreSQL instead of SQLite: --db postgresql+psycopg://USER@HOST/DATABASE --data-dir DIR.",
    "Backup: copy the whole data folder (serve.db, uploads/, trusted_keys/) while the service is stopped, or "
    "use sqlite3 DATA_DIR/serve.db '.backup FILE' (or pg_dump) while it runs. Restore: put the folder (and the "
    "database: psql < dump for PostgreSQL) back, start 'proteomics serve' with the same options (the schema is "
    "upgraded in place) and run 'proteomics audit verify'.",
    "TLS: keep --host 127.0.0.1, put a reverse proxy (nginx, Caddy, Apache) holding the certificate in front, "
    "forwarding to http://127.0.0.1:PORT, and start with --secure-cookies (the session cookie is then Secure).",
    "Retention: uploads are kept unless --retain-uploads-days N deletes stored uploads older than N days at "
    "start-up; results and audit rows are never deleted (the database refuses changes to audit_log).",
]))


def _fail(msg: str, code: int = 2):
    typer.echo(f"error: {msg}", err=True)
    raise typer.Exit(code)


@contextmanager
def _errors():
    from ..errors import ProteomicsError

    try:
        yield
    except typer.Exit:
        raise
    except ProteomicsError as exc:
        _fail(str(exc))
    except Exception as exc:  # noqa: BLE001 - one line, exit 1, like the main CLI
        _fail(f"internal error: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}", 1)


def _settings(data_dir: Path, db: str | None, **kw):
    from .settings import ServeSettings

    return ServeSettings(data_dir=data_dir, db_url=db, **kw)


@contextmanager
def _session(data_dir: Path, db: str | None):
    from sqlalchemy.orm import Session

    from .db import open_database

    engine = open_database(_settings(data_dir, db))
    try:
        with Session(engine) as s, s.begin():
            yield s
    finally:
        engine.dispose()


def _read_password() -> str:
    """From a prompt (twice) on a terminal; else the first line of stdin (a second line must match)."""
    if sys.stdin.isatty():
        first = getpass.getpass("Password: ")
        if getpass.getpass("Repeat password: ") != first:
            _fail("the two passwords differ")
        return first
    lines = sys.stdin.read().splitlines()
    if not lines or not lines[0]:
        _fail("no password on standard input (first line)")
    if len(lines) > 1 and lines[1] != lines[0]:
        _fail("the password's second line differs from the first")
    return lines[0]


users_app = typer.Typer(name="users", no_args_is_help=True, help="Accounts of the web service.")
audit_app = typer.Typer(name="audit", no_args_is_help=True, help="The web service's audit trail.")


class Role(StrEnum):
    """Roles of the web service's accounts."""
    admin = "admin"
    reviewer = "reviewer"
    clinician = "clinician"


@users_app.command("add", epilog=examples("proteomics users add alice --role admin",
                                          "printf '%s\\n' \"$PW\" | proteomics users add bob --role clinician",
                                          notes="The password is prompted for; the second reads it from standard "
                                                "input (here the variable PW), for scripts."))
def users_add(name: Annotated[str, typer.Argument(help="User name.")],
              role: Annotated[Role, typer.Option("--role", help="admin, reviewer or clinician.")],
              data_dir: DataDir = DEFAULT_DATA_DIR, db: DbUrl = None):
    """Add a user; the password comes from a prompt, or from standard input when it is not a terminal."""
    from . import auth

    password = _read_password()
    with _errors(), _session(data_dir, db) as s:
        auth.add_user(s, name, role.value, password, by="cli")
    typer.echo(f"added {name} ({role.value})")


@users_app.command("list", epilog=examples("proteomics users list"))
def users_list(data_dir: DataDir = DEFAULT_DATA_DIR, db: DbUrl = None):
    """List users: name, role, state."""
    from . import auth

    with _errors(), _session(data_dir, db) as s:
        for u in auth.list_users(s):
            state = "active" if u.active else "disabled"
            typer.echo(f"{u.name}\t{u.role}\t{state}")


@users_app.command("disable", epilog=examples("proteomics users disable bob"))
def users_disable(name: UserName, data_dir: DataDir = DEFAULT_DATA_DIR, db: DbUrl = None):
    """Disable a user (ends their sessions; nothing is deleted)."""
    from . import auth

    with _errors(), _session(data_dir, db) as s:
        auth.set_active(s, name, False, by="cli")
    typer.echo(f"disabled {name}")


@users_app.command("enable", epilog=examples("proteomics users enable bob"))
def users_enable(name: UserName, data_dir: DataDir = DEFAULT_DATA_DIR, db: DbUrl = None):
    """Re-enable a user (also clears a login lock-out)."""
    from . import auth

    with _errors(), _session(data_dir, db) as s:
        auth.set_active(s, name, True, by="cli")
    typer.echo(f"enabled {name}")


@users_app.command("reset-password", epilog=examples("proteomics users reset-password bob"))
def users_reset(name: UserName, data_dir: DataDir = DEFAULT_DATA_DIR, db: DbUrl = None):
    """Set a new password (prompt or stdin); the user must change it at the next login."""
    from . import auth

    password = _read_password()
    with _errors(), _session(data_dir, db) as s:
        auth.set_password(s, name, password, by="cli")
    typer.echo(f"password of {name} reset")


@audit_app.command("verify", epilog=examples("proteomics audit verify",
                                             notes="--data-dir DIR or --db URL names another service's data."))
def audit_verify(data_dir: DataDir = DEFAULT_DATA_DIR, db: DbUrl = None):
    """Recompute the hash chain from the database alone: exit 0 when intact, 2 naming the first broken row."""
    from . import audit

    with _errors(), _session(data_dir, db) as s:
        rep = audit.verify_database(s)
    if not rep.ok:
        _fail(f"audit chain broken at row {rep.broken_seq}: {rep.problem}")
    typer.echo(f"OK: {rep.n_rows} rows, chain intact; head row {rep.last_seq} hash {rep.last_hash}")


class Fmt(StrEnum):
    """Formats of ``audit export``."""
    csv = "csv"
    json = "json"


def _iso(value: str | None, opt: str) -> str | None:
    if value is None:
        return None
    try:
        datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        _fail(f"{opt} {value!r} is not a date. Fix: use YYYY-MM-DD or YYYY-MM-DDTHH:MM:SS (UTC)")
    return value.replace(" ", "T")


@audit_app.command("export", epilog=examples("proteomics audit export --format csv --since 2026-01-01 -o audit.csv"))
def audit_export(fmt: Annotated[Fmt, typer.Option("--format", help="csv or json.")] = Fmt.csv,
                 since: Annotated[str | None, typer.Option("--since", help="From this UTC date/time.")] = None,
                 until: Annotated[str | None, typer.Option("--until", help="Before this UTC date/time.")] = None,
                 output: Annotated[Path | None, typer.Option("-o", "--output", "--out", help="File (default stdout).")] = None,
                 data_dir: DataDir = DEFAULT_DATA_DIR, db: DbUrl = None):
    """Export audit rows (every column, verbatim, so the chain can be recomputed elsewhere)."""
    from .._files import write_text
    from . import audit

    lo, hi = _iso(since, "--since"), _iso(until, "--until")
    with _errors(), _session(data_dir, db) as s:
        text = audit.export(audit.select_rows(s, lo, hi), fmt.value)
    if output is None:
        sys.stdout.write(text)
    else:
        write_text(output, text)


def serve(data_dir: DataDir = DEFAULT_DATA_DIR, db: DbUrl = None,
          host: Annotated[str, typer.Option("--host", help="Interface to bind (loopback by default).")] = "127.0.0.1",
          port: Annotated[int, typer.Option("--port", help="TCP port to listen on.")] = 8000,
          trusted_keys: Annotated[Path | None, typer.Option("--trusted-keys", help="Folder of trusted signing "
                                                            "public keys (default DATA_DIR/trusted_keys).")] = None,
          idle_minutes: Annotated[float, typer.Option("--idle-minutes", help="Idle session expiry.")] = 30.0,
          max_upload_mb: Annotated[float, typer.Option("--max-upload-mb", help="Largest upload.")] = 200.0,
          workers: Annotated[int, typer.Option("--workers", help="Scoring processes (0: threads).")] = 2,
          secure_cookies: Annotated[bool, typer.Option("--secure-cookies", help="Mark the session cookie Secure "
                                                       "(behind a TLS reverse proxy).")] = False,
          retain_uploads_days: Annotated[int | None, typer.Option("--retain-uploads-days", help="Delete stored "
                                                                  "uploads older than N days at start-up.")] = None):
    """The clinician's web app: log in, score a patient against an approved signature, see history and audit."""
    import uvicorn

    from .app import create_app

    settings = _settings(data_dir, db, trusted_keys=trusted_keys, idle_timeout=idle_minutes * 60,
                         max_upload=int(max_upload_mb * 1024 * 1024), workers=workers, secure_cookies=secure_cookies,
                         retain_uploads_days=retain_uploads_days)
    with _errors():
        application = create_app(settings)
    typer.echo(f"proteomics serve: http://{host}:{port}/  (database {settings.url.split('@')[-1]})")
    uvicorn.run(application, host=host, port=port, access_log=False, log_level="warning")


def register(app: typer.Typer) -> None:
    """Add ``serve``, ``users`` and ``audit`` to the main command line."""
    app.command("serve", epilog=SERVE_EPILOG)(serve)
    app.add_typer(users_app)
    app.add_typer(audit_app)
