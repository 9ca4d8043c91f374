"""Simple roll-ups: top-N and sum of entity intensities (linear sums, results in log2).

* ``top_n_block``: per sample, the mean linear intensity of the ``n`` most intense entities observed in that
  sample (Silva et al. 2006, "Top3" for n = 3); fewer observed entities use those present.
* ``sum_block``: per sample, the summed linear intensity of all observed entities.
Samples without an observed entity are NaN. Input ``V`` (n_proteins, K, S) log2 → (n_proteins, S) log2.
"""

from __future__ import annotations

import numpy as np

__all__ = ["top_n_block", "sum_block"]


def top_n_block(V: np.ndarray, n: int = 3) -> np.ndarray:
    """Top-``n`` roll-up of a block (proteins × precursors × samples, log2): log2 of the mean of the ``n``
    most intense precursors per sample; NaN where none."""
    srt = -np.sort(np.where(np.isfinite(V), -V, np.inf), axis=1)  # descending, NaN (as -inf) last
    top = srt[:, : max(int(n), 1), :]
    lin = np.where(np.isfinite(top), np.exp2(top), 0.0)
    k = np.isfinite(top).sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(k > 0, np.log2(lin.sum(axis=1) / np.maximum(k, 1)), np.nan)


def sum_block(V: np.ndarray) -> np.ndarray:
    """Sum roll-up of a block (proteins × precursors × samples, log2): log2 of the summed linear
    intensities; NaN where none."""
    tot = np.nansum(np.exp2(V), axis=1)
    with np.errstate(divide="ignore"):
        return np.where(np.isfinite(V).any(axis=1), np.log2(np.where(tot > 0, tot, np.nan)), np.nan)
