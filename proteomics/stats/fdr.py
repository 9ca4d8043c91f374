"""Multiple-testing corrections. NaN p-values stay NaN and are not counted in m (as R's ``p.adjust``).

* ``bh``: Benjamini-Hochberg (statsmodels ``multipletests(method="fdr_bh")``).
* ``by``: Benjamini-Yekutieli (statsmodels ``fdr_by``).
* ``storey``: Storey q-values as ``qvalue::qvalue`` (λ = 0.05, 0.10, …, 0.95; π0 from a smoothing
  spline with 3 degrees of freedom through π0(λ), evaluated at the largest λ, or the bootstrap method).
  The spline is the penalised natural cubic spline whose smoother matrix has trace exactly 3; R's
  ``smooth.spline(df=3)`` stops its search for the penalty at a tolerance, so π0 can differ in the
  4th-5th digit (measured in tests/stats/test_fdr.py).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import optimize
from statsmodels.stats.multitest import multipletests

from ..errors import InputError

__all__ = ["bh", "by", "storey", "pi0_estimate", "adjust"]

LAMBDAS = np.round(np.arange(0.05, 0.951, 0.05), 10)


def _apply(p, method: str) -> np.ndarray:
    p = np.asarray(p, dtype=float)
    out = np.full(p.shape, np.nan)
    ok = ~np.isnan(p)
    if ok.any():
        out[ok] = multipletests(p[ok], method=method)[1]
    return out


def bh(p) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values (m = number of non-NaN p-values)."""
    return _apply(p, "fdr_bh")


def by(p) -> np.ndarray:
    """Benjamini-Yekutieli adjusted p-values."""
    return _apply(p, "fdr_by")


def _smoothing_spline_df(x: np.ndarray, y: np.ndarray, df: float, xout: float) -> float:
    """Value at ``xout`` of the penalised cubic smoothing spline of (x, y) with trace(S) = df."""
    n = x.size
    h = np.diff(x)
    # natural-spline representation (Green & Silverman): Q (n × n-2), R ((n-2) × (n-2))
    Q = np.zeros((n, n - 2))
    R = np.zeros((n - 2, n - 2))
    for j in range(1, n - 1):
        Q[j - 1, j - 1] = 1 / h[j - 1]
        Q[j, j - 1] = -1 / h[j - 1] - 1 / h[j]
        Q[j + 1, j - 1] = 1 / h[j]
        R[j - 1, j - 1] = (h[j - 1] + h[j]) / 3
        if j < n - 2:
            R[j - 1, j] = R[j, j - 1] = h[j] / 6
    K = Q @ np.linalg.solve(R, Q.T)

    def trace(loglam):
        return np.trace(np.linalg.inv(np.eye(n) + np.exp(loglam) * K)) - df

    loglam = optimize.brentq(trace, -30, 30, xtol=1e-12)
    fitted = np.linalg.solve(np.eye(n) + np.exp(loglam) * K, y)
    if xout == x[-1]:
        return float(fitted[-1])
    return float(np.interp(xout, x, fitted))


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
        val = _smoothing_spline_df(lam, pi0, smooth_df, lam[-1])
        out = min(val, 1.0)
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
    p = np.asarray(p, dtype=float)
    out = np.full(p.shape, np.nan)
    ok = ~np.isnan(p)
    pv = p[ok]
    m = pv.size
    if m == 0:
        return out
    pi0 = pi0_estimate(pv, lambdas, method)
    o = np.argsort(-pv, kind="stable")
    i = np.arange(m, 0, -1)
    if pfdr:
        raw = m * pv[o] / (i * (1 - (1 - pv[o]) ** m))
    else:
        raw = m * pv[o] / i
    q = pi0 * np.minimum(1.0, np.minimum.accumulate(raw))
    res = np.empty(m)
    res[o] = q
    out[ok] = res
    return out


def adjust(p, method: str = "bh") -> np.ndarray:
    """Adjusted p-values by name: ``bh`` (default), ``by`` or ``storey``."""
    method = (method or "bh").lower()
    if method in ("bh", "fdr_bh", "benjamini-hochberg"):
        return bh(p)
    if method in ("by", "fdr_by"):
        return by(p)
    if method in ("storey", "qvalue"):
        return storey(p)
    raise InputError(f"unknown FDR method {method!r}", hint="use bh, by or storey")
