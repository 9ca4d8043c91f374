"""Stratified subsamples of the training samples, drawn without replacement: the one rule behind stability
selection's halves (:mod:`proteomics.panel.stability`) and the bagged panels' 63.2 % draws
(:mod:`proteomics.panel.bagging`)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

__all__ = ["stratified_subsamples"]


def stratified_subsamples(y: np.ndarray, n_draws: int, size_of: Callable[[int], int], seed: int) -> list[np.ndarray]:
    """``n_draws`` sorted arrays of row positions into ``y`` (one label per training sample). Each holds
    ``size_of(n_c)`` samples of every class c (``n_c`` = its count), drawn without replacement, the classes in
    sorted order, by one generator seeded with ``seed``: the same ``y``, sizes and seed give the same draws."""
    y = np.asarray(y)
    rng = np.random.default_rng(seed)
    members = [np.flatnonzero(y == c) for c in np.unique(y)]
    return [np.sort(np.concatenate([rng.choice(m, size=size_of(m.size), replace=False) for m in members]))
            for _ in range(int(n_draws))]
