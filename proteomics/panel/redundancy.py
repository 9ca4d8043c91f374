"""Redundancy-aware ranking: one representative per cluster of correlated proteins, and mRMR.

Acute-phase proteins rise together; a univariate ranking fills a panel with them, so the panel measures one
thing several times. Two remedies, both learned on the training samples only (samples × proteins, log2,
missing values filled with the training minimum before correlating):

``ClusterRepresentatives(base, threshold)``
    wraps any selector: walks the base ranking best first and keeps a protein only when its |Pearson r| with
    every protein already kept is below ``threshold``; a dropped protein is represented by the better-ranked
    protein it correlates with (greedy leader clustering at that threshold, one representative per cluster).
``MRMRSelector``
    minimum redundancy – maximum relevance (Ding & Peng 2005, F-test correlation quotient): relevance is the
    moderated t² (two classes) or F (several), and each next protein maximises relevance / mean |r| with the
    proteins already chosen. Candidates are the ``n_candidates`` most relevant proteins.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
from sklearn.base import clone

from ..errors import InputError
from ..preprocess.base import store_params
from .selectors import _Selector, fill_min, order_desc, rank_statistic

__all__ = ["ClusterRepresentatives", "MRMRSelector", "abs_correlation", "representatives"]


def abs_correlation(X: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """|Pearson r| among columns ``cols`` of X (samples × proteins, NaN filled with the column minimum);
    constant columns correlate 0 with everything (1 with themselves)."""
    A = fill_min(np.asarray(X, dtype=float)[:, cols])
    A = A - A.mean(axis=0)
    sd = np.sqrt((A * A).sum(axis=0))
    A = A / np.where(sd > 0, sd, 1.0)
    R = np.abs(A.T @ A)
    np.fill_diagonal(R, 1.0)
    return R


def representatives(order: np.ndarray, X: np.ndarray, threshold: float, limit: int = 400) -> np.ndarray:
    """The proteins of ``order`` (best first) kept by greedy leader clustering at |r| < ``threshold``.

    Only the first ``limit`` proteins of the ranking are clustered (enough for any panel); the rest are dropped.
    """
    order = np.asarray(order, dtype=int)[:limit]
    if order.size <= 1:
        return order
    R = abs_correlation(X, order)
    kept: list[int] = []
    for i in range(order.size):
        if not kept or R[i, kept].max() < threshold:
            kept.append(i)
    return order[np.asarray(kept, dtype=int)]


class ClusterRepresentatives(_Selector):
    """One protein per cluster of correlated proteins, from the ranking of ``base`` (any selector).

    Parameters
    ----------
    base : a selector (its own ``k`` is ignored; its ranking does not depend on it).
    k : panel size (None = every representative).
    threshold : proteins with |r| ≥ threshold with a better-ranked kept protein are left out.
    """

    def __init__(self, base=None, k: int | None = 5, threshold: float = 0.8):
        store_params(self, locals())

    @property
    def has_path(self) -> bool:  # the tuning shares the base's penalty path
        return bool(getattr(self.base, "has_path", False))

    def _check(self):
        if self.base is None:
            raise InputError("ClusterRepresentatives needs a base selector")
        if not 0 < self.threshold <= 1:
            raise InputError(f"redundancy threshold must be in (0, 1], got {self.threshold}")

    def _rank(self, X, y):
        self._check()
        base = clone(self.base).set_params(k=None)
        order, scores = base._rank(X, y)
        return representatives(order, X, self.threshold), scores

    def rank_path(self, X, y, penalties) -> list[np.ndarray]:
        self._check()
        return [representatives(o, X, self.threshold) for o in self.base.rank_path(X, y, penalties)]


class MRMRSelector(_Selector):
    """mRMR ranking (F-test correlation quotient): relevance = moderated t² or F; redundancy = mean |r|.

    Parameters
    ----------
    k : panel size (None = the whole mRMR ranking of the candidates).
    n_candidates : the most relevant proteins considered (bounds the cost: n_candidates² correlations).
    min_valid : proteins need this many observed values per class to be ranked.
    """

    ranks_all: ClassVar[bool] = False

    def __init__(self, k: int | None = 5, n_candidates: int = 200, min_valid: int = 2):
        store_params(self, locals())

    def _rank(self, X, y):
        s = rank_statistic(X, y, self.min_valid)
        cand = order_desc(s)
        cand = cand[np.isfinite(s[cand])][: max(1, int(self.n_candidates))]
        if cand.size == 0:
            return cand, s
        rel = s[cand] ** 2 if np.unique(y).size == 2 else s[cand]
        R = abs_correlation(X, cand)
        chosen = [0]
        red_sum = R[:, 0].copy()
        free = np.ones(cand.size, dtype=bool)
        free[0] = False
        while free.any():
            score = np.where(free, rel / np.maximum(red_sum / len(chosen), 1e-12), -np.inf)
            j = int(np.argmax(score))
            chosen.append(j)
            free[j] = False
            red_sum += R[:, j]
        return cand[np.asarray(chosen)], s
