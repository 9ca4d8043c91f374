"""Detection probability curve (DPC): how the chance of detecting a value depends on its true log2 intensity.

Model (the class of model of Li & Smyth 2023, Bioinformatics 39:btad200, and limpa, Li, Cobbold & Smyth 2025;
written here from the papers' descriptions, no code taken):

* the complete (true) log2 intensity of row i (a precursor, peptide or protein) in sample j is
  ``y_ij ~ N(mu_i, sigma²)``, one common ``sigma`` (log2 units);
* it is detected with probability ``pi(y) = cap · expit(beta0 + beta1·y)`` (logistic in intensity, with an
  upper asymptote ``cap`` ≤ 1 for the random misses of data-dependent acquisition);
* a missing value is a non-detection, so it carries the information ``P(miss | mu_i) = E[1 − pi(y)]``.

:func:`fit_detection_curve` maximises the observed-data likelihood over ``(beta0, beta1, cap)`` and the row
means ``mu_i``: observed values contribute ``log phi(y; mu_i, sigma) + log pi(y)``, missing values
``log P(miss | mu_i)``, and each row is conditioned on having at least one detection (rows never detected
are not in the data). It alternates a vectorised grid-and-parabola update of every ``mu_i`` with a
quasi-Newton update of the curve. Expectations over ``y`` use Gauss–Hermite quadrature.

:func:`posterior_fill` gives, for every missing cell, the posterior mean and SD of ``y`` given that it was not
detected (``N(mu_i, sigma²)·(1 − pi(y))``, normalised): a complete matrix plus a standard error per value.
Arrays here are rows × samples (the transpose of a Dataset's samples × proteins).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import optimize, special

__all__ = ["DetectionCurve", "DPCFit", "fit_detection_curve", "detect_prob", "posterior_fill"]

_GH_X, _GH_W = np.polynomial.hermite.hermgauss(24)
_Z = np.sqrt(2.0) * _GH_X              # standard-normal nodes
_W = _GH_W / np.sqrt(np.pi)            # weights summing to 1


@dataclass(frozen=True)
class DetectionCurve:
    """``P(detected | y) = cap · expit(beta0 + beta1·y)``, ``y`` the true log2 intensity."""

    beta0: float
    beta1: float
    cap: float = 1.0

    def prob(self, y) -> np.ndarray:
        return self.cap * special.expit(self.beta0 + self.beta1 * np.asarray(y, dtype=float))

    @property
    def midpoint(self) -> float:
        """log2 intensity at which ``expit`` is one half (detection ``cap/2``)."""
        return -self.beta0 / self.beta1 if self.beta1 else np.nan

    def as_dict(self) -> dict:
        return {"beta0": self.beta0, "beta1": self.beta1, "cap": self.cap, "midpoint": self.midpoint}


@dataclass(frozen=True)
class DPCFit:
    """The fitted curve, the common SD ``sigma`` (log2), the row means ``mu`` (NaN for rows never detected)
    and the maximised log-likelihood."""

    curve: DetectionCurve
    sigma: float
    mu: np.ndarray
    loglik: float
    n_iter: int


def detect_prob(mu, sigma: float, curve: DetectionCurve) -> np.ndarray:
    """``E[pi(y)]`` for ``y ~ N(mu, sigma²)`` (any shape of ``mu``), by Gauss–Hermite quadrature."""
    mu = np.asarray(mu, dtype=float)
    fin = np.isfinite(mu)
    if mu.size > 4000 and fin.any():
        # a smooth function of mu alone: tabulate on a grid of step sigma/400 and interpolate linearly
        # (error below 1e-6 for logistic curves with slope up to 20 per log2 unit)
        lo, hi = float(mu[fin].min()), float(mu[fin].max())
        step = max(sigma, 1e-3) / 400.0
        grid = lo + step * np.arange(int(np.ceil((hi - lo) / step)) + 2)
        table = _exact_detect_prob(grid, sigma, curve)
        return np.where(fin, np.interp(mu, grid, table), np.nan)
    return _exact_detect_prob(mu, sigma, curve)


def _exact_detect_prob(mu, sigma, curve):
    y = mu[..., None] + sigma * _Z
    return np.clip((curve.prob(y) * _W).sum(axis=-1), 1e-300, 1.0)


def _log1m(p):
    """``log(1 − p)``, accurate for tiny p."""
    return np.log1p(-np.clip(p, 0.0, 1.0 - 1e-16))


def _log_at_least_one(p, n):
    """``log(1 − (1 − p)^n)``: the probability of at least one detection in n samples."""
    return np.log(np.clip(-np.expm1(n * _log1m(p)), 1e-300, 1.0))


def _row_loglik(mu, ybar, ss, n_obs, n_miss, n_tot, sigma, curve):
    """Per-row log-likelihood in mu (the parts that depend on mu), broadcast over a trailing grid axis."""
    p_det = detect_prob(mu, sigma, curve)
    ll = -0.5 * (ss + n_obs * (ybar - mu) ** 2) / sigma ** 2
    ll = ll + n_miss * _log1m(p_det)
    return ll - _log_at_least_one(p_det, n_tot)


def _update_mu(ybar, ss, n_obs, n_miss, n_tot, sigma, curve, lo=-8.0, hi=2.0, n_grid=41):
    """Maximise every row's likelihood in mu on a grid ybar + sigma·[lo, hi], then a parabola step."""
    steps = np.linspace(lo, hi, n_grid) * sigma
    grid = ybar[:, None] + steps[None, :]
    ll = _row_loglik(grid, ybar[:, None], ss[:, None], n_obs[:, None], n_miss[:, None], n_tot, sigma, curve)
    k = np.clip(np.argmax(ll, axis=1), 1, n_grid - 2)
    rows = np.arange(ybar.size)
    a, b, c = ll[rows, k - 1], ll[rows, k], ll[rows, k + 1]
    den = a - 2 * b + c
    shift = np.where(den < 0, 0.5 * (a - c) / np.where(den < 0, den, -1.0), 0.0)
    h = steps[1] - steps[0]
    return grid[rows, k] + np.clip(shift, -1, 1) * h


def _curve_from(theta) -> DetectionCurve:
    return DetectionCurve(float(theta[0]), float(np.exp(theta[1])), float(special.expit(theta[2])))


def _neg_loglik_curve(theta, y_obs, rows, n_tot, sigma):
    """``y_obs``: (centres, counts) of the binned observed values; ``rows``: (mu centres, number of rows,
    summed missing counts) of the rows binned by mu (the curve's likelihood depends on a row only via these)."""
    curve = _curve_from(theta)
    mu, n_rows, n_miss = rows
    p_det = detect_prob(mu, sigma, curve)
    centres, counts = y_obs
    ll = (counts * np.log(np.clip(curve.prob(centres), 1e-300, 1.0))).sum()
    ll += (n_miss * _log1m(p_det)).sum()
    ll -= (n_rows * _log_at_least_one(p_det, n_tot)).sum()
    return -ll


def _bin_rows(mu, n_miss, width=0.005):
    key = np.round(mu / width).astype(np.int64)
    uniq, inv = np.unique(key, return_inverse=True)
    return uniq * width, np.bincount(inv).astype(float), np.bincount(inv, weights=n_miss)


def _pooled_sigma(Y: np.ndarray) -> float:
    n_obs = np.isfinite(Y).sum(axis=1)
    rows = n_obs >= 3
    if not rows.any():
        rows = n_obs >= 2
    if not rows.any():
        return 1.0
    with np.errstate(all="ignore"):
        v = np.nanvar(Y[rows], axis=1, ddof=1)
    v = v[np.isfinite(v) & (v > 0)]
    return float(np.sqrt(np.median(v))) if v.size else 1.0


def fit_detection_curve(Y, *, sigma: float | None = None, cap: bool = True, max_iter: int = 30,
                        tol: float = 1e-6) -> DPCFit:
    """Fit the detection probability curve to ``Y`` (rows × samples, log2, NaN = not detected).

    ``sigma`` (log2) is the SD of a row's true values across samples; ``None`` uses the median within-row
    variance of rows with ≥ 3 observed values (the observed values of a row near the detection limit are a
    truncated sample, so this is slightly low). ``cap=False`` fixes the upper asymptote at 1.
    Rows with no detection are ignored (their ``mu`` is NaN). Returns a :class:`DPCFit`.
    """
    Y = np.asarray(Y, dtype=float)
    obs = np.isfinite(Y)
    n_obs_all = obs.sum(axis=1)
    keep = n_obs_all > 0
    if keep.sum() < 3:
        raise ValueError("the detection curve needs at least 3 rows with a detected value")
    Yk = Y[keep]
    ok = obs[keep]
    n_tot = Y.shape[1]
    n_obs = ok.sum(axis=1).astype(float)
    n_miss = n_tot - n_obs
    ybar = np.where(ok, Yk, 0.0).sum(axis=1) / n_obs
    ss = np.where(ok, (Yk - ybar[:, None]) ** 2, 0.0).sum(axis=1)
    s = float(sigma) if sigma is not None else _pooled_sigma(Y)
    y_flat = Yk[ok]
    # observed values enter the curve's likelihood only through log pi(y): bin them (0.005 log2 wide)
    lo_y, hi_y = float(y_flat.min()), float(y_flat.max())
    n_bins = max(1, int(np.ceil((hi_y - lo_y) / 0.005)))
    counts, edges = np.histogram(y_flat, bins=n_bins, range=(lo_y, hi_y + 1e-9))
    y_obs = (0.5 * (edges[:-1] + edges[1:])[counts > 0], counts[counts > 0].astype(float))
    frac = float(n_miss.sum() / n_miss.size / n_tot)
    if frac == 0.0:  # nothing missing: detection is certain over the observed range
        curve = DetectionCurve(50.0, 0.0, 1.0)
        row_mean = np.where(obs, Y, 0.0).sum(axis=1) / np.maximum(obs.sum(axis=1), 1)
        return DPCFit(curve, s, np.where(keep, row_mean, np.nan), 0.0, 0)
    # start: midpoint at the low end of observed values, slope 1 per log2 unit, cap just below 1
    mid = float(np.quantile(y_flat, 0.05))
    theta = np.array([-mid, 0.0, 4.0 if cap else 40.0])
    mu = ybar.copy()
    prev = np.inf
    n_iter = 0
    for _ in range(max_iter):
        n_iter += 1
        curve = _curve_from(theta)
        mu = _update_mu(ybar, ss, n_obs, n_miss, n_tot, s, curve)
        rows = _bin_rows(mu, n_miss)
        fun = (lambda th, rows=rows: _neg_loglik_curve(th, y_obs, rows, n_tot, s)) if cap else \
            (lambda th, rows=rows: _neg_loglik_curve(np.array([th[0], th[1], 40.0]), y_obs, rows, n_tot, s))
        start = theta if cap else theta[:2]
        res = optimize.minimize(fun, start, method="L-BFGS-B",
                                bounds=[(-200, 200), (np.log(1e-3), np.log(20.0)), (-5, 40)][:start.size])
        theta = res.x if cap else np.array([res.x[0], res.x[1], 40.0])
        if abs(prev - res.fun) < tol * max(1.0, abs(res.fun)):
            prev = res.fun
            break
        prev = res.fun
    curve = _curve_from(theta)
    mu = _update_mu(ybar, ss, n_obs, n_miss, n_tot, s, curve)
    mu_all = np.full(Y.shape[0], np.nan)
    mu_all[keep] = mu
    return DPCFit(curve, s, mu_all, float(-prev), n_iter)


def posterior_fill(Y, fit: DPCFit, mu=None) -> tuple[np.ndarray, np.ndarray]:
    """Complete matrix and per-value SE (rows × samples, log2). Observed values are kept with SE 0; a missing
    value becomes the posterior mean of ``y`` given non-detection under ``N(mu_i, sigma²)``, with the posterior
    SD as its SE. ``mu`` (one per row) defaults to the fit's row means; rows without one stay NaN."""
    Y = np.asarray(Y, dtype=float)
    mu = fit.mu if mu is None else np.asarray(mu, dtype=float)
    y = mu[:, None] + fit.sigma * _Z[None, :]                       # rows × nodes
    w = _W[None, :] * (1.0 - fit.curve.prob(y))
    tot = w.sum(axis=1)
    with np.errstate(all="ignore"):
        mean = (w * y).sum(axis=1) / tot
        var = np.maximum((w * y ** 2).sum(axis=1) / tot - mean ** 2, 0.0)
    miss = ~np.isfinite(Y)
    full = np.where(miss, mean[:, None], Y)
    se = np.where(miss, np.sqrt(var)[:, None], 0.0)
    return full, se


def max_loglik_mu(ybar, ss, n_obs, n_miss, sigma: float, curve: DetectionCurve, *, lo: float = -10.0,
                  hi: float = 3.0, n_grid: int = 66) -> np.ndarray:
    """Maximum over mu of ``Σ_obs log phi(y; mu, sigma) + n_miss·log P(miss | mu)`` for every row (vectors;
    the ``log pi(y_obs)`` and normal-constant terms, which do not depend on mu, are left out). A row with no
    observed value is maximised at mu → −∞, where the value is 0. Grid over ``ybar + sigma·[lo, hi]``
    (step ``sigma/5``), then one parabola step."""
    ybar = np.asarray(ybar, dtype=float)
    ss = np.asarray(ss, dtype=float)
    n_obs = np.asarray(n_obs, dtype=float)
    n_miss = np.asarray(n_miss, dtype=float)
    out = np.zeros(ybar.shape)
    has = n_obs > 0
    if not has.any():
        return out
    steps = np.linspace(lo, hi, n_grid) * sigma
    grid = ybar[has, None] + steps[None, :]
    ll = -0.5 * (ss[has, None] + n_obs[has, None] * (ybar[has, None] - grid) ** 2) / sigma ** 2 \
        + n_miss[has, None] * _log1m(detect_prob(grid, sigma, curve))
    k = np.clip(np.argmax(ll, axis=1), 1, n_grid - 2)
    r = np.arange(grid.shape[0])
    a, b, c = ll[r, k - 1], ll[r, k], ll[r, k + 1]
    den = a - 2 * b + c
    # value at the parabola's vertex: b − (a − c)² / (8·den) when concave
    out[has] = np.where(den < 0, b - (a - c) ** 2 / (8 * np.where(den < 0, den, -1.0)), b)
    return out
