"""FDR corrections against R (oracles/fdr.R: p.adjust and qvalue 2.30.0) and closed-form cases."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from proteomics.errors import InputError
from proteomics.stats import fdr
from tests.conftest import need_oracle


@pytest.mark.parametrize("name,method,pi0_tol", [
    ("fdr_limma_default", "smoother", 1e-12),          # pi0 = 1 (capped)
    ("fdr_limma_complete", "smoother", 1e-11),
    ("fdr_limma_complete_bootstrap", "bootstrap", 1e-12),
])
def test_against_r(name, method, pi0_tol):
    o = pd.read_csv(need_oracle("examples", "outputs", f"{name}.csv"))
    pi = pd.read_csv(need_oracle("examples", "outputs", f"{name}.pi0.csv"))
    p = o["p"].to_numpy(dtype=float)
    np.testing.assert_allclose(fdr.bh(p), o["BH"], rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(fdr.by(p), o["BY"], rtol=1e-12, atol=1e-15)
    r_pi0 = float(pi["pi0"].iloc[0])
    assert abs(fdr.pi0_estimate(p, method=method) - r_pi0) < pi0_tol
    np.testing.assert_allclose(fdr.storey(p, method=method), o["qvalue"], rtol=pi0_tol / r_pi0 * 2, atol=1e-15)
    assert np.array_equal(np.isnan(fdr.adjust(p, "bh")), np.isnan(o["BH"]))


def test_nan_not_counted_in_m():
    p = np.array([0.01, np.nan, 0.04, np.nan])
    np.testing.assert_allclose(fdr.bh(p), [0.02, np.nan, 0.04, np.nan])  # m = 2
    # BY: multiply by 1 + 1/2
    np.testing.assert_allclose(fdr.by(p), [0.03, np.nan, 0.06, np.nan])


def test_ties_stay_tied_and_single_lambda():
    p = np.array([0.02, 0.02, 0.5, 0.9])
    q = fdr.bh(p)
    assert q[0] == q[1] == 0.04
    # one lambda: pi0 = min(1, #{p >= 0.5} / (m (1 - 0.5))) = 2 / 2 = 1
    assert fdr.pi0_estimate(p, lambdas=[0.5]) == 1.0
    with pytest.raises(InputError):
        fdr.adjust(p, "holm-ish")


def test_smoothing_spline_matches_r_curve():
    """The whole smoothed π0(λ) curve written by qvalue (pi0.smooth column) agrees with our smooth.spline."""
    o = pd.read_csv(need_oracle("examples", "outputs", "fdr_limma_complete.csv"))
    pi = pd.read_csv(need_oracle("examples", "outputs", "fdr_limma_complete.pi0.csv"))
    p = o["p"].dropna().to_numpy()
    lam = fdr.LAMBDAS
    raw = np.array([np.sum(p >= v) for v in lam]) / (p.size * (1 - lam))
    np.testing.assert_allclose(raw, pi["pi0"].iloc[1:], rtol=1e-14)
    np.testing.assert_allclose(fdr.smooth_spline_df(lam, raw, 3.0), pi["pi0.smooth"].iloc[1:], atol=1e-11)


def test_bh_is_statsmodels_to_the_last_bit_and_the_only_one():
    """The package's one BH equals statsmodels' fdr_bh exactly (random p-values with ties and NaN); the stratifier
    associations and the robust variance squeeze use this same function."""
    from statsmodels.stats.multitest import multipletests

    from proteomics.stats import _squeeze
    from proteomics.stratify import associations

    rng = np.random.default_rng(7)
    for m in (1, 2, 17, 1000):
        p = np.round(rng.random(m) ** 2, 3)
        p[rng.random(m) < 0.1] = np.nan
        ok = ~np.isnan(p)
        want = np.full(m, np.nan)
        if ok.any():
            want[ok] = multipletests(p[ok], method="fdr_bh")[1]
        np.testing.assert_array_equal(fdr.bh(p), want)
    assert associations.bh is fdr.bh and _squeeze.bh is fdr.bh
