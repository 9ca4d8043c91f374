"""Characterise clusters: each cluster against the rest with the moderated t statistics of ``proteomics.stats``.

For cluster c, the samples get a temporary annotation ``__cluster__`` = "c" or "rest" and the contrast
``c-rest`` is fitted (limma-style empirical Bayes, on the preprocessed log2 matrix, samples × proteins). The result
is one long table (cluster, protein_group, log2fc, ave_expr, t, p_value, q_value, …) and a short table of the
``top_n`` proteins per cluster (smallest p-value, ties by |log2fc| then protein order).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
import pandas as pd

from ..dataset import Dataset
from ..stats import moderated_t

__all__ = ["cluster_vs_rest", "top_proteins"]

log = logging.getLogger(__name__)

_GROUP = "__cluster__"


def _label(name: str) -> str:
    """A contrast-safe level name (letters, digits, underscore)."""
    return "".join(ch if ch.isalnum() else "_" for ch in str(name))


def cluster_vs_rest(ds: Dataset, clusters: Sequence[str]) -> pd.DataFrame:
    """Moderated t of every cluster vs the rest; ``clusters`` aligned to ``ds`` rows (log2 data, samples × proteins).

    Returns a long DataFrame with a leading ``cluster`` column followed by the DEResult table columns.
    """
    clusters = np.asarray([str(c) for c in clusters])
    frames = []
    for c in sorted(set(clusters.tolist())):
        lab = _label(c)
        s = ds.samples
        s[_GROUP] = np.where(clusters == c, lab, "rest")
        res = moderated_t(ds.with_samples(s), [f"{lab}-rest"], group=_GROUP)
        results = res if isinstance(res, list | tuple) else [res]
        table = results[0].table.copy()
        table.insert(0, "cluster", c)
        frames.append(table)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=["cluster", "protein_group"])


def top_proteins(table: pd.DataFrame, top_n: int = 10) -> pd.DataFrame:
    """The ``top_n`` proteins per cluster by p-value (ties: larger |log2fc|, then table order), with direction."""
    if table.empty:
        return table.assign(rank=[], direction=[])
    t = table.copy()
    t["_abs"] = -t["log2fc"].abs()
    t["_pos"] = np.arange(len(t))
    t = t.dropna(subset=["p_value"]).sort_values(["cluster", "p_value", "_abs", "_pos"], kind="mergesort")
    t = t.groupby("cluster", sort=True).head(top_n).copy()
    t["rank"] = t.groupby("cluster").cumcount() + 1
    t["direction"] = np.where(t["log2fc"] > 0, "up", "down")
    keep = [c for c in ("cluster", "rank", "protein_group", "log2fc", "ave_expr", "t", "p_value", "q_value",
                        "direction") if c in t.columns]
    return t[keep].reset_index(drop=True)
