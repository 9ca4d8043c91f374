"""Differential detection: a protein seen in one group and absent from the other gets its own test.

Two tests, both per protein and vectorised (group sizes ``n_a``, ``n_b``; detections ``k_a ≥ 1``, ``k_b = 0``):

* ``model`` (default): a likelihood-ratio test under the detection probability curve of
  :mod:`proteomics.stats.dpc`. True values ``y ~ N(mu_g, sigma²)``, a value is detected with probability
  ``pi(y)``, a missing value contributes ``log P(miss | mu_g)``. Under H1 each group has its own mean; the
  absent group's likelihood is maximised as ``mu_b → −∞`` (value 0). Under H0 one common mean explains the
  detections of A and the misses of both groups, ``LR = 2(l1 − l0)``. A protein that is bright where it is
  seen (so absence elsewhere is unlikely by chance) gets a large LR; one seen at the detection limit does not.
  The LR is *not* referred to χ²₁: among proteins that are absent from a group by chance, that is about three
  times too liberal with three samples per group (*measured* on simulated nulls). Instead its null distribution
  is simulated from the fitted model with the same group sizes (true means resampled from the data's fitted
  row means, values and detections drawn from the curve; seeded), keeping only simulated proteins that show
  the same pattern (seen in one group only). The p-value is the fraction of null LRs at least as large; beyond
  the null's 99th percentile the tail continues as a χ²₁ scaled to pass through that percentile.
* ``binomial``: the conditional exact test of equal detection rates (Fisher's exact test on the 2×2 table of
  detections), which ignores intensities. Given ``k`` detections in all, the chance that all fall in group A
  is ``C(n_a, k)/C(n_a + n_b, k)``; the two-sided p adds the equally or less likely tables.

:func:`detection_tests` fills these p-values into a :class:`~proteomics.stats.results.DEResult` (rows whose
moderated statistics are missing because one group of the contrast is unobserved), marks them
``test = "detection"`` and recomputes ``q_value`` over the whole family, so every protein shares one
Benjamini–Hochberg (or BY/Storey) adjustment.
"""

from __future__ import annotations

import logging
from dataclasses import replace

import numpy as np
import pandas as pd
from scipy import stats

from ..dataset import Dataset
from ..errors import InputError
from .dpc import DPCFit, fit_detection_curve, max_loglik_mu
from .fdr import adjust
from .results import DEResult

__all__ = ["lr_statistic", "null_lr", "null_p", "lrt_detection_p", "fisher_detection_p", "detection_tests",
           "TESTS"]

log = logging.getLogger(__name__)

TESTS = ("model", "binomial")


def lr_statistic(y_present: np.ndarray, n_absent: int | np.ndarray, fit: DPCFit) -> np.ndarray:
    """Likelihood-ratio statistic of the detection test. ``y_present``: proteins × samples of the group where
    each protein is seen (log2, NaN = missing); ``n_absent``: samples of the other group (all missing).
    NaN for a row with no observed value."""
    Y = np.atleast_2d(np.asarray(y_present, dtype=float))
    obs = np.isfinite(Y)
    k = obs.sum(axis=1).astype(float)
    m_a = Y.shape[1] - k
    m_b = np.broadcast_to(np.asarray(n_absent, dtype=float), k.shape)
    with np.errstate(all="ignore"):
        ybar = np.where(obs, Y, 0.0).sum(axis=1) / np.maximum(k, 1)
    ss = np.where(obs, (Y - ybar[:, None]) ** 2, 0.0).sum(axis=1)
    l1 = max_loglik_mu(ybar, ss, k, m_a, fit.sigma, fit.curve)
    l0 = max_loglik_mu(ybar, ss, k, m_a + m_b, fit.sigma, fit.curve)
    lr = np.maximum(2.0 * (l1 - l0), 0.0)
    lr[k == 0] = np.nan
    return lr


def null_lr(fit: DPCFit, n_a: int, n_b: int, *, seed: int = 0, target: int = 10000,
            max_rows: int = 500_000) -> np.ndarray:
    """LR statistics of simulated null proteins (no change) that are seen in exactly one of two groups of
    sizes ``n_a``/``n_b``, sorted. True means are resampled from ``fit.mu``; seeded, deterministic."""
    rng = np.random.default_rng(seed)
    mu_pool = fit.mu[np.isfinite(fit.mu)]
    out: list[np.ndarray] = []
    n = n_a + n_b
    batch = int(min(100_000, max(1_000, 10_000_000 // n)))        # at most ~10 M simulated values at a time
    max_rows = int(min(max_rows, max(batch, 50_000_000 // n)))     # and ~50 M in all (large cohorts: few nulls)
    got, drawn = 0, 0
    while got < target and drawn < max_rows:
        mu = rng.choice(mu_pool, size=batch)
        Y = mu[:, None] + fit.sigma * rng.standard_normal((batch, n))
        det = rng.random(Y.shape) < fit.curve.prob(Y)
        Y = np.where(det, Y, np.nan)
        ka, kb = det[:, :n_a].sum(axis=1), det[:, n_a:].sum(axis=1)
        sel_a = (ka > 0) & (kb == 0)
        sel_b = (kb > 0) & (ka == 0)
        if sel_a.any():
            out.append(lr_statistic(Y[sel_a, :n_a], n_b, fit))
        if sel_b.any():
            out.append(lr_statistic(Y[sel_b, n_a:], n_a, fit))
        got += int(sel_a.sum() + sel_b.sum())
        drawn += batch
    null = np.sort(np.concatenate(out)) if out else np.empty(0)
    return null[np.isfinite(null)]


def null_p(lr: np.ndarray, null: np.ndarray) -> np.ndarray:
    """p-values of ``lr`` against the simulated ``null`` (sorted): empirical up to its 99th percentile, then
    a χ²₁ tail scaled to pass through that percentile (continuous there). With fewer than 100 simulated nulls
    (large groups, where absence from a whole group by chance is very rare) the χ²₁ reference is used."""
    lr = np.asarray(lr, dtype=float)
    if null.size < 100:
        return stats.chi2.sf(lr, 1)
    m = null.size
    p_emp = (1.0 + m - np.searchsorted(null, lr, side="left")) / (1.0 + m)
    q99 = float(np.quantile(null, 0.99))
    scale = max(q99 / stats.chi2.isf(0.01, 1), 1e-12)
    tail = 0.01 * stats.chi2.sf(lr / scale, 1) / stats.chi2.sf(q99 / scale, 1)
    p = np.where(lr > q99, np.minimum(tail, p_emp), p_emp)
    return np.where(np.isfinite(lr), np.clip(p, 0.0, 1.0), np.nan)


def lrt_detection_p(y_present: np.ndarray, n_absent: int, fit: DPCFit, *, n_present: int | None = None,
                    seed: int = 0, null: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Model-based detection test: (LR statistic, p-value) per row of ``y_present`` (see :func:`lr_statistic`),
    the p-value from the simulated null of :func:`null_lr` for groups of ``y_present.shape[1]`` and
    ``n_absent`` samples (or a precomputed ``null``)."""
    Y = np.atleast_2d(np.asarray(y_present, dtype=float))
    lr = lr_statistic(Y, n_absent, fit)
    if null is None:
        null = null_lr(fit, Y.shape[1] if n_present is None else n_present, int(n_absent), seed=seed)
    return lr, null_p(lr, null)


def fisher_detection_p(k_a, n_a, k_b, n_b) -> np.ndarray:
    """Two-sided Fisher exact p-value for detections ``k_a`` of ``n_a`` against ``k_b`` of ``n_b`` (vectors)."""
    k_a, n_a, k_b, n_b = (np.broadcast_to(np.asarray(v, dtype=int), np.broadcast(k_a, n_a, k_b, n_b).shape)
                          for v in (k_a, n_a, k_b, n_b))
    out = np.full(k_a.shape, np.nan)
    keys = np.stack([k_a.ravel(), n_a.ravel(), k_b.ravel(), n_b.ravel()], axis=1)
    uniq, inv = np.unique(keys, axis=0, return_inverse=True)
    vals = np.array([stats.fisher_exact([[a, na - a], [b, nb - b]])[1] for a, na, b, nb in uniq])
    out.ravel()[:] = vals[inv.ravel()]
    return out


def _two_sides(result: DEResult, levels) -> tuple[list[str], list[str]] | None:
    """The groups on the positive and on the negative side of a contrast between group means, else None.

    ``B-A`` gives ``(["B"], ["A"])``; ``(B+C)/2-A`` gives ``(["B", "C"], ["A"])``. A contrast is between group
    means when every weight is on a level of the grouping column and the weights sum to zero.
    """
    w = dict(result.params.get("contrast_weights", {}))
    if not w or any(k not in levels for k in w) or abs(sum(w.values())) > 1e-9:
        return None
    pos = sorted(k for k, v in w.items() if v > 0)
    neg = sorted(k for k, v in w.items() if v < 0)
    return (pos, neg) if pos and neg else None


def detection_tests(ds: Dataset, results, *, group: str = "condition", method: str = "model",
                    fdr: str = "bh", fit: DPCFit | None = None, seed: int = 0):
    """Add the detection test to one :class:`DEResult` or a list of them (one per contrast).

    The two sides of a contrast are the samples of the groups with positive and with negative weights (``B-A``:
    B against A; ``(B+C)/2-A``: B and C pooled against A). Rows whose ``p_value`` is missing and that are
    observed on exactly one side get the detection p-value, ``test = "detection"``, ``detected_in`` = that
    side's groups joined by ``+``, ``log2fc``/``t`` left missing (the change is not estimable); every other row
    with a p-value gets ``test`` = the result's own test (``moderated_t`` unless the column exists). ``q_value``
    is recomputed over all p-values of the contrast. Contrasts that are not between group means (a covariate's
    slope, say) are returned with only the ``test`` column added.
    ``fit`` is the detection curve (fitted on ``ds``, proteins as rows, when not given).
    """
    if method not in TESTS:
        raise InputError(f"unknown detection test {method!r}", hint=f"use one of: {', '.join(TESTS)}")
    single = isinstance(results, DEResult)
    res_list = [results] if single else list(results)
    X = np.asarray(ds.X, dtype=float)
    labels = ds.samples[group].astype(str).to_numpy()
    levels = sorted(set(labels))
    if method == "model" and fit is None and np.isnan(X).any():
        try:
            fit = fit_detection_curve(X.T)
        except ValueError as exc:
            log.warning("detection curve could not be fitted (%s); using the binomial detection test", exc)
            method = "binomial"
    out = []
    for res in res_list:
        table = res.table.copy()
        if "test" not in table.columns:
            table["test"] = np.where(np.isfinite(table["p_value"].to_numpy(dtype=float)), "moderated_t", "")
        table["detected_in"] = ""
        pair = _two_sides(res, levels)
        n_det = 0
        if pair is not None and np.isnan(X).any():
            pos, neg = "+".join(pair[0]), "+".join(pair[1])
            a, b = np.isin(labels, pair[0]), np.isin(labels, pair[1])
            k_a = np.isfinite(X[a]).sum(axis=0)
            k_b = np.isfinite(X[b]).sum(axis=0)
            p_now = table["p_value"].to_numpy(dtype=float)
            rows = ~np.isfinite(p_now) & (((k_a > 0) & (k_b == 0)) | ((k_a == 0) & (k_b > 0)))
            if rows.any():
                in_a = k_a[rows] > 0
                if method == "binomial":
                    p = fisher_detection_p(k_a[rows], a.sum(), k_b[rows], b.sum())
                else:
                    null = null_lr(fit, int(a.sum()), int(b.sum()), seed=seed)
                    lr = np.where(in_a, lr_statistic(X[a][:, rows].T, int(b.sum()), fit),
                                  lr_statistic(X[b][:, rows].T, int(a.sum()), fit))
                    p = null_p(lr, null)
                idx = np.flatnonzero(rows)
                table.loc[table.index[idx], "p_value"] = p
                table.loc[table.index[idx], "test"] = "detection"
                table.loc[table.index[idx], "detected_in"] = np.where(in_a, pos, neg)
                n_det = int(rows.sum())
            table["q_value"] = adjust(table["p_value"].to_numpy(dtype=float), fdr)
        params = dict(res.params) | {"detection_test": method if pair is not None else None,
                                     "n_detection_tests": n_det}
        if fit is not None and method == "model":
            params["detection_curve"] = fit.curve.as_dict() | {"sigma": fit.sigma}
        out.append(replace(res, table=pd.DataFrame(table), params=params))
    return out[0] if single else out
