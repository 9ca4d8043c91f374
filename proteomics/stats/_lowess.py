"""Lowess smoothers used by limma's trend estimators (internal).

* :func:`lowess_fit` is limma ``loessFit`` without weights, i.e. R's ``lowess(x, y, f=span, iter=3)``
  (Cleveland's clowess, delta = 1% of the x range); statsmodels implements the same algorithm.
* :func:`weighted_lowess_fit` is limma ``weightedLowess`` (prior-weighted lowess of degree 1, seed points
  every ``delta``, linear interpolation between seeds), re-implemented from the algorithm description in
  limma's ``src/weighted_lowess.c``; span is a fraction of the total prior weight.
"""

from __future__ import annotations

import numpy as np

_THRESHOLD = 1e-7


def lowess_fit(y: np.ndarray, x: np.ndarray, span: float = 0.3, iterations: int = 4) -> np.ndarray:
    """Fitted values of R ``lowess(x, y, f=span, iter=iterations-1)`` in input order."""
    from statsmodels.nonparametric.smoothers_lowess import lowess

    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    delta = 0.01 * (x.max() - x.min())
    return lowess(y, x, frac=span, it=iterations - 1, delta=delta, return_sorted=False)


def _delta(xs: np.ndarray, npts: int) -> float:
    if npts >= xs.size:
        return 0.0
    dx = np.sort(np.diff(xs))
    cum = np.cumsum(dx)
    k = np.arange(npts)
    return float(np.min(cum[dx.size - k - 1] / (npts - k)))


def weighted_lowess_fit(y: np.ndarray, x: np.ndarray, weights: np.ndarray, span: float = 0.3,
                        iterations: int = 1, npts: int = 200) -> np.ndarray:
    """Fitted values of limma ``loessFit(y, x, weights, span, iterations)`` (method weightedLowess)."""
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    w = np.asarray(weights, dtype=float)
    n = y.size
    if span < 1 / n:
        return y.copy()
    if w.max() - w.min() < 1e-15:
        return lowess_fit(y, x, span=span, iterations=iterations)
    if n < 4 + 1 / span:
        X = np.column_stack([np.ones(n), x])
        sw = np.sqrt(w)
        coef = np.linalg.lstsq(X * sw[:, None], y * sw, rcond=None)[0]
        return X @ coef
    o = np.argsort(x, kind="stable")
    xs, ys, ws = x[o], y[o], w[o]
    delta = _delta(xs, int(npts + 0.5))
    # seeds
    seeds = [0]
    last = 0
    for pt in range(1, n - 1):
        if xs[pt] - xs[last] > delta:
            seeds.append(pt)
            last = pt
    seeds.append(n - 1)
    total = float(np.sum(ws))
    spanweight = total * span
    limits = [_span_limits(xs, ws, cur, spanweight) for cur in seeds]
    robust = np.ones(n)
    fitted = np.empty(n)
    subrange = (xs[-1] - xs[0]) / n
    for _ in range(iterations):
        last = 0
        for k, pt in enumerate(seeds):
            left, right, dist = limits[k]
            fitted[pt] = _local_fit(xs, ys, ws, robust, pt, left, right, dist)
            if k > 0 and pt - last > 1:
                cur = xs[pt] - xs[last]
                sub = slice(last + 1, pt)
                if cur > _THRESHOLD * subrange:
                    slope = (fitted[pt] - fitted[last]) / cur
                    fitted[sub] = slope * xs[sub] + (fitted[pt] - slope * xs[pt])
                else:
                    fitted[sub] = 0.5 * (fitted[pt] + fitted[last])
            last = pt
        res = np.abs(ys - fitted)
        scale = res.mean()
        ro = np.argsort(res, kind="stable")
        cw = np.cumsum(ws[ro])
        half = total / 2
        hit = np.flatnonzero(cw >= half)
        j = int(hit[0])
        cmad = 3 * (res[ro[j]] + res[ro[j + 1]]) if cw[j] == half else 6 * res[ro[j]]
        if cmad <= _THRESHOLD * scale:
            break
        robust = np.where(res < cmad, (1 - (res / cmad) ** 2) ** 2, 0.0)
    out = np.empty(n)
    out[o] = fitted
    return out


def _span_limits(xs: np.ndarray, ws: np.ndarray, cur: int, spanweight: float) -> tuple[int, int, float]:
    """Window around seed ``cur``: add the nearer neighbour (right on ties) until the prior weight reaches
    ``spanweight``, then extend to tied x values. The two-pointer walk equals a stable merge of the left and
    right neighbours by distance, done here with one sort per seed."""
    n = xs.size
    curw = ws[cur]
    if curw >= spanweight or n == 1:
        left = right = cur
        mdist = 0.0
    else:
        rd = xs[cur + 1:] - xs[cur]
        ld = xs[cur] - xs[:cur][::-1]
        dist = np.concatenate([rd, ld])
        side = np.concatenate([np.ones(rd.size, dtype=bool), np.zeros(ld.size, dtype=bool)])
        wts = np.concatenate([ws[cur + 1:], ws[:cur][::-1]])
        o = np.argsort(dist, kind="stable")
        cum = curw + np.cumsum(wts[o])
        hit = np.flatnonzero(cum >= spanweight)
        k = int(hit[0]) + 1 if hit.size else o.size
        picked = o[:k]
        n_right = int(side[picked].sum())
        left, right = cur - (k - n_right), cur + n_right
        mdist = float(dist[picked].max()) if k else 0.0
    while left > 0 and xs[left] == xs[left - 1]:
        left -= 1
    while right < n - 1 and xs[right] == xs[right + 1]:
        right += 1
    return left, right, mdist


def _local_fit(x, y, w, rw, cur, left, right, dist) -> float:
    sl = slice(left, right + 1)
    if dist < _THRESHOLD:
        wk = w[sl] * rw[sl]
        return float(np.sum(y[sl] * wk) / np.sum(wk))
    wk = (1 - (np.abs(x[cur] - x[sl]) / dist) ** 3) ** 3 * w[sl] * rw[sl]
    aw = wk.sum()
    xm = np.sum(wk * x[sl]) / aw
    ym = np.sum(wk * y[sl]) / aw
    dx = x[sl] - xm
    var = np.sum(dx * dx * wk)
    cov = np.sum(dx * (y[sl] - ym) * wk)
    if var < _THRESHOLD:
        return float(ym)
    slope = cov / var
    return float(slope * x[cur] + ym - slope * xm)
