"""Helpers to run our limma on the R oracle inputs (../shared/oracles) and compare with the fixtures."""

from __future__ import annotations

import numpy as np
import pandas as pd

from proteomics.dataset import Dataset
from proteomics.stats.limma import moderated_t

# ours -> oracle column
COLUMNS = {"log2fc": "logFC", "ave_expr": "AveExpr", "t": "t", "p_value": "P.Value", "q_value": "adj.P.Val",
           "B": "B", "s2_post": "s2.post", "df_total": "df.total", "df_prior": "df.prior", "s2_prior": "s2.prior"}


def load_dataset(matrix_csv, samples_csv, *, batch=True, min_obs=0):
    m = pd.read_csv(matrix_csv, index_col=0)
    s = pd.read_csv(samples_csv, index_col=0).loc[m.columns]
    if not batch:
        s = s[["group"]]
    keep = (m.notna().sum(axis=1) >= min_obs).to_numpy()
    ds = Dataset(m[keep].T.to_numpy(dtype=float), s, pd.DataFrame(index=m.index[keep]))
    return ds, m.index[keep]


def run(ds, *, batch=True, **kw):
    cov = ("batch",) if batch and "batch" in ds.samples.columns else ()
    return moderated_t(ds, "B-A", group="group", covariates=cov, **kw)


def max_abs_diffs(result, oracle: pd.DataFrame) -> dict[str, float]:
    """Max |ours − R| per column; raises AssertionError when the NaN patterns differ."""
    tab = result.table.set_index("protein_group").loc[oracle.index]
    out = {}
    for ours, theirs in COLUMNS.items():
        x = tab[ours].to_numpy(dtype=float)
        y = oracle[theirs].to_numpy(dtype=float)
        bad = np.isnan(x) != np.isnan(y)
        assert not bad.any(), f"{ours}: NaN pattern differs for {list(oracle.index[bad])[:5]}"
        both = ~np.isnan(x)
        out[ours] = float(np.max(np.abs(x[both] - y[both]))) if both.any() else 0.0
    return out
