"""The run report explains mode normalisation: per-sample offsets, off-peak share, two-peak warning, figure."""

from __future__ import annotations

import numpy as np
import pandas as pd

from proteomics.dataset import Dataset
from proteomics.preprocess import STEPS
from proteomics.report.build import _mode_figures, mode_normalisation_summary
from proteomics.report.methods import methods_paragraph


def _stages(frac_up, up, seed=0, n=6, p=2000):
    rng = np.random.default_rng(seed)
    X = rng.normal(22, 2, p)[None, :] + rng.normal(0, 0.2, (n, p))
    changed = rng.random(p) < frac_up
    X[n // 2:, changed] += up
    s = pd.DataFrame({"condition": ["A"] * (n // 2) + ["B"] * (n - n // 2)}, index=[f"S{i}" for i in range(n)])
    raw = Dataset(X, s, pd.DataFrame(index=[f"P{j}" for j in range(p)]))
    return {"quantified": raw, "normalize_mode": STEPS["normalize_mode"]().fit_transform(raw)}


def test_summary_reports_share_off_peak_and_warns_on_two_similar_peaks(tmp_path):
    one = mode_normalisation_summary(_stages(0.3, 2.0))
    assert one is not None and len(one["table"]) == 6 and not one["bimodal"]
    # B samples against an A anchor: 30 % of proteins 2 log2 away (truth); the note reports the median share
    assert 0.1 < one["table"]["off_peak_fraction"].median() < 0.35
    two = mode_normalisation_summary(_stages(0.48, 2.0))
    assert two["bimodal"]                                     # 52 % vs 48 %: two peaks of similar height
    figs, tables, warns = _mode_figures(two, tmp_path)
    assert figs and tables and "two peaks of similar height" in warns[0]
    assert (tmp_path / "qc_mode_normalisation.png").is_file()
    assert mode_normalisation_summary({"quantified": _stages(0.1, 1.0)["quantified"]}) is None


def test_methods_paragraph_names_mode_normalisation_and_the_detection_test():
    from proteomics.config import RunConfig

    cfg = RunConfig.model_validate({"inputs": {"data": "x.tsv", "sheet": "s.csv"}})
    text, refs = methods_paragraph(cfg.echo(), {"proteomics": "0"}, normalisation_note="38% of proteins off the main peak")
    assert "robust mode normalisation" in text and "38% of proteins off the main peak" in text
    assert "differential detection" in text and any("Neither random nor censored" in r for r in refs)
