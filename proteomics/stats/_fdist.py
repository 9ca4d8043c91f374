"""Empirical-Bayes variance prior, part 1: limma's fitFDist and fitFDistRobustly (the legacy estimators) and the
:class:`Prior` they return. Variances are of log2 abundances (log2 units squared), one per protein; numbers follow
limma 3.54.1 as described in ALGORITHMS.md §1.3-1.4. The current estimator and squeezeVar are in ``_squeeze.py``.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import numpy as np
from scipy import special, stats

from ._lowess import lowess_fit
from ._rmath import (
    natural_spline_basis,
    ns_knots,
    r_quantile,
    r_rank,
    trigamma,
    trigamma_inverse,
    trimmed_mean,
    zeroin,
)

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
        shrunk = monotone_shrunk(shrunk, log_tail)
    else:
        shrunk = np.full(n, df2)
    return Prior(s20, df2, shrunk)


def monotone_shrunk(shrunk: np.ndarray, order_key: np.ndarray) -> np.ndarray:
    """limma's monotonicity step: shrunk prior df made non-decreasing along ``order_key`` (one value per protein)."""
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
