"""``quantify --method dpc``: protein quantification by maximum posterior given the detection probability curve.

The class of model of limpa's quantification (Li, Cobbold & Smyth 2025), written from the paper's description
(no code taken). For one protein with precursors k and samples j (log2):

* detected values ``y_kj ~ N(a_k + theta_j, sigma²)`` (precursor effect + protein level in the sample);
* a missing value is a non-detection: ``log P(miss | a_k + theta_j)`` from the curve
  (:func:`~proteomics.quant.dpc_curve.fit_detection_curve`, fitted once on all precursors);
* a weak normal prior ``theta_j ~ N(m, tau²)`` (``m`` the protein's mean observed level, ``tau`` = 2.5 log2)
  keeps a sample without any detection finite: its value sits below the detection limit by as much as the
  curve says;
* the precursor effects sum to zero, so ``theta`` is on the scale of the mean precursor intensity.

The posterior mode is found by alternating Newton steps on ``theta`` and ``a`` (vectorised over proteins in the
padded chunks of :mod:`proteomics.quant._blocks`); the SE of each value is ``1/sqrt(curvature)`` of the
log-posterior in ``theta_j``. The result is a complete matrix (every protein with a detection has a value in
every sample) and an SE per value, both log2, samples × proteins after transposition.
"""

from __future__ import annotations

import numpy as np

from ._blocks import Prepared
from .dpc_curve import DPCFit, _exact_detect_prob, fit_detection_curve

__all__ = ["dpc_quantify", "TAU"]

#: SD (log2) of the weak prior on a protein's level in one sample around its mean observed level
TAU = 2.5


class _LogMiss:
    """``g(mu) = log P(miss | mu)`` and its first two derivatives, tabulated (step sigma/100) and interpolated."""

    def __init__(self, fit: DPCFit, lo: float, hi: float):
        s = max(fit.sigma, 1e-3)
        self.step = s / 100.0
        self.lo = lo
        self.grid = lo + self.step * np.arange(int(np.ceil((hi - lo) / self.step)) + 3)
        p = _exact_detect_prob(self.grid, fit.sigma, fit.curve)
        self.g = np.log1p(-np.clip(p, 0.0, 1.0 - 1e-16))
        self.d1 = np.gradient(self.g, self.step)
        self.d2 = np.gradient(self.d1, self.step)

    def __call__(self, mu):
        mu = np.clip(mu, self.grid[0], self.grid[-1])
        return (np.interp(mu, self.grid, self.g), np.interp(mu, self.grid, self.d1),
                np.interp(mu, self.grid, self.d2))


def _block(V: np.ndarray, fit: DPCFit, g: _LogMiss, n_iter: int = 30) -> tuple[np.ndarray, np.ndarray]:
    """``V`` (n proteins, K precursors, S samples) log2 with NaN (missing or padding) → (theta, se), (n, S)."""
    obs = np.isfinite(V)
    real = obs.any(axis=2)                                    # padding rows have no value at all
    n_obs_p = obs.sum(axis=(1, 2))
    s2 = fit.sigma ** 2
    Y = np.where(obs, V, 0.0)
    m = np.where(n_obs_p > 0, Y.sum(axis=(1, 2)) / np.maximum(n_obs_p, 1), np.nan)
    # start: precursor effects = row mean − protein mean, theta = mean over precursors of (y − a)
    a = np.where(obs.any(axis=2), (Y.sum(axis=2) / np.maximum(obs.sum(axis=2), 1)) - m[:, None], 0.0)
    a = np.where(real, a, 0.0)
    cnt = obs.sum(axis=1)
    theta = np.where(cnt > 0, (np.where(obs, V - a[:, :, None], 0.0)).sum(axis=1) / np.maximum(cnt, 1),
                     m[:, None] - 1.0)
    miss = real[:, :, None] & ~obs
    prior = 1.0 / TAU ** 2
    curv = np.ones_like(theta)
    for _ in range(n_iter):
        mu = a[:, :, None] + theta[:, None, :]
        _, d1, d2 = g(mu)
        # theta: gradient and (negative) curvature of the log-posterior, summed over precursors
        grad_t = (np.where(obs, V - mu, 0.0) / s2).sum(axis=1) + np.where(miss, d1, 0.0).sum(axis=1) \
            - prior * (theta - m[:, None])
        curv = cnt / s2 + np.where(miss, -d2, 0.0).sum(axis=1) + prior
        step = np.clip(grad_t / curv, -2.0, 2.0)
        theta = theta + step
        mu = a[:, :, None] + theta[:, None, :]
        _, d1, d2 = g(mu)
        grad_a = (np.where(obs, V - mu, 0.0) / s2).sum(axis=2) + np.where(miss, d1, 0.0).sum(axis=2)
        curv_a = obs.sum(axis=2) / s2 + np.where(miss, -d2, 0.0).sum(axis=2) + 1e-6
        a = np.where(real, a + np.clip(grad_a / curv_a, -2.0, 2.0), 0.0)
        # identifiability: precursor effects sum to zero over the protein's real precursors
        shift = np.where(real, a, 0.0).sum(axis=1) / np.maximum(real.sum(axis=1), 1)
        a = np.where(real, a - shift[:, None], 0.0)
        theta = theta + shift[:, None]
        if np.nanmax(np.abs(step), initial=0.0) < 1e-6:
            break
    theta = np.where(np.isfinite(m)[:, None], theta, np.nan)
    se = np.where(np.isfinite(theta), 1.0 / np.sqrt(np.maximum(curv, 1e-12)), np.nan)
    return theta, se


def dpc_quantify(prep: Prepared, fit: DPCFit | None = None) -> tuple[np.ndarray, np.ndarray, DPCFit]:
    """(values, SE, curve fit): proteins × samples, log2, for the entities of ``prep`` (see module doc). The
    curve is fitted on all entities (rows) unless given."""
    logv = np.log2(np.where(prep.values > 0, prep.values, np.nan))
    if fit is None:
        fit = fit_detection_curve(logv)
    fin = logv[np.isfinite(logv)]
    lo = float(fin.min()) - 12.0 * max(fit.sigma, 0.1) - 2 * TAU if fin.size else -10.0
    hi = float(fin.max()) + 6.0 * max(fit.sigma, 0.1) if fin.size else 10.0
    g = _LogMiss(fit, lo, hi)
    P, S = len(prep.proteins), len(prep.samples)
    X = np.full((P, S), np.nan)
    SE = np.full((P, S), np.nan)
    for c in prep.chunks():
        theta, se = _block(c.V, fit, g)
        X[c.rows] = theta
        SE[c.rows] = se
    return X, SE, fit
