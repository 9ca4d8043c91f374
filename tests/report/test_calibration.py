"""The methods section's FDR calibration figure: the packaged measurements, their keys, and that they are real.

The packaged points are the bench's measurements on public ground-truth data (known mixing ratios); the last test
re-measures one data set from ../shared/data and compares."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import pytest

from proteomics.choices import DE_MODELS, DETECTION_TESTS, NORMALIZE_METHODS
from proteomics.config import RunConfig
from proteomics.report.calibration import (
    calibration_figures,
    calibration_summary,
    load_calibration,
    method_key,
)

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared" / "data"


def _ran(**de):
    pre = de.pop("preprocess", None)
    body = {"inputs": {"data": "x.tsv", "sheet": "s.csv"}, "de": de}
    if pre:
        body["preprocess"] = pre
    return RunConfig.model_validate(body).echo()


def test_every_packaged_method_is_a_product_configuration_and_the_default_is_there():
    data = load_calibration()
    assert data["schema"] == 1 and float(data["q_grid"][0]) < float(data["q_grid"][-1])
    for key, entry in data["methods"].items():
        norm, model, det = key.split("+")
        assert norm in NORMALIZE_METHODS and model in DE_MODELS and det in DETECTION_TESTS, key
        for p in entry["points"]:
            assert set(p["fdp"]) == set(data["q_grid"])
            assert all(v is None or 0.0 <= v <= 1.0 for v in p["fdp"].values())
    default = RunConfig.model_validate({"inputs": {"data": "x", "sheet": "s"}}).echo()
    assert calibration_summary(default)["key"] == "mode+hybrid+model"


def test_the_run_settings_choose_the_measured_method_or_none():
    assert method_key("mode", "hybrid", None) == "mode+hybrid+model"
    assert method_key("mode", "limma", None) == "mode+limma+none"
    assert calibration_summary(_ran(model="dpc"))["key"] == "mode+dpc+none"
    assert calibration_summary(_ran(model="hybrid", detection="binomial"))["key"] == "mode+hybrid+binomial"
    # quantile normalisation was never measured: no figure rather than another method's
    assert calibration_summary(_ran(preprocess={"normalize": {"method": "quantile"}})) is None


def test_summary_counts_contrasts_that_held_at_005():
    data = {"schema": 1, "measured": "2026-01-01", "q_grid": ["0.01", "0.05"], "methods": {"mode+hybrid+model": {
        "label": "x", "points": [{"dataset": "a", "contrast": "B-A", "fdp": {"0.01": 0.0, "0.05": 0.04}},
                                 {"dataset": "a", "contrast": "C-A", "fdp": {"0.01": 0.2, "0.05": 0.30}},
                                 {"dataset": "b", "contrast": "B-A", "fdp": {"0.01": None, "0.05": None}}]}}}
    cal = calibration_summary(_ran(), data)
    assert cal["held_05"] == (1, 2) and cal["n_sets"] == 2
    assert cal["median_fdp_05"] == pytest.approx(0.17)


def test_figure_and_sentence(tmp_path):
    saved = []

    def save(fig, figdir, stem, title, caption=""):
        fig.savefig(figdir / f"{stem}.png")
        saved.append(stem)
        return {"title": title, "caption": caption, "png": ""}

    figs, note = calibration_figures(_ran(), tmp_path, save)
    assert saved == ["methods_fdr_calibration"] and (tmp_path / "methods_fdr_calibration.png").is_file()
    assert "observed false discovery proportion at q < 0.05" in note
    figs, note = calibration_figures(_ran(preprocess={"normalize": {"method": "quantile"}}), tmp_path, save)
    assert figs == [] and "No ground-truth calibration" in note


@pytest.mark.skipif(not (SHARED / "proteobench_hye").is_dir(),
                    reason="../shared/data/proteobench_hye absent: cannot re-measure the packaged calibration")
def test_packaged_points_are_what_the_bench_measures_on_the_sage_hye_subset(tmp_path):
    sys.path.insert(0, str(ROOT / "bench"))
    try:
        import de_groundtruth as bench
    finally:
        sys.path.remove(str(ROOT / "bench"))
    name = "HYE Sage (DDA)"
    ds, truths = bench.DATASETS[name](tmp_path)
    res = bench.METHODS["ours (default)"](ds, list(truths))
    res = res if isinstance(res, list) else [res]
    packaged = {(p["dataset"], p["contrast"]): p["fdp"]
                for p in load_calibration()["methods"]["mode+hybrid+model"]["points"]}
    for r in res:
        tab = r.table.drop_duplicates("protein_group").set_index("protein_group").reindex(ds.protein_ids)
        got = bench.score(tab, np.asarray(truths[r.contrast], dtype=float))["calibration"]
        want = packaged[(name, r.contrast)]
        for q, v in got.items():
            assert (v is None and want[q] is None) or math.isclose(v, want[q], abs_tol=1e-12), (q, v, want[q])
