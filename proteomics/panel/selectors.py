"""Feature selectors of a panel (univariate, stability, random-forest elimination), as scikit-learn estimators.

Every selector takes a samples × proteins DataFrame of log2 values (NaN = missing) and labels ``y``,
learns a **ranking** of candidate proteins in ``fit`` (``ranking_``, best first, independent of the panel
size), keeps the first ``k`` (``selected_``; ``k=None`` keeps the whole ranking, "unrestricted") and returns
those columns in ranking order. Because the
ranking does not depend on ``k``, tuning the panel size in the inner folds is exact and cheap: a pipeline
fitted with ``k`` selects exactly the first ``k`` proteins of the pipeline fitted with ``k_max``.

Selectors
---------
``ModeratedTSelector``   limma-style moderated t (two classes) or F (more classes) from ``proteomics.stats``
``L1Selector``           L1 / elastic-net logistic regression at a fixed C on standardised proteins; ranked by
                         |coef| (the tuned, multivariate default is ``proteomics.panel.sparse.L1PathSelector``)
``StabilitySelector``    Meinshausen & Bühlmann (2010) stability selection; reports the bound
                         E[V] ≤ q² / ((2·π_thr − 1)·p) on the expected number of false selections
``RFESelector``          random-forest importance with recursive elimination (halving) down to one protein
"""

from __future__ import annotations

import logging
from typing import ClassVar

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.ensemble import RandomForestClassifier
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression

from ..errors import InputError
from ..preprocess.base import as_frame
from ..stats.limma import class_statistic

log = logging.getLogger(__name__)

__all__ = ["ModeratedTSelector", "L1Selector", "StabilitySelector", "RFESelector", "rank_statistic",
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
        self.k = k
        self.min_valid = min_valid

    def _rank(self, X, y):
        s = rank_statistic(X, y, self.min_valid)
        order = order_desc(s)
        order = order[np.isfinite(s[order])]
        return order, s


class L1Selector(_Selector):
    """L1 (``l1_ratio`` = 1) or elastic-net logistic regression on standardised proteins.

    The ranking holds the proteins with a non-zero coefficient, by decreasing |coef| (largest over
    classes when multi-class); missing values are filled with the protein's training minimum before the
    fit. ``C`` is sklearn's inverse penalty on the mean-loss scale: C = 1/(n·λ) with glmnet's λ.
    If no coefficient is non-zero, the protein with the largest |moderated t| is kept (logged).
    """

    ranks_all: ClassVar[bool] = False

    def __init__(self, k: int = 5, C: float = 0.5, l1_ratio: float = 1.0, max_iter: int = 5000,
                 tol: float = 1e-6):
        self.k = k
        self.C = C
        self.l1_ratio = l1_ratio
        self.max_iter = max_iter
        self.tol = tol

    def _rank(self, X, y):
        Z = standardise(fill_min(X))
        model = LogisticRegression(C=self.C, l1_ratio=self.l1_ratio, solver="saga", max_iter=self.max_iter,
                                   tol=self.tol, random_state=0)
        import warnings

        from sklearn.exceptions import ConvergenceWarning

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.fit(Z, y)
        mag = np.abs(model.coef_).max(axis=0)
        order = order_desc(mag)
        order = order[mag[order] > 0]
        if order.size == 0:
            log.info("L1Selector: no non-zero coefficient at C=%g; keeping the top moderated-t protein", self.C)
            s = rank_statistic(X, y)
            order = order_desc(s)[:1]
        return order, mag


class StabilitySelector(_Selector):
    """Stability selection (Meinshausen & Bühlmann 2010, JRSS-B 72:417).

    ``n_subsamples`` random halves of the training samples (stratified by class, seeded); on each, the
    base procedure picks ``q`` proteins (``base="moderated_t"``: top-q by |moderated t|; ``base="l1"``:
    top-q non-zero L1 coefficients). A protein's selection probability π̂ is the fraction of subsamples that
    picked it; the stable set is π̂ ≥ ``threshold`` (ranked by π̂, then by the full-data statistic). After
    ``fit``, ``expected_false_`` holds the bound E[V] ≤ q² / ((2·threshold − 1)·p), p = number of
    candidates (valid for threshold > ½ under the exchangeability assumption of the paper).
    When no protein reaches the threshold the most frequent one is kept (``fallback_`` = True).
    """

    def __init__(self, k: int = 5, q: int = 10, threshold: float = 0.6, n_subsamples: int = 50,
                 base: str = "moderated_t", C: float = 0.5, seed: int = 0):
        self.k = k
        self.q = q
        self.threshold = threshold
        self.n_subsamples = n_subsamples
        self.base = base
        self.C = C
        self.seed = seed

    def _rank(self, X, y):
        if not 0.5 < self.threshold <= 1:
            raise InputError(f"stability threshold must be in (0.5, 1], got {self.threshold}")
        if self.base not in ("moderated_t", "l1"):
            raise InputError(f"unknown stability base {self.base!r}", hint="use moderated_t or l1")
        rng = np.random.default_rng(self.seed)
        p = X.shape[1]
        q = min(self.q, p)
        counts = np.zeros(p)
        classes = np.unique(y)
        for _ in range(self.n_subsamples):
            idx = np.concatenate([rng.choice(np.flatnonzero(y == c), size=max(1, int(np.sum(y == c)) // 2),
                                             replace=False) for c in classes])
            idx.sort()
            if self.base == "l1":
                sel = L1Selector(k=q, C=self.C).fit(X[idx], y[idx])
                pos = np.asarray([int(r[1:]) for r in sel.ranking_[:q]], dtype=int)
            else:
                s = rank_statistic(X[idx], y[idx])
                pos = order_desc(s)[:q]
                pos = pos[np.isfinite(s[pos])]
            counts[pos] += 1
        freq = counts / self.n_subsamples
        full = rank_statistic(X, y)
        order = np.lexsort((-np.where(np.isfinite(full), full, -1e300), -freq))
        stable = order[freq[order] >= self.threshold]
        self.fallback_ = stable.size == 0
        if self.fallback_:
            stable = order[:1]
        self.frequency_ = freq
        self.expected_false_ = float(q * q / ((2 * self.threshold - 1) * p))
        self.q_ = q
        return stable, freq

    def fit(self, X, y):
        # the L1 base works on positional names; map them back afterwards
        frame = as_frame(X)
        super().fit(frame, y)
        return self


class RFESelector(_Selector):
    """Random forest + recursive feature elimination: repeatedly refit a seeded forest and drop the least
    important ``step`` fraction of the remaining proteins until one is left; the ranking is the reverse
    order of elimination (so ``k`` keeps the last ``k`` survivors). Missing values are filled with the
    training minimum before fitting. ``prefilter`` (if > 0) first keeps that many proteins by |moderated t|
    to bound the cost on thousands of proteins."""

    def __init__(self, k: int = 5, n_estimators: int = 200, step: float = 0.5, prefilter: int = 500,
                 seed: int = 0):
        self.k = k
        self.n_estimators = n_estimators
        self.step = step
        self.prefilter = prefilter
        self.seed = seed

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


