"""Small numerical helpers that reproduce R/limma primitives exactly (internal).

* :func:`brent_fmin` is a faithful port of R's ``optimize`` (Brent's ``fmin``: golden section plus
  parabolic steps, tolerance ``.Machine$double.eps^0.25``). limma's ``fitFDistUnequalDF1`` calls it;
  another optimiser stops elsewhere and moves df.prior by ~1e-4 (ALGORITHMS.md §1.5).
* :func:`zeroin` is a port of R's ``uniroot`` (Brent's ``zeroin``), used by ``fitFDistRobustly``.
* :func:`trigamma_inverse`, :func:`logmdigamma`, :func:`r_quantile`, :func:`trimmed_mean`,
  :func:`natural_spline_basis` follow the R definitions quoted in ALGORITHMS.md §1.3-1.4.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import special

_EPS = np.finfo(float).eps


def parabolic_step(x: float, v: float, w: float, fx: float, fv: float, fw: float) -> tuple[float, float]:
    """Brent's parabolic interpolation through (v, fv), (w, fw), (x, fx): the step from ``x`` is ``p / q``;
    returns ``(p, q)`` with ``q ≥ 0`` (the sign moved to ``p``), as R's ``fmin`` and ``sbart`` compute it."""
    r = (x - w) * (fx - fv)
    q = (x - v) * (fx - fw)
    p = (x - v) * q - (x - w) * r
    q = (q - r) * 2.0
    if q > 0.0:
        p = -p
    else:
        q = -q
    return p, q


def bracket_update(a, b, v, fv, w, fw, x, fx, u, fu) -> tuple[float, ...]:
    """Brent's fmin after evaluating ``f(u) = fu``: the new bracket ``[a, b]`` and the three best points
    (``x`` best, ``w`` second, ``v`` previous ``w``) with their values, as R's ``fmin`` and ``sbart`` update them.
    Returns ``(a, b, v, fv, w, fw, x, fx)``."""
    if fu <= fx:
        if u < x:
            b = x
        else:
            a = x
        return a, b, w, fw, x, fx, u, fu
    if u < x:
        a = u
    else:
        b = u
    if fu <= fw or w == x:
        v, fv, w, fw = w, fw, u, fu
    elif fu <= fv or v == x or v == w:
        v, fv = u, fu
    return a, b, v, fv, w, fw, x, fx


def brent_fmin(f, ax: float, bx: float, tol: float = _EPS ** 0.25) -> float:
    """Minimiser of ``f`` on ``[ax, bx]`` exactly as R's ``optimize`` (Brent 1973, ``fmin``)."""
    c = (3.0 - math.sqrt(5.0)) * 0.5
    eps = math.sqrt(_EPS)
    a, b = ax, bx
    v = a + c * (b - a)
    w = x = v
    d = e = 0.0
    fx = f(x)
    fv = fw = fx
    tol3 = tol / 3.0
    while True:
        xm = (a + b) * 0.5
        tol1 = eps * abs(x) + tol3
        t2 = tol1 * 2.0
        if abs(x - xm) <= t2 - (b - a) * 0.5:
            break
        p = q = r = 0.0
        if abs(e) > tol1:
            p, q = parabolic_step(x, v, w, fx, fv, fw)
            r = e
            e = d
        if abs(p) >= abs(q * 0.5 * r) or p <= q * (a - x) or p >= q * (b - x):
            e = (b - x) if x < xm else (a - x)
            d = c * e
        else:
            d = p / q
            u = x + d
            if u - a < t2 or b - u < t2:
                d = tol1 if x < xm else -tol1
        if abs(d) >= tol1:
            u = x + d
        elif d > 0.0:
            u = x + tol1
        else:
            u = x - tol1
        fu = f(u)
        a, b, v, fv, w, fw, x, fx = bracket_update(a, b, v, fv, w, fw, x, fx, u, fu)
    return x


def zeroin(f, ax: float, bx: float, fa: float | None = None, fb: float | None = None,
           tol: float = 1e-8, maxit: int = 1000) -> float:
    """Root of ``f`` in ``[ax, bx]`` as R's ``uniroot`` (``R_zeroin2``, Brent's zeroin)."""
    a, b = ax, bx
    fa = f(a) if fa is None else fa
    fb = f(b) if fb is None else fb
    c, fc = a, fa
    if fa == 0.0:
        return a
    if fb == 0.0:
        return b
    while maxit > 0:
        maxit -= 1
        prev_step = b - a
        if abs(fc) < abs(fb):
            a, b, c = b, c, b
            fa, fb, fc = fb, fc, fb
        tol_act = 2 * _EPS * abs(b) + tol / 2
        new_step = (c - b) / 2
        if abs(new_step) <= tol_act or fb == 0.0:
            return b
        if abs(prev_step) >= tol_act and abs(fa) > abs(fb):
            cb = c - b
            if a == c:
                t1 = fb / fa
                p = cb * t1
                q = 1.0 - t1
            else:
                q = fa / fc
                t1 = fb / fc
                t2 = fb / fa
                p = t2 * (cb * q * (q - t1) - (b - a) * (t1 - 1.0))
                q = (q - 1.0) * (t1 - 1.0) * (t2 - 1.0)
            if p > 0:
                q = -q
            else:
                p = -p
            if p < (0.75 * cb * q - abs(tol_act * q) / 2) and p < abs(prev_step * q / 2):
                new_step = p / q
        if abs(new_step) < tol_act:
            new_step = tol_act if new_step > 0 else -tol_act
        a, fa = b, fb
        b += new_step
        fb = f(b)
        if (fb > 0 and fc > 0) or (fb < 0 and fc < 0):
            c, fc = a, fa
    return b


def logmdigamma(x):
    """log(x) - digamma(x) (statmod::logmdigamma)."""
    x = np.asarray(x, dtype=float)
    return np.log(x) - special.digamma(x)


def trigamma(x):
    """The trigamma function ψ'(x) (elementwise, like R ``trigamma``)."""
    return special.polygamma(1, x)


def trigamma_inverse(x: np.ndarray) -> np.ndarray:
    """Solve trigamma(y) = x for y (limma ``trigammaInverse``: Newton from y = 0.5 + 1/x)."""
    x = np.atleast_1d(np.asarray(x, dtype=float)).copy()
    y = np.full_like(x, np.nan)
    ok = ~np.isnan(x)
    neg = ok & (x < 0)
    big = ok & (x > 1e7)
    small = ok & (x < 1e-6) & ~neg
    y[big] = 1.0 / np.sqrt(x[big])
    y[small] = 1.0 / x[small]
    rest = ok & ~neg & ~big & ~small
    if rest.any():
        xr = x[rest]
        yr = 0.5 + 1.0 / xr
        for _ in range(51):
            tri = trigamma(yr)
            dif = tri * (1 - tri / xr) / special.polygamma(2, yr)
            yr = yr + dif
            if np.max(-dif / yr) < 1e-8:
                break
        y[rest] = yr
    return y


def r_quantile(x: np.ndarray, probs) -> np.ndarray:
    """R ``quantile(type=7)``."""
    return np.quantile(np.asarray(x, dtype=float), probs, method="linear")


def trimmed_mean(x: np.ndarray, trim: float) -> float:
    """R ``mean(x, trim=)``: drops floor(n*trim) values at each end."""
    x = np.sort(np.asarray(x, dtype=float))
    n = x.size
    lo = int(math.floor(n * trim))
    return float(np.mean(x[lo:n - lo]))


def natural_spline_basis(x: np.ndarray, knots: np.ndarray) -> np.ndarray:
    """Natural cubic spline basis with the given knots (boundary knots first and last), with intercept.

    Spans the same space as R's ``splines::ns(x, knots=interior, Boundary.knots=range, intercept=TRUE)``
    (truncated-power form, ESL eq. 5.4-5.5); fitted values of a least-squares fit are identical.
    """
    k = np.sort(np.asarray(knots, dtype=float))
    lo, hi = k[0], k[-1]
    scale = hi - lo if hi > lo else 1.0
    xs = (np.asarray(x, dtype=float) - lo) / scale
    ks = (k - lo) / scale
    K = ks.size

    def dk(j):
        return (np.maximum(xs - ks[j], 0) ** 3 - np.maximum(xs - ks[K - 1], 0) ** 3) / (ks[K - 1] - ks[j])

    cols = [np.ones_like(xs), xs]
    last = dk(K - 2)
    for j in range(K - 2):
        cols.append(dk(j) - last)
    return np.column_stack(cols)


def ns_knots(x: np.ndarray, df: int) -> np.ndarray:
    """Knots R's ``ns(x, df=df, intercept=TRUE)`` chooses: range plus df-2 interior quantiles."""
    n_inner = df - 2
    probs = np.linspace(0, 1, n_inner + 2)[1:-1]
    inner = r_quantile(x, probs) if n_inner > 0 else np.array([])
    return np.concatenate([[np.min(x)], inner, [np.max(x)]])


def r_rank(x: np.ndarray) -> np.ndarray:
    """R ``rank`` with ties averaged."""
    from scipy.stats import rankdata
    return rankdata(x, method="average")
