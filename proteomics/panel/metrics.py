"""Performance metrics of a binary (or multi-class) classifier: pure functions on labels and scores.

Conventions: ``y`` is a 1-D array of 0/1 labels (1 = positive class), ``score`` a 1-D array of the same
length where larger means "more likely positive" (a probability in [0, 1] or any real score). ROC AUC
is the Mann-Whitney probability P(score_pos > score_neg) with ties counted ½ and the direction fixed
(controls < cases, pROC ``direction="<"``), never chosen from the data (ALGORITHMS.md §10.13).

Nothing here fits a model from data beyond the two-parameter calibration regression; every function
is deterministic given its ``seed``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import special, stats

__all__ = [
    "roc_auc", "delong", "bootstrap_auc_ci", "roc_table", "roc_band", "sensitivity_at_specificity",
    "specificity_at_sensitivity", "predictive_values", "confusion_at", "calibration_slope_intercept",
    "calibration_bins", "brier", "net_benefit", "decision_curve", "permutation_p", "cramers_v",
    "design_warnings", "multiclass_auc", "binary_summary", "reaches_chance",
]


def _yx(y, score) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(y).astype(int).ravel()
    s = np.asarray(score, dtype=float).ravel()
    if y.shape != s.shape:
        raise ValueError(f"y has {y.size} values but score has {s.size}")
    if np.isnan(s).any():
        raise ValueError("score holds NaN")
    return y, s


def _placements(y: np.ndarray, s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """DeLong placement values (ties ½): V10 per positive, V01 per negative."""
    pos = np.sort(s[y == 1])
    neg = np.sort(s[y == 0])
    xp = s[y == 1]
    xn = s[y == 0]
    # fraction of negatives below each positive (+½ ties)
    below = np.searchsorted(neg, xp, side="left")
    tie = np.searchsorted(neg, xp, side="right") - below
    v10 = (below + 0.5 * tie) / neg.size
    # fraction of positives above each negative (+½ ties)
    above = pos.size - np.searchsorted(pos, xn, side="right")
    tie_n = np.searchsorted(pos, xn, side="right") - np.searchsorted(pos, xn, side="left")
    v01 = (above + 0.5 * tie_n) / pos.size
    return v10, v01


def roc_auc(y, score) -> float:
    """ROC AUC = P(score of a positive > score of a negative) + ½ P(tie); NaN if a class is absent."""
    y, s = _yx(y, score)
    n1, n0 = int((y == 1).sum()), int((y == 0).sum())
    if n1 == 0 or n0 == 0:
        return float("nan")
    r = stats.rankdata(s)
    return float((r[y == 1].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


def delong(y, score, level: float = 0.95) -> dict[str, float]:
    """AUC with DeLong's standard error and CI (pROC ``ci.auc(method="delong")``, clipped to [0, 1]).

    Returns ``{"auc", "se", "ci_low", "ci_high"}``; se and CI are NaN with fewer than 2 samples per class.
    """
    y, s = _yx(y, score)
    n1, n0 = int((y == 1).sum()), int((y == 0).sum())
    if n1 == 0 or n0 == 0:
        nan = float("nan")
        return {"auc": nan, "se": nan, "ci_low": nan, "ci_high": nan}
    v10, v01 = _placements(y, s)
    auc = float(v10.mean())
    if n1 < 2 or n0 < 2:
        return {"auc": auc, "se": float("nan"), "ci_low": float("nan"), "ci_high": float("nan")}
    var = v10.var(ddof=1) / n1 + v01.var(ddof=1) / n0
    se = math.sqrt(var)
    z = stats.norm.ppf(1 - (1 - level) / 2)
    return {"auc": auc, "se": se, "ci_low": float(min(1.0, max(0.0, auc - z * se))),
            "ci_high": float(min(1.0, max(0.0, auc + z * se)))}


def _boot_indices(y: np.ndarray, n_boot: int, rng: np.random.Generator) -> np.ndarray:
    """Stratified bootstrap row indices, shape (n_boot, n): positives resampled among positives etc."""
    ip = np.flatnonzero(y == 1)
    i0 = np.flatnonzero(y == 0)
    bp = ip[rng.integers(0, ip.size, size=(n_boot, ip.size))]
    b0 = i0[rng.integers(0, i0.size, size=(n_boot, i0.size))]
    return np.concatenate([bp, b0], axis=1)


def _auc_rows(s: np.ndarray, n1: int) -> np.ndarray:
    """AUC of each row of ``s`` (n_boot, n) whose first ``n1`` columns are positives."""
    r = stats.rankdata(s, axis=1)
    n0 = s.shape[1] - n1
    return (r[:, :n1].sum(axis=1) - n1 * (n1 + 1) / 2) / (n1 * n0)


def bootstrap_auc_ci(y, score, *, n_boot: int = 2000, level: float = 0.95, seed: int = 0) -> dict[str, float]:
    """Percentile CI of the AUC over stratified bootstrap resamples (as pROC ``ci.auc(method="bootstrap")``,
    stratified). Returns ``{"auc", "ci_low", "ci_high", "n_boot"}``."""
    y, s = _yx(y, score)
    auc = roc_auc(y, s)
    n1 = int((y == 1).sum())
    if n1 == 0 or n1 == y.size:
        return {"auc": auc, "ci_low": float("nan"), "ci_high": float("nan"), "n_boot": n_boot}
    idx = _boot_indices(y, n_boot, np.random.default_rng(seed))
    aucs = _auc_rows(s[idx], n1)
    a = (1 - level) / 2
    lo, hi = np.quantile(aucs, [a, 1 - a])
    return {"auc": auc, "ci_low": float(lo), "ci_high": float(hi), "n_boot": int(n_boot)}


def _roc_points(y: np.ndarray, s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(fpr, tpr) for every distinct threshold, from (0, 0), fpr non-decreasing."""
    thr = np.unique(s)[::-1]
    sp = np.sort(s[y == 1])
    sn = np.sort(s[y == 0])
    tpr = (sp.size - np.searchsorted(sp, thr, side="left")) / max(1, sp.size)
    fpr = (sn.size - np.searchsorted(sn, thr, side="left")) / max(1, sn.size)
    return np.r_[0.0, fpr], np.r_[0.0, tpr]


def roc_table(y, score) -> pd.DataFrame:
    """ROC points for every distinct threshold (score ≥ threshold is called positive), from (0,0) to (1,1).

    Columns: threshold, fpr, tpr, specificity, sensitivity.
    """
    y, s = _yx(y, score)
    thr = np.unique(s)[::-1]
    n1, n0 = max(1, int((y == 1).sum())), max(1, int((y == 0).sum()))
    sp = np.sort(s[y == 1])
    sn = np.sort(s[y == 0])
    tpr = (sp.size - np.searchsorted(sp, thr, side="left")) / n1
    fpr = (sn.size - np.searchsorted(sn, thr, side="left")) / n0
    t = pd.DataFrame({"threshold": np.r_[np.inf, thr], "fpr": np.r_[0.0, fpr], "tpr": np.r_[0.0, tpr]})
    t["specificity"] = 1 - t["fpr"]
    t["sensitivity"] = t["tpr"]
    return t


def roc_band(y, score, *, n_boot: int = 300, level: float = 0.95, seed: int = 0,
             grid: int = 51) -> pd.DataFrame:
    """Bootstrap CI band of sensitivity at fixed 1−specificity (columns fpr, tpr_low, tpr_high)."""
    y, s = _yx(y, score)
    fgrid = np.linspace(0, 1, grid)
    n1 = int((y == 1).sum())
    if n1 == 0 or n1 == y.size:
        return pd.DataFrame({"fpr": fgrid, "tpr_low": np.nan, "tpr_high": np.nan})
    idx = _boot_indices(y, n_boot, np.random.default_rng(seed))
    tprs = np.empty((n_boot, grid))
    for b in range(n_boot):  # a few hundred small ROC curves; each step is vectorised
        fpr, tpr = _roc_points(y[idx[b]], s[idx[b]])
        # step function: largest tpr reachable with fpr <= f
        tprs[b] = tpr[np.searchsorted(fpr, fgrid, side="right") - 1]
    a = (1 - level) / 2
    lo, hi = np.quantile(tprs, [a, 1 - a], axis=0)
    return pd.DataFrame({"fpr": fgrid, "tpr_low": lo, "tpr_high": hi})


def _best_at(y, score, fixed: str, level: float, best: str) -> dict[str, float]:
    """The threshold with the highest ``best`` (sensitivity or specificity) among those whose ``fixed`` measure
    is ≥ ``level``: its sensitivity, specificity and threshold."""
    t = roc_table(y, score)
    ok = t[t[fixed] >= level - 1e-12]
    row = ok.iloc[int(np.argmax(ok[best].to_numpy()))]
    return {"sensitivity": float(row["sensitivity"]), "specificity": float(row["specificity"]),
            "threshold": float(row["threshold"])}


def sensitivity_at_specificity(y, score, specificity: float = 0.9) -> dict[str, float]:
    """Highest sensitivity among thresholds whose specificity ≥ ``specificity`` (and that threshold)."""
    return _best_at(y, score, "specificity", specificity, "sensitivity")


def specificity_at_sensitivity(y, score, sensitivity: float = 0.9) -> dict[str, float]:
    """Highest specificity among thresholds whose sensitivity ≥ ``sensitivity`` (and that threshold)."""
    return _best_at(y, score, "sensitivity", sensitivity, "specificity")


def predictive_values(sensitivity: float, specificity: float, prevalence: float) -> dict[str, float]:
    """PPV and NPV by Bayes' rule at a stated prevalence (not the cohort's case mix)."""
    tp = sensitivity * prevalence
    fp = (1 - specificity) * (1 - prevalence)
    tn = specificity * (1 - prevalence)
    fn = (1 - sensitivity) * prevalence
    ppv = tp / (tp + fp) if tp + fp > 0 else float("nan")
    npv = tn / (tn + fn) if tn + fn > 0 else float("nan")
    return {"ppv": float(ppv), "npv": float(npv), "prevalence": float(prevalence)}


def confusion_at(y, score, threshold: float) -> dict[str, float]:
    """Counts and rates when ``score ≥ threshold`` is called positive."""
    y, s = _yx(y, score)
    call = s >= threshold
    tp = int((call & (y == 1)).sum())
    fp = int((call & (y == 0)).sum())
    fn = int((~call & (y == 1)).sum())
    tn = int((~call & (y == 0)).sum())
    div = lambda a, b: a / b if b else float("nan")  # noqa: E731
    return {"threshold": float(threshold), "tp": tp, "fp": fp, "tn": tn, "fn": fn,
            "sensitivity": div(tp, tp + fn), "specificity": div(tn, tn + fp),
            "ppv": div(tp, tp + fp), "npv": div(tn, tn + fn), "accuracy": div(tp + tn, y.size)}


def _logit(p: np.ndarray, eps: float = 1e-12) -> np.ndarray:
    p = np.clip(np.asarray(p, dtype=float), eps, 1 - eps)
    return np.log(p) - np.log1p(-p)


def _logistic_irls(X: np.ndarray, y: np.ndarray, offset: np.ndarray, max_iter: int = 100,
                   tol: float = 1e-12) -> np.ndarray | None:
    """Maximum-likelihood logistic regression by Newton-Raphson (tiny designs); None if it diverges."""
    beta = np.zeros(X.shape[1])
    for _ in range(max_iter):
        eta = X @ beta + offset
        mu = special.expit(eta)
        w = mu * (1 - mu)
        H = X.T @ (X * w[:, None])
        g = X.T @ (y - mu)
        try:
            step = np.linalg.solve(H, g)
        except np.linalg.LinAlgError:
            return None
        beta = beta + step
        if not np.all(np.isfinite(beta)) or np.abs(beta).max() > 1e6:
            return None
        if np.abs(step).max() < tol:
            break
    return beta


def calibration_slope_intercept(y, prob) -> dict[str, float]:
    """Calibration slope (logistic regression of y on logit(p)) and calibration-in-the-large intercept
    (logistic regression of y with offset logit(p) and only an intercept), as in Van Calster et al. 2016.

    Slope 1 and intercept 0 mean perfect calibration; slope < 1 means over-confident predictions.
    NaN when the fit does not converge (e.g. perfect separation).
    """
    y, p = _yx(y, prob)
    lp = _logit(p)
    yf = y.astype(float)
    nan = float("nan")
    b = _logistic_irls(np.column_stack([np.ones_like(lp), lp]), yf, np.zeros_like(lp))
    a = _logistic_irls(np.ones((lp.size, 1)), yf, lp)
    return {"calibration_slope": nan if b is None else float(b[1]),
            "calibration_intercept": nan if a is None else float(a[0])}


def calibration_bins(y, prob, n_bins: int = 10) -> pd.DataFrame:
    """Observed frequency vs mean predicted probability in quantile bins (columns bin, n, mean_predicted,
    observed)."""
    y, p = _yx(y, prob)
    order = np.argsort(p, kind="mergesort")
    bins = np.array_split(order, min(n_bins, max(1, y.size)))
    rows = [{"bin": i, "n": int(b.size), "mean_predicted": float(p[b].mean()), "observed": float(y[b].mean())}
            for i, b in enumerate(bins) if b.size]
    return pd.DataFrame(rows, columns=["bin", "n", "mean_predicted", "observed"])


def brier(y, prob) -> float:
    """Mean squared difference between predicted probability and outcome (0 = perfect)."""
    y, p = _yx(y, prob)
    return float(np.mean((p - y) ** 2))


def net_benefit(y, prob, threshold: float) -> float:
    """Decision-curve net benefit of treating when p ≥ threshold: TP/n − FP/n · pt/(1 − pt) (Vickers 2006)."""
    y, p = _yx(y, prob)
    call = p >= threshold
    n = y.size
    tp = (call & (y == 1)).sum()
    fp = (call & (y == 0)).sum()
    return float(tp / n - fp / n * threshold / (1 - threshold))


def decision_curve(y, prob, thresholds: Sequence[float] | None = None) -> pd.DataFrame:
    """Net benefit over threshold probabilities for the model, "treat all" and "treat none" (columns
    threshold, model, all, none)."""
    y, p = _yx(y, prob)
    th = np.asarray(thresholds if thresholds is not None else np.round(np.arange(0.01, 1.0, 0.01), 2), float)
    call = p[None, :] >= th[:, None]
    n = y.size
    tp = (call & (y == 1)[None, :]).sum(axis=1)
    fp = (call & (y == 0)[None, :]).sum(axis=1)
    odds = th / (1 - th)
    prev = y.mean()
    return pd.DataFrame({"threshold": th, "model": tp / n - fp / n * odds, "all": prev - (1 - prev) * odds,
                         "none": np.zeros_like(th)})


def permutation_p(observed: float, null: Sequence[float]) -> float:
    """Empirical p-value (1 + #{null ≥ observed}) / (1 + N) (Phipson & Smyth 2010); NaN when N = 0."""
    null = np.asarray(null, dtype=float)
    null = null[~np.isnan(null)]
    if null.size == 0:
        return float("nan")
    return float((1 + np.sum(null >= observed - 1e-12)) / (1 + null.size))


def cramers_v(a, b) -> dict[str, float]:
    """Chi-square test of independence of two categorical vectors and Cramér's V (0 = independent,
    1 = one determines the other). Returns ``{"chi2", "p_value", "cramers_v", "dof"}``."""
    tab = pd.crosstab(pd.Series(np.asarray(a, dtype=str)), pd.Series(np.asarray(b, dtype=str))).to_numpy()
    if min(tab.shape) < 2:
        return {"chi2": 0.0, "p_value": 1.0, "cramers_v": 0.0, "dof": 0}
    chi2, p, dof, _ = stats.chi2_contingency(tab, correction=False)
    v = math.sqrt(chi2 / (tab.sum() * (min(tab.shape) - 1)))
    return {"chi2": float(chi2), "p_value": float(p), "cramers_v": float(v), "dof": int(dof)}


def design_warnings(labels, n_candidates: int, *, batch=None, min_events_per_protein: float = 10.0,
                    max_cramers_v: float = 0.5, imbalance_ratio: float = 3.0,
                    panel_size: int | None = None, source: str = "") -> list[str]:
    """Plain-language warnings about a weak design.

    - events per variable: (size of the smallest class) / (number of model proteins, or candidates
      entering selection when no panel size is given) below ``min_events_per_protein`` (Peduzzi 1996);
    - batch confounded with the label (Cramér's V ≥ ``max_cramers_v`` or chi-square p < 0.01);
    - class imbalance: largest / smallest class ≥ ``imbalance_ratio``.

    ``source`` names where the candidates come from (e.g. "top3 roll-up"), so that their number is not read as
    contradicting the main matrix's protein count.
    """
    lab = pd.Series(np.asarray(labels, dtype=str))
    counts = lab.value_counts()
    out = []
    events = int(counts.min()) if len(counts) else 0
    k = panel_size or n_candidates
    if k and events / k < min_events_per_protein:
        out.append(f"few events per protein: smallest class has {events} samples for {k} model protein(s) "
                   f"({events / k:.1f} per protein, fewer than {min_events_per_protein:g}); "
                   "expect optimistic in-sample fits and unstable panels")
    if n_candidates > 0 and events / n_candidates < 1:
        where = f" of the panel's input ({source})" if source else " with a value"
        out.append(f"{n_candidates} proteins{where} enter selection (before the filters refitted in each "
                   f"training fold) for {events} samples in the smallest class: selection is high-dimensional; "
                   "only the nested-CV estimate is trustworthy")
    if batch is not None:
        b = pd.Series(np.asarray(batch, dtype=str))
        if b.nunique() > 1:
            cv = cramers_v(lab, b)
            if cv["cramers_v"] >= max_cramers_v or cv["p_value"] < 0.01:
                out.append(f"batch is confounded with the label (Cramér's V {cv['cramers_v']:.2f}, chi-square "
                           f"p = {cv['p_value']:.2g}): the panel may learn batch, not biology")
    if len(counts) >= 2 and counts.max() / counts.min() >= imbalance_ratio:
        out.append(f"class imbalance: {', '.join(f'{k} {v}' for k, v in counts.items())} "
                   f"(ratio {counts.max() / counts.min():.1f})")
    return out


def reaches_chance(auc_ci_low) -> bool:
    """True when an AUC's lower confidence limit reaches 0.5: the model is not shown to beat chance. The one rule
    behind the panel's warning and the web service's notice on a signature."""
    return isinstance(auc_ci_low, int | float) and bool(np.isfinite(auc_ci_low)) and auc_ci_low <= 0.5


def multiclass_auc(y_labels, proba: np.ndarray, classes: Sequence) -> float:
    """Macro-averaged one-vs-rest ROC AUC; ``proba`` has shape (n_samples, n_classes) in ``classes`` order."""
    y = np.asarray(y_labels).astype(str)
    aucs = [roc_auc((y == str(c)).astype(int), proba[:, j]) for j, c in enumerate(classes)]
    return float(np.nanmean(aucs))


def binary_summary(y, prob, *, threshold: float = 0.5, prevalence: float | None = None, level: float = 0.95,
                   n_boot: int = 2000, seed: int = 0, fixed_specificity: float = 0.9,
                   fixed_sensitivity: float = 0.9) -> dict[str, float]:
    """Every headline metric of probabilities ``prob`` (in [0, 1]) against 0/1 labels ``y``, as a flat dict."""
    y, p = _yx(y, prob)
    d = delong(y, p, level)
    b = bootstrap_auc_ci(y, p, n_boot=n_boot, level=level, seed=seed)
    out: dict[str, float] = {"auc": d["auc"], "auc_se": d["se"], "auc_ci_low": d["ci_low"],
                             "auc_ci_high": d["ci_high"], "auc_boot_ci_low": b["ci_low"],
                             "auc_boot_ci_high": b["ci_high"], "n": int(y.size), "n_positive": int(y.sum())}
    out.update(calibration_slope_intercept(y, p))
    out["brier"] = brier(y, p)
    ss = sensitivity_at_specificity(y, p, fixed_specificity)
    sp = specificity_at_sensitivity(y, p, fixed_sensitivity)
    out[f"sensitivity_at_specificity_{fixed_specificity:g}"] = ss["sensitivity"]
    out[f"specificity_at_sensitivity_{fixed_sensitivity:g}"] = sp["specificity"]
    c = confusion_at(y, p, threshold)
    for k in ("sensitivity", "specificity", "ppv", "npv", "accuracy"):
        out[f"{k}_at_threshold"] = c[k]
    out["threshold"] = float(threshold)
    prev = prevalence if prevalence is not None else float(y.mean())
    pv = predictive_values(c["sensitivity"], c["specificity"], prev)
    out["prevalence"] = prev
    out["ppv_at_prevalence"] = pv["ppv"]
    out["npv_at_prevalence"] = pv["npv"]
    out["net_benefit_at_threshold"] = net_benefit(y, p, threshold) if 0 < threshold < 1 else float("nan")
    return out
