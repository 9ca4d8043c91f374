"""ComBat batch correction (Johnson et al. 2007, Biostatistics 8:118), as ``sva::ComBat`` 3.46 computes it.

Parametric empirical Bayes location/scale adjustment, optionally protecting biological covariates, with
``mean_only`` and ``ref_batch`` options. Fitted on training samples; new samples are adjusted with the frozen
per-protein estimates, which needs their batch to have been seen at fit time (and their covariate values when
covariates are protected and ``mean_only`` is False). Unseen batches are refused with :class:`InputError`.

Batch and covariate labels per sample come from, in order:

1. a Dataset: ``Dataset.samples[batch_column]`` and ``Dataset.samples[c] for c in covariates``;
2. a DataFrame with a MultiIndex: the index levels named ``batch_column`` / each covariate, and the level
   named ``sample`` (or the first level) as sample id;
3. a DataFrame with a plain index: ``annotations`` given at construction, a mapping
   ``sample id → {column: value}`` (e.g. ``{"S1": {"batch": "b1", "group": "A"}}``).

Values: samples × proteins, log2; NaN is allowed and stays NaN (sva's missing-value path: per-protein least
squares over observed samples, variances with n − 1). Proteins with fewer than 2 values in a batch (of size > 1)
are returned unadjusted (sva would return NA for all proteins). Non-parametric priors are not implemented.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from ..errors import InputError
from .base import ProteomicsTransformer, store_params

__all__ = ["ComBat"]

log = logging.getLogger(__name__)


def _aprior(d: np.ndarray) -> float:
    m, s2 = d.mean(), d.var(ddof=1)
    return (2 * s2 + m * m) / s2


def _bprior(d: np.ndarray) -> float:
    m, s2 = d.mean(), d.var(ddof=1)
    return (m * s2 + m ** 3) / s2


def _ls(design: np.ndarray, Y: np.ndarray, M: np.ndarray) -> np.ndarray:
    """Least squares of every row of Y (proteins × samples) on ``design`` (samples × q) over its observed
    samples (mask M), as sva's ``Beta.NA``; returns q × proteins. One solve when Y is complete."""
    if M.all():
        return np.linalg.solve(design.T @ design, design.T @ Y.T)
    W = M.astype(float)
    Y0 = np.where(M, Y, 0.0)
    XtX = np.einsum("pi,ij,ik->pjk", W, design, design)
    Xty = np.einsum("pi,ij->pj", Y0, design)
    return np.linalg.solve(XtX, Xty[:, :, None])[:, :, 0].T


def _postmean(g_hat, g_bar, n, d_star, t2):
    return (t2 * n * g_hat + d_star * g_bar) / (t2 * n + d_star)


def _it_sol(sdat, g_hat, d_hat, g_bar, t2, a, b, conv=1e-4, max_iter=10000):
    """sva ``it.sol``: joint EB iteration for one batch; sdat is proteins × samples_in_batch."""
    n = np.isfinite(sdat).sum(axis=1).astype(float)
    g_old, d_old = g_hat.copy(), d_hat.copy()
    for _ in range(max_iter):
        g_new = _postmean(g_hat, g_bar, n, d_old, t2)
        sum2 = np.nansum((sdat - g_new[:, None]) ** 2, axis=1)
        d_new = (0.5 * sum2 + b) / (n / 2.0 + a - 1.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            change = np.nanmax(np.concatenate([np.abs(g_new - g_old) / g_old, np.abs(d_new - d_old) / d_old]))
        g_old, d_old = g_new, d_new
        if not change > conv:
            break
    return g_new, d_new


class ComBat(ProteomicsTransformer):
    """Parametric ComBat; see the module docstring for where batch labels come from.

    Parameters
    ----------
    batch_column : name of the batch annotation.
    covariates : annotation names of biological covariates to protect (categorical unless numeric).
    mean_only : adjust only the location (forced when a batch has one sample, as sva does).
    ref_batch : batch left unchanged; the others are moved onto it.
    annotations : mapping sample id → {annotation: value}, for plain DataFrames.

    ``single_sample_safe`` is False: a new sample can only be corrected when its batch was seen in fit.
    """

    single_sample_safe = False
    _uses_dataset = True
    _state_attrs = ("batches_", "cov_columns_", "cov_levels_", "mean_only_", "stand_mean_", "cov_coef_",
                    "var_pooled_", "gamma_star_", "delta_star_", "adjust_")

    def __init__(self, batch_column: str = "batch", covariates: Sequence[str] = (), mean_only: bool = False,
                 ref_batch: str | None = None, annotations: Mapping[str, Mapping[str, object]] | None = None):
        store_params(self, locals())

    # -- labels -------------------------------------------------------------------------------------
    def _labels(self, frame: pd.DataFrame, ds, name: str) -> np.ndarray:
        if ds is not None:
            samp = ds.samples
            if name not in samp.columns:
                raise InputError(f"sample table has no column {name!r} needed by ComBat",
                                 hint=f"add a {name!r} column to the sample sheet")
            vals = samp[name]
        elif isinstance(frame.index, pd.MultiIndex) and name in frame.index.names:
            vals = pd.Series(frame.index.get_level_values(name))
        elif self.annotations is not None:
            ids = self._sample_ids(frame)
            missing = [s for s in ids if s not in self.annotations or name not in self.annotations[s]]
            if missing:
                raise InputError(f"no {name!r} annotation for sample(s) {', '.join(missing[:5])}",
                                 hint="add them to ComBat(annotations=...)")
            vals = pd.Series([self.annotations[s][name] for s in ids])
        else:
            raise InputError(f"ComBat needs the {name!r} of every sample",
                             hint="give a Dataset, a DataFrame with a MultiIndex level of that name, "
                                  "or annotations={sample: {...}}")
        if vals.isna().any():
            raise InputError(f"missing {name!r} annotation for some samples", hint="fill it in the sample sheet")
        return vals.to_numpy()

    @staticmethod
    def _sample_ids(frame) -> list[str]:
        if isinstance(frame.index, pd.MultiIndex):
            lvl = "sample" if "sample" in frame.index.names else 0
            return [str(s) for s in frame.index.get_level_values(lvl)]
        return [str(s) for s in frame.index]

    def _cov_matrix(self, frame, ds, fitting: bool) -> np.ndarray:
        cols = []
        if fitting:
            self.cov_columns_, self.cov_levels_ = [], []
        for name in self.covariates:
            v = pd.Series(self._labels(frame, ds, name))
            numeric = pd.api.types.is_numeric_dtype(v) and not pd.api.types.is_bool_dtype(v)
            if fitting:
                levels = None if numeric else sorted(map(str, v.unique()))
                self.cov_columns_.append(str(name))
                self.cov_levels_.append(levels)
            levels = self.cov_levels_[list(self.cov_columns_).index(str(name))]
            if levels is None:
                cols.append(v.to_numpy(float)[:, None])
            else:
                s = v.astype(str).to_numpy()
                unseen = sorted(set(s) - set(levels))
                if unseen:
                    raise InputError(f"covariate {name!r} value(s) not seen at fit time: {', '.join(unseen[:5])}")
                cols.append((s[:, None] == np.asarray(levels[1:])[None, :]).astype(float))
        return np.hstack(cols) if cols else np.zeros((frame.shape[0], 0))

    # -- fit ------------------------------------------------------------------------------------------
    def _fit(self, frame, y=None, ds=None):
        Y = frame.to_numpy(float).T  # proteins × samples, as sva
        batch = pd.Series(self._labels(frame, ds, self.batch_column)).astype(str).to_numpy()
        levels = sorted(set(batch))
        if len(levels) < 2:
            raise InputError("ComBat needs at least two batches in the training samples")
        ref = None
        if self.ref_batch is not None:
            if str(self.ref_batch) not in levels:
                raise InputError(f"reference batch {self.ref_batch!r} not among the batches {levels}")
            ref = levels.index(str(self.ref_batch))
        idx = [np.flatnonzero(batch == b) for b in levels]
        nb = np.array([len(i) for i in idx], dtype=float)
        n = Y.shape[1]
        mean_only = bool(self.mean_only) or bool((nb == 1).any())
        obs = np.isfinite(Y)
        nas = not obs.all()

        # rows constant inside any batch of size > 1 are returned unadjusted (sva: var(x) == 0, NA-sensitive);
        # with missing values, rows with < 2 observed values in a batch of size > 1 are set aside too (sva
        # would return NA for every protein then) and logged
        zero = np.zeros(Y.shape[0], dtype=bool)
        sparse = np.zeros(Y.shape[0], dtype=bool)
        for i in idx:
            if len(i) > 1:
                sub = Y[:, i]
                complete = obs[:, i].all(axis=1)
                with np.errstate(invalid="ignore"):
                    zero |= complete & (np.var(np.where(obs[:, i], sub, 0.0), axis=1, ddof=1) == 0)
                sparse |= obs[:, i].sum(axis=1) < 2
        sparse |= ~obs.any(axis=1)
        if (sparse & ~zero).any():
            log.warning("ComBat: %d protein(s) with fewer than 2 values in a batch are not adjusted",
                        int((sparse & ~zero).sum()))
        keep = ~(zero | sparse)
        Yk = Y[keep]
        Mk = obs[keep]

        bmod = (batch[:, None] == np.asarray(levels)[None, :]).astype(float)
        if ref is not None:
            bmod[:, ref] = 1.0
        cov = self._cov_matrix(frame, ds, fitting=True)
        design = np.hstack([bmod, cov])
        nbat = len(levels)
        B = _ls(design, Yk, Mk)  # (nbat + ncov) × proteins
        grand = B[ref] if ref is not None else (nb / n) @ B[:nbat]
        resid = Yk - (design @ B).T
        cols = idx[ref] if ref is not None else np.arange(n)
        if nas:  # sva: rowVars(..., na.rm = TRUE), n - 1
            var_pooled = np.nanvar(resid[:, cols], axis=1, ddof=1)
        else:  # sva: mean of squares, 1/n
            var_pooled = (resid[:, cols] ** 2).mean(axis=1)
        cov_part = (cov @ B[nbat:]).T if cov.shape[1] else np.zeros_like(Yk)
        stand = grand[:, None] + cov_part
        sd = np.sqrt(var_pooled)[:, None]
        S = (Yk - stand) / sd
        bdes = design[:, :nbat]
        gamma_hat = _ls(bdes, S, Mk)  # nbat × proteins
        if mean_only:
            delta_hat = np.ones((nbat, Yk.shape[0]))
        else:
            delta_hat = np.vstack([np.nanvar(S[:, i], axis=1, ddof=1) for i in idx])
        gamma_bar = gamma_hat.mean(axis=1)
        t2 = gamma_hat.var(axis=1, ddof=1)
        g_star = np.empty_like(gamma_hat)
        d_star = np.ones_like(gamma_hat)
        for b in range(nbat):
            if mean_only:
                g_star[b] = _postmean(gamma_hat[b], gamma_bar[b], 1.0, 1.0, t2[b])
            else:
                a, bb = _aprior(delta_hat[b]), _bprior(delta_hat[b])
                g_star[b], d_star[b] = _it_sol(S[:, idx[b]], gamma_hat[b], delta_hat[b], gamma_bar[b], t2[b], a, bb)
        if ref is not None:
            g_star[ref] = 0.0
            d_star[ref] = 1.0

        p = Y.shape[0]

        def full(v, fill):
            out = np.full(p, fill, dtype=float)
            out[keep] = v
            return out

        self.batches_ = levels
        self.mean_only_ = mean_only
        self.adjust_ = keep
        self.stand_mean_ = full(grand, np.nan)
        self.cov_coef_ = np.vstack([full(r, 0.0) for r in B[nbat:]]) if cov.shape[1] else np.zeros((0, p))
        self.var_pooled_ = full(var_pooled, np.nan)
        # per batch: the design row of that batch applied to gamma* (ref mode adds the ref column, which is 0)
        self.gamma_star_ = np.vstack([full(g_star[b] + (g_star[ref] if ref is not None and b != ref else 0.0), 0.0)
                                      for b in range(nbat)])
        self.delta_star_ = np.vstack([full(d_star[b], 1.0) for b in range(nbat)])

    def _restore(self, name, value):
        if name in ("batches_", "cov_columns_", "cov_levels_"):
            return list(value)
        if name == "mean_only_":
            return bool(value)
        if name == "adjust_":
            return np.asarray(value, dtype=bool)
        if name in ("cov_coef_", "gamma_star_", "delta_star_"):
            arr = np.array([[np.nan if v is None else v for v in row] for row in value], dtype=float)
            return arr.reshape(len(value), -1) if len(value) else np.zeros((0, len(self.proteins_in_)))
        return super()._restore(name, value)

    # -- transform ------------------------------------------------------------------------------------
    def _transform(self, frame, ds=None):
        Y = frame.to_numpy(float)  # samples × proteins; NaN stays NaN
        batch = pd.Series(self._labels(frame, ds, self.batch_column)).astype(str).to_numpy()
        unseen = sorted(set(batch) - set(self.batches_))
        if unseen:
            raise InputError(f"batch(es) not seen when ComBat was fitted: {', '.join(unseen[:5])}",
                             hint="ComBat can only correct samples from batches present in the training data")
        if self.cov_columns_ and not self.mean_only_:
            cov = self._cov_matrix(frame, ds, fitting=False)
        else:
            cov = np.zeros((Y.shape[0], len(self.cov_coef_)))
        bi = np.array([self.batches_.index(b) for b in batch], dtype=int)
        stand = self.stand_mean_[None, :] + (cov @ self.cov_coef_ if len(self.cov_coef_) else 0.0)
        sd = np.sqrt(self.var_pooled_)[None, :]
        with np.errstate(invalid="ignore"):
            S = (Y - stand) / sd
            out = (S - self.gamma_star_[bi]) / np.sqrt(self.delta_star_[bi]) * sd + stand
        out = np.where(self.adjust_[None, :], out, Y)
        if self.ref_batch is not None:
            out[batch == str(self.ref_batch)] = Y[batch == str(self.ref_batch)]
        return pd.DataFrame(out, index=frame.index, columns=frame.columns)
