import re

import numpy as np
import pandas as pd

from proteomics.report import plots
from proteomics.report.html import figure_entry, render_patient_report, render_report, table_html


def _de_table():
    rng = np.random.default_rng(0)
    n = 200
    p = rng.uniform(size=n)
    return pd.DataFrame({"protein_group": [f"P{i}" for i in range(n)], "gene": [f"G{i}" for i in range(n)],
                         "log2fc": rng.normal(size=n), "p_value": p, "q_value": np.minimum(1, p * 3)})


def test_report_is_self_contained_and_escaped():
    fig = plots.volcano(_de_table())
    html = render_report({"title": "T <script>", "sections": [
        {"id": "de", "title": "DE", "figures": [figure_entry(fig, "volcano")],
         "tables": [{"title": "top", "html": table_html(pd.DataFrame({"gene": ["<b>x</b>"], "v": [0.5]}))}]}],
        "methods": "m", "inputs": [{"role": "data", "name": "r.tsv", "sha256": "ab" * 32}]})
    assert "data:image/png;base64," in html
    # nothing is fetched from the network
    assert not re.search(r"""(src|href)=["']https?://""", html)
    assert "T <script>" not in html and "T &lt;script&gt;" in html and "&lt;b&gt;x&lt;/b&gt;" in html
    # the one script is the report's own table sorter/filter, inline (nothing loaded)
    assert html.count("<script") == 1 and "<script src" not in html
    assert "ab" * 32 in html


def test_save_figure_is_deterministic(tmp_path):
    for i in range(2):
        plots.save_figure(plots.volcano(_de_table()), tmp_path / f"v{i}")
    assert (tmp_path / "v0.svg").read_bytes() == (tmp_path / "v1.svg").read_bytes()
    assert (tmp_path / "v0.png").read_bytes() == (tmp_path / "v1.png").read_bytes()


def test_patient_report_shows_refusal_reasons():
    rows = [{"sample": "S1", "score": 1.2, "probability": 0.8, "prob_low": 0.7, "prob_high": 0.9,
             "category": "high", "qc_flags": "", "reasons": ""},
            {"sample": "S2", "category": "refused", "reasons": "3 of 5 panel proteins missing (A, B, C)"}]
    html = render_patient_report(rows, {"name": "LungPanel", "version": "1", "kind": "panel",
                                        "specimen": "plasma", "intended_use": "research", "sha256": "f" * 64})
    assert "Refused" in html and "3 of 5 panel proteins missing (A, B, C)" in html
    assert "Risk category: high" in html and "0.700" in html
    assert html.count('class="page"') == 2
