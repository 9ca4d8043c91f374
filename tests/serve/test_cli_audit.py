"""``proteomics users`` / ``audit`` on both databases: passwords from stdin, the append-only trail, its hash
chain recomputed here from the documented formula (independently of proteomics.serve.audit), tampering found."""

from __future__ import annotations

import csv
import hashlib
import io
import json

import pytest
from sqlalchemy import create_engine, text
from typer.testing import CliRunner

from proteomics.cli import app

from .conftest import PASSWORD


def run(backend, *args, stdin: str | None = None):
    data, db = backend
    opts = ["--data-dir", str(data)] + (["--db", db] if db else [])
    return CliRunner().invoke(app, [*args, *opts], input=stdin, catch_exceptions=False)


def engine_of(backend):
    data, db = backend
    return create_engine(db or f"sqlite:///{data / 'serve.db'}")


def chain_ok(rows) -> bool:
    """The documented chain, recomputed from scratch."""
    prev = "0" * 64
    for i, r in enumerate(rows, start=1):
        body = json.dumps([int(r["seq"]), r["time_utc"], r["user"], r["action"], r["outcome"], r["input_sha256"],
                           r["signature_sha256"], r["software_version"], r["details"]],
                          ensure_ascii=False, separators=(",", ":"))
        if int(r["seq"]) != i or r["prev_hash"] != prev:
            return False
        prev = hashlib.sha256((prev + "\n" + body).encode()).hexdigest()
        if r["hash"] != prev:
            return False
    return True


def test_users_and_audit_roundtrip(backend):
    assert run(backend, "users", "add", "alice", "--role", "admin", stdin=PASSWORD + "\n").exit_code == 0
    res = run(backend, "users", "add", "bob", "--role", "clinician", stdin=f"{PASSWORD}\n{PASSWORD}\n")
    assert res.exit_code == 0, res.output
    res = run(backend, "users", "add", "carol", "--role", "clinician", stdin=f"{PASSWORD}\nsomething else\n")
    assert res.exit_code == 2 and "differs" in res.output
    res = run(backend, "users", "add", "dave", "--role", "clinician", stdin="short\n")
    assert res.exit_code == 2 and "shorter" in res.output and "Traceback" not in res.output
    res = run(backend, "users", "add", "alice", "--role", "reviewer", stdin=PASSWORD + "\n")
    assert res.exit_code == 2 and "already exists" in res.output
    assert run(backend, "users", "disable", "bob").exit_code == 0
    res = run(backend, "users", "list")
    assert res.exit_code == 0
    assert res.output.splitlines() == ["alice\tadmin\tactive", "bob\tclinician\tdisabled"]
    assert run(backend, "users", "enable", "bob").exit_code == 0
    assert run(backend, "users", "reset-password", "bob", stdin="another-password-1\n").exit_code == 0
    res = run(backend, "audit", "verify")
    assert res.exit_code == 0 and "5 rows" in res.output, res.output
    res = run(backend, "audit", "export", "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(res.output)))
    assert [r["action"] for r in rows] == ["user_add", "user_add", "user_disable", "user_enable", "password_reset"]
    assert chain_ok(rows)
    js = json.loads(run(backend, "audit", "export", "--format", "json").output)
    assert [r["hash"] for r in js] == [r["hash"] for r in rows]
    assert run(backend, "audit", "export", "--since", "2999-01-01").output.count("\n") == 1  # header only
    assert len(json.loads(run(backend, "audit", "export", "--format", "json", "--until", "2000-01-01").output)) == 0
    res = run(backend, "audit", "export", "--since", "yesterday")
    assert res.exit_code == 2 and "not a date" in res.output


def test_database_refuses_update_and_delete(backend):
    assert run(backend, "users", "add", "alice", "--role", "admin", stdin=PASSWORD + "\n").exit_code == 0
    eng = engine_of(backend)
    for sql in ("UPDATE audit_log SET outcome = 'x' WHERE seq = 1", "DELETE FROM audit_log WHERE seq = 1"):
        with pytest.raises(Exception, match="append-only"), eng.begin() as conn:
            conn.execute(text(sql))
    if backend[1]:
        with pytest.raises(Exception, match="append-only"), eng.begin() as conn:
            conn.execute(text("TRUNCATE audit_log"))
    eng.dispose()
    assert run(backend, "audit", "verify").exit_code == 0


def _drop_triggers(conn, backend):
    if backend[1]:
        conn.execute(text("ALTER TABLE audit_log DISABLE TRIGGER USER"))
    else:
        conn.execute(text("DROP TRIGGER audit_log_no_update"))
        conn.execute(text("DROP TRIGGER audit_log_no_delete"))


@pytest.mark.parametrize("attack", ["edit", "delete", "edit_and_rehash"])
def test_audit_verify_names_the_first_broken_row(backend, attack):
    for name in ("a1", "a2", "a3", "a4"):
        assert run(backend, "users", "add", name, "--role", "clinician", stdin=PASSWORD + "\n").exit_code == 0
    eng = engine_of(backend)
    with eng.begin() as conn:  # behind the application's back, triggers removed first
        _drop_triggers(conn, backend)
        if attack == "edit":
            conn.execute(text("UPDATE audit_log SET outcome = 'failed' WHERE seq = 2"))
        elif attack == "delete":
            conn.execute(text("DELETE FROM audit_log WHERE seq = 3"))
        else:  # the row's own hash recomputed too: the next row's prev_hash no longer matches
            conn.execute(text("UPDATE audit_log SET details = '{}' WHERE seq = 2"))
            row = conn.execute(text("SELECT * FROM audit_log WHERE seq = 2")).mappings().one()
            body = json.dumps([2, row["time_utc"], row["user"], row["action"], row["outcome"], row["input_sha256"],
                               row["signature_sha256"], row["software_version"], "{}"], separators=(",", ":"))
            h = hashlib.sha256((row["prev_hash"] + "\n" + body).encode()).hexdigest()
            conn.execute(text("UPDATE audit_log SET hash = :h WHERE seq = 2"), {"h": h})
    eng.dispose()
    res = run(backend, "audit", "verify")
    assert res.exit_code == 2, res.output
    expected = {"edit": "row 2", "delete": "row 3", "edit_and_rehash": "row 3"}[attack]
    assert f"broken at {expected}" in res.output, res.output


def test_schema_is_versioned_and_upgraded_in_place(backend):
    """Alembic records the schema version; opening an existing database again keeps every row."""
    assert run(backend, "users", "add", "alice", "--role", "admin", stdin=PASSWORD + "\n").exit_code == 0
    eng = engine_of(backend)
    with eng.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one() == "0001"
    eng.dispose()
    assert run(backend, "users", "add", "bob", "--role", "clinician", stdin=PASSWORD + "\n").exit_code == 0
    assert run(backend, "users", "list").output.splitlines() == ["alice\tadmin\tactive", "bob\tclinician\tactive"]
