"""Differential-abundance results: a frozen :class:`DEResult` with a tidy per-protein table.

``DEResult.table`` has one row per protein, in Dataset protein order, with the columns
``protein_group, gene, log2fc, ci_low, ci_high, ave_expr, t, p_value, q_value, df_total, B`` then
``n_obs_<level>`` and ``n_imputed_<level>`` for every group level, then method-specific extras
(limma: ``sigma, df_residual, s2_post, s2_prior, df_prior``). ``log2fc`` and the CI are log2 units;
the 95 % CI is ``log2fc ± t_{0.975, df_total} · SE`` with the moderated SE (limma ``topTable(confint=TRUE)``).
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from .._files import write_text
from ..dataset import Dataset
from .design import Design

__all__ = ["DEResult", "de_long_table", "build_result", "format_float", "contrast_file_stem"]

BASE_COLUMNS = ("protein_group", "gene", "log2fc", "ci_low", "ci_high", "ave_expr", "t", "p_value", "q_value",
                "df_total", "B")


@dataclass(frozen=True)
class DEResult:
    """One contrast's result. ``table``: tidy DataFrame (see module doc); ``design``: samples × coefficients."""

    table: pd.DataFrame
    contrast: str
    design: pd.DataFrame
    method: str
    params: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self):
        object.__setattr__(self, "params", MappingProxyType(dict(self.params)))

    def significant(self, q: float = 0.05) -> pd.DataFrame:
        """Rows with ``q_value < q`` (NaN never significant), in protein order."""
        return self.table[self.table["q_value"] < q]

    def to_tsv(self, path: str | os.PathLike) -> None:
        """Write ``table`` as TSV atomically; floats in shortest round-trip form, empty = missing."""
        write_text(path, table_to_tsv(self.table))


def contrast_file_stem(contrast: str) -> str:
    """The file stem of a contrast's DE table (``de/<stem>.tsv``): "cancer-control" → "cancer_vs_control"."""
    keep = "".join(c if c.isalnum() or c in "-_." else "_" for c in contrast.replace(" ", ""))
    return keep.replace("-", "_vs_", 1) if contrast.count("-") == 1 and "(" not in contrast else keep


def format_float(x) -> str:
    """Shortest repr that round-trips (``repr``); NaN → empty, ±inf → ``inf``/``-inf``."""
    if x is None:
        return ""
    if isinstance(x, float | np.floating):
        xf = float(x)
        if math.isnan(xf):
            return ""
        if math.isinf(xf):
            return "inf" if xf > 0 else "-inf"
        return repr(xf)
    if isinstance(x, bool | np.bool_):
        return "TRUE" if x else "FALSE"
    return str(x)


def table_to_tsv(table: pd.DataFrame) -> str:
    """A DE table as TSV text with the package's float formatting (tabs inside values become spaces)."""
    cols = list(table.columns)
    lines = ["\t".join(cols)]
    arrays = [table[c].to_numpy(dtype=object) for c in cols]
    for i in range(len(table)):
        lines.append("\t".join(format_float(a[i]).replace("\t", " ") for a in arrays))
    return "\n".join(lines) + "\n"


def _group_counts(ds: Dataset, design: Design) -> dict[str, np.ndarray]:
    out: dict[str, np.ndarray] = {}
    g = ds.samples[design.group].astype(str).to_numpy()
    obs = ~np.isnan(np.asarray(ds.X))
    imp = ds.layers.get("imputed")
    for lev in design.levels:
        rows = g == lev
        out[f"n_obs_{lev}"] = obs[rows].sum(axis=0).astype(int)
    for lev in design.levels:
        rows = g == lev
        out[f"n_imputed_{lev}"] = (np.asarray(imp, dtype=bool)[rows].sum(axis=0).astype(int) if imp is not None
                                   else np.zeros(ds.n_proteins, dtype=int))
    return out


def build_result(ds: Dataset, design: Design, contrast: str, weights: np.ndarray, *, log2fc, se, t, p, q,
                 df_total, B=None, ave_expr=None, extra: Mapping[str, np.ndarray] | None = None,
                 method: str, params: Mapping[str, Any]) -> DEResult:
    """Assemble a :class:`DEResult` (arrays are per protein, in Dataset order)."""
    G = ds.n_proteins
    df_total = np.broadcast_to(np.asarray(df_total, dtype=float), (G,))
    with np.errstate(invalid="ignore"):
        crit = stats.t.ppf(0.975, df_total)
        crit = np.where(np.isinf(df_total), stats.norm.ppf(0.975), crit)
        half = crit * np.asarray(se, dtype=float)
    prot = ds.proteins
    gene = prot["gene"].astype(object).where(prot["gene"].notna(), "").to_numpy() if "gene" in prot.columns \
        else np.full(G, "", dtype=object)
    if ave_expr is None:
        Xm = np.asarray(ds.X)
        n_obs = (~np.isnan(Xm)).sum(axis=0)
        ave_expr = np.where(n_obs > 0, np.where(np.isnan(Xm), 0.0, Xm).sum(axis=0) / np.maximum(n_obs, 1), np.nan)
    data: dict[str, Any] = {
        "protein_group": ds.protein_ids, "gene": gene, "log2fc": np.asarray(log2fc, dtype=float),
        "ci_low": np.asarray(log2fc, dtype=float) - half, "ci_high": np.asarray(log2fc, dtype=float) + half,
        "ave_expr": np.asarray(ave_expr, dtype=float), "t": np.asarray(t, dtype=float),
        "p_value": np.asarray(p, dtype=float), "q_value": np.asarray(q, dtype=float), "df_total": df_total,
        "B": np.full(G, np.nan) if B is None else np.asarray(B, dtype=float)}
    data.update(_group_counts(ds, design))
    for k, v in (extra or {}).items():
        data[k] = np.asarray(v)
    table = pd.DataFrame(data)
    w = {c: float(x) for c, x in zip(design.columns, weights, strict=True) if x != 0}
    return DEResult(table, contrast, design.frame(), method, dict(params) | {"contrast_weights": w})


def de_long_table(results: Sequence[DEResult]) -> pd.DataFrame:
    """Stack several results into one long table with a leading ``contrast`` column."""
    frames = []
    for r in results:
        t = r.table.copy()
        t.insert(0, "contrast", r.contrast)
        frames.append(t)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=["contrast", *BASE_COLUMNS])
