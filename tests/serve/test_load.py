"""Load on loopback: the real server (uvicorn, 2 scoring processes) on 127.0.0.1, 20 concurrent clients each
log in and score 5 patients. Every request is answered, every result equals ``proteomics score`` on the same
file, the audit table holds exactly the expected rows and its chain verifies. Bounded: 100 scorings, a 600 s
client timeout. Timings are reported by ``bench/serve_load.py``, never asserted here."""

from __future__ import annotations

import importlib.util
from collections import Counter
from pathlib import Path

import pytest

from .conftest import PASSWORD, cli_score, prepare_site, start_server, stop_server

BENCH = Path(__file__).resolve().parents[2] / "bench" / "serve_load.py"
CLIENTS, PER_CLIENT = 20, 5


@pytest.fixture(scope="module")
def load_mod():
    spec = importlib.util.spec_from_file_location("serve_load", BENCH)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.slow
@pytest.mark.parametrize("db", ["sqlite", "postgresql"])
def test_twenty_clients_score_five_patients_each(load_mod, sigs, tmp_path, request, db):
    from .conftest import new_pg_database

    db_url = new_pg_database(request.getfixturevalue("pg_server")) if db == "postgresql" else None
    files = list(sigs["patients"].values())
    expected = {f.name: cli_score(sigs, f, tmp_path) for f in files}
    users = [f"clin{i:02d}" for i in range(CLIENTS)]
    data = tmp_path / "site"
    prepare_site(data, sigs, db_url, people=[("rev", "reviewer")] + [(u, "clinician") for u in users])
    server = start_server(data, db_url, workers=2)
    try:
        sid = load_mod.import_and_approve(server.url, "rev", PASSWORD, sigs["signed"])
        out = load_mod.run_load(server.url, users, PASSWORD, sid, files, PER_CLIENT)
    finally:
        stop_server(server)
    assert out["n"] == CLIENTS * PER_CLIENT
    for r in out["results"]:
        assert r["tsv"] == expected[r["file"]], r["file"]
    assert len({r["result"] for r in out["results"]}) == CLIENTS * PER_CLIENT
    from sqlalchemy.orm import Session

    from proteomics.serve import audit
    from proteomics.serve.db import AuditLog, make_engine

    from .conftest import make_settings

    engine = make_engine(make_settings(data, db_url).url)
    with Session(engine) as s:
        rows = s.query(AuditLog).all()
        counts = Counter((r.action, r.outcome) for r in rows)
        rep = audit.verify_database(s)
    engine.dispose()
    n = CLIENTS * PER_CLIENT

    def outcome(tsv: str) -> str:  # the CLI's own verdict: refused when every row is refused
        cats = [dict(zip(tsv.splitlines()[0].split("\t"), ln.split("\t"), strict=True))["category"]
                for ln in tsv.splitlines()[1:]]
        return "refused" if all(c == "refused" for c in cats) else "ok"

    scored = Counter(("score", outcome(expected[r["file"]])) for r in out["results"])
    assert counts == Counter({("user_add", "ok"): CLIENTS + 1, ("login", "ok"): CLIENTS + 1,
                              ("signature_import", "ok"): 1, ("signature_approve", "ok"): 1,
                              ("score_request", "ok"): n, ("report_view", "ok"): n,
                              ("report_download", "ok"): n, **scored})
    assert rep.ok and rep.n_rows == len(rows)
