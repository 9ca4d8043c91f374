"""The linear-model core: the closed-form cell-means fit equals the general QR fit (lm_fit)."""

from __future__ import annotations

import numpy as np

from proteomics.stats.linear import cell_means_fit, lm_fit


def test_cell_means_fit_equals_lm_fit():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(24, 300))
    X[rng.random(X.shape) < 0.2] = np.nan
    X[:12, 0] = np.nan  # whole class missing
    X[:, 1] = np.nan
    y = np.array(["a"] * 12 + ["b"] * 6 + ["c"] * 6)
    D = (y[:, None] == np.array(["a", "b", "c"])[None, :]).astype(float)
    ref, ours = lm_fit(X, D), cell_means_fit(X, D)
    for k in ("coefficients", "stdev_unscaled", "sigma", "df_residual", "amean", "cov_coefficients"):
        a, b = getattr(ref, k), getattr(ours, k)
        np.testing.assert_array_equal(np.isnan(a), np.isnan(b))
        np.testing.assert_allclose(np.nan_to_num(b), np.nan_to_num(a), rtol=1e-12, atol=1e-12)
