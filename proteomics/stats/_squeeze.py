"""Empirical-Bayes variance prior: limma's fitFDist, fitFDistRobustly, fitFDistUnequalDF1, squeezeVar.

All variances are on the log2-intensity scale squared (residual variances of log2 abundances), one value
per protein. Numbers follow limma 3.54.1 (legacy) and limma 3.63.2 (current) as described in
ALGORITHMS.md §1.3-1.5; comments name the limma step reproduced.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import numpy as np
from scipy import special, stats

from ._lowess import lowess_fit, weighted_lowess_fit
from ._rmath import (
    brent_fmin,
    logmdigamma,
    natural_spline_basis,
    ns_knots,
    r_quantile,
    r_rank,
    trigamma,
    trigamma_inverse,
    trimmed_mean,
    zeroin,
)
from .fdr import bh

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Prior:
    """Hyperparameters: ``scale`` (s0², scalar or per protein) and ``df2`` (d0, scalar or per protein)."""

    scale: np.ndarray | float
    df2: np.ndarray | float
    df2_shrunk: np.ndarray | None = None


def fit_f_dist(x: np.ndarray, df1: np.ndarray, covariate: np.ndarray | None = None) -> Prior:
    """limma ``fitFDist``: method-of-moments estimate of (s0², d0) from variances ``x`` with df ``df1``."""
    x = np.asarray(x, dtype=float)
    n = x.size
    df1 = np.broadcast_to(np.asarray(df1, dtype=float), (n,)).copy()
    if n == 0:
        return Prior(np.nan, np.nan)
    if n == 1:
        return Prior(x[0], 0.0)
    ok = np.isfinite(df1) & (df1 > 1e-15)
    if covariate is not None:
        covariate = np.asarray(covariate, dtype=float).copy()
        if np.isnan(covariate).any():
            raise ValueError("NA covariate values not allowed")
        fin = np.isfinite(covariate)
        if not fin.all():
            if fin.any():
                lo, hi = covariate[fin].min(), covariate[fin].max()
                covariate[covariate == -np.inf] = lo - 1
                covariate[covariate == np.inf] = hi + 1
            else:
                covariate = np.sign(covariate)
    with np.errstate(invalid="ignore"):
        ok = ok & np.isfinite(x) & (x > -1e-15)
    nok = int(ok.sum())
    if nok == 1:
        return Prior(x[ok][0], 0.0)
    notallok = nok < n
    cov_all = covariate
    if notallok:
        x = x[ok]
        df1 = df1[ok]
        if covariate is not None:
            covariate = covariate[ok]
    if covariate is not None:
        splinedf = min(4, nok - 1, np.unique(covariate).size)
        if splinedf < 2:
            out = fit_f_dist(x, df1)
            return Prior(np.full(n, out.scale), out.df2)
    x = np.maximum(x, 0)
    m = float(np.median(x))
    if m == 0:
        log.warning("More than half of residual variances are exactly zero: eBayes unreliable")
        m = 1.0
    elif np.any(x == 0):
        log.warning("Zero sample variances detected, have been offset away from zero")
    x = np.maximum(x, 1e-5 * m)
    z = np.log(x)
    e = z - special.digamma(df1 / 2) + np.log(df1 / 2)
    if covariate is None:
        emean = float(np.mean(e))
        evar = float(np.sum((e - emean) ** 2) / (nok - 1))
    else:
        knots = ns_knots(covariate, splinedf)
        B = natural_spline_basis(covariate, knots)
        coef, _, rank, _ = np.linalg.lstsq(B, e, rcond=None)
        fitted = B @ coef
        evar = float(np.sum((e - fitted) ** 2) / (nok - rank))
        if notallok:
            emean = natural_spline_basis(cov_all, knots) @ coef
            emean[ok] = fitted
        else:
            emean = fitted
    evar = evar - float(np.mean(trigamma(df1 / 2)))
    if evar > 0:
        df2 = 2 * float(trigamma_inverse(evar)[0])
        s20 = np.exp(emean + special.digamma(df2 / 2) - np.log(df2 / 2))
    else:
        df2 = np.inf
        s20 = float(np.mean(x)) if covariate is None else np.exp(emean)
    return Prior(s20, df2)


# -- robust, legacy ---------------------------------------------------------------------------------
_GL_NODES, _GL_WEIGHTS = np.polynomial.legendre.leggauss(128)
_GL_NODES = (_GL_NODES + 1) / 2
_GL_WEIGHTS = _GL_WEIGHTS / 2


def _winsorized_moments(df1: float, df2: float, tail: tuple[float, float]) -> tuple[float, float]:
    """Mean and variance of a Winsorised log F(df1, df2) (128-node Gauss-Legendre on f/(1+f))."""
    tail_p = np.array(tail, dtype=float)
    if np.isinf(df2):
        fq = stats.chi2.ppf([tail_p[0], 1 - tail_p[1]], df1) / df1
    else:
        fq = stats.f.ppf([tail_p[0], 1 - tail_p[1]], df1, df2)
    zq = np.log(fq)
    q = fq / (1 + fq)
    nodes = q[0] + (q[1] - q[0]) * _GL_NODES
    fnodes = nodes / (1 - nodes)
    znodes = np.log(fnodes)
    if np.isinf(df2):
        dens = stats.chi2.pdf(fnodes * df1, df1) * df1
    else:
        dens = stats.f.pdf(fnodes, df1, df2)
    f = dens / (1 - nodes) ** 2
    q21 = q[1] - q[0]
    m = q21 * np.sum(_GL_WEIGHTS * f * znodes) + np.sum(zq * tail_p)
    v = q21 * np.sum(_GL_WEIGHTS * f * (znodes - m) ** 2) + np.sum((zq - m) ** 2 * tail_p)
    return float(m), float(v)


def _f_logsf(f, df1, df2):
    if np.isinf(df2):
        return stats.chi2.logsf(f * df1, df1)
    return stats.f.logsf(f, df1, df2)


def fit_f_dist_robustly(x: np.ndarray, df1: np.ndarray, covariate: np.ndarray | None = None,
                        winsor_tail_p=(0.05, 0.1)) -> Prior:
    """limma ``fitFDistRobustly`` (Phipson et al. 2016): Winsorised moments and outlier df shrinkage."""
    x = np.asarray(x, dtype=float)
    n = x.size
    df1 = np.broadcast_to(np.asarray(df1, dtype=float), (n,)).copy()
    if n < 2:
        return Prior(np.nan, np.nan, np.full(n, np.nan))
    if n == 2:
        return fit_f_dist(x, df1, covariate)
    ok = ~np.isnan(x) & np.isfinite(df1) & (df1 > 1e-6)
    if not ok.all():
        sub = fit_f_dist_robustly(x[ok], df1[ok], None if covariate is None else covariate[ok], winsor_tail_p)
        shrunk = np.empty(n)
        shrunk[ok] = sub.df2_shrunk
        shrunk[~ok] = sub.df2
        if covariate is None:
            scale = sub.scale
        else:
            scale = np.empty(n)
            scale[ok] = sub.scale
            co = covariate[ok]
            o = np.argsort(co, kind="stable")
            scale[~ok] = np.exp(_approx_rule2(co[o], np.log(np.asarray(sub.scale))[o], covariate[~ok]))
        return Prior(scale, sub.df2, shrunk)
    m = float(np.median(x))
    if m <= 0:
        raise ValueError("x values are mostly <= 0")
    small = x < m * 1e-12
    if small.any():
        log.warning("small x values have been offset away from zero")
        x = np.where(small, m * 1e-12, x)
    nonrobust = fit_f_dist(x, df1, covariate)
    tail = (float(winsor_tail_p[0]), float(winsor_tail_p[1]))
    prob = (tail[0], 1 - tail[1])
    if all(t < 1 / n for t in tail):
        return Prior(nonrobust.scale, nonrobust.df2, np.full(n, nonrobust.df2))
    # transform x to constant df1
    df1max = float(np.max(df1))
    i = df1 < df1max - 1e-14
    if i.any():
        s = nonrobust.scale if covariate is None else np.asarray(nonrobust.scale)[i]
        f = x[i] / s
        d2 = nonrobust.df2
        if np.isinf(d2):
            pupper = stats.chi2.logsf(f * df1[i], df1[i])
            plower = stats.chi2.logcdf(f * df1[i], df1[i])
        else:
            pupper = stats.f.logsf(f, df1[i], d2)
            plower = stats.f.logcdf(f, df1[i], d2)
        up = pupper < plower
        fnew = np.empty_like(f)
        if np.isinf(d2):
            fnew[up] = stats.chi2.isf(np.exp(pupper[up]), df1max) / df1max
            fnew[~up] = stats.chi2.ppf(np.exp(plower[~up]), df1max) / df1max
        else:
            fnew[up] = stats.f.isf(np.exp(pupper[up]), df1max, d2)
            fnew[~up] = stats.f.ppf(np.exp(plower[~up]), df1max, d2)
        x = x.copy()
        x[i] = fnew * s
    df1s = df1max
    z = np.log(x)
    if covariate is None:
        ztrend = trimmed_mean(z, tail[1])
        zresid = z - ztrend
    else:
        ztrend = lowess_fit(z, covariate, span=0.4)
        zresid = z - ztrend
    zrq = r_quantile(zresid, prob)
    zwins = np.clip(zresid, zrq[0], zrq[1])
    zwmean = float(np.mean(zwins))
    zwvar = float(np.mean((zwins - zwmean) ** 2) * n / (n - 1))
    mom_inf = _winsorized_moments(df1s, np.inf, tail)
    funval_inf = math.log(zwvar / mom_inf[1])
    if funval_inf <= 0:
        df2 = np.inf
        ztc = ztrend + zwmean - mom_inf[0]
        s20 = np.exp(ztc)
        fstat = np.exp(z - ztc)
        tailp = stats.chi2.sf(fstat * df1s, df1s)
        r = r_rank(fstat)
        emp = (n - r + 0.5) / n
        pno = np.minimum(tailp / emp, 1)
        shrunk = np.full(n, df2)
        o_ = pno < 1
        if o_.any():
            shrunk[o_] = pno[o_] * n * df1s
            o = np.argsort(tailp, kind="stable")
            shrunk[o] = np.maximum.accumulate(shrunk[o])
        return Prior(s20, df2, shrunk)

    def fun(u):
        d2 = u / (1 - u)
        return math.log(zwvar / _winsorized_moments(df1s, d2, tail)[1])

    if np.isinf(nonrobust.df2):
        return Prior(nonrobust.scale, nonrobust.df2, np.full(n, nonrobust.df2))
    rbx = nonrobust.df2 / (1 + nonrobust.df2)
    funval_low = fun(rbx)
    if funval_low >= 0:
        df2 = nonrobust.df2
    else:
        root = zeroin(fun, rbx, 1.0, funval_low, funval_inf, tol=1e-8)
        df2 = root / (1 - root)
    mom = _winsorized_moments(df1s, df2, tail)
    ztc = ztrend + zwmean - mom[0]
    s20 = np.exp(ztc)
    zresid = z - ztc
    fstat = np.exp(zresid)
    log_tail = _f_logsf(fstat, df1s, df2)
    r = r_rank(fstat)
    log_emp = np.log(n - r + 0.5) - math.log(n)
    log_pno = np.minimum(log_tail - log_emp, 0)
    pno = np.exp(log_pno)
    pout = -np.expm1(log_pno)
    if np.any(log_pno < 0):
        min_log_tail = float(np.min(log_tail))
        if min_log_tail == -np.inf:
            shrunk = pno * df2
        else:
            df2_out = math.log(0.5) / min_log_tail * df2
            new_log = float(_f_logsf(np.max(fstat), df1s, df2_out))
            df2_out = math.log(0.5) / new_log * df2_out
            shrunk = pno * df2 + pout * df2_out
        shrunk = _monotone_shrunk(shrunk, log_tail)
    else:
        shrunk = np.full(n, df2)
    return Prior(s20, df2, shrunk)


def _monotone_shrunk(shrunk: np.ndarray, order_key: np.ndarray) -> np.ndarray:
    n = shrunk.size
    o = np.argsort(order_key, kind="stable")
    ordered = shrunk[o].copy()
    m = np.cumsum(ordered) / np.arange(1, n + 1)
    imin = int(np.argmin(m))
    ordered[: imin + 1] = m[imin]
    out = np.empty(n)
    out[o] = np.maximum.accumulate(ordered)
    return out


def _approx_rule2(xs: np.ndarray, ys: np.ndarray, xout: np.ndarray) -> np.ndarray:
    """R ``approx(x, y, xout, rule=2)`` (ties averaged as R's ``regularize.values`` does)."""
    ux, inv = np.unique(xs, return_inverse=True)
    uy = np.bincount(inv, weights=ys) / np.bincount(inv)
    return np.interp(xout, ux, uy)


# -- current limma (>= 3.62): fitFDistUnequalDF1 ---------------------------------------------------
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
    shrunk = _monotone_shrunk(shrunk, right)
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
