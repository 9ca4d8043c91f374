"""QC tables: closed-form values, planted outliers and planted contamination."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from proteomics import qc
from proteomics.dataset import Dataset


def _ds(X, genes=None, specimen="plasma", condition=None):
    n, p = X.shape
    samples = pd.DataFrame({"condition": condition or ["a"] * (n // 2) + ["b"] * (n - n // 2),
                            "specimen": specimen}, index=[f"s{i:02d}" for i in range(n)])
    genes = genes or [f"G{j}" for j in range(p)]
    return Dataset(X, samples, pd.DataFrame({"gene": genes}, index=[f"P{j:03d}" for j in range(p)]))


def _base(n=16, p=200, seed=0):
    rng = np.random.default_rng(seed)
    prot = rng.normal(24, 2, p)
    return prot[None, :] + rng.normal(0, 0.3, (n, p))


def test_sample_qc_closed_form_and_planted_outliers():
    X = _base()
    X[3] = np.random.default_rng(9).permutation(X[3])  # scrambled sample: unrelated profile
    X[5, :120] = np.nan  # 60 % missing
    X[7, 10:20] = np.nan
    t = qc.sample_qc(_ds(X))
    assert list(t["sample"]) == [f"s{i:02d}" for i in range(16)]
    assert t.loc[7, "n_proteins"] == 190 and t.loc[7, "missing_fraction"] == pytest.approx(0.05)
    assert t.loc[0, "median_log2"] == pytest.approx(np.median(X[0]))
    ref = pd.DataFrame(X.T).corr()  # pandas: pairwise-complete Pearson
    assert t.loc[0, "median_correlation"] == pytest.approx(np.median(ref.iloc[0, 1:]), abs=1e-10)
    assert t.loc[3, "correlation_flag"] and t.loc[3, "outlier"]
    assert t.loc[5, "missing_flag"] and t.loc[5, "n_proteins_flag"] and t.loc[5, "outlier"]
    assert t["outlier"].sum() == 2


def test_sample_qc_pca_outlier_detects_shifted_subset():
    X = _base()
    X[11, :100] += 2.5  # half of the proteins shifted: profile distorted, correlation still high
    t = qc.sample_qc(_ds(X))
    assert t.loc[11, "pca_outlier"]
    assert t["pca_outlier"].sum() == 1


def test_protein_qc_linear_cv_and_group_missingness():
    X = np.log2(np.array([[1.0, 4.0], [2.0, np.nan], [3.0, 4.0], [10.0, 8.0], [10.0, np.nan], [10.0, np.nan]]))
    t = qc.protein_qc(_ds(X, condition=["a", "a", "a", "b", "b", "b"]), group="condition")
    assert t.loc[0, "cv_a"] == pytest.approx(np.std([1, 2, 3], ddof=1) / 2)
    assert t.loc[0, "cv_b"] == 0.0
    assert t.loc[1, "missing_a"] == pytest.approx(1 / 3) and t.loc[1, "missing_b"] == pytest.approx(2 / 3)
    assert np.isnan(t.loc[1, "cv_b"])  # one value
    assert t.loc[1, "n_valid"] == 3 and list(t["protein_group"]) == ["P000", "P001"]
    assert "cv" in t and "gene" in t


def test_contamination_flags_planted_samples():
    rng = np.random.default_rng(2)
    genes = ["HBB", "HBA1;HBA2", "CA1", "PRDX2", "PF4", "PPBP", "TLN1", "FGA", "FGB", "FGG"]
    genes += [f"G{j}" for j in range(190)]
    X = _base(n=20)
    X[4, :4] += 3.0  # haemolysis: erythrocyte markers up
    X[9, 4:7] += 2.5  # platelet markers up
    X[13, 7:10] -= 2.5  # fibrinogen consumed
    X[15, 0] = np.nan  # a missing marker alone must not move the index
    t = qc.contamination_qc(_ds(X, genes=genes))
    flagged = {p: set(t.loc[t[f"{p}_flag"], "sample"]) for p in qc.BLOOD_PANELS}
    assert flagged == {"erythrocyte": {"s04"}, "platelet": {"s09"}, "coagulation": {"s13"}}
    assert set(t.loc[t["contamination_flag"], "sample"]) == {"s04", "s09", "s13"}
    assert t.loc[4, "erythrocyte_index"] == pytest.approx(3.0, abs=0.5)
    assert t.loc[15, "erythrocyte_n_markers"] == 3
    assert t.loc[0, "erythrocyte_share"] < 0
    assert rng is not None


def test_contamination_index_is_not_moved_by_how_much_was_loaded():
    """A haemolysed sample loaded 5 log2 low (everything lower, its red-cell markers 3 log2 up on top) is flagged;
    a clean sample loaded 3 log2 high is not: the index is the markers' deviation less the sample's own."""
    genes = ["HBB", "HBA1;HBA2", "CA1", "PRDX2"] + [f"G{j}" for j in range(196)]
    X = _base(n=16)
    X[2, :] -= 5.0
    X[2, :4] += 3.0
    X[7, :] += 3.0
    t = qc.contamination_qc(_ds(X, genes=genes))
    assert set(t.loc[t["erythrocyte_flag"], "sample"]) == {"s02"}
    assert t.loc[2, "erythrocyte_index"] == pytest.approx(3.0, abs=0.5)
    assert abs(t.loc[7, "erythrocyte_index"]) < 0.5


def test_bundled_cohort_flags_exactly_its_planted_cases():
    """sample_data/README.md plants haemolysis in P003, P004, P032 (and N003, a new patient loaded 5 log2 low)
    and a partial clot in P008: those, and no other sample, are flagged, in the training runs alone and with
    the new patients' runs beside them."""
    import proteomics as pt

    repo = Path(__file__).resolve().parents[2] / "sample_data"
    sheet = pt.SampleSheet.read(repo / "sheet.csv").subset(specimen="plasma")
    train = pt.quantify(pt.read(repo / "plasma" / "report.tsv.gz"), sheet, method="top3")
    new = pt.quantify(pt.read(repo / "new_patients" / "report.tsv.gz"),
                      pt.SampleSheet.read(repo / "new_patients" / "sheet.csv", group=None), method="top3")
    A, B = train.to_frame(), new.to_frame()
    X = pd.concat([A, B]).astype(float)
    both = Dataset(X.to_numpy(), pd.concat([train.samples[["specimen"]], new.samples[["specimen"]]]),
                   train.proteins.reindex(X.columns).combine_first(new.proteins.reindex(X.columns)))
    truth = {"erythrocyte": {"P003_plasma", "P004_plasma", "P032_plasma"}, "platelet": set(),
             "coagulation": {"P008_plasma"}}
    for ds, extra in ((train, set()), (both, {"N003_plasma"})):
        t = qc.contamination_qc(ds)
        flagged = {p: set(t.loc[t[f"{p}_flag"], "sample"]) for p in qc.BLOOD_PANELS}
        assert flagged == {**truth, "erythrocyte": truth["erythrocyte"] | extra}


def test_contamination_only_for_blood_and_notes():
    X = _base(n=6)
    assert len(qc.contamination_qc(_ds(X, specimen="BAL"))) == 0
    assert len(qc.contamination_qc(_ds(X, specimen="BAL"), specimen="serum")) == 6
    assert "dilution" in qc.specimen_notes("BAL")[0] and "DTT" in qc.specimen_notes("sputum")[0]
    assert "Geyer" in qc.specimen_notes("plasma")[0] and qc.specimen_notes("tissue") == []
    m = qc.load_markers()
    assert set(qc.BLOOD_PANELS) <= set(m["panel"]) and {"HBB", "PF4", "FGA"} <= set(m["gene"])
    assert "10.15252/emmm.201910427" in qc.MARKER_SOURCE


def test_long_tables_for_plots():
    X = _base(n=6, p=20)
    X[0, 0] = np.nan
    ds = _ds(X)
    it = qc.intensity_table(ds, stage="raw")
    assert len(it) == 6 * 20 - 1 and set(it.columns) == {"sample", "protein_group", "log2", "stage"}
    pt = qc.pca_table(ds)
    assert list(pt.columns[:3]) == ["sample", "PC1", "PC2"] and "condition" in pt
    assert sum(pt.attrs["explained_variance_ratio"]) <= 1.0 + 1e-12


def test_haemolysis_check_needs_a_batch_and_flags_only_the_planted_sample():
    genes = ["HBB", "HBA1;HBA2", "CA1", "PRDX2"] + [f"G{j}" for j in range(196)]
    X = _base(n=8)
    X[4, :4] += 3.0  # haemolysis: erythrocyte markers up
    status = qc.haemolysis_check(_ds(X, genes=genes))
    assert status["s04"].startswith("possible haemolysis: ") and "8 plasma/serum samples" in status["s04"]
    assert all(v.startswith("not flagged: ") for k, v in status.items() if k != "s04")
    # fewer plasma/serum samples than HAEMOLYSIS_MIN_SAMPLES: no z-score against a batch that small
    few = qc.haemolysis_check(_ds(X[[0, 1, 4]], genes=genes))
    assert all(v.startswith("not checked: 3 plasma/serum samples") for v in few)
    assert qc.HAEMOLYSIS_MIN_SAMPLES == 5
    assert all(v.startswith("not applicable") for v in qc.haemolysis_check(_ds(X, genes=genes, specimen="BAL")))
