"""Nothing lost: a scoring that fails (an exception, a killed worker process) is recorded as failed, leaves no
result row, no trace on the page and an intact chain; the next request works. Upload retention."""

from __future__ import annotations

import os
import time

from sqlalchemy import func, select

from proteomics.serve import audit, scoring
from proteomics.serve.app import create_app
from proteomics.serve.db import Result

from .conftest import audit_rows, make_settings
from .test_app import score, site


def _site(tmp_path, sigs, **kw):
    return site(make_settings(tmp_path / "data", **kw), sigs)


def _n_results(app) -> int:
    with app.state.db() as s:
        return s.execute(select(func.count()).select_from(Result)).scalar_one()


def test_failed_scoring_is_recorded_and_nothing_half_written(tmp_path, sigs, monkeypatch):
    app, sid, web = _site(tmp_path, sigs)

    def broken(*args, **kw):
        raise RuntimeError("boom in /very/secret/internal/path")

    monkeypatch.setattr(scoring, "score_file", broken)
    r = score(web, sid, sigs["patients"]["N001_plasma_b3"])
    assert r.status_code == 500 and "Scoring failed" in r.text
    assert "boom" not in r.text and "/very/secret" not in r.text and "Traceback" not in r.text
    assert _n_results(app) == 0
    assert audit_rows(app)[-2:] == [("cli", "score_request", "ok"), ("cli", "score", "failed")]
    with app.state.db() as s:
        assert audit.verify_database(s).ok


def test_killed_worker_process_is_recorded_and_the_pool_recovers(tmp_path, sigs):
    app, sid, web = _site(tmp_path, sigs, workers=1)
    app.state.pool = scoring.make_pool(1)
    pid = app.state.pool.submit(os.getpid).result(timeout=120)
    os.kill(pid, 9)  # the worker dies (as under an OOM killer)
    time.sleep(1.0)
    r = score(web, sid, sigs["patients"]["N001_plasma_b3"])
    assert r.status_code == 500 and "Scoring failed" in r.text
    assert _n_results(app) == 0 and audit_rows(app)[-1] == ("cli", "score", "failed")
    r = score(web, sid, sigs["patients"]["N001_plasma_b3"])  # a fresh pool serves the next request
    assert r.status_code == 303
    assert _n_results(app) == 1 and audit_rows(app)[-1] == ("cli", "score", "ok")
    app.state.pool.shutdown()
    with app.state.db() as s:
        assert audit.verify_database(s).ok


def test_upload_retention(tmp_path):
    settings = make_settings(tmp_path / "data", retain_uploads_days=30)
    settings.prepare()
    old, new = settings.uploads_dir / ("a" * 64), settings.uploads_dir / ("b" * 64)
    old.write_text("old")
    new.write_text("new")
    past = time.time() - 40 * 86400
    os.utime(old, (past, past))
    app = create_app(settings)
    assert not old.exists() and new.exists()
    assert audit_rows(app) == [("system", "upload_purge", "ok")]


def test_serve_help_tells_backup_tls_retention():
    from typer.testing import CliRunner

    from proteomics.cli import app

    out = " ".join(CliRunner().invoke(app, ["serve", "--help"], terminal_width=200).output.split())
    for needle in ("Backup:", "Restore:", "TLS:", "reverse proxy", "--secure-cookies", "Retention:",
                   "audit rows are never deleted"):
        assert needle in out, needle
