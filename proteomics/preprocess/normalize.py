"""Normalisation steps (samples × proteins, log2, NaN = missing; NaN stays NaN).

* :class:`MedianNormalizer`: within-sample median centring onto a level learned in ``fit``.
* :class:`QuantileNormalizer`: preprocessCore ``normalize.quantiles``; the target distribution is learned in
  ``fit`` and every sample (also a new one alone) is mapped onto it.
* :class:`VSNNormalizer`: a generalised-log (arsinh) variance-stabilising transform with an offset learned in
  ``fit`` (not the full vsn2 maximum-likelihood calibration; see its docstring).
* :class:`ReferenceNormalizer`: within-sample, subtract the median of chosen reference proteins.
* :class:`TotalIntensityNormalizer`: within-sample, divide by the summed linear intensity (BAL dilution).

All of them are ``single_sample_safe``: once fitted they transform one sample using only that sample and
frozen numbers.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy.stats import rankdata

from ..errors import InputError
from .base import ProteomicsTransformer, store_params

__all__ = ["MedianNormalizer", "QuantileNormalizer", "VSNNormalizer", "ReferenceNormalizer",
           "TotalIntensityNormalizer", "quantile_target", "quantile_map"]

_EPS4 = 4 * np.finfo(float).eps


def _sample_medians(frame: pd.DataFrame) -> np.ndarray:
    X = frame.to_numpy(float)
    with np.errstate(all="ignore"):
        med = np.full(X.shape[0], np.nan)
        ok = np.isfinite(X).any(axis=1)
        med[ok] = np.nanmedian(X[ok], axis=1)
    return med


class MedianNormalizer(ProteomicsTransformer):
    """Median centring in log2: ``x'_ij = x_ij − median_j(x_i·) + center_``.

    ``center_`` is the median of the training samples' medians (learned in ``fit``), so values stay on an
    intensity-like log2 scale. The shift of one sample uses only that sample (single-sample safe).
    A sample with no valid value stays all-NaN.
    """

    _state_attrs = ("center_",)

    def _fit(self, frame, y=None):
        med = _sample_medians(frame)
        if not np.isfinite(med).any():
            raise InputError("median normalisation needs at least one sample with a valid value")
        self.center_ = float(np.nanmedian(med))

    def _transform(self, frame):
        med = _sample_medians(frame)
        return frame.sub(med, axis=0) + self.center_


def quantile_target(X: np.ndarray) -> np.ndarray:
    """preprocessCore target: mean over samples of each sample's sorted values, on a grid of n_proteins.

    ``X`` is samples × proteins (log2). A sample with fewer valid values than proteins is linearly
    interpolated onto the common grid (as ``normalize.quantiles`` does with NAs).
    """
    n = X.shape[1]
    acc = np.zeros(n)
    used = 0
    for row in X:
        v = np.sort(row[np.isfinite(row)])
        m = v.size
        if m == 0:
            continue
        used += 1
        if m == n:
            acc += v
            continue
        if m == 1:
            acc += v[0]
            continue
        pos = np.arange(n) / (n - 1) * (m - 1)
        lo = np.floor(pos + _EPS4).astype(int)
        frac = pos - lo
        hi = np.minimum(lo + 1, m - 1)
        acc += np.where(np.abs(frac) <= _EPS4, v[lo], (1 - frac) * v[lo] + frac * v[hi])
    if used == 0:
        raise InputError("quantile normalisation needs at least one sample with a valid value")
    return acc / used


def quantile_map(row: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Map one sample (1-D, log2, NaN kept) onto ``target`` by rank, with preprocessCore's tie and NA rules."""
    out = np.full(row.shape, np.nan)
    ok = np.isfinite(row)
    m = int(ok.sum())
    n = target.size
    if m == 0:
        return out
    ranks = rankdata(row[ok], method="average")
    if m == n:
        ind = np.floor(ranks).astype(int)
        half = (ranks - ind) > 0.4
        val = target[ind - 1].copy()
        val[half] = 0.5 * (target[ind[half] - 1] + target[ind[half]])
        out[ok] = val
        return out
    if m == 1:
        pos = np.array([1.0])
    else:
        pos = (ranks - 1) / (m - 1) * (n - 1) + 1
    lo = np.floor(pos + _EPS4).astype(int)
    frac = pos - lo
    frac[np.abs(frac) <= _EPS4] = 0.0
    hi = np.minimum(lo, n - 1)
    val = np.where((frac == 0) | (lo >= n), target[np.minimum(lo, n) - 1],
                   (1 - frac) * target[np.minimum(lo, n) - 1] + frac * target[hi])
    out[ok] = val
    return out


class QuantileNormalizer(ProteomicsTransformer):
    """Quantile normalisation (``preprocessCore::normalize.quantiles``), log2 in and out.

    ``fit`` learns ``target_``: the mean of the training samples' sorted values (length n_proteins);
    ``transform`` replaces each sample's values by the target at their ranks (ties get the average of
    neighbouring targets, samples with NaN are interpolated on the quantile grid, NaN stays NaN).
    On the training matrix ``fit_transform`` equals R's ``normalize.quantiles(t(X))``.
    """

    _state_attrs = ("target_",)

    def _fit(self, frame, y=None):
        self.target_ = quantile_target(frame.to_numpy(float))

    def _transform(self, frame):
        X = frame.to_numpy(float)
        out = np.vstack([quantile_map(r, self.target_) for r in X]) if X.shape[0] else X.copy()
        return pd.DataFrame(out, index=frame.index, columns=frame.columns)


class VSNNormalizer(ProteomicsTransformer):
    """Generalised-log (arsinh) variance-stabilising transform, log2-like output.

    With linear intensity ``y = 2**x`` and an offset ``c`` (linear units):
    ``h(y) = log2((y + sqrt(y² + c²)) / 2) = (arsinh(y / c) + ln(c / 2)) / ln 2``, so ``h ≈ log2(y)`` for
    ``y ≫ c`` and compresses the noisy low end (the glog of Durbin et al. 2002 / Huber et al. 2002).
    ``c`` is learned in ``fit`` as the ``quantile`` of the training samples' linear intensities (default 0.05),
    unless given as ``offset``. This is the transform of vsn without its per-sample affine calibration
    (use :class:`MedianNormalizer` first for that) and without the robust maximum-likelihood fit of vsn2;
    it is single-sample safe because ``c`` is frozen. Input and output: samples × proteins, log2(-like).
    """

    _state_attrs = ("offset_",)

    def __init__(self, quantile: float = 0.05, offset: float | None = None):
        store_params(self, locals())

    def _fit(self, frame, y=None):
        if self.offset is not None:
            if not float(self.offset) > 0:
                raise InputError(f"offset must be positive (linear intensity), got {self.offset}")
            self.offset_ = float(self.offset)
            return
        X = frame.to_numpy(float)
        v = X[np.isfinite(X)]
        if v.size == 0:
            raise InputError("VSN normalisation needs valid values to learn its offset")
        self.offset_ = float(2.0 ** np.quantile(v, float(self.quantile)))

    def _transform(self, frame):
        y = np.exp2(frame.to_numpy(float))
        c = self.offset_
        h = (np.arcsinh(y / c) + np.log(c / 2.0)) / np.log(2.0)
        return pd.DataFrame(h, index=frame.index, columns=frame.columns)


class ReferenceNormalizer(ProteomicsTransformer):
    """Within-sample reference-protein normalisation, log2.

    ``x'_ij = x_ij − median(x_i,r for r in proteins observed in sample i) + center_``, where ``proteins`` is the
    list of reference protein groups (e.g. stable plasma proteins, or a BAL dilution reference such as
    albumin) and ``center_`` the median over the training samples of their reference medians. A sample with
    fewer than ``min_reference`` observed reference proteins raises :class:`InputError` (it cannot be
    normalised alone). Single-sample safe.
    """

    _state_attrs = ("center_",)

    def __init__(self, proteins: Sequence[str] = (), min_reference: int = 1):
        store_params(self, locals())

    def _ref_medians(self, frame) -> np.ndarray:
        refs = [str(p) for p in self.proteins]
        if not refs:
            raise InputError("ReferenceNormalizer needs a list of reference proteins",
                             hint="set proteins=[...] to protein_group ids present in the data")
        absent = [p for p in refs if p not in set(map(str, frame.columns))]
        if absent:
            raise InputError(f"reference protein(s) not in the data: {', '.join(absent[:5])}",
                             hint="choose reference proteins that are quantified")
        R = frame.loc[:, refs].to_numpy(float)
        n_obs = np.isfinite(R).sum(axis=1)
        bad = [str(s) for s, k in zip(frame.index, n_obs, strict=True) if k < self.min_reference]
        if bad:
            raise InputError(f"sample(s) with fewer than {self.min_reference} observed reference proteins: "
                             f"{', '.join(bad[:5])}", hint="use other reference proteins or drop these samples")
        with np.errstate(all="ignore"):
            return np.nanmedian(R, axis=1)

    def _fit(self, frame, y=None):
        self.center_ = float(np.median(self._ref_medians(frame)))

    def _transform(self, frame):
        return frame.sub(self._ref_medians(frame), axis=0) + self.center_


class TotalIntensityNormalizer(ProteomicsTransformer):
    """Within-sample total-intensity scaling (e.g. BAL dilution correction), log2.

    ``x'_ij = x_ij − log2(Σ_k 2^x_ik) + center_`` (sum over the sample's observed proteins, linear scale),
    ``center_`` = median over the training samples of log2 total intensity. This corrects the variable
    dilution of epithelial lining fluid in BAL, like normalising to total protein. Single-sample safe;
    it assumes comparable protein coverage across samples (filter first).
    """

    _state_attrs = ("center_",)

    @staticmethod
    def _log_totals(frame) -> np.ndarray:
        X = frame.to_numpy(float)
        tot = np.nansum(np.exp2(X), axis=1)
        with np.errstate(divide="ignore"):
            return np.where(tot > 0, np.log2(tot), np.nan)

    def _fit(self, frame, y=None):
        t = self._log_totals(frame)
        if not np.isfinite(t).any():
            raise InputError("total-intensity normalisation needs valid values")
        self.center_ = float(np.nanmedian(t))

    def _transform(self, frame):
        return frame.sub(self._log_totals(frame), axis=0) + self.center_
