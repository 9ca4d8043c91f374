"""Empirical-Bayes variance prior, part 2: limma's fitFDistUnequalDF1 (the current estimator) and squeezeVar;
fitFDist and fitFDistRobustly are in ``_fdist.py``.

All variances are on the log2-intensity scale squared (residual variances of log2 abundances), one value
per protein. Numbers follow limma 3.54.1 (legacy) and limma 3.63.2 (current) as described in
ALGORITHMS.md §1.3-1.5; comments name the limma step reproduced.
"""

from __future__ import annotations

import logging
import math

import numpy as np
from scipy import special, stats

from ._fdist import Prior, fit_f_dist, fit_f_dist_robustly, monotone_shrunk
from ._lowess import weighted_lowess_fit
from ._rmath import (
    brent_fmin,
    logmdigamma,
    r_quantile,
    r_rank,
    trigamma,
)
from .fdr import bh

log = logging.getLogger(__name__)


def choose_lowess_span(n: int, small_n: int = 50, min_span: float = 0.3, power: float = 1 / 3) -> float:
    """limma ``chooseLowessSpan``."""
    return min(min_span + (1 - min_span) * (small_n / n) ** power, 1.0)


def fit_f_dist_unequal_df1(x: np.ndarray, df1: np.ndarray, covariate: np.ndarray | None = None,
                           robust: bool = False, prior_weights: np.ndarray | None = None) -> Prior:
    """limma ``fitFDistUnequalDF1`` (≥ 3.62): profile maximum likelihood for d0, df.prior in [2, 9998]."""
    x = np.asarray(x, dtype=float).copy()
    n = x.size
    df1 = np.broadcast_to(np.asarray(df1, dtype=float), (n,)).copy()
    pw = None if prior_weights is None else np.asarray(prior_weights, dtype=float).copy()
    na = np.isnan(x)
    if na.any():
        pw = (~na).astype(float) if pw is None else np.where(na, 0.0, pw)
        x[na] = 0
    if df1.min() < 0.01:
        i = df1 < 0.01
        pw = (~i).astype(float) if pw is None else np.where(i, 0.0, pw)
        df1[i] = 1
    has_pw = pw is not None
    info = x > 0
    if has_pw:
        info &= pw != 0
    n_info = int(info.sum())
    if n_info < 2:
        return Prior(np.nan, np.nan)
    if n_info == 2:
        covariate = None
        robust = False
        pw = None
        has_pw = False
    m = float(np.median(x[info]))
    xpos = np.maximum(x, 1e-12 * m)
    z = np.log(xpos)
    d1 = df1 / 2
    e = z + logmdigamma(d1)
    w = 1 / trigamma(d1)
    if has_pw:
        w = w * pw
    if covariate is None:
        emean = float(np.sum(w * e) / np.sum(w))
    else:
        span = choose_lowess_span(n, small_n=500)
        wq = w / r_quantile(w, 0.75)
        emean = weighted_lowess_fit(e, covariate, weights=np.clip(wq, 1e-8, 1e2), span=span)
    d1x = d1 * xpos
    lg_d1 = special.gammaln

    def m2ll(par):
        d2 = par / (1 - par)
        d2s20 = d2 * np.exp(emean - logmdigamma(d2))
        terms = -(d1 + d2) * np.log1p(d1x / d2s20) - d1 * np.log(d2s20) + lg_d1(d1 + d2) - lg_d1(d2)
        if has_pw:
            terms = pw * terms
        return -2 * float(np.sum(terms))

    par = brent_fmin(m2ll, 0.5, 0.9998)
    d2 = par / (1 - par)
    s20 = np.exp(emean - logmdigamma(d2))
    if not robust:
        return Prior(s20, 2 * d2)
    df2 = 2 * d2
    fstat = x / s20
    right = stats.f.sf(fstat, df1, df2)
    left = 1 - right
    if left.min() < 0.001:
        i = left < 0.001
        left[i] = stats.f.cdf(np.broadcast_to(fstat, (n,))[i], df1[i], df2)
    two = 2 * np.minimum(left, right)
    fdr = bh(two)
    fdr[fdr > 0.3] = 1
    if np.min(fdr) == 1:
        return Prior(s20, df2)
    outpw = fit_f_dist_unequal_df1(x, df1, covariate, robust=False, prior_weights=fdr)
    s20, df2 = outpw.scale, outpw.df2
    r = r_rank(fstat)
    uni = (n - r + 0.5) / n
    pno = np.minimum(right / uni, 1)
    if np.min(pno) == 1:
        return outpw
    i = int(np.argmin(right))
    min_right = right[i]
    if min_right == 0:
        shrunk = pno * df2
    else:
        df2_out = math.log(0.5) / math.log(min_right) * df2
        new_log = float(stats.f.logsf(np.broadcast_to(fstat, (n,))[i], df1[i], df2_out))
        df2_out = math.log(0.5) / new_log * df2_out
        shrunk = pno * df2 + (1 - pno) * df2_out
    shrunk = monotone_shrunk(shrunk, right)
    return Prior(s20, df2, shrunk)


# -- squeezeVar ---------------------------------------------------------------------------------------
def squeeze_var(var: np.ndarray, df: np.ndarray, covariate: np.ndarray | None = None, robust: bool = False,
                winsor_tail_p=(0.05, 0.1), legacy: bool | None = None) -> dict:
    """limma ``squeezeVar``: posterior variances (log2 scale²), one per protein.

    Returns a dict with ``df_prior`` (scalar or per protein), ``var_prior`` (s0², scalar or per protein),
    ``var_post`` (per protein) and ``legacy`` (the estimator actually used).
    """
    var = np.asarray(var, dtype=float).copy()
    df = np.broadcast_to(np.asarray(df, dtype=float), var.shape).copy()
    n = var.size
    if n == 0:
        raise ValueError("var is empty")
    if n == 1:
        return {"var_post": var, "var_prior": var, "df_prior": 0.0, "legacy": True}
    var[df == 0] = 0
    if legacy is None:
        dfp = df[df > 0]
        legacy = bool(dfp.size and dfp.min() == dfp.max())
    if legacy:
        if robust:
            fit = fit_f_dist_robustly(var, df, covariate, winsor_tail_p)
            df_prior = fit.df2_shrunk
        else:
            fit = fit_f_dist(var, df, covariate)
            df_prior = fit.df2
    else:
        fit = fit_f_dist_unequal_df1(var, df, covariate, robust=robust)
        df_prior = fit.df2_shrunk if fit.df2_shrunk is not None else fit.df2
    if np.any(np.isnan(df_prior)):
        raise ValueError("Could not estimate prior df")
    var_post = _posterior(var, df, fit.scale, df_prior)
    return {"var_post": var_post, "var_prior": fit.scale, "df_prior": df_prior, "legacy": legacy}


def _posterior(var, df, var_prior, df_prior) -> np.ndarray:
    """limma ``.squeezeVar``: (d s² + d0 s0²)/(d + d0), with d0 = Inf giving s0²."""
    n = var.size
    dp = np.broadcast_to(np.asarray(df_prior, dtype=float), (n,))
    vp = np.broadcast_to(np.asarray(var_prior, dtype=float), (n,))
    if np.all(np.isfinite(dp)):
        return (df * var + dp * vp) / (df + dp)
    out = vp.copy()
    fin = np.isfinite(dp)
    out[fin] = (df[fin] * var[fin] + dp[fin] * vp[fin]) / (df[fin] + dp[fin])
    return out
