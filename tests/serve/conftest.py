"""Fixtures of the web-service tests: databases (SQLite file, throwaway PostgreSQL cluster), users, app client.

PostgreSQL: ``PROTEOMICS_TEST_PG`` (a SQLAlchemy URL of a server the tests may create databases on) is used
when set; otherwise a throwaway cluster is started from Debian's ``postgresql`` binaries on a loopback port
(as the ``postgres`` OS user when running as root, since PostgreSQL refuses to run as root) and stopped at
the end. Tests needing it are skipped, saying why, only when no server can be started.
"""

from __future__ import annotations

import glob
import os
import re
import shutil
import socket
import subprocess
import tempfile
import uuid
from pathlib import Path

import pytest

PASSWORD = "correct-horse-42"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _pg_bindir() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


@pytest.fixture(scope="session")
def pg_server():
    """A PostgreSQL server URL (without database name), or skip with the reason."""
    env = os.environ.get("PROTEOMICS_TEST_PG")
    if env:
        yield env.rsplit("/", 1)[0]
        return
    bindir = _pg_bindir()
    if bindir is None:
        pytest.skip("PostgreSQL is not installed (no initdb; .ci/run installs Debian's postgresql package)")
    root = os.geteuid() == 0
    prefix: list[str] = []
    base = Path(tempfile.mkdtemp(prefix="proteomics-pg-"))
    if root:
        if shutil.which("runuser") is None:
            pytest.skip("running as root without runuser: cannot start PostgreSQL as another user")
        shutil.chown(base, "postgres", "postgres")
        prefix = ["runuser", "-u", "postgres", "--"]
    data, port = base / "data", _free_port()
    try:
        subprocess.run(prefix + [str(bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres",
                                 "--no-sync", "-E", "UTF8"], check=True, capture_output=True, timeout=120)
        subprocess.run(prefix + [str(bindir / "pg_ctl"), "-D", str(data), "-l", str(base / "log"), "-w", "-t", "60",
                                 "-o", f"-p {port} -k {base} -c listen_addresses=127.0.0.1 -c fsync=off "
                                       "-c max_connections=200", "start"],
                       check=True, capture_output=True, timeout=120)
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError) as exc:
        shutil.rmtree(base, ignore_errors=True)
        pytest.skip(f"PostgreSQL could not start here ({type(exc).__name__}: "
                    f"{getattr(exc, 'stderr', b'') or exc})")
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}"
    finally:
        subprocess.run(prefix + [str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
                       capture_output=True, timeout=60)
        shutil.rmtree(base, ignore_errors=True)


def new_pg_database(server: str) -> str:
    import psycopg

    name = "t_" + uuid.uuid4().hex[:12]
    plain = server.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(plain + "/postgres", autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    return f"{server}/{name}"


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request, tmp_path):
    """(data_dir, db_url or None) for each database: the same tests run on both."""
    data = tmp_path / "data"
    if request.param == "sqlite":
        return data, None
    server = request.getfixturevalue("pg_server")
    return data, new_pg_database(server)


def csrf_of(html: str) -> str:
    m = re.search(r'name="csrf" value="([^"]+)"', html)
    assert m, "page holds no CSRF token"
    return m.group(1)
