"""Imputation of missing values (samples × proteins, log2). Each imputer sets ``layers['imputed']``.

Random imputers draw with a generator seeded by ``(seed, sha256(sample id))``, one stream per sample, so a
sample gets the same draws whatever other samples are transformed with it (deterministic, single-sample
safe, order independent). Sample ids are the DataFrame index (Dataset sample ids).
"""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd

from ..errors import InputError
from .base import ProteomicsTransformer, store_params

__all__ = ["DownshiftImputer", "MinProbImputer", "KNNImputer", "NoImputer", "sample_rng"]


def sample_rng(seed: int, sample_id) -> np.random.Generator:
    """Generator for one sample: seeded by the integer seed and the first 8 bytes of sha256(sample id)."""
    h = int.from_bytes(hashlib.sha256(str(sample_id).encode("utf-8")).digest()[:8], "little")
    return np.random.default_rng(np.random.SeedSequence([int(seed) & 0xFFFFFFFF, h]))


def fill_per_sample(frame: pd.DataFrame, seed: int, draw) -> pd.DataFrame:
    """``frame`` (samples × proteins, log2) with each sample's missing cells replaced by
    ``draw(sample id, its observed values, number missing, rng)``; the rng comes from ``seed`` and the sample id
    (:func:`sample_rng`), so a sample's draws do not depend on the other samples."""
    X = frame.to_numpy(float).copy()
    for i, sid in enumerate(frame.index):
        row = X[i]
        miss = ~np.isfinite(row)
        if miss.any():
            row[miss] = draw(sid, row[~miss], int(miss.sum()), sample_rng(seed, sid))
    return pd.DataFrame(X, index=frame.index, columns=frame.columns)


class _Imputer(ProteomicsTransformer):
    def _layers(self, before, after):
        return {"imputed": (before.isna() & after.notna()).to_numpy()}


class NoImputer(_Imputer):
    """No imputation: values are returned unchanged (downstream steps must handle NaN)."""

    def _transform(self, frame):
        return frame.copy()


class DownshiftImputer(_Imputer):
    """Perseus "replace missing values from normal distribution", separately for each sample.

    For sample i with valid values of mean m_i and sample SD s_i (n − 1), each missing cell is drawn from
    N(m_i − shift·s_i, (width·s_i)²) (Perseus defaults shift = 1.8, width = 0.3). The statistics are computed
    at transform time from the sample itself (within-sample, so no leakage and single-sample safe);
    ``fit`` learns nothing but the protein list. A sample with fewer than 2 valid values raises
    :class:`InputError` (Perseus drops such a column). Draws depend on ``seed`` and the sample id only.
    """

    def __init__(self, shift: float = 1.8, width: float = 0.3, seed: int = 0):
        store_params(self, locals())

    def _transform(self, frame):
        def draw(sid, v, n, rng):
            if v.size < 2:
                raise InputError(f"sample {sid!r} has fewer than 2 valid values; cannot impute from its distribution",
                                 hint="drop this sample or filter proteins first")
            m, s = v.mean(), v.std(ddof=1)
            return rng.normal(m - self.shift * s, self.width * s, n)

        return fill_per_sample(frame, self.seed, draw)


class MinProbImputer(_Imputer):
    """imputeLCMD ``impute.MinProb``: per sample, draws from N(q-quantile of the sample, sd²).

    ``sd_`` (learned in ``fit``) is ``tune_sigma`` × the median over proteins observed in more than half of the
    training samples of their SD (n − 1). The per-sample mean is the sample's ``q`` quantile (numpy linear =
    R type 7) computed at transform time from the sample itself (single-sample safe). Unlike imputeLCMD,
    only missing cells are drawn (so draws cannot be compared with R number for number).
    """

    _state_attrs = ("sd_",)

    def __init__(self, q: float = 0.01, tune_sigma: float = 1.0, seed: int = 0):
        store_params(self, locals())

    def _fit(self, frame, y=None):
        X = frame.to_numpy(float)
        obs = np.isfinite(X).mean(axis=0) > 0.5
        if not obs.any() or X.shape[0] < 2:
            raise InputError("MinProb needs at least one protein observed in more than half of >= 2 samples")
        sds = np.nanstd(X[:, obs], axis=0, ddof=1)
        self.sd_ = float(np.nanmedian(sds) * self.tune_sigma)

    def _transform(self, frame):
        def draw(sid, v, n, rng):
            if v.size == 0:
                raise InputError(f"sample {sid!r} has no valid value; cannot impute", hint="drop this sample")
            return rng.normal(np.quantile(v, self.q), self.sd_, n)

        return fill_per_sample(frame, self.seed, draw)


def _knn_neighbours(X: np.ndarray, k: int, candidates: np.ndarray, chunk: int = 512) -> np.ndarray:
    """For every protein (column of samples × proteins X), the k nearest candidate proteins.

    Distance (impute.knn): mean squared difference over co-observed samples, 1e10 when none; ties keep the
    earlier protein. Returns (n_proteins, k) int array (−1 where fewer candidates exist).
    """
    M = np.isfinite(X).astype(float)
    Z = np.where(M > 0, X, 0.0)
    Z2 = Z * Z
    cand = np.flatnonzero(candidates)
    Mc, Zc, Z2c = M[:, cand], Z[:, cand], Z2[:, cand]
    p = X.shape[1]
    out = np.full((p, k), -1, dtype=np.int64)
    for start in range(0, p, chunk):
        g = np.arange(start, min(p, start + chunk))
        S = Z2[:, g].T @ Mc + M[:, g].T @ Z2c - 2.0 * (Z[:, g].T @ Zc)
        C = M[:, g].T @ Mc
        with np.errstate(divide="ignore", invalid="ignore"):
            D = np.where(C > 0, np.maximum(S, 0.0) / C, 1e10)
        D[g[:, None] == cand[None, :]] = np.inf  # never its own neighbour
        order = np.argsort(D, axis=1, kind="stable")[:, :k]
        kk = min(k, cand.size - 1) if cand.size else 0
        sel = cand[order]
        sel[:, kk:] = -1
        out[g, : sel.shape[1]] = sel
    return out


def _row_nanmean(A: np.ndarray) -> np.ndarray:
    """Mean over axis 1 ignoring NaN; NaN (no warning) where a row has no value."""
    ok = np.isfinite(A)
    cnt = ok.sum(axis=1)
    tot = np.where(ok, A, 0.0).sum(axis=1)
    return np.where(cnt > 0, tot / np.maximum(cnt, 1), np.nan)


class KNNImputer(_Imputer):
    """k-nearest-neighbour imputation over proteins, as ``impute::impute.knn`` (Troyanskaya et al. 2001).

    ``fit`` learns, for every protein, its ``k`` nearest proteins over the training samples (distance: mean
    squared difference over co-observed samples). Proteins missing in more than ``trunc(rowmax · n)`` training
    samples are not neighbours and are imputed by the sample's mean over those proteins (R ``meanimp``;
    when that is undefined, the sample's mean over all observed proteins; R's quirk of writing 0 when exactly
    one protein exceeds rowmax is not reproduced). A missing cell gets the mean of its neighbours observed in
    that sample, or the sample's mean over observed neighbour-eligible proteins if none is. Imputing a new
    sample uses only that sample and the frozen neighbour lists (single-sample safe). R splits more than
    ``maxp`` = 1500 proteins by two-means clustering; this implementation always searches all proteins.
    ``fit`` refuses training samples with more than ``colmax`` missing (like R). samples × proteins, log2.
    """

    _state_attrs = ("neighbours_", "too_missing_")

    def __init__(self, k: int = 10, rowmax: float = 0.5, colmax: float = 0.8):
        store_params(self, locals())

    def _restore(self, name, value):
        if name == "neighbours_":
            return np.asarray(value, dtype=np.int64).reshape(-1, int(self.k))
        if name == "too_missing_":
            return np.asarray(value, dtype=bool)
        return super()._restore(name, value)

    def _fit(self, frame, y=None):
        X = frame.to_numpy(float)
        n = X.shape[0]
        if int(self.k) < 1:
            raise InputError(f"k must be >= 1, got {self.k}")
        miss = ~np.isfinite(X)
        bad = [str(s) for s, f in zip(frame.index, miss.mean(axis=1), strict=True) if f > self.colmax]
        if bad:
            raise InputError(f"sample(s) with more than {self.colmax:.0%} missing values: {', '.join(bad[:5])}",
                             hint="drop these samples or raise colmax")
        self.too_missing_ = miss.sum(axis=0) > int(np.trunc(self.rowmax * n))
        self.neighbours_ = _knn_neighbours(X, int(self.k), ~self.too_missing_)
        self.neighbours_[self.too_missing_] = -1

    def _transform(self, frame):
        X = frame.to_numpy(float).copy()
        obs = np.isfinite(X)
        nb = self.neighbours_
        valid_nb = nb >= 0
        V = X[:, np.where(valid_nb, nb, 0)]  # samples × proteins × k
        V[:, ~valid_nb] = np.nan
        with np.errstate(all="ignore"):
            cnt = np.isfinite(V).sum(axis=2)
            knn = np.where(cnt > 0, np.nansum(V, axis=2) / np.maximum(cnt, 1), np.nan)
            elig = np.where(obs & ~self.too_missing_[None, :], X, np.nan)
            col_mean = _row_nanmean(elig)
            all_mean = _row_nanmean(np.where(obs, X, np.nan))
        col_mean = np.where(np.isfinite(col_mean), col_mean, all_mean)
        fill = np.where(self.too_missing_[None, :], col_mean[:, None],
                        np.where(np.isfinite(knn), knn, col_mean[:, None]))
        X[~obs] = fill[~obs]
        return pd.DataFrame(X, index=frame.index, columns=frame.columns)
