"""Robust mode normalisation against simulator truth (known per-sample offsets, asymmetric changes)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from proteomics.preprocess import STEPS, mode
from proteomics.preprocess.mode import ModeNormalizer, log_ratio_mode, mode_diagnostics


def _asymmetric(seed=3, n_per_group=4, n_prot=3000, frac_up=0.35, up=1.5):
    """Group B has ``frac_up`` of proteins raised by ``up`` (log2); every sample has a known loading offset."""
    rng = np.random.default_rng(seed)
    n = 2 * n_per_group
    base = rng.normal(22, 2, n_prot)
    offsets = rng.normal(0, 0.6, n)
    X = base[None, :] + rng.normal(0, 0.2, (n, n_prot)) + offsets[:, None]
    changed = rng.random(n_prot) < frac_up
    X[n_per_group:, changed] += up
    names = [f"S{i}" for i in range(n)]
    return pd.DataFrame(X, index=names, columns=[f"P{j}" for j in range(n_prot)]), offsets, changed


def test_mode_recovers_true_offsets_where_median_fails():
    X, offsets, _ = _asymmetric()
    out = ModeNormalizer().fit_transform(X)
    applied = (X - out).to_numpy()[:, 0]                       # offset subtracted from each sample
    # only differences between samples are identifiable: compare after removing the mean
    err_mode = (applied - applied.mean()) - (offsets - offsets.mean())
    # measured 0.006 (seeds 3, 5, 7); 0.03 is 1/10 of the error of median centring below
    assert np.max(np.abs(err_mode)) < 0.03, err_mode
    med = STEPS["normalize_median"]().fit_transform(X)
    applied_med = (X - med).to_numpy()[:, 0]
    err_med = (applied_med - applied_med.mean()) - (offsets - offsets.mean())
    # median centring absorbs part of the 35 % shift into the B offsets: the B median moves by about 0.55
    # log2, i.e. ±0.27 around the mean of all samples, in every sample
    assert np.min(np.abs(err_med)) > 0.2


def test_unchanged_proteins_centred_after_mode_normalisation():
    X, _, changed = _asymmetric(seed=5)
    out = ModeNormalizer().fit_transform(X).to_numpy()
    diff = out[4:, ~changed].mean(axis=0) - out[:4, ~changed].mean(axis=0)
    assert abs(np.median(diff)) < 0.02
    diff_up = out[4:, changed].mean(axis=0) - out[:4, changed].mean(axis=0)
    assert abs(np.median(diff_up) - 1.5) < 0.03


def test_mode_of_known_mixture_and_bimodal_flag():
    rng = np.random.default_rng(0)
    main = rng.normal(0.4, 0.15, 6000)
    side = rng.normal(-1.6, 0.15, 2000)                        # a quarter of proteins moved together
    fit = log_ratio_mode(np.concatenate([main, side]))
    assert abs(fit.offset - 0.4) < 0.01
    assert 0.2 < fit.off_peak_fraction < 0.3                    # truth: 25 % off the main peak
    assert fit.second_peak_ratio < 0.5
    two = log_ratio_mode(np.concatenate([rng.normal(0, 0.15, 4000), rng.normal(2, 0.15, 3800)]))
    assert two.second_peak_ratio > 0.8                          # two peaks of similar height are flagged


def test_few_values_fall_back_to_median_and_empty_sample_stays_missing():
    fit = log_ratio_mode(np.array([0.1, 0.5, 2.0]))
    assert fit.method == "median" and fit.offset == 0.5
    X, _, _ = _asymmetric(n_prot=200)
    step = ModeNormalizer().fit(X)
    Y = X.copy()
    Y.iloc[0, :] = np.nan
    out = step.transform(Y)
    assert out.iloc[0].isna().all() and out.iloc[1:].notna().all().all()
    table, fits = mode_diagnostics(step, X)
    assert list(table["sample"]) == list(X.index) and set(fits) == set(X.index)
    assert np.allclose(table["offset"].to_numpy(), step.offsets(X))


def _plain_mean_shift(d, start, h, tol=1e-13, max_iter=100_000):
    """Reference: textbook mean shift (Fukunaga & Hostetler 1975), iterated to full convergence."""
    d = d[np.abs(d - start) < 6 * h]
    m = start
    for _ in range(max_iter):
        w = np.exp(-0.5 * ((d - m) / h) ** 2)
        new = float(np.dot(w, d) / w.sum())
        if abs(new - m) < tol:
            return new
        m = new
    raise AssertionError("reference mean shift did not converge")


def test_peak_search_reaches_the_fixed_point_of_plain_mean_shift():
    """The Newton-accelerated peak search ends where textbook mean shift ends when run to convergence, also with a
    narrow window on a flat-topped or two-peaked sample (where 200 plain steps stop short of it)."""
    rng = np.random.default_rng(11)
    for _ in range(300):
        d = np.concatenate([rng.normal(rng.normal(), rng.uniform(0.05, 0.5), rng.integers(30, 2000)),
                            rng.normal(1.5, 0.3, rng.integers(0, 400))])
        h = mode._bandwidth(d)
        grid, dens = mode._kde_grid(d, h)
        start = float(grid[np.argmax(dens)])
        for width in (0.5 * h, h, 2 * h):
            assert mode._mean_shift(d, start, width) == pytest.approx(_plain_mean_shift(d, start, width), abs=1e-8)


def test_peak_of_a_symmetric_sample_is_its_centre():
    """Closed form: the kernel density of values placed symmetrically about c has its peak at c."""
    half = np.array([0.05, 0.1, 0.2, 0.4, 0.8, 1.6])
    d = 2.5 + np.concatenate([-half, half, [0.0]])
    assert mode._mean_shift(d, 2.6, 0.3) == pytest.approx(2.5, abs=1e-12)


def test_bandwidth_quartiles_equal_numpys():
    """The partition-based quartiles of the bandwidth rule are numpy's linear-interpolation quantiles, bit for bit
    (sizes 2–500, with and without ties)."""
    rng = np.random.default_rng(5)
    for n in list(range(2, 40)) + [99, 100, 101, 340, 500]:
        for ties in (False, True):
            d = rng.normal(0, 0.7, n)
            d = np.round(d, 1) if ties else d
            sd = float(np.std(d, ddof=1))
            q75, q25 = np.quantile(d, [0.75, 0.25])
            spread = min(sd, (q75 - q25) / 1.349) if q75 > q25 else sd
            assert mode._bandwidth(d) == max(0.9 * spread * n ** (-0.2), 1e-3)
