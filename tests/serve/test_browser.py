"""The main flows in a real headless Chromium (Playwright) against the real server (uvicorn subprocess).

Administrator creates a clinician; reviewer imports and approves the signature built from ``sample_data``;
clinician logs in, uploads a ``sample_data/new_patients`` run, sees the result, prints it (one A4 page),
sees the history after a second visit, and sees a refusal in plain words. Skipped, saying why, only where no
Chromium can be found (``.ci/run`` installs Debian's ``chromium``). Screenshots go to the test's folder, and to
``docs/serve/`` when ``PROTEOMICS_UPDATE_SCREENSHOTS=1``.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest

from ..conftest import chromium, playwright_sync_api
from .conftest import PASSWORD, REPO, prepare_site, start_server, stop_server

ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-dev-shm-usage", "--no-first-run", "--disable-extensions"]


@pytest.fixture
def browser():
    sync_api, exe = playwright_sync_api(), chromium()
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=exe, args=ARGS)
        try:
            yield b
        finally:
            b.close()


def _shot(page, out: Path, name: str, publish: bool = True) -> None:
    out.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(out / name), full_page=True)
    if publish and os.environ.get("PROTEOMICS_UPDATE_SCREENSHOTS") == "1":
        docs = REPO / "docs" / "serve"
        docs.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(out / name, docs / name)


def _submit(page, selector: str) -> None:
    """Click a submit button and wait for the page it leads to."""
    with page.expect_navigation(timeout=120_000):
        page.click(selector)


def _login(page, url, name, password=PASSWORD):
    page.goto(url + "/")
    assert page.url.endswith("/login")
    page.fill("input[name=name]", name)
    page.fill("input[name=password]", password)
    _submit(page, "button[type=submit]")


def _logout(page):
    _submit(page, "#logout")
    assert page.url.endswith("/login")


def _score(page, url, path, patient, specimen="plasma", collected="2026-11-02", received="2026-11-03"):
    page.goto(url + "/score")
    page.fill("input[name=patient_id]", patient)
    page.select_option("select[name=specimen]", specimen)
    page.fill("input[name=collected]", collected)
    page.fill("input[name=received]", received)
    page.set_input_files("input[name=file]", str(path))
    _submit(page, "#score")
    assert re.search(r"/results/\d+$", page.url), page.url


@pytest.mark.parametrize("db", ["sqlite", "postgresql"])
def test_main_flows_in_a_real_browser(browser, sigs, tmp_path, request, db):
    from .conftest import new_pg_database

    db_url = new_pg_database(request.getfixturevalue("pg_server")) if db == "postgresql" else None
    shots = tmp_path / "shots"
    data = tmp_path / "site"
    prepare_site(data, sigs, db_url, people=[("ann", "admin"), ("rev", "reviewer")])
    server = start_server(data, db_url, workers=1)
    try:
        url = server.url
        ctx = browser.new_context(viewport={"width": 1100, "height": 900})
        ctx.set_default_timeout(120_000)  # a loaded 2-core CI machine: scoring can take tens of seconds
        page = ctx.new_page()
        errors: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        # administrator creates a clinician
        _login(page, url, "ann")
        assert page.url.endswith("/admin/users"), page.inner_text("main")
        page.fill("form[action='/admin/users'] input[name=name]", "carla")
        page.select_option("form[action='/admin/users'] select[name=role]", "clinician")
        page.fill("form[action='/admin/users'] input[name=password]", "carla-password-1")
        _submit(page, "#add-user")
        assert "Added carla (clinician)" in page.inner_text("main")
        _shot(page, shots, "users.png", db == "sqlite")
        _logout(page)
        # reviewer imports and approves the sample_data signature
        _login(page, url, "rev")
        page.set_input_files("input[name=file]", str(sigs["dir"] / "signed.json"))
        _submit(page, "#import")
        assert "Awaiting approval" in page.inner_text("#state")
        page.fill("textarea[name=justification]", "Nested-CV AUC acceptable; approved by the lab committee")
        _submit(page, "#approve")
        assert "Approved for clinical use" in page.inner_text("#state")
        _shot(page, shots, "signature.png", db == "sqlite")
        _logout(page)
        # clinician scores a new patient
        _login(page, url, "carla", "carla-password-1")
        assert page.url.endswith("/score")
        _score(page, url, sigs["patients"]["N001_plasma_b3"], "N001")
        assert page.inner_text("#category") in ("low", "high", "indeterminate")
        assert page.inner_text("#patient") == "N001"
        assert page.locator("table.panel svg").count() == 4
        _shot(page, shots, "result.png", db == "sqlite")
        _submit(page, "#print-view")
        assert page.locator("#print-button").count() == 1
        pdf = page.pdf(format="A4", print_background=True)
        assert len(re.findall(rb"/Type\s*/Page[^s]", pdf)) == 1  # one A4 page per patient
        _shot(page, shots, "print.png", db == "sqlite")
        # second visit of the same patient: the history is plotted
        _score(page, url, sigs["patients"]["N002_plasma_b3"], "N001", collected="2026-11-25", received="2026-11-26")
        _submit(page, "#history")
        assert page.locator("#history-plot").count() == 1
        assert page.locator("#history-table tr").count() == 3
        _shot(page, shots, "history.png", db == "sqlite")
        # a refusal in plain words
        _score(page, url, sigs["patients"]["N003_plasma_b3"], "N003", specimen="sputum")
        text = page.inner_text("#result")
        assert "Not scored: refused" in text and "differs from the signature's intended specimen 'plasma'" in text
        _shot(page, shots, "refusal.png", db == "sqlite")
        _logout(page)
        assert not errors, errors  # no CSP violation or script error in the console
        ctx.close()
    finally:
        stop_server(server)
    from typer.testing import CliRunner

    from proteomics.cli import app

    res = CliRunner().invoke(app, ["audit", "verify", "--data-dir", str(data)] + (["--db", db_url] if db_url else []))
    assert res.exit_code == 0, res.output
