"""Feature selectors of a panel (univariate, random-forest elimination) and their shared helpers, as scikit-learn
estimators (the L1 path: :mod:`.sparse`; stability selection: :mod:`.stability`; redundancy: :mod:`.redundancy`).

Every selector takes a samples × proteins DataFrame of log2 values (NaN = missing) and labels ``y``,
learns a **ranking** of candidate proteins in ``fit`` (``ranking_``, best first, independent of the panel
size), keeps the first ``k`` (``selected_``; ``k=None`` keeps the whole ranking, "unrestricted") and returns
those columns in ranking order. Because the
ranking does not depend on ``k``, tuning the panel size in the inner folds is exact and cheap: a pipeline
fitted with ``k`` selects exactly the first ``k`` proteins of the pipeline fitted with ``k_max``.

Selectors
---------
``ModeratedTSelector``   limma-style moderated t (two classes) or F (more classes) from ``proteomics.stats``
``RFESelector``          random-forest importance with recursive elimination (halving) down to one protein
"""

from __future__ import annotations

import logging
from typing import ClassVar

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.ensemble import RandomForestClassifier
from sklearn.exceptions import NotFittedError

from ..errors import InputError
from ..preprocess.base import as_frame, store_params
from ..stats.limma import class_statistic

log = logging.getLogger(__name__)

__all__ = ["ModeratedTSelector", "RFESelector", "rank_statistic",
           "fill_min", "standardise", "order_desc"]


def rank_statistic(X: np.ndarray, y: np.ndarray, min_valid: int = 0) -> np.ndarray:
    """Per-protein ranking statistic (larger = stronger), NaN-aware, vectorised over proteins.

    Two classes: |moderated t| of limma's two-group model (``proteomics.stats``); more classes: the
    moderated F. ``X`` is samples × proteins (log2), ``y`` class labels. Proteins that cannot be tested, or
    have fewer than ``min_valid`` observed values in a class, get −inf.
    """
    s = np.asarray(class_statistic(np.asarray(X, dtype=float), np.asarray(y)), dtype=float)
    s[~np.isfinite(s)] = -np.inf
    obs = ~np.isnan(X)
    for c in np.unique(y):
        s[obs[y == c].sum(axis=0) < min_valid] = -np.inf
    return s


def order_desc(scores: np.ndarray) -> np.ndarray:
    """Indices by decreasing score; ties keep the column order (stable)."""
    return np.argsort(-scores, kind="mergesort")


class _Selector(TransformerMixin, BaseEstimator):
    """Base: ``fit`` sets ``proteins_in_``, ``ranking_`` (names, best first), ``scores_``; ``k`` keeps a prefix."""

    k: int | None
    #: whether the selector can rank every candidate (False for L1: only non-zero coefficients are ranked)
    ranks_all: ClassVar[bool] = True

    def _rank(self, X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:  # pragma: no cover
        raise NotImplementedError

    def fit(self, X, y):
        frame = as_frame(X)
        if y is None:
            raise InputError(f"{type(self).__name__} needs labels y")
        y = np.asarray(y)
        self.proteins_in_ = [str(c) for c in frame.columns]
        order, scores = self._rank(frame.to_numpy(dtype=float), y)
        self.ranking_ = [self.proteins_in_[i] for i in order]
        self.scores_ = np.asarray(scores, dtype=float)
        if not self.ranking_:
            raise InputError(f"{type(self).__name__} selected no protein", hint="check that the classes differ "
                             "and that proteins have enough values")
        return self

    @property
    def selected_(self) -> list[str]:
        if not hasattr(self, "ranking_"):
            raise NotFittedError(f"{type(self).__name__} is not fitted yet")
        if self.k is None:
            return list(self.ranking_)
        return self.ranking_[: max(1, int(self.k))]

    def transform(self, X):
        frame = as_frame(X)
        sel = self.selected_
        missing = [p for p in sel if p not in frame.columns]
        if missing:
            raise InputError(f"selected protein(s) missing from the input: {', '.join(missing)}")
        return frame.loc[:, sel]

    def get_feature_names_out(self, input_features=None):
        return np.asarray(self.selected_, dtype=object)


def fill_min(X: np.ndarray) -> np.ndarray:
    """Replace NaN by the column minimum (0 for all-missing columns); used inside selector fits only."""
    col_min = np.where(np.isnan(X).all(axis=0), 0.0, np.nanmin(np.where(np.isnan(X), np.inf, X), axis=0))
    return np.where(np.isnan(X), col_min[None, :], X)


def standardise(X: np.ndarray) -> np.ndarray:
    """Centre and scale columns (population SD, as glmnet); constant columns become 0."""
    sd = X.std(axis=0)
    return (X - X.mean(axis=0)) / np.where(sd > 0, sd, 1.0)


class ModeratedTSelector(_Selector):
    """Top-``k`` proteins by |moderated t| (two classes) or moderated F (several classes).

    Parameters
    ----------
    k : panel size (number of proteins kept).
    min_valid : proteins need at least this many observed values per class to be ranked.
    """

    def __init__(self, k: int = 5, min_valid: int = 2):
        store_params(self, locals())

    def _rank(self, X, y):
        s = rank_statistic(X, y, self.min_valid)
        order = order_desc(s)
        order = order[np.isfinite(s[order])]
        return order, s


class RFESelector(_Selector):
    """Random forest + recursive feature elimination: repeatedly refit a seeded forest and drop the least
    important ``step`` fraction of the remaining proteins until one is left; the ranking is the reverse
    order of elimination (so ``k`` keeps the last ``k`` survivors). Missing values are filled with the
    training minimum before fitting. ``prefilter`` (if > 0) first keeps that many proteins by |moderated t|
    to bound the cost on thousands of proteins."""

    def __init__(self, k: int = 5, n_estimators: int = 200, step: float = 0.5, prefilter: int = 500,
                 seed: int = 0):
        store_params(self, locals())

    def _rank(self, X, y):
        Xf = fill_min(X)
        cand = np.arange(X.shape[1])
        tail: list[np.ndarray] = []
        if self.prefilter and X.shape[1] > self.prefilter:
            s = rank_statistic(X, y)
            o = order_desc(s)
            cand, rest = o[: self.prefilter], o[self.prefilter:]
            tail.append(rest[np.isfinite(s[rest])][::-1])
        eliminated: list[np.ndarray] = tail  # worst first
        while cand.size > 1:
            rf = RandomForestClassifier(n_estimators=self.n_estimators, random_state=self.seed, n_jobs=1)
            rf.fit(Xf[:, cand], y)
            imp = rf.feature_importances_
            n_drop = max(1, int(self.step * cand.size))
            n_drop = min(n_drop, cand.size - 1)
            worst_first = np.argsort(imp, kind="mergesort")  # least important first
            eliminated.append(cand[worst_first[:n_drop]])
            cand = np.sort(cand[worst_first[n_drop:]])
        eliminated.append(cand)
        order = np.concatenate(eliminated)[::-1]
        scores = np.zeros(X.shape[1])
        scores[order] = np.arange(order.size, 0, -1)
        return order, scores


