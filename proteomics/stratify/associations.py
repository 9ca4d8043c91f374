"""Association of cluster labels with sample annotations, and survival summaries by cluster.

* ``association_table``: one row per annotation column. Categorical columns use a chi-square test of the
  cluster × level table (Fisher's exact test when the table is 2 × 2), with Cramér's V; numeric columns use the
  Kruskal-Wallis test across clusters. Missing values are dropped per column.
* ``confounding_warnings``: plain-language warnings when the clusters are explained by batch, run order or
  specimen (a significant association with a large effect, or a cluster that coincides with one level).
* ``kaplan_meier``: product-limit estimate per cluster as a tidy step table for plotting.
* ``cox_model``: proportional-hazards model on cluster indicators (statsmodels ``PHReg``, Breslow ties), giving
  hazard ratios against the first cluster with Wald 95 % confidence intervals.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from ..errors import InputError
from ..stats.fdr import bh

__all__ = ["association_table", "confounding_warnings", "kaplan_meier", "logrank_test", "cox_model",
           "is_numeric", "bh", "survival_summary",
           "survival_inputs"]

log = logging.getLogger(__name__)

_COLUMNS = ["variable", "kind", "test", "statistic", "p_value", "effect", "n"]


def is_numeric(values: pd.Series) -> bool:
    """True for a numeric column (numeric dtype, not boolean); text such as batch "1"/"2" stays categorical."""
    v = values.dropna()
    return bool(not v.empty and pd.api.types.is_numeric_dtype(v) and not pd.api.types.is_bool_dtype(v))


def _categorical_test(labels: pd.Series, values: pd.Series) -> dict:
    tab = pd.crosstab(labels, values.astype(str))
    tab = tab.loc[tab.sum(axis=1) > 0, tab.sum(axis=0) > 0]
    n = int(tab.to_numpy().sum())
    if tab.shape[0] < 2 or tab.shape[1] < 2:
        return {"test": "none (one level)", "statistic": np.nan, "p_value": np.nan, "effect": np.nan, "n": n}
    obs = tab.to_numpy()
    chi2 = stats.chi2_contingency(obs, correction=False)[0]
    cramer = float(np.sqrt(chi2 / (n * (min(obs.shape) - 1))))
    if obs.shape == (2, 2):
        res = stats.fisher_exact(obs)
        return {"test": "fisher", "statistic": float(res.statistic), "p_value": float(res.pvalue),
                "effect": cramer, "n": n}
    res = stats.chi2_contingency(obs)
    return {"test": "chi-square", "statistic": float(res.statistic), "p_value": float(res.pvalue),
            "effect": cramer, "n": n}


def _numeric_test(labels: pd.Series, values: pd.Series) -> dict:
    x = pd.to_numeric(values, errors="coerce")
    ok = x.notna()
    groups = [x[ok & (labels == g)].to_numpy(float) for g in sorted(labels[ok].unique())]
    groups = [g for g in groups if g.size]
    n = int(ok.sum())
    if len(groups) < 2 or np.unique(np.concatenate(groups)).size < 2:
        return {"test": "none (constant)", "statistic": np.nan, "p_value": np.nan, "effect": np.nan, "n": n}
    h, p = stats.kruskal(*groups)
    eps2 = float(h / ((n * n - 1) / (n + 1))) if n > 1 else np.nan  # epsilon-squared effect size
    return {"test": "kruskal", "statistic": float(h), "p_value": float(p), "effect": eps2, "n": n}


def association_table(labels: Sequence[str], samples: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    """Test each annotation column against the cluster labels (aligned to ``samples`` rows).

    Columns: variable, kind (categorical|numeric), test, statistic, p_value, q_value (BH over this table),
    effect (Cramér's V or Kruskal epsilon²), n (samples with a value).
    """
    lab = pd.Series([str(x) for x in labels], index=samples.index)
    rows = []
    for col in columns:
        v = samples[col]
        ok = v.notna() & (v.astype(str).str.strip() != "")
        if ok.sum() < 3:
            continue
        kind = "numeric" if is_numeric(v[ok]) else "categorical"
        if kind == "categorical" and v[ok].astype(str).nunique() == int(ok.sum()):
            continue  # an identifier (every value different) says nothing about clusters
        res = (_numeric_test if kind == "numeric" else _categorical_test)(lab[ok], v[ok])
        rows.append({"variable": str(col), "kind": kind, **res})
    out = pd.DataFrame(rows, columns=_COLUMNS)
    out.insert(5, "q_value", bh(out["p_value"].to_numpy(float)) if len(out) else [])
    return out


def confounding_warnings(labels: Sequence[str], samples: pd.DataFrame, table: pd.DataFrame, *,
                         alpha: float = 0.05, min_effect: float = 0.5, coincide: float = 0.9) -> list[str]:
    """Warnings when technical columns in ``table`` (batch, run order, specimen …) explain the clusters.

    A column is flagged when its test has p < ``alpha`` and effect ≥ ``min_effect`` (Cramér's V, or
    epsilon² for numeric columns). A cluster is flagged when ≥ ``coincide`` of its members share one level of a
    categorical column and ≥ ``coincide`` of that level's samples fall in the cluster.
    """
    out = []
    lab = pd.Series([str(x) for x in labels], index=samples.index)
    for r in table.itertuples(index=False):
        if np.isfinite(r.p_value) and r.p_value < alpha and np.isfinite(r.effect) and r.effect >= min_effect:
            what = "Cramér's V" if r.kind == "categorical" else "epsilon²"
            out.append(f"clusters are associated with {r.variable} ({r.test} p = {r.p_value:.3g}, {what} = "
                       f"{r.effect:.2f}): subgroups may reflect {r.variable} rather than biology")
        if r.kind != "categorical":
            continue
        v = samples[r.variable].astype(str)
        if v.nunique() < 2:
            continue
        for c in sorted(lab.unique()):
            members = v[lab == c]
            if members.empty:
                continue
            top = members.value_counts().sort_index().idxmax()
            share = float((members == top).mean())
            level_share = float((lab[v == top] == c).mean())
            if members.size >= 2 and share >= coincide and level_share >= coincide:
                out.append(f"cluster {c} coincides with {r.variable} = {top} ({share:.0%} of the cluster, "
                           f"{level_share:.0%} of that {r.variable})")
    return out


# -- survival ----------------------------------------------------------------------------------------------------
def survival_inputs(samples: pd.DataFrame, time_col: str, event_col: str) -> tuple[np.ndarray, np.ndarray]:
    """Follow-up times (≥ 0) and 0/1 event indicators as float arrays (NaN = missing); InputError otherwise."""
    t = pd.to_numeric(samples[time_col], errors="coerce").to_numpy(float)
    e_raw = samples[event_col]
    if pd.api.types.is_bool_dtype(e_raw):
        e = e_raw.astype(float).to_numpy()
    else:
        e = pd.to_numeric(e_raw, errors="coerce").to_numpy(float)
    bad = np.isfinite(e) & ~np.isin(e, (0.0, 1.0))
    if bad.any():
        raise InputError(f"column {event_col!r} must be 0 (censored) or 1 (event); found "
                         f"{sorted(set(e[bad].tolist()))[:5]}", column=event_col,
                         hint="code the event indicator as 0/1")
    if (np.isfinite(t) & (t < 0)).any():
        raise InputError(f"column {time_col!r} has negative times", column=time_col,
                         hint="give follow-up time as a non-negative number")
    return t, e


def kaplan_meier(time: np.ndarray, event: np.ndarray, groups: Sequence[str]) -> pd.DataFrame:
    """Product-limit survival estimate per group.

    Returns a step table with columns group, time, n_risk, n_event, n_censor, survival; each group starts with a
    row at time 0 (survival 1) and then has one row per distinct observed time (survival just after it).
    Samples with a missing time or event are dropped.
    """
    time = np.asarray(time, float)
    event = np.asarray(event, float)
    groups = np.asarray([str(g) for g in groups])
    ok = np.isfinite(time) & np.isfinite(event)
    frames = []
    for g in sorted(set(groups[ok].tolist())):
        m = ok & (groups == g)
        t, e = time[m], event[m]
        ut, inv = np.unique(t, return_inverse=True)
        d = np.bincount(inv, weights=e, minlength=ut.size)
        c = np.bincount(inv, weights=1 - e, minlength=ut.size)
        n_at = t.size - np.concatenate([[0], np.cumsum(d + c)[:-1]])
        surv = np.cumprod(1.0 - d / n_at)
        frames.append(pd.DataFrame({"group": g, "time": np.concatenate([[0.0], ut]),
                                    "n_risk": np.concatenate([[t.size], n_at]).astype(int),
                                    "n_event": np.concatenate([[0], d]).astype(int),
                                    "n_censor": np.concatenate([[0], c]).astype(int),
                                    "survival": np.concatenate([[1.0], surv])}))
    cols = ["group", "time", "n_risk", "n_event", "n_censor", "survival"]
    return pd.concat(frames, ignore_index=True)[cols] if frames else pd.DataFrame(columns=cols)


def logrank_test(time: np.ndarray, event: np.ndarray, groups: Sequence[str]) -> dict:
    """Log-rank test across groups (statsmodels ``survdiff``): chi-square statistic, df and p-value."""
    from statsmodels.duration.survfunc import survdiff

    time = np.asarray(time, float)
    event = np.asarray(event, float)
    groups = np.asarray([str(g) for g in groups])
    ok = np.isfinite(time) & np.isfinite(event)
    n_groups = len(set(groups[ok].tolist()))
    if n_groups < 2 or event[ok].sum() == 0:
        return {"test": "logrank", "statistic": None, "df": None, "p_value": None}
    stat, p = survdiff(time[ok], event[ok], groups[ok])
    return {"test": "logrank", "statistic": float(stat), "df": n_groups - 1, "p_value": float(p)}


def cox_model(time: np.ndarray, event: np.ndarray, groups: Sequence[str], reference: str | None = None,
              alpha: float = 0.05) -> pd.DataFrame:
    """Cox proportional-hazards model of time-to-event on cluster indicators (statsmodels ``PHReg``, Breslow ties).

    Returns one row per non-reference cluster: cluster, reference, coef (log hazard ratio), se, hazard_ratio,
    ci_low, ci_high (Wald, 1 - ``alpha``), p_value. Empty when fewer than two groups or no events.
    """
    from statsmodels.duration.hazard_regression import PHReg

    cols = ["cluster", "reference", "coef", "se", "hazard_ratio", "ci_low", "ci_high", "p_value"]
    time = np.asarray(time, float)
    event = np.asarray(event, float)
    groups = np.asarray([str(g) for g in groups])
    ok = np.isfinite(time) & np.isfinite(event)
    levels = sorted(set(groups[ok].tolist()))
    if len(levels) < 2 or event[ok].sum() == 0:
        return pd.DataFrame(columns=cols)
    ref = reference if reference in levels else levels[0]
    others = [g for g in levels if g != ref]
    exog = (groups[ok][:, None] == np.array(others)[None, :]).astype(float)
    res = PHReg(time[ok], exog, status=event[ok], ties="breslow").fit(disp=False)
    coef = np.asarray(res.params, float)
    se = np.asarray(res.bse, float)
    z = stats.norm.ppf(1 - alpha / 2)
    return pd.DataFrame({"cluster": others, "reference": ref, "coef": coef, "se": se, "hazard_ratio": np.exp(coef),
                         "ci_low": np.exp(coef - z * se), "ci_high": np.exp(coef + z * se),
                         "p_value": np.asarray(res.pvalues, float)})[cols]


def survival_summary(labels: Sequence[str], samples: pd.DataFrame, time_col: str = "time",
                     event_col: str = "event") -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """Kaplan-Meier table, Cox table and log-rank test for the clusters, from ``time``/``event`` columns."""
    t, e = survival_inputs(samples, time_col, event_col)
    return kaplan_meier(t, e, labels), cox_model(t, e, labels), logrank_test(t, e, labels)
