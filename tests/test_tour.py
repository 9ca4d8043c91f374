"""The README's lab tour followed literally in a fresh folder, and the report it produces read as a user reads
it: a summary first, the plots a proteomics user expects, every table linked to its file, no machine paths."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from .shell_examples import REPO, run_line, scratch_clone

TOUR = "cp configs/example_plasma.yaml my_study.yaml && proteomics run my_study.yaml"


@pytest.fixture(scope="module")
def tour(tmp_path_factory) -> Path:
    folder = scratch_clone(tmp_path_factory.mktemp("clone"))
    res = run_line(TOUR, folder)
    assert res.returncode == 0, (res.stdout, res.stderr)
    return folder


def test_tour_is_in_the_readme_verbatim():
    assert TOUR in (REPO / "README.md").read_text()


def test_tour_runs_and_records_where_inputs_were_found(tour):
    out = tour / "results" / "my_study"
    info = json.loads((out / "run.json").read_text())
    rows = {r["role"]: r for r in info["inputs"]}
    # my_study.yaml sits in the clone's root, where sample_data/ is: found beside the config
    assert rows["data"]["resolved_against"] == "config folder"
    assert Path(rows["data"]["path"]) == tour / "sample_data" / "plasma" / "report.tsv.gz"
    assert (tour / "my_study.yaml").read_bytes() == (REPO / "configs" / "example_plasma.yaml").read_bytes()


def test_report_has_the_expected_figures(tour):
    html = (tour / "results" / "my_study" / "report.html").read_text()
    figures = re.findall(r'<img alt="([^"]+)" src="data:image/png;base64,', html)
    assert len(figures) >= 18, figures
    for title in ("Volcano plot", "p-value histogram", "MA plot", "Heatmap of the significant proteins",
                  "Sample correlation", "Missingness vs intensity", "Panel proteins by group",
                  "Selection frequency"):
        assert any(f.startswith(title) for f in figures), title
    assert "http://" not in html.replace("http://www.w3.org", "") and "https://" not in html  # self-contained


def test_report_has_no_machine_path(tour):
    html = (tour / "results" / "my_study" / "report.html").read_text()
    text = re.sub(r"data:image/png;base64,[A-Za-z0-9+/=]+", "", html)
    assert str(tour) not in text and str(tour.resolve()) not in text and str(REPO) not in text
    assert not re.search(r"(?<![\w.])/(?:home|root|tmp|work|Users|var|usr|mnt|opt)/", text)


def test_report_summary_and_tables(tour):
    out = tour / "results" / "my_study"
    html = (out / "report.html").read_text()
    start = html.index('id="summary"')
    assert start < html.index('id="qc"')  # the summary comes first
    for head in ("What ran", "What was found", "What to check"):
        assert head in html
    # every table links to a file that exists in the results folder
    links = dict(re.findall(r'<summary><b>([^<]+)</b>[^<]*(?:<a href="([^"]+)">)?', html))
    for title in ("Per-sample QC", "Contamination indices", "All proteins, cancer-control", "Locked signature",
                  "Selection frequency (top 20)", "Mode normalisation: per-sample offsets (log2)",
                  "AUC against panel size"):
        assert links.get(title), (title, links)
    assert all(links.values()), [t for t, link in links.items() if not link]  # every table, not only these
    for link in filter(None, links.values()):
        assert (out / link).is_file(), link
    # the DE table holds every tested protein with gene names and q-values, sortable and searchable
    de = (out / "de" / "cancer_vs_control.tsv").read_text().splitlines()
    table = html[html.index('id="de_cancer_control"'):]
    table = table[: table.index("</table>")]
    assert table.count("<tr") - 1 == len(de) - 1
    assert "<th>gene</th>" in table and "<th>q_value</th>" in table and 'class="sortable"' in table
    assert 'data-table="de_cancer_control"' in html and "addEventListener" in html
    # integers print as integers; the per-sample table is collapsed
    assert re.search(r"<details class=\"tbl\"><summary><b>Per-sample QC</b> \(60 rows\)", html)
    qc = html[html.index("<b>Per-sample QC</b>"):]
    qc = qc[: qc.index("</table>")]
    assert not re.search(r">\d+\.000<", qc)
    # the permutation p is shown with its resolution (3 permutations cannot give p < 0.25)
    assert "resolution 0.25" in html


def test_report_in_a_real_browser_at_desktop_and_phone_width(tour, tmp_path):
    """The report opened from disk in headless Chromium (Playwright): the DE table filters and sorts, and neither a
    1400 px desktop nor a 390 px phone gets a page wider than its screen (wide tables scroll in their box).
    ``PROTEOMICS_UPDATE_SCREENSHOTS=1`` refreshes docs/report.png from the desktop view."""
    import os
    import shutil

    from .conftest import chromium, playwright_sync_api

    sync_api, exe = playwright_sync_api(), chromium()
    report = (tour / "results" / "my_study" / "report.html").as_uri()
    de = [ln.split("\t") for ln in (tour / "results" / "my_study" / "de" / "cancer_vs_control.tsv")
          .read_text().splitlines()]
    head, rows = de[0], de[1:]
    gene = head.index("gene")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=exe, args=["--headless", "--no-sandbox", "--disable-gpu",
                                                               "--disable-dev-shm-usage"])
        try:
            for width, height in ((1400, 1600), (390, 844)):
                page = browser.new_page(viewport={"width": width, "height": height})
                page.goto(report)
                overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
                assert overflow <= 1, f"the page is {overflow} px wider than a {width} px screen"
                page.screenshot(path=str(tmp_path / f"report_{width}.png"))
                page.close()
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.goto(report)
            table = page.locator("#de_cancer_control")
            # filter: the rows left are exactly those whose text holds the query (counted from the TSV)
            query = next(r[gene] for r in rows if r[gene].startswith("APO"))[:3]
            page.fill('input[data-table="de_cancer_control"]', query)
            shown = table.locator("tbody tr:visible").count()
            assert shown == sum(query.lower() in "\t".join(r).lower() for r in rows), (query, shown)
            page.fill('input[data-table="de_cancer_control"]', "")
            # sort by log2fc, ascending: the first row is the TSV's smallest fold change
            col = head.index("log2fc")
            table.locator("thead th", has_text="log2fc").first.click()
            first = table.locator("tbody tr").first.locator("td").nth(0).inner_text().strip()
            smallest = min((r for r in rows if r[col] not in ("", "NA", "nan")), key=lambda r: float(r[col]))
            assert first == smallest[0], (first, smallest[:3])
            page.close()
        finally:
            browser.close()
    if os.environ.get("PROTEOMICS_UPDATE_SCREENSHOTS") == "1":
        shutil.copyfile(tmp_path / "report_1400.png", REPO / "docs" / "report.png")
