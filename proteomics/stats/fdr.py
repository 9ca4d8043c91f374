"""Multiple-testing corrections. NaN p-values stay NaN and are not counted in m (as R's ``p.adjust``).

* ``bh``: Benjamini-Hochberg (the same numbers as statsmodels ``multipletests(method="fdr_bh")``).
* ``by``: Benjamini-Yekutieli (statsmodels ``fdr_by``).
* ``storey``: Storey q-values as ``qvalue::qvalue`` (λ = 0.05, 0.10, …, 0.95; π0 from R's
  ``smooth.spline(df=3)`` through π0(λ), evaluated at the largest λ, or the bootstrap method). The
  smoothing spline reproduces R's own construction and ``spar`` search (:func:`smooth_spline_df`), so π0
  agrees with qvalue 2.30.0 to ~1e-13.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from ..errors import InputError
from ._rmath import bracket_update, parabolic_step

__all__ = ["bh", "by", "storey", "pi0_estimate", "adjust", "FDR_METHODS"]

LAMBDAS = np.round(np.arange(0.05, 0.951, 0.05), 10)


def _observed(p, adjust_values) -> np.ndarray:
    """``adjust_values`` applied to the non-NaN p-values only (m = their number); NaN stay NaN, same shape."""
    p = np.asarray(p, dtype=float)
    out = np.full(p.shape, np.nan)
    ok = ~np.isnan(p)
    if ok.any():
        out[ok] = adjust_values(p[ok])
    return out


def _apply(p, method: str) -> np.ndarray:
    from statsmodels.stats.multitest import multipletests  # imported on use: statsmodels is slow to import

    return _observed(p, lambda pv: multipletests(pv, method=method)[1])


def _bh_values(pv: np.ndarray) -> np.ndarray:
    m = pv.size
    order = np.argsort(pv)
    raw = pv[order] / (np.arange(1, m + 1) / float(m))
    q = np.minimum.accumulate(raw[::-1])[::-1]
    q[q > 1] = 1
    res = np.empty(m)
    res[order] = q
    return res


def bh(p) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values, same shape as ``p`` (m = number of non-NaN p-values; NaN kept).

    The package's one BH (DE tables, robust variance squeezing, stratifier associations). Step-up over the
    ascending p-values: ``q_(i) = min_{j ≥ i} p_(j) / (j / m)``, capped at 1; the arithmetic is statsmodels'
    ``multipletests(method="fdr_bh")`` to the last bit (tested), without importing statsmodels.
    """
    return _observed(p, _bh_values)


def by(p) -> np.ndarray:
    """Benjamini-Yekutieli adjusted p-values."""
    return _apply(p, "fdr_by")


def _sbart_search(f, ax: float = -1.5, bx: float = 1.5, tol: float = 1e-4, eps: float = 2e-8,
                  maxit: int = 500) -> tuple[float, float]:
    """R's ``sbart`` search for ``spar`` (Forsythe-Malcolm-Moler fmin with smooth.spline's control values).
    Returns (spar, last evaluated spar): R keeps the fit of the last evaluation, so do we."""
    c = 0.381966011250105151795413165634
    a, b = ax, bx
    v = w = x = a + c * (b - a)
    d = e = 0.0
    fx = fv = fw = f(x)
    last = x
    it = 0
    while True:
        xm = (a + b) * 0.5
        tol1 = eps * abs(x) + tol / 3.0
        tol2 = tol1 * 2.0
        it += 1
        if abs(x - xm) <= tol2 - (b - a) * 0.5 or it > maxit:
            return x, last
        golden = abs(e) <= tol1
        if not golden:
            p, q = parabolic_step(x, v, w, fx, fv, fw)
            r, e = e, d
            if abs(p) >= abs(0.5 * q * r) or q == 0.0 or p <= q * (a - x) or p >= q * (b - x):
                golden = True
            else:
                d = p / q
                if (x + d) - a < tol2 or b - (x + d) < tol2:
                    d = math.copysign(tol1, xm - x)
        if golden:
            e = (a - x) if x >= xm else (b - x)
            d = c * e
        u = x + (d if abs(d) >= tol1 else math.copysign(tol1, d))
        fu = f(u)
        last = u
        a, b, v, fv, w, fw, x, fx = bracket_update(a, b, v, fv, w, fw, x, fx, u, fu)


def smooth_spline_df(x: np.ndarray, y: np.ndarray, df: float = 3.0) -> np.ndarray:
    """Fitted values of R's ``smooth.spline(x, y, df=df)`` (unit weights, distinct sorted x, all knots).

    Cubic B-splines with knots at every x (scaled to [0, 1]); penalty matrix as R's ``sgram`` builds it
    (B'' linear on each interval, with R's 0.3330 for the quadratic term); λ = ratio·256^(3·spar−1) with
    ratio = tr(X'X)/tr(Σ) over the inner coefficients; spar from R's ``sbart`` search minimising
    3 + (df − tr S)²; the fit of the last evaluated spar, as R returns it.
    """
    from scipy.interpolate import BSpline

    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    xb = (x - x[0]) / (x[-1] - x[0])
    n = xb.size
    knots = np.concatenate([[xb[0]] * 3, xb, [xb[-1]] * 3])
    nk = n + 2
    X = BSpline.design_matrix(xb, knots, 3).toarray()
    eye = np.eye(nk)
    D2 = np.column_stack([BSpline(knots, eye[j], 3).derivative(2)(xb) for j in range(nk)])
    S = np.zeros((nk, nk))
    for i in range(n - 1):
        y1 = D2[i]
        y2 = D2[i + 1] - D2[i]
        S += (xb[i + 1] - xb[i]) * (np.outer(y1, y1) + (np.outer(y2, y1) + np.outer(y1, y2)) * 0.5
                                    + np.outer(y2, y2) * 0.3330)
    XtX = X.T @ X
    Xty = X.T @ y
    ratio = np.trace(XtX[2:nk - 3, 2:nk - 3]) / np.trace(S[2:nk - 3, 2:nk - 3])

    def solve(spar):
        A = XtX + ratio * 256.0 ** (3 * spar - 1) * S
        return A, np.trace(X @ np.linalg.solve(A, X.T))

    _, last = _sbart_search(lambda sp: 3 + (df - solve(sp)[1]) ** 2)
    A, _ = solve(last)
    return X @ np.linalg.solve(A, Xty)


def pi0_estimate(p, lambdas: Sequence[float] | None = None, method: str = "smoother",
                 smooth_df: float = 3.0) -> float:
    """Storey's π0 (proportion of true nulls) as ``qvalue::pi0est``; NaN p-values ignored."""
    p = np.asarray(p, dtype=float)
    p = p[~np.isnan(p)]
    m = p.size
    if m == 0:
        return float("nan")
    lam = LAMBDAS if lambdas is None else np.sort(np.asarray(lambdas, dtype=float))
    if lam.size == 1:
        return float(min(1.0, np.mean(p >= lam[0]) / (1 - lam[0])))
    if lam.size < 4:
        raise InputError("Storey's π0 needs one λ or at least 4", hint="use the default λ grid")
    counts = np.array([np.sum(p >= lv) for lv in lam])
    pi0 = counts / (m * (1 - lam))
    if method == "smoother":
        out = min(float(smooth_spline_df(lam, pi0, smooth_df)[-1]), 1.0)
    elif method == "bootstrap":
        minpi0 = np.quantile(pi0, 0.1)
        W = counts.astype(float)
        mse = (W / (m ** 2 * (1 - lam) ** 2)) * (1 - W / m) + (pi0 - minpi0) ** 2
        out = min(float(np.min(pi0[mse == mse.min()])), 1.0)
    else:
        raise InputError(f"unknown π0 method {method!r}", hint="use smoother or bootstrap")
    if out <= 0:
        raise InputError("the estimated π0 is <= 0", hint="check the p-values or use fdr='bh'")
    return float(out)


def storey(p, lambdas: Sequence[float] | None = None, method: str = "smoother", pfdr: bool = False
           ) -> np.ndarray:
    """Storey q-values (``qvalue::qvalue``): π0 × BH-style step-up, NaN kept."""

    def qvalues(pv: np.ndarray) -> np.ndarray:
        m = pv.size
        pi0 = pi0_estimate(pv, lambdas, method)
        o = np.argsort(-pv, kind="stable")
        i = np.arange(m, 0, -1)
        if pfdr:
            raw = m * pv[o] / (i * (1 - (1 - pv[o]) ** m))
        else:
            raw = m * pv[o] / i
        res = np.empty(m)
        res[o] = pi0 * np.minimum(1.0, np.minimum.accumulate(raw))
        return res

    return _observed(p, qvalues)


#: the multiple-testing corrections by name (the CLI's --fdr and the config's de.fdr offer exactly these)
FDR_METHODS = {"bh": bh, "storey": storey, "by": by}
_FDR_ALIASES = {"fdr_bh": "bh", "benjamini-hochberg": "bh", "fdr_by": "by", "qvalue": "storey"}


def adjust(p, method: str = "bh") -> np.ndarray:
    """Adjusted p-values by name (:data:`FDR_METHODS`: ``bh`` (default), ``storey`` or ``by``)."""
    method = (method or "bh").lower()
    method = _FDR_ALIASES.get(method, method)
    if method not in FDR_METHODS:
        raise InputError(f"unknown FDR method {method!r}", hint=f"use one of {', '.join(FDR_METHODS)}")
    return FDR_METHODS[method](p)
