"""The size–AUC curve of a nested CV and what a size cap costs.

Headline AUC (one definition everywhere: panel, size curve, baselines, bench): the AUC of the pooled
out-of-fold predictions of each outer repeat (every sample predicted once per repeat by a model that never saw
it), averaged over repeats; several classes: macro one-vs-rest AUC. Its 95 % CI is AUC ± 1.96 × the mean
DeLong SE of the repeats' pooled predictions (clipped to [0, 1]).

For every size of the grid the outer folds fit that size's own tuned pipeline (penalty and C tuned in the
inner folds for that size), so each point of the curve is itself a nested-CV estimate.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import stats

from .settings import size_label
from .tuning import auc_se, score_auc

__all__ = ["AUC_DEFINITION", "pooled_auc", "size_curve", "cap_cost"]

AUC_DEFINITION = ("mean over outer repeats of the AUC of the pooled out-of-fold predictions (each sample "
                  "predicted once per repeat by a model fitted without it; several classes: macro one-vs-rest); "
                  "95% CI = AUC ± 1.96 × mean DeLong SE of the repeats")


def pooled_auc(parts: Sequence[tuple[int, Sequence[int], np.ndarray]], y: np.ndarray, classes: Sequence[str],
               positive: str) -> dict:
    """Headline AUC of out-of-fold predictions given as (repeat, test row indices, proba (n_test, n_classes)).

    Returns {auc, auc_se, auc_ci_low, auc_ci_high, auc_per_repeat}.
    """
    y = np.asarray(y).astype(str)
    n_cls = max(2, len(classes))
    reps = sorted({r for r, _, _ in parts})
    aucs, ses = [], []
    for r in reps:
        P = np.full((y.size, n_cls), np.nan)
        for rr, idx, pr in parts:
            if rr == r:
                P[np.asarray(idx, dtype=int), : pr.shape[1]] = pr
        ok = ~np.isnan(P[:, 0])
        aucs.append(score_auc(y[ok], P[ok], classes, positive))
        ses.append(auc_se(y[ok], P[ok], classes, positive))
    auc, se = float(np.mean(aucs)), float(np.nanmean(ses)) if np.isfinite(ses).any() else float("nan")
    z = float(stats.norm.ppf(0.975))
    return {"auc": auc, "auc_se": se, "auc_ci_low": float(max(0.0, auc - z * se)) if np.isfinite(se) else None,
            "auc_ci_high": float(min(1.0, auc + z * se)) if np.isfinite(se) else None,
            "auc_per_repeat": [float(a) for a in aucs]}


def size_curve(folds, sample_ids: Sequence[str], y: np.ndarray, classes: Sequence[str], positive: str) -> list[dict]:
    """[{size, auc, auc_ci_low, auc_ci_high, auc_se, mean_panel_size}] from the folds' ``size_proba``, in the
    grid's order (smallest first, "unrestricted" last)."""
    pos = {s: i for i, s in enumerate(map(str, sample_ids))}
    sizes: list = []
    for f in folds:
        for k in f.size_proba:
            if k not in sizes:
                sizes.append(k)
    sizes.sort(key=lambda k: (k is None, k or 0))
    out = []
    for k in sizes:
        parts = [(f.repeat, [pos[s] for s in f.test_samples], f.size_proba[k]) for f in folds if k in f.size_proba]
        d = pooled_auc(parts, y, classes, positive)
        n_used = [f.size_n[k] for f in folds if k in f.size_n]
        out.append({"size": size_label(k), "auc": d["auc"], "auc_ci_low": d["auc_ci_low"],
                    "auc_ci_high": d["auc_ci_high"], "auc_se": d["auc_se"],
                    "mean_panel_size": float(np.mean(n_used)) if n_used else None})
    return out


def cap_cost(curve: Sequence[dict], cap: int | None) -> dict | None:
    """What ``max_proteins`` = cap costs: the best curve AUC within the cap vs the best overall (None: no cap)."""
    if cap is None or not curve:
        return None
    within = [c for c in curve if c["size"] != "unrestricted" and c["size"] <= cap]
    best = max(curve, key=lambda c: c["auc"])
    best_in = max(within, key=lambda c: c["auc"]) if within else None
    return {"max_proteins": int(cap), "best_auc": best["auc"], "best_size": best["size"],
            "best_auc_within_cap": None if best_in is None else best_in["auc"],
            "best_size_within_cap": None if best_in is None else best_in["size"],
            "auc_cost": None if best_in is None else float(best["auc"] - best_in["auc"])}
