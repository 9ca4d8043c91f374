"""differential(): hybrid/limma/dpc models, the test column, one BH family, several contrasts; dpc on simulator
truth."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit

from proteomics.dataset import Dataset
from proteomics.errors import InputError
from proteomics.stats.differential import differential
from proteomics.stats.fdr import bh
from proteomics.stats.limma import moderated_t


def _simulated(n=4, rows=3000, seed=5, groups=("A", "B")):
    """Known truth: 20 % of proteins change by ±1 or ±2 log2 in B; detection logistic in intensity."""
    rng = np.random.default_rng(seed)
    mu = rng.normal(21, 2.5, rows)
    truth = rng.random(rows) < 0.2
    eff = np.where(truth, rng.choice([-2.0, -1.0, 1.0, 2.0], rows), 0.0)
    k = len(groups)
    Y = mu[None, :] + rng.normal(0, 0.4, (k * n, rows))
    Y[n:2 * n] += eff
    D = np.where(rng.random(Y.shape) < expit(-20 + Y), Y, np.nan)
    keep = np.isfinite(D).sum(axis=0) > 0
    s = pd.DataFrame({"condition": [g for g in groups for _ in range(n)]}, index=[f"s{i}" for i in range(k * n)])
    return Dataset(D[:, keep], s, pd.DataFrame(index=[f"p{j}" for j in range(int(keep.sum()))])), truth[keep]


def test_limma_model_is_moderated_t_unchanged():
    ds, _ = _simulated()
    ref = moderated_t(ds, "B-A").table
    out = differential(ds, "B-A", model="limma").table
    pd.testing.assert_series_equal(out["p_value"], ref["p_value"])
    pd.testing.assert_series_equal(out["q_value"], ref["q_value"])
    assert set(out["test"]) <= {"moderated_t", ""}


def test_hybrid_adds_detection_rows_to_one_family_for_every_contrast():
    ds, _ = _simulated(groups=("A", "B", "C"))
    res = differential(ds, ["B-A", "C-A", "C-B"])
    for r in res:
        t = r.table
        det = t["test"] == "detection"
        assert det.any()
        assert t.loc[det, "log2fc"].isna().all() and t.loc[~det & (t["test"] != ""), "t"].notna().all()
        assert np.array_equal(t["q_value"].to_numpy(), bh(t["p_value"].to_numpy()), equal_nan=True)
        pos, neg = r.contrast.split("-")
        assert set(t.loc[det, "detected_in"]) <= {pos, neg}


def test_detection_pools_the_groups_on_each_side_of_an_averaged_contrast():
    ds, _ = _simulated(groups=("A", "B", "C"))
    t = differential(ds, "(B+C)/2-A", detection="binomial").table.set_index("protein_group")
    X = np.asarray(ds.X)
    g = ds.samples["condition"].to_numpy()
    k_pos = np.isfinite(X[np.isin(g, ["B", "C"])]).sum(axis=0)
    k_neg = np.isfinite(X[g == "A"]).sum(axis=0)
    limma_p = moderated_t(ds, "(B+C)/2-A").table["p_value"].to_numpy()
    # expected from the data alone: untestable by limma and seen on exactly one side (B and C pooled, or A)
    expect = ~np.isfinite(limma_p) & ((k_pos > 0) != (k_neg > 0))
    det = (t["test"] == "detection").to_numpy()
    assert expect.sum() > 20 and np.array_equal(det, expect)
    side = np.where(k_pos > 0, "B+C", "A")
    assert np.array_equal(t["detected_in"].to_numpy()[det], side[det])
    # binomial test on the pooled counts: Fisher's exact test on the 2 × 2 table, computed here with scipy
    from scipy.stats import fisher_exact
    j = int(np.flatnonzero(det)[0])
    n_pos, n_neg = int(np.isin(g, ["B", "C"]).sum()), int((g == "A").sum())
    ref = fisher_exact([[k_pos[j], n_pos - k_pos[j]], [k_neg[j], n_neg - k_neg[j]]])[1]
    assert t["p_value"].iloc[j] == pytest.approx(ref)
    assert np.array_equal(t["q_value"].to_numpy(), bh(t["p_value"].to_numpy()), equal_nan=True)
    # a contrast that is not between group means (weights not summing to zero) gets no detection rows
    other = differential(ds, "B")
    assert "detection" not in set(other.table["test"])


def test_dpc_controls_fdr_on_simulated_truth_and_tests_every_detected_protein():
    ds, truth = _simulated()
    t = differential(ds, "B-A", model="dpc").table
    assert (t["test"] == "dpc").all()                          # every protein has a value somewhere
    call = t["q_value"].to_numpy() < 0.05
    fdp = (call & ~truth).sum() / max(call.sum(), 1)
    # measured 0.018 at q < 0.05 on this seed; the tolerance allows sampling noise around the nominal 5 %
    assert fdp <= 0.07, fdp
    assert (call & truth).sum() > 0.5 * truth.sum()
    assert {"weight", "df_residual", "s2_prior"} <= set(t.columns)
    assert ((t["weight"] > 0) & (t["weight"] <= 1)).all()


def test_dpc_refuses_covariates_and_unknown_model():
    ds, _ = _simulated(rows=300)
    with pytest.raises(InputError):
        differential(ds, "B-A", model="dpc", covariates=("condition",))
    with pytest.raises(InputError, match="unknown DE model"):
        differential(ds, "B-A", model="nope")
