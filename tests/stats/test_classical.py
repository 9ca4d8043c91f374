"""Welch t, Wilcoxon/Mann-Whitney and one-way ANOVA against scipy applied protein by protein."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from proteomics.dataset import Dataset
from proteomics.errors import InputError
from proteomics.stats.tests import anova, welch_t, wilcoxon


def _ds(seed=3, G=60):
    rng = np.random.default_rng(seed)
    groups = np.array(["ctl"] * 5 + ["case"] * 6 + ["copd"] * 4)
    X = rng.normal(20, 1, (groups.size, G))
    X[groups == "case", :10] += 1.5
    X[rng.random(X.shape) < 0.15] = np.nan
    X[:, 0] = np.nan                      # all missing
    X[groups == "ctl", 1] = np.nan        # one group missing
    X[:, 2] = 21.0                        # constant
    X[[0, 1, 5, 6], 3] = [1.0, 2.0, 3.0, 4.0]
    X[2:5, 3] = np.nan
    X[7:, 3] = np.nan                     # two observations per group (case/ctl)
    s = pd.DataFrame({"condition": groups}, index=[f"s{i}" for i in range(groups.size)])
    return Dataset(X, s, pd.DataFrame(index=[f"p{j}" for j in range(G)])), groups


def _obs(x):
    return x[~np.isnan(x)]


def test_welch_matches_scipy():
    ds, g = _ds()
    res = welch_t(ds, "case-ctl").table
    for j in range(ds.n_proteins):
        a, b = _obs(ds.X[g == "case", j]), _obs(ds.X[g == "ctl", j])
        if a.size < 2 or b.size < 2 or (np.var(a) == 0 and np.var(b) == 0):
            assert np.isnan(res.loc[j, "p_value"])
            continue
        r = stats.ttest_ind(a, b, equal_var=False)
        assert res.loc[j, "t"] == pytest.approx(r.statistic, rel=1e-10)
        assert res.loc[j, "p_value"] == pytest.approx(r.pvalue, rel=1e-9)
        assert res.loc[j, "log2fc"] == pytest.approx(a.mean() - b.mean(), rel=1e-12)
        ci = r.confidence_interval(0.95)
        assert res.loc[j, "ci_low"] == pytest.approx(ci.low, rel=1e-9)
        assert res.loc[j, "ci_high"] == pytest.approx(ci.high, rel=1e-9)


def test_wilcoxon_matches_scipy():
    ds, g = _ds()
    res = wilcoxon(ds, "case-ctl").table
    for j in range(ds.n_proteins):
        a, b = _obs(ds.X[g == "case", j]), _obs(ds.X[g == "ctl", j])
        if a.size == 0 or b.size == 0:
            assert np.isnan(res.loc[j, "p_value"])
            continue
        r = stats.mannwhitneyu(a, b, alternative="two-sided")
        assert res.loc[j, "U"] == pytest.approx(r.statistic)
        assert res.loc[j, "p_value"] == pytest.approx(r.pvalue, rel=1e-12)


def test_anova_matches_scipy():
    ds, g = _ds()
    res = anova(ds).table
    for j in range(ds.n_proteins):
        parts = [_obs(ds.X[g == lev, j]) for lev in ("case", "copd", "ctl")]
        parts = [p for p in parts if p.size]
        if len(parts) < 2 or sum(p.size for p in parts) - len(parts) < 1 or all(np.var(p) == 0 for p in parts):
            assert np.isnan(res.loc[j, "p_value"])
            continue
        r = stats.f_oneway(*parts)
        assert res.loc[j, "F"] == pytest.approx(r.statistic, rel=1e-10)
        assert res.loc[j, "p_value"] == pytest.approx(r.pvalue, rel=1e-9)


def test_two_group_tests_refuse_other_contrasts():
    ds, _ = _ds()
    with pytest.raises(InputError, match="not a difference of two groups"):
        welch_t(ds, "(case+copd)/2-ctl")
