"""DEqMS-style count-aware prior: closed-form checks (DEqMS is not packaged for Debian, so no R oracle)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import special

from proteomics.dataset import Dataset
from proteomics.errors import InputError
from proteomics.stats._rmath import trigamma, trigamma_inverse
from proteomics.stats.deqms import count_prior, loess_quadratic
from proteomics.stats.limma import moderated_t


def test_loess_reproduces_a_quadratic_exactly():
    x = np.linspace(0, 5, 40)
    y = 1.5 - 0.3 * x + 0.2 * x ** 2
    np.testing.assert_allclose(loess_quadratic(x, y, span=0.75), y, atol=1e-10)


def test_equal_counts_reduce_to_moment_estimates():
    """All counts equal: the loess is the mean of log s², so s0² and d0 have closed forms (DEqMS's grid)."""
    rng = np.random.default_rng(4)
    d = 6.0
    s2 = 0.05 * rng.chisquare(d, 500) / d * rng.chisquare(8, 500) / 8
    pr = count_prior(s2, np.full(500, d), np.full(500, 3.0))
    e = np.log(s2) - special.digamma(d / 2) + math.log(d / 2)
    M = np.mean((e - e.mean()) ** 2) - trigamma(d / 2)
    d0_exact = 2 * float(trigamma_inverse(M)[0])
    assert abs(pr["df_prior"] - d0_exact) <= 0.1 + 1e-12
    assert round(pr["df_prior"] * 10) == pytest.approx(pr["df_prior"] * 10)           # on the 0.1 grid
    d0 = pr["df_prior"]
    np.testing.assert_allclose(pr["s2_prior"], math.exp(e.mean() + special.digamma(d0 / 2) - math.log(d0 / 2)),
                               rtol=1e-10)


def test_more_peptides_give_smaller_prior_variance():
    rng = np.random.default_rng(8)
    n_pep = rng.integers(1, 20, 800)
    sd = (0.1 + 0.5 / np.sqrt(n_pep)) * np.exp(rng.normal(0, 0.4, 800))
    groups = np.array(["A"] * 4 + ["B"] * 4)
    X = rng.normal(0, 1, (8, 800)) * sd + 20
    ds = Dataset(X, pd.DataFrame({"condition": groups}, index=[f"s{i}" for i in range(8)]),
                 pd.DataFrame(index=[f"p{j}" for j in range(800)]))
    res = moderated_t(ds, "B-A", weights_counts=n_pep + 1.0)
    s0 = res.table["s2_prior"].to_numpy()
    assert np.corrcoef(np.log(n_pep), np.log(s0))[0, 1] < -0.9
    assert res.method.startswith("DEqMS")
    # df_total = d0 + d_g, not capped at df.pooled
    assert np.isfinite(res.params["df_prior"]) and res.params["df_prior"] > 0
    np.testing.assert_allclose(res.table["df_total"], res.params["df_prior"] + 6)
    with pytest.raises(InputError, match="one peptide/PSM count per protein"):
        moderated_t(ds, "B-A", weights_counts=np.ones(3))
    with pytest.raises(InputError, match="positive"):
        moderated_t(ds, "B-A", weights_counts=np.zeros(800))
