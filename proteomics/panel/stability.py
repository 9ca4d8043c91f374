"""Stability selection (Meinshausen & Bühlmann 2010) over the moderated-t or the fixed-C L1 ranking."""

from __future__ import annotations

import numpy as np

from ..errors import InputError
from ..preprocess.base import store_params
from .selectors import _Selector, order_desc, rank_statistic
from .sparse import L1Selector
from .subsample import stratified_subsamples

__all__ = ["StabilitySelector"]


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
        store_params(self, locals())

    def _rank(self, X, y):
        if not 0.5 < self.threshold <= 1:
            raise InputError(f"stability threshold must be in (0.5, 1], got {self.threshold}")
        if self.base not in ("moderated_t", "l1"):
            raise InputError(f"unknown stability base {self.base!r}", hint="use moderated_t or l1")
        p = X.shape[1]
        q = min(self.q, p)
        counts = np.zeros(p)
        for idx in stratified_subsamples(y, self.n_subsamples, lambda m: max(1, m // 2), self.seed):
            if self.base == "l1":
                pos = L1Selector(k=q, C=self.C)._rank(X[idx], y[idx])[0][:q]
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
