"""Count-aware variance prior in the manner of DEqMS (Zhu et al. 2020, MCP 19:1047; ALGORITHMS.md §2).

A protein quantified from many peptides/PSMs has a smaller variance than one from a single peptide; DEqMS
lets the prior variance depend on the count: ``log s_g²`` is regressed on ``log2(count_g)`` by loess
(span 0.75, local quadratic), the prior df ``d0`` is found on DEqMS's 0.1 grid from the residual moments,
and each protein gets ``s0²_g = exp(fitted_g − digamma(d_g/2) + log(d_g/2) + digamma(d0/2) − log(d0/2))``. Then
``s̃²_g = (d0 s0²_g + d_g s_g²)/(d0 + d_g)``, ``t = β̂/(u_g s̃_g)`` and ``df = d0 + d_g`` (DEqMS does not
cap it at df.pooled). Differences from the R package, documented: the loess is evaluated exactly at every
count (R's ``loess`` interpolates on a k-d tree), and a protein with ``d_g = 0`` gets ``s̃² = s0²_g`` as in
limma (DEqMS returns NA). Variances are log2-scale², counts are plain numbers (e.g. the minimum number of
PSMs or peptides over samples, plus 1 for LFQ data, as the DEqMS vignette recommends).
"""

from __future__ import annotations

import math

import numpy as np
from scipy import special, stats

from ..errors import InputError
from ._rmath import trigamma
from .linear import EBayesResult, LinearFit, f_stat, p_two_sided

__all__ = ["loess_quadratic", "count_prior", "count_ebayes"]


def loess_quadratic(x: np.ndarray, y: np.ndarray, span: float = 0.75, xout: np.ndarray | None = None) -> np.ndarray:
    """Local quadratic regression with tricube weights over the ``ceil(span·n)`` nearest points (R
    ``loess(degree=2, family="gaussian", surface="direct")``), evaluated at ``xout`` (default ``x``)."""
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    xo = x if xout is None else np.asarray(xout, dtype=float)
    ux, inv = np.unique(xo, return_inverse=True)
    n = x.size
    q = min(n, int(math.floor(n * span + 1e-5)))
    if q < 3:
        raise InputError("too few proteins for the count trend", hint="use the plain moderated t")
    fit = np.empty(ux.size)
    for i, x0 in enumerate(ux):          # one local fit per distinct count (few), vectorised over proteins
        dist = np.abs(x - x0)
        h = np.partition(dist, q - 1)[q - 1]
        if span > 1:
            h *= span ** 0.5
        h = max(h, 1e-12)
        w = np.clip(1 - (dist / h) ** 3, 0, None) ** 3
        B = np.column_stack([np.ones(n), x - x0, (x - x0) ** 2])
        sw = np.sqrt(w)
        coef = np.linalg.lstsq(B * sw[:, None], y * sw, rcond=None)[0]
        fit[i] = coef[0]
    return fit[inv]


def count_prior(sigma2: np.ndarray, df: np.ndarray, counts: np.ndarray, span: float = 0.75) -> dict:
    """DEqMS hyperparameters: per-protein ``s2_prior`` (log2 scale²) and scalar ``df_prior`` (0.1 grid)."""
    sigma2 = np.asarray(sigma2, dtype=float)
    df = np.asarray(df, dtype=float)
    counts = np.asarray(counts, dtype=float)
    if counts.shape != sigma2.shape:
        raise InputError(f"weights_counts has {counts.size} values for {sigma2.size} proteins",
                         hint="give one peptide/PSM count per protein, in Dataset order")
    if np.any(~np.isfinite(counts)) or np.any(counts <= 0):
        raise InputError("peptide/PSM counts must be positive numbers",
                         hint="add a pseudocount of 1 when the minimum count can be 0")
    ok = (df > 0) & np.isfinite(sigma2) & (sigma2 > 0)
    if ok.sum() < 3:
        raise InputError("too few proteins with residual variance for a count-aware prior")
    lc = np.log2(counts)
    logvar = np.log(sigma2[ok])
    d = df[ok]
    yfit = loess_quadratic(lc[ok], logvar, span=span, xout=lc)
    eg = logvar - special.digamma(d / 2) + np.log(d / 2)
    egpred = yfit[ok] - special.digamma(d / 2) + np.log(d / 2)
    M = float(np.mean((eg - egpred) ** 2 - trigamma(d / 2)))
    # DEqMS grid search: d0 = 0.1, 0.2, ...; stop at the first i > 2 whose criterion rose, take the argmin
    top = 100.0
    while M > 0:                                       # the same search, evaluated on the grid in blocks
        grid = np.round(np.arange(1, int(round(top * 10)) + 1) * 0.1, 10)
        crit = np.abs(M - trigamma(grid / 2))
        rose = np.flatnonzero(crit[:-2] < crit[1:-1])   # 0-based j: crit[j] < crit[j+1] stops at i = j + 3
        if rose.size or top >= 1e4:
            stop = int(rose[0]) + 3 if rose.size else grid.size
            d0 = float(grid[int(np.argmin(crit[:stop]))])
            break
        top *= 10
    else:
        d0 = math.inf      # no excess variability: an infinitely strong prior (DEqMS's loop would not stop)
    # s0²_g = exp(egpred_g + digamma(d0/2) − log(d0/2)), egpred_g = fit_g − digamma(d_g/2) + log(d_g/2);
    # proteins without residual df use the median df of the others for that correction
    dg = np.where(df > 0, df, float(np.median(d)))
    egpred_all = yfit - special.digamma(dg / 2) + np.log(dg / 2)
    shift = 0.0 if math.isinf(d0) else special.digamma(d0 / 2) - math.log(d0 / 2)
    s2_prior = np.exp(egpred_all + shift)
    return {"df_prior": d0, "s2_prior": s2_prior}


def count_ebayes(fit: LinearFit, counts: np.ndarray, *, proportion: float = 0.01, span: float = 0.75
                 ) -> EBayesResult:
    """Moderated statistics with the count-dependent prior (same fields as limma's :func:`ebayes`; ``lods``
    is NaN: DEqMS has no B statistic)."""
    sigma2 = fit.sigma ** 2
    df = fit.df_residual.astype(float)
    pr = count_prior(sigma2, df, counts, span=span)
    d0, s0 = pr["df_prior"], pr["s2_prior"]
    s2 = np.where(df > 0, sigma2, 0.0)
    s2_post = s0 if math.isinf(d0) else (d0 * s0 + df * s2) / (d0 + df)
    with np.errstate(invalid="ignore", divide="ignore"):
        t = fit.coefficients / fit.stdev_unscaled / np.sqrt(s2_post)[:, None]
    df_total = d0 + df
    p = p_two_sided(t, df_total[:, None])
    F, df1 = f_stat(t, fit.cov_coefficients)
    with np.errstate(invalid="ignore"):
        Fp = stats.f.sf(F, df1, df_total)
    return EBayesResult(fit, t, p, np.full_like(t, np.nan), s2_post, s0, d0, df_total,
                        np.full(t.shape[1], np.nan), F, Fp, float(np.sum(df)), False)
