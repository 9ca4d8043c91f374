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

from ..conftest import missing_tool

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
        missing_tool("PostgreSQL is not installed (no initdb; .ci/run installs Debian's postgresql package)")
    root = os.geteuid() == 0
    prefix: list[str] = []
    base = Path(tempfile.mkdtemp(prefix="proteomics-pg-"))
    if root:
        if shutil.which("runuser") is None:
            missing_tool("running as root without runuser: cannot start PostgreSQL as another user")
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
        missing_tool(f"PostgreSQL could not start here ({type(exc).__name__}: "
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


# -- signatures and patients ------------------------------------------------------------------------------------
REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "sample_data"


def _split_runs(report: Path, out: Path) -> dict[str, Path]:
    """One file per run of a DIA-NN report (each new patient alone, as a lab would upload it)."""
    import gzip

    with gzip.open(report, "rt", encoding="utf-8") as fh:
        header = fh.readline()
        lines: dict[str, list[str]] = {}
        for line in fh:
            run = line.split("\t", 2)[1]
            lines.setdefault(run, []).append(line)
    files = {}
    for run, rows in lines.items():
        p = out / f"{run}.tsv"
        p.write_text(header + "".join(rows), encoding="utf-8")
        files[run] = p
    return files


@pytest.fixture(scope="session")
def sigs(tmp_path_factory):
    """The panel built from sample_data (as the README does, small CV), signed with a test key, plus an
    unsigned copy, a copy signed by an untrusted key, a forged copy (coefficient edited, checksum recomputed),
    a signed version 2 and a signed version 3 whose nested-CV AUC interval reaches 0.5 (``weak``); ``pem`` is the trusted public key; ``patients`` one file per new patient run."""
    from dataclasses import replace

    import yaml

    from proteomics import signing
    from proteomics.signature import Signature
    from tests.cli_helpers import invoke

    d = tmp_path_factory.mktemp("serve-sigs")
    (d / "panel.yaml").write_text(yaml.safe_dump({"panel": {"outer_folds": 3, "outer_repeats": 1,
                                                            "inner_folds": 2, "max_proteins": 4}}))
    old = os.environ.get(signing.CONFIG_ENV)
    os.environ[signing.CONFIG_ENV] = str(d / "config")
    try:
        res = invoke("--quiet", "panel", SAMPLE / "plasma" / "report.tsv.gz", "--sheet", SAMPLE / "sheet.csv",
                     "--specimen", "plasma", "--label", "condition", "--positive", "cancer", "--config",
                     d / "panel.yaml", "--permutations", "2", "-o", d / "panel")
        assert res.exit_code == 0, res.stderr
        base = Signature.load(d / "panel" / "signature.json")
        key = signing.generate_key()
        other = signing.generate_key(make_default=False)
    finally:
        if old is None:
            os.environ.pop(signing.CONFIG_ENV, None)
        else:
            os.environ[signing.CONFIG_ENV] = old
    signed = signing.sign_signature(replace(base, signing={}), key=key)
    coef = [list(map(float, row)) for row in signed.model["coef"]]
    coef[0][0] += 1.0
    forged = replace(signed, model={**dict(signed.model), "coef": coef}, sha256="").sealed()
    v2 = signing.sign_signature(replace(base, signing={}, version="2"), key=key)
    # a genuinely signed signature whose recorded nested-CV AUC interval reaches 0.5 (what a no-signal cohort gives)
    weak = signing.sign_signature(replace(base, signing={}, version="3", performance={
        **dict(base.performance), "auc": 0.58, "auc_ci_low": 0.41, "auc_ci_high": 0.75}), key=key)
    out = {"signed": signed.to_bytes(), "unsigned": replace(base, signing={}).sealed().to_bytes(),
           "untrusted": signing.sign_signature(replace(base, signing={}), key=other).to_bytes(),
           "forged": forged.to_bytes(), "v2": v2.to_bytes(), "weak": weak.to_bytes(), "pem": key.public_pem().encode()}
    for k, v in out.items():
        if k != "pem":
            (d / f"{k}.json").write_bytes(v)
    pats = d / "patients"
    pats.mkdir()
    out["patients"] = _split_runs(SAMPLE / "new_patients" / "report.tsv.gz", pats)
    out["dir"] = d
    return out


def make_settings(data_dir, db_url=None, **kw):
    from proteomics.serve.settings import ServeSettings

    kw.setdefault("workers", 0)
    return ServeSettings(data_dir=data_dir, db_url=db_url, **kw)


def trust(settings, pem: bytes) -> None:
    from proteomics import signing

    signing.trust_key(pem, folder=settings.keys_dir)


class Web:
    """A TestClient wrapper that logs in through the real form and keeps the page's CSRF token."""

    def __init__(self, app, https: bool = False):
        from fastapi.testclient import TestClient

        self.app = app
        self.c = TestClient(app, follow_redirects=False,
                            base_url="https://testserver" if https else "http://testserver")
        self.csrf = ""

    def login(self, name: str, password: str = PASSWORD):
        page = self.c.get("/login")
        r = self.c.post("/login", data={"name": name, "password": password, "csrf": csrf_of(page.text)})
        if r.status_code == 303:
            home = self.c.get("/", follow_redirects=True)
            if 'name="csrf"' in home.text:
                self.csrf = csrf_of(home.text)
        return r

    def get(self, url, **kw):
        return self.c.get(url, **kw)

    def post(self, url, data=None, files=None, csrf=True, **kw):
        data = dict(data or {})
        if csrf and "csrf" not in data:
            data["csrf"] = self.csrf
        return self.c.post(url, data=data, files=files, **kw)


def users(app, *pairs) -> None:
    from proteomics.serve import auth

    with app.state.db() as s, s.begin():
        for name, role in pairs:
            auth.add_user(s, name, role, PASSWORD, by="test")


def audit_rows(app) -> list:
    from sqlalchemy import select

    from proteomics.serve.db import AuditLog

    with app.state.db() as s:
        return [(r.user, r.action, r.outcome) for r in s.execute(select(AuditLog).order_by(AuditLog.seq)).scalars()]


# -- a real server (uvicorn in a subprocess, loopback only) ------------------------------------------------------
class LiveServer:
    def __init__(self, url: str, proc, data_dir: Path, db_url: str | None):
        self.url, self.proc, self.data_dir, self.db_url = url, proc, data_dir, db_url


def start_server(data_dir: Path, db_url: str | None = None, workers: int = 2, extra=()) -> LiveServer:
    """``python -m proteomics.cli serve`` on 127.0.0.1 and a free port; waits until the login page answers."""
    import sys
    import time
    import urllib.request

    port = _free_port()
    env = {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    cmd = [sys.executable, "-m", "proteomics.cli", "serve", "--data-dir", str(data_dir), "--host", "127.0.0.1",
           "--port", str(port), "--workers", str(workers), *extra] + (["--db", db_url] if db_url else [])
    log = open(data_dir.parent / f"server-{port}.log", "wb")
    proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited: {(data_dir.parent / f'server-{port}.log').read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(url + "/login", timeout=2) as r:
                if r.status == 200:
                    return LiveServer(url, proc, data_dir, db_url)
        except OSError:
            time.sleep(0.3)
    proc.kill()
    raise RuntimeError("server did not answer within 120 s")


def stop_server(server: LiveServer) -> None:
    server.proc.terminate()
    try:
        server.proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        server.proc.kill()
        server.proc.wait(timeout=30)


def prepare_site(data_dir: Path, sigs, db_url: str | None = None, people=()) -> None:
    """A data folder with the trusted key and the given users (as ``proteomics users add`` would)."""
    from sqlalchemy.orm import Session

    from proteomics.serve import auth
    from proteomics.serve.db import open_database

    settings = make_settings(data_dir, db_url)
    engine = open_database(settings)
    with Session(engine) as s, s.begin():
        for name, role in people:
            auth.add_user(s, name, role, PASSWORD, by="cli")
    engine.dispose()
    trust(settings, sigs["pem"])


def cli_score(sigs, path: Path, out_dir: Path, specimen: str = "plasma") -> str:
    """``proteomics score`` on ``path`` with the same signed signature bytes (the test key trusted, as the
    author's own machine would); returns the TSV text."""
    from proteomics import signing
    from tests.cli_helpers import invoke

    sig = out_dir / "sig.json"
    sig.write_bytes(sigs["signed"])
    out = out_dir / f"cli-{path.stem}.tsv"
    old = os.environ.get(signing.CONFIG_ENV)
    os.environ[signing.CONFIG_ENV] = str(sigs["dir"] / "config")
    try:
        res = invoke("--quiet", "score", path, "--signature", sig, "--specimen", specimen, "-o", out)
    finally:
        if old is None:
            os.environ.pop(signing.CONFIG_ENV, None)
        else:
            os.environ[signing.CONFIG_ENV] = old
    assert res.exit_code == 0, res.stderr
    return out.read_text(encoding="utf-8")
