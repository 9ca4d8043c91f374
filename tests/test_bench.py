"""Smoke test of bench/run.py on the tiny size: the generator, the per-stage subprocesses, the result files,
and the HYE accuracy summary on a closed-form case. No timing is asserted."""

from __future__ import annotations

import importlib.util
import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench" / "run.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_run", BENCH)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_hye_summary_closed_form(bench):
    """Exact ratios (A/B = 1, 2, 0.25 for human, yeast, E. coli) give zero error whatever the protein levels."""
    prot = [f"P{i}_HUMAN" for i in range(6)] + ["Y1_YEAST", "Y2_YEAST"] + ["E1_ECOLI"]
    level = np.arange(len(prot), dtype=float) * 1.5 + 20
    shift = np.array([0.0] * 6 + [1.0, 1.0, -2.0])
    runs = [f"LFQ_Condition_{c}_Sample_Alpha_0{i}" for c in "AB" for i in (1, 2, 3)]
    X = pd.DataFrame([level + (shift if "_A_" in r else 0) for r in runs], index=runs, columns=prot)
    s = bench._hye_summary(X)
    assert s["n"] == 9
    # median centring shifts every log-ratio by the same amount: the median of the 9 log-ratios (0)
    assert s["median_abs_error"] == pytest.approx(0.0, abs=1e-12)
    assert s["YEAST"]["median_error"] == pytest.approx(0.0, abs=1e-12)
    assert s["ECOLI"]["n"] == 1


def test_generator_is_seeded(bench, tmp_path):
    a = bench.ensure_data(tmp_path / "a", 3, 200, 5, ("tsv",))["tsv"]
    b = bench.ensure_data(tmp_path / "b", 3, 200, 5, ("tsv",))["tsv"]
    c = bench.ensure_data(tmp_path / "c", 3, 200, 6, ("tsv",))["tsv"]
    assert a.read_bytes() == b.read_bytes() != c.read_bytes()


def test_tiny_run_writes_results(bench, tmp_path, capsys):
    stages = "read_parquet,modt,limma"
    assert bench.main(["--size", "tiny", "--stages", stages, "--out", str(tmp_path), "--timeout", "120"]) == 0
    printed = capsys.readouterr().out
    assert "| read_parquet |" in printed
    doc = json.loads((tmp_path / "results.json").read_text())
    res = doc["results"]
    assert set(res) == set(stages.split(","))
    r = res["read_parquet"]
    assert "error" not in r, r
    assert r["wall_s"] > 0 and r["peak_rss"] > r["baseline_rss"] > 0
    assert 0 < r["rows_kept"] <= r["rows"]
    assert res["modt"]["shape"] == [40, 300]
    if shutil.which("Rscript") is not None and "skipped" not in res["limma"]:
        # the same matrix through R limma: our moderated t agrees (this is also a correctness check)
        assert res["limma"]["max_abs_diff_t"] < 1e-8
        assert res["limma"]["max_abs_diff_t_missing5"] < 1e-8


@pytest.fixture(scope="module")
def panel_bench():
    spec = importlib.util.spec_from_file_location("bench_panel", BENCH.parent / "panel_cohorts.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_panel_variants_are_parsed_and_passed(panel_bench, tmp_path, monkeypatch):
    """--variant NAME=JSON reaches bench_cohort as settings; a variant that is not a JSON object is refused."""
    seen = {}

    def fake(name, *, seed, permutations, variants=None):
        seen[name] = variants
        return {"cohort": name, "n": 2, "n_positive": 1, "methods": {}, "permutation": None}

    monkeypatch.setattr(panel_bench, "bench_cohort", fake)
    monkeypatch.setattr(panel_bench, "SHARED", tmp_path)  # exists: the bench does not stop for missing data
    v = '{"selector": "moderated_t", "C_grid": [0.01, 0.1]}'
    assert panel_bench.main(["--cohorts", "cirrhosis", "--variant", f"ridge={v}", "--out", str(tmp_path)]) == 0
    assert seen == {"cirrhosis": {"ridge": {"selector": "moderated_t", "C_grid": [0.01, 0.1]}}}
    with pytest.raises(SystemExit) as e:
        panel_bench.main(["--cohorts", "cirrhosis", "--variant", "ridge={not json", "--out", str(tmp_path)])
    assert e.value.code == 2
    with pytest.raises(SystemExit) as e:  # a key PanelSettings does not have: refused before any work
        panel_bench.main(["--cohorts", "cirrhosis", "--variant", 'x={"selectr": "l1"}', "--out", str(tmp_path)])
    assert e.value.code == 2


LIVER_DATA = BENCH.parents[1].parent / "shared" / "data" / "alphastats_liver_plasma_maxquant"


@pytest.mark.skipif(not LIVER_DATA.exists(), reason="needs ../shared/data/alphastats_liver_plasma_maxquant")
@pytest.mark.parametrize("cohort, n_cases, n_controls, control", [
    ("t2d", 18, 10, "healthy"),  # metadata.xlsx: 8 T2D + 10 T2D with NAFLD, 10 healthy
    ("cirrhosis_vs_nafld", 10, 20, "control"),  # 10 cirrhosis; 10 NAFLD + 10 T2D with NAFLD
])
def test_panel_liver_contrasts_take_the_metadata_groups(panel_bench, cohort, n_cases, n_controls, control):
    X, y, positive = panel_bench.load_liver(cohort)
    assert positive == "disease"
    assert sorted(set(y)) == sorted({"disease", control})
    assert (y == "disease").sum() == n_cases and (y == control).sum() == n_controls
    assert X.shape[0] == n_cases + n_controls


BAL_DATA = BENCH.parents[1].parent / "shared" / "data" / "lung_repair_balf"


@pytest.mark.skipif(not BAL_DATA.exists(), reason="needs ../shared/data/lung_repair_balf")
def test_panel_bal_cohort_takes_the_sheet_groups(panel_bench):
    X, y, positive = panel_bench.load_bal()
    # SOURCES.md: VM1-VM8 on mechanical ventilation, CPAP1-CPAP4; 3,867 rows, less those without or repeating a gene
    assert positive == "ventilation" and (y == "ventilation").sum() == 8 and (y == "cpap").sum() == 4
    assert list(X.index[y == "cpap"]) == ["CPAP1", "CPAP2", "CPAP3", "CPAP4"]
    assert X.columns.is_unique and X.columns.notna().all() and X.shape[1] < 3867


def test_panel_bench_refuses_an_unknown_cohort_naming_the_choices(panel_bench, tmp_path, capsys):
    with pytest.raises(SystemExit) as e:
        panel_bench.main(["--cohorts", "lung", "--out", str(tmp_path)])
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert "unknown cohort" in err and "covid" in err and "cirrhosis_vs_nafld" in err
