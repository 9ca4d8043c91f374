"""Scoring through the web service equals ``proteomics score`` on the same file; the result page carries the
clinical report fields; print view, downloads, history; refusals in plain words; exact audit rows; the
patient identifier appears in no log and no audit row; password change and administrator reset."""

from __future__ import annotations

import json
import logging
from html import unescape

import pytest
from sqlalchemy import select

from proteomics.serve.app import create_app
from proteomics.serve.db import AuditLog

from .conftest import PASSWORD, Web, audit_rows, cli_score, make_settings, users
from .test_app import score, site


def test_score_result_print_download_history_audit(backend, sigs, tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    settings = make_settings(*backend)
    app, sid, web = site(settings, sigs)
    path = sigs["patients"]["N001_plasma_b3"]
    patient = "PAT-7781-XQ"
    r = score(web, sid, path, patient_id=patient)
    assert r.status_code == 303
    rid = int(r.headers["location"].rsplit("/", 1)[1])
    page = unescape(web.get(f"/results/{rid}").text)
    expected = cli_score(sigs, path, tmp_path)
    row = dict(zip(*(ln.split("\t") for ln in expected.splitlines()[:2]), strict=True))
    assert f'id="category">{row["category"]}<' in page
    assert f'id="probability">{float(row["probability"]):.3f}<' in page
    for field in (patient, "plasma", "2026-11-02", "2026-11-03", "cancer_panel version 1", row["signature_sha256"],
                  "Run by</th><td>cli", "proteomics 0.1.0", path.name, "How to read this result", "95 % interval"):
        assert field in page, field
    import hashlib

    assert hashlib.sha256(path.read_bytes()).hexdigest() in page
    assert page.count("<svg") == 4  # one strip per panel protein
    assert web.get(f"/results/{rid}/scores.tsv").text == expected  # same bytes as the CLI
    js = web.get(f"/results/{rid}/scores.json").json()
    assert js["columns"] == expected.splitlines()[0].split("\t") and js["rows"][0]["sample"] == row["sample"]
    pr = web.get(f"/results/{rid}/print")
    assert pr.status_code == 200 and "@page" not in pr.text and "/static/print.css" in pr.text
    assert patient in pr.text
    h = web.get(f"/results/{rid}/history").text
    assert "history-plot" not in h and "from two scored results on" in h
    r2 = score(web, sid, sigs["patients"]["N002_plasma_b3"], patient_id=patient, collected="2026-11-20",
               received="2026-11-21")
    rid2 = int(r2.headers["location"].rsplit("/", 1)[1])
    h = web.get(f"/results/{rid2}/history").text
    assert 'id="history-plot"' in h and f"/results/{rid}" in h and f"/results/{rid2}" in h
    found = web.post("/patients/find", {"patient_id": patient})
    assert found.status_code == 303 and found.headers["location"] == f"/results/{rid2}/history"
    # refusal in plain words: the signature is for plasma
    r3 = score(web, sid, path, patient_id="PAT-2", specimen="BAL")
    page = unescape(web.get(r3.headers["location"]).text)
    assert "Not scored: refused" in page and "specimen BAL of sample(s) N001_plasma_b3 differs from the signature's intended specimen 'plasma'" in page
    rows = [a for a in audit_rows(app) if a[0] == "cli"]
    assert rows == [("cli", "login", "ok"),
                    ("cli", "score_request", "ok"), ("cli", "score", "ok"), ("cli", "report_view", "ok"),
                    ("cli", "report_download", "ok"), ("cli", "report_download", "ok"), ("cli", "report_print", "ok"),
                    ("cli", "history_view", "ok"),
                    ("cli", "score_request", "ok"), ("cli", "score", "ok"), ("cli", "history_view", "ok"),
                    ("cli", "score_request", "ok"), ("cli", "score", "refused"), ("cli", "report_view", "ok")]
    with app.state.db() as s:
        dump = json.dumps([[getattr(a, c) for c in ("user", "action", "details", "input_sha256")]
                           for a in s.execute(select(AuditLog)).scalars()])
        scored = [a for a in s.execute(select(AuditLog).where(AuditLog.action == "score")).scalars()]
    assert patient not in dump and "PAT-2" not in dump
    assert patient not in caplog.text
    assert scored[0].input_sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert len(scored[0].signature_sha256) == 64
    from proteomics.serve import audit

    with app.state.db() as s:
        assert audit.verify_database(s).ok


def test_password_change_reset_and_reenable(backend):
    app = create_app(make_settings(*backend))
    users(app, ("ann", "admin"), ("cli", "clinician"))
    web = Web(app)
    web.login("cli")
    r = web.post("/password", {"old": "wrong-one-123", "new": "brand-new-pass-1", "repeat": "brand-new-pass-1"})
    assert r.status_code == 400 and "current password is wrong" in r.text
    r = web.post("/password", {"old": PASSWORD, "new": "brand-new-pass-1", "repeat": "brand-new-pass-1"})
    assert r.status_code == 200 and "Password changed" in r.text
    assert Web(app).login("cli").status_code == 401
    assert Web(app).login("cli", "brand-new-pass-1").status_code == 303
    admin = Web(app)
    admin.login("ann")
    assert "disable done" in admin.post("/admin/users/cli/disable").text
    assert web.get("/score").status_code == 303  # sessions of a disabled user end
    assert Web(app).login("cli", "brand-new-pass-1").status_code == 401
    assert "reset done" in admin.post("/admin/users/cli/reset", {"password": "temporary-pass-9"}).text
    assert "enable done" in admin.post("/admin/users/cli/enable").text
    again = Web(app)
    assert again.login("cli", "temporary-pass-9").status_code == 303
    assert again.get("/score").headers["location"] == "/password"  # must choose a new password first
    assert "You cannot disable yourself" in admin.post("/admin/users/ann/disable").text
    acts = [a[1] for a in audit_rows(app) if a[1] not in ("login",)]
    assert acts == ["user_add", "user_add", "password_change", "password_change", "user_disable", "password_reset",
                    "user_enable"]


def test_gzipped_upload_with_several_runs(backend, sigs, tmp_path):
    """A gzipped file holding several runs is read like the CLI reads it: one row per run, same TSV bytes."""
    from .conftest import REPO

    settings = make_settings(*backend)
    app, sid, web = site(settings, sigs)
    path = REPO / "sample_data" / "new_patients" / "report.tsv.gz"
    r = score(web, sid, path, patient_id="PAT-GZ")
    assert r.status_code == 303
    rid = r.headers["location"].rsplit("/", 1)[1]
    expected = cli_score(sigs, path, tmp_path)
    assert web.get(f"/results/{rid}/scores.tsv").text == expected
    page = web.get(f"/results/{rid}").text
    for run in ("N001_plasma_b3", "N002_plasma_b3", "N003_plasma_b3"):
        assert f"<td>{run}</td>" in page
    stored = list(settings.uploads_dir.iterdir())
    assert len(stored) == 1 and stored[0].name.endswith(".gz") and len(stored[0].name) == 64 + 3


def test_panel_rows_carry_log_odds_terms_that_add_up_to_the_score(sigs, tmp_path):
    """The result page's per-protein terms: coefficient × standardised value, largest first; with the
    intercept they must add up to the log-odds of the probability that ``proteomics score`` writes."""
    import numpy as np

    from proteomics.serve.scoring import panel_values
    from proteomics.signature import Signature

    sig = Signature.from_bytes(sigs["signed"])
    path = sigs["patients"]["N001_plasma_b3"]
    rows = panel_values(sig, str(path), "plasma")
    assert sorted(r["protein"] for r in rows) == sorted(sig.proteins)
    terms = [r["contribution"] for r in rows]
    assert all(t is not None for t in terms)
    assert [abs(t) for t in terms] == sorted((abs(t) for t in terms), reverse=True)
    expected = cli_score(sigs, path, tmp_path)
    row = dict(zip(*(ln.split("\t") for ln in expected.splitlines()[:2]), strict=True))
    p = float(row["probability"])
    assert sum(terms) + float(sig.model["intercept"][0]) == \
        pytest.approx(np.log(p) - np.log1p(-p), abs=1e-6)


def test_a_refused_sample_is_explained_in_plain_words_and_the_page_says_how_to_read_a_result(backend, sigs):
    """N003 (haemolysed, mostly missing) is refused per sample: the page gives the plain reason and what to do,
    with the technical reason kept; a scored result shows the signature's own thresholds and categories."""
    from proteomics.report.patient import PLAIN_REASONS
    from proteomics.signature import Signature

    settings = make_settings(*backend)
    app, sid, web = site(settings, sigs)
    r = score(web, sid, sigs["patients"]["N003_plasma_b3"], patient_id="PAT-N3")
    page = unescape(web.get(r.headers["location"]).text)
    plain, action = PLAIN_REASONS["low_coverage"]
    assert "Not scored: refused" in page and plain in page and action in page
    assert "Technical reason: only 40% of the training proteins are measured" in page
    r = score(web, sid, sigs["patients"]["N001_plasma_b3"], patient_id="PAT-N1")
    page = unescape(web.get(r.headers["location"]).text)
    sig = Signature.from_bytes(sigs["signed"])
    assert 'id="guide"' in page and "not a diagnosis on its own" in page and sig.intended_use in page
    for name in ("rule_out", "rule_in"):
        assert f"threshold {float(dict(sig.thresholds)[name]['probability']):.3f}" in page, name
    category = page.split('id="category">', 1)[1].split("<", 1)[0]
    assert f'<tr class="this"><th>{category}</th>' in page and page.count('class="this"') == 1
