"""Route tests of the web service with the framework's test client, on SQLite and PostgreSQL: sessions, roles,
CSRF, throttling, uploads, signatures (forged, tampered, unsigned, untrusted), scoring equal to the CLI, the
audit rows of every action."""

from __future__ import annotations

import re
import time
from html import unescape

import pytest

from proteomics.serve.app import create_app

from .conftest import PASSWORD, Web, audit_rows, make_settings, trust, users

ALL_USERS = (("ann", "admin"), ("rev", "reviewer"), ("cli", "clinician"))
FORM = {"patient_id": "PAT-0001", "specimen": "plasma", "collected": "2026-11-02", "received": "2026-11-03"}


@pytest.fixture
def world(backend, sigs):
    data, db = backend
    settings = make_settings(data, db, lockout=60)
    app = create_app(settings)
    trust(settings, sigs["pem"])
    users(app, *ALL_USERS)
    return app


def import_sig(web: Web, data: bytes):
    return web.post("/signatures/import", files={"file": ("signature.json", data, "application/json")})


def approved(app, sigs, key="signed") -> int:
    rev = Web(app)
    assert rev.login("rev").status_code == 303
    r = import_sig(rev, sigs[key])
    assert r.status_code == 303, r.text
    sid = int(r.headers["location"].rsplit("/", 1)[1])
    r = rev.post(f"/signatures/{sid}/approve", {"justification": "validated on cohort B, committee 2026-11"})
    assert r.status_code == 303, r.text
    return sid


def site(settings, sigs):
    """A service on ``settings`` with the trusted key, every user, the signed signature approved, and the
    clinician ``cli`` logged in: (app, signature id, web client)."""
    app = create_app(settings)
    trust(settings, sigs["pem"])
    users(app, *ALL_USERS)
    sid = approved(app, sigs)
    web = Web(app)
    web.login("cli")
    return app, sid, web


def score(web: Web, sid: int, path, **over):
    form = {**FORM, "signature": str(sid), **over}
    return web.post("/score", form, files={"file": (path.name, path.read_bytes(), "text/plain")})


def test_no_session_login_page_and_headers(world):
    web = Web(world)
    r = web.get("/")
    assert r.status_code == 303 and r.headers["location"] == "/login"
    r = web.get("/login")
    assert r.status_code == 200 and "Sign in" in r.text
    assert "frame-ancestors 'none'" in r.headers["content-security-policy"]
    assert r.headers["x-content-type-options"] == "nosniff"
    for url in ("/score", "/results/1", "/results/1/print", "/results/1/scores.tsv", "/results/1/history",
                "/signatures", "/signatures/1", "/admin/users", "/admin/audit", "/admin/audit.csv", "/password"):
        r = web.get(url)
        assert r.status_code == 303 and r.headers["location"] == "/login", url
    for url in ("/score", "/logout", "/signatures/import", "/signatures/1/approve", "/admin/users",
                "/admin/users/cli/disable", "/password", "/patients/find"):
        r = web.post(url, {"csrf": "x"})
        assert r.status_code == 401, url
        assert "content-security-policy" in r.headers and "Traceback" not in r.text
    r = web.get("/no/such/page")
    assert r.status_code == 404 and "nosniff" == r.headers["x-content-type-options"]


def test_login_cookie_flags_logout_and_wrong_password(world, backend, sigs):
    web = Web(world)
    r = web.login("cli", "wrong-password-1")
    assert r.status_code == 401 and "Wrong user name or password" in r.text
    r = web.login("nobody", "whatever-password")
    assert r.status_code == 401 and "Wrong user name or password" in r.text
    r = web.login("cli")
    assert r.status_code == 303
    cookie = r.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie.replace("Strict", "strict")
    assert "Secure" not in cookie  # plain-HTTP loopback: the browser must send it back
    stolen = web.c.cookies.get("proteomics_session")
    assert web.get("/score").status_code == 200
    assert web.post("/logout").status_code == 303
    assert web.get("/score").status_code == 303
    again = Web(world)
    again.c.cookies.set("proteomics_session", stolen)
    assert again.get("/score").status_code == 303  # the session row is gone: the old cookie is useless
    rows = [r for r in audit_rows(world) if r[1] in ("login", "logout")]
    assert rows == [("cli", "login", "failed"), ("nobody", "login", "failed"), ("cli", "login", "ok"),
                    ("cli", "logout", "ok")]
    secure = create_app(make_settings(backend[0], backend[1], secure_cookies=True))
    r = Web(secure, https=True).login("cli")  # behind TLS
    assert r.status_code == 303 and "Secure" in r.headers["set-cookie"]


def test_throttling_after_five_failures(world):
    web = Web(world)
    for _ in range(5):
        r = web.login("cli", "wrong-password-1")
        assert r.status_code == 401 and "Wrong user name or password" in r.text
    r = web.login("cli")  # right password, but locked
    assert r.status_code == 401 and "locked" in r.text
    rows = [r for r in audit_rows(world) if r[1] == "login"]
    assert rows == [("cli", "login", "failed")] * 5 + [("cli", "login", "refused")]
    admin = Web(world)
    assert admin.login("ann").status_code == 303
    assert admin.post("/admin/users/cli/enable").status_code == 200
    assert web.login("cli").status_code == 303


def test_idle_sessions_expire(backend, sigs):
    app = create_app(make_settings(backend[0], backend[1], idle_timeout=5.0))
    users(app, ("cli", "clinician"))
    web = Web(app)
    assert web.login("cli").status_code == 303
    assert web.get("/score").status_code == 200
    time.sleep(6.0)
    assert web.get("/score").status_code == 303


ROUTES = [  # (method, url, roles allowed)
    ("GET", "/score", {"clinician"}), ("POST", "/score", {"clinician"}),
    ("GET", "/results/1", {"clinician"}), ("GET", "/results/1/print", {"clinician"}),
    ("GET", "/results/1/scores.tsv", {"clinician"}), ("GET", "/results/1/scores.json", {"clinician"}),
    ("GET", "/results/1/history", {"clinician"}), ("POST", "/patients/find", {"clinician"}),
    ("GET", "/signatures", {"reviewer", "admin"}), ("GET", "/signatures/1", {"reviewer", "admin"}),
    ("POST", "/signatures/import", {"reviewer"}), ("POST", "/signatures/1/approve", {"reviewer"}),
    ("POST", "/signatures/1/revoke", {"reviewer"}), ("POST", "/signatures/1/validation", {"reviewer"}),
    ("GET", "/admin/users", {"admin"}), ("POST", "/admin/users", {"admin"}),
    ("POST", "/admin/users/vic/disable", {"admin"}), ("POST", "/admin/users/vic/reset", {"admin"}),
    ("GET", "/admin/audit", {"admin"}), ("GET", "/admin/audit.csv", {"admin"}),
]


def test_roles_on_every_route(world, sigs):
    users(world, ("vic", "clinician"))
    sid = approved(world, sigs)
    cli = Web(world)
    cli.login("cli")
    assert score(cli, sid, sigs["patients"]["N001_plasma_b3"]).status_code == 303
    for name, role in ALL_USERS:
        web = Web(world)
        assert web.login(name).status_code == 303
        for method, url, allowed in ROUTES:
            r = web.get(url) if method == "GET" else web.post(url, {"justification": "x", "reason": "x"})
            if role in allowed:
                assert r.status_code != 403, (role, method, url)
            else:
                assert r.status_code == 403 and "role" in r.text, (role, method, url, r.status_code)
        for url in ("/signatures/1", "/results/1", "/admin/users/cli"):  # nobody deletes anything
            assert web.c.delete(url).status_code in (404, 405)
    assert "DELETE" not in {m for r in world.app.routes for m in getattr(r, "methods", ())}


def test_csrf_and_origin(world, sigs):
    sid = approved(world, sigs)
    web = Web(world)
    web.login("cli")
    path = sigs["patients"]["N001_plasma_b3"]
    r = web.post("/score", {**FORM, "signature": str(sid), "csrf": "forged"},
                 files={"file": (path.name, path.read_bytes())})
    assert r.status_code == 403 and "CSRF" in r.text
    r = web.post("/score", {**FORM, "signature": str(sid)}, files={"file": (path.name, path.read_bytes())},
                 headers={"origin": "http://evil.example"})
    assert r.status_code == 403
    # a same-site POST without an Origin header and with a valid token is accepted
    r = web.post("/score", {**FORM, "signature": str(sid)}, files={"file": (path.name, path.read_bytes())})
    assert r.status_code == 303
    fresh = Web(world)
    r = fresh.c.post("/login", data={"name": "cli", "password": PASSWORD, "csrf": "made-up"})
    assert r.status_code == 403 and "expired" in r.text


def test_upload_limit_and_bad_files(backend, sigs):
    settings = make_settings(backend[0], backend[1], max_upload=64 * 1024)
    app, sid, web = site(settings, sigs)
    big = sigs["dir"] / "big.tsv"
    big.write_bytes(b"x" * (300 * 1024))
    r = score(web, sid, big)
    assert r.status_code == 413 and "larger than the limit" in r.text
    bad = sigs["dir"] / "notes.txt"
    bad.write_text("this is not a search engine output\nat all\n")
    r = web.c.get(score(web, sid, bad).headers["location"])
    assert "Not scored: refused" in r.text
    from proteomics import io as pio
    from proteomics.errors import InputError

    with pytest.raises(InputError) as exc:  # the message the CLI prints for this file
        pio.read(bad)
    assert exc.value.message in unescape(r.text), (exc.value.message, r.text)
    assert str(settings.data_dir) not in r.text and "uploads/" not in r.text and "Traceback" not in r.text
    r = score(web, sid, bad, patient_id="", collected="yesterday")
    assert r.status_code == 400 and "Patient identifier" in r.text and "Collection date" in r.text


def test_signature_refusals_forged_untrusted_unsigned_tampered(world, sigs, backend):
    rev = Web(world)
    rev.login("rev")
    for key, needle in (("unsigned", "unsigned"), ("untrusted", "not in the web service's trusted keys"),
                        ("forged", "does not match")):
        r = import_sig(rev, sigs[key])
        assert r.status_code == 400 and needle in unescape(r.text), (key, r.text[-3000:])
    assert [r for r in audit_rows(world) if r[1] == "signature_import"] == [("rev", "signature_import",
                                                                             "refused")] * 3
    sid = approved(world, sigs)
    from sqlalchemy import text

    with world.app.state.engine.begin() as conn:  # behind the application's back: other bytes, same record
        conn.execute(text("UPDATE signatures SET content = :c WHERE id = :i"), {"c": sigs["forged"], "i": sid})
    cli = Web(world)
    cli.login("cli")
    r = score(cli, sid, sigs["patients"]["N001_plasma_b3"])
    assert r.status_code == 409 and "differ from the bytes the reviewer approved" in r.text
    assert audit_rows(world)[-1] == ("cli", "score", "refused")


def test_approval_versions_and_revocation(world, sigs):
    rev = Web(world)
    rev.login("rev")
    sid1 = int(import_sig(rev, sigs["signed"]).headers["location"].rsplit("/", 1)[1])
    cli = Web(world)
    cli.login("cli")
    assert "No signature is approved" in cli.get("/score").text
    r = rev.post(f"/signatures/{sid1}/approve", {"justification": ""})
    assert r.status_code == 400 and "justification is required" in r.text
    assert rev.post(f"/signatures/{sid1}/approve", {"justification": "validated, see minutes"}).status_code == 303
    page = rev.get(f"/signatures/{sid1}").text
    assert "Approved for clinical use" in page and "validated, see minutes" in page and "current" in page
    assert "Nested-CV AUC" in page and "60 samples" in page
    sid2 = int(import_sig(rev, sigs["v2"]).headers["location"].rsplit("/", 1)[1])
    rev.post(f"/signatures/{sid2}/approve", {"justification": "version 2 approved"})
    form = cli.get("/score").text
    assert re.search(rf'value="{sid2}" selected>[^<]*v2[^<]*current', form)
    assert f'value="{sid1}"' in form
    assert rev.post(f"/signatures/{sid2}/revoke", {"reason": "superseded after audit"}).status_code == 303
    assert "Revoked" in rev.get(f"/signatures/{sid2}").text
    form = cli.get("/score").text
    assert f'value="{sid2}"' not in form and re.search(rf'value="{sid1}" selected', form)
    r = score(cli, sid2, sigs["patients"]["N001_plasma_b3"])
    assert r.status_code == 409 and "not approved" in r.text
    acts = [a for a in audit_rows(world) if a[1].startswith("signature_")]
    assert acts == [("rev", "signature_import", "ok"), ("rev", "signature_approve", "refused"),
                    ("rev", "signature_approve", "ok"), ("rev", "signature_import", "ok"),
                    ("rev", "signature_approve", "ok"), ("rev", "signature_revoke", "ok")]


def test_validation_metrics_attached_only_to_their_signature(world, sigs):
    import json

    from proteomics.signature import Signature

    sid = approved(world, sigs)
    rev = Web(world)
    rev.login("rev")
    checksum = Signature.from_bytes(sigs["signed"]).sha256
    other = {"auc": 0.91, "auc_ci_low": 0.85, "auc_ci_high": 0.97, "n_samples": 80, "n_refused": 2,
             "signature_sha256": "0" * 64}
    r = rev.post(f"/signatures/{sid}/validation", files={"file": ("m.json", json.dumps(other).encode())})
    assert r.status_code == 400 and "computed with another signature" in r.text
    good = {**other, "signature_sha256": checksum}
    r = rev.post(f"/signatures/{sid}/validation", files={"file": ("m.json", json.dumps(good).encode())})
    assert r.status_code == 303
    page = rev.get(f"/signatures/{sid}").text
    assert "AUC 0.910 (95 % CI 0.850–0.970), 80 samples, 2 refused" in page
    assert [a for a in audit_rows(world) if a[1] == "validation_attach"] == [
        ("rev", "validation_attach", "refused"), ("rev", "validation_attach", "ok")]


def test_signature_not_shown_to_beat_chance_is_said_before_approval(world, sigs):
    rev = Web(world)
    assert rev.login("rev").status_code == 303
    pages = {}
    for key in ("signed", "weak"):
        r = import_sig(rev, sigs[key])
        assert r.status_code == 303, r.text
        pages[key] = rev.get(r.headers["location"]).text
    assert 'id="chance"' not in pages["signed"]
    notice = re.search(r'<p class="error" role="alert" id="chance">(.*?)</p>', pages["weak"], re.S)
    assert notice and "Not shown to beat chance" in notice.group(1) and "0.410–0.750" in notice.group(1)
    assert pages["weak"].index('id="chance"') < pages["weak"].index('id="approve"')
