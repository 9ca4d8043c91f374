"""Plain baselines on the panel's own outer folds: is the chosen panel worth its simplicity?

``plain_l1`` is the 20-line scikit-learn script a researcher would write, fitted on each outer training part:
keep proteins observed in ≥ 70 % of the training samples, centre each sample on its median (over the kept
proteins), fill missing values with the protein's training minimum, standardise with the training mean and SD,
and fit an L1 logistic regression (liblinear) whose C is chosen by 3-fold stratified inner CV (mean fold AUC)
over 20 values from 1e-4 to 1e4, then refitted on the whole training part. ``plain_l1_max<k>`` restricts C to
the values whose training fit keeps at most k proteins. ``random_forest``: the same preparation, then 500
trees on every kept protein.

Each baseline is scored with the panel's headline AUC (``proteomics.panel.curve.AUC_DEFINITION``) on the same
outer folds (same seed → same splits), so the numbers are directly comparable. X is samples × proteins (log2).
"""

from __future__ import annotations

import time
import warnings

import numpy as np
import pandas as pd
from sklearn.ensemble import RandomForestClassifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold
from sklearn.multiclass import OneVsRestClassifier

from .._version import __version__
from . import metrics as M
from .curve import AUC_DEFINITION, pooled_auc
from .cv import derive_seed, outer_splits
from .settings import PanelSettings
from .tuning import score_auc

__all__ = ["BASELINES_SCHEMA", "plain_prepare", "plain_l1", "random_forest", "run_baselines"]

BASELINES_SCHEMA = "proteomics.panel_baselines"
C_VALUES = tuple(float(c) for c in np.logspace(-4, 4, 20))


def plain_prepare(Xtr: pd.DataFrame, Xte: pd.DataFrame, presence: float = 0.7) -> tuple[np.ndarray, np.ndarray]:
    """The script's preparation learned on Xtr (samples × proteins, log2): presence filter, per-sample median
    centring, training-minimum fill, standardisation. Returns (Ztr, Zte) as arrays."""
    keep = Xtr.notna().mean(axis=0).to_numpy() >= presence
    A, B = Xtr.to_numpy(float)[:, keep], Xte.to_numpy(float)[:, keep]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        A = A - np.nanmedian(A, axis=1, keepdims=True)
        B = B - np.nanmedian(B, axis=1, keepdims=True)
        low = np.nanmin(A, axis=0)
    low = np.where(np.isfinite(low), low, 0.0)
    A = np.where(np.isnan(A), low, A)
    B = np.where(np.isnan(B), low, B)
    mu, sd = A.mean(axis=0), A.std(axis=0)
    sd = np.where(sd > 0, sd, 1.0)
    return (A - mu) / sd, (B - mu) / sd


def _l1(C: float):
    """L1 logistic (liblinear; one-vs-rest when there are more than two classes)."""
    return OneVsRestClassifier(LogisticRegression(C=C, l1_ratio=1.0, solver="liblinear", max_iter=1000,
                                                  random_state=0))


def _nonzero(model) -> int:
    return int((np.abs(np.vstack([e.coef_ for e in model.estimators_])).max(axis=0) > 0).sum())


def _auc(y, proba) -> float:
    classes = np.unique(y)
    if classes.size == 2:
        return score_auc(y.astype(str), proba, tuple(map(str, classes)), str(classes[1]))
    return score_auc(y.astype(str), proba, tuple(map(str, classes)), str(classes[0]))


def plain_l1(Ztr, ytr, Zte, *, seed: int = 0, max_proteins: int | None = None, inner_folds: int = 3):
    """(test probabilities, number of non-zero proteins) of the plain L1 script on prepared arrays."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        cs = list(C_VALUES)
        if max_proteins is not None:
            nz = [_nonzero(_l1(c).fit(Ztr, ytr)) for c in cs]
            cs = [c for c, k in zip(cs, nz, strict=True) if k <= max_proteins] or cs[:1]
        n = int(min(inner_folds, pd.Series(ytr).value_counts().min()))
        scores = np.zeros(len(cs))
        if n >= 2:
            for tr, te in StratifiedKFold(n, shuffle=True, random_state=seed).split(Ztr, ytr):
                for i, c in enumerate(cs):
                    m = _l1(c).fit(Ztr[tr], ytr[tr])
                    p = m.predict_proba(Ztr[te])
                    scores[i] += _auc(ytr[te], p) if len(set(ytr[te])) > 1 else 0.5
        best = cs[int(np.argmax(scores))]
        m = _l1(best).fit(Ztr, ytr)
    return m.predict_proba(Zte), _nonzero(m)


def random_forest(Ztr, ytr, Zte, *, seed: int = 0, n_estimators: int = 500):
    """(test probabilities, number of proteins used) of a seeded random forest on prepared arrays."""
    rf = RandomForestClassifier(n_estimators=n_estimators, random_state=seed, n_jobs=1).fit(Ztr, ytr)
    return rf.predict_proba(Zte), int(Ztr.shape[1])


def calibration(parts, y01: np.ndarray) -> dict:
    """Calibration slope/intercept and Brier score of the out-of-fold positive-class probability averaged over
    repeats (as the panel's)."""
    tot, cnt = np.zeros(y01.size), np.zeros(y01.size)
    for _, idx, pr in parts:
        tot[np.asarray(idx)] += pr[:, 1]
        cnt[np.asarray(idx)] += 1
    p = tot / np.maximum(cnt, 1)
    return {**M.calibration_slope_intercept(y01.astype(int), p), "brier": M.brier(y01.astype(int), p)}


def run_baselines(X: pd.DataFrame, y, *, positive: str, settings: PanelSettings, groups=None, batches=None,
                  seed: int = 0, restricted: int | None = 10) -> dict:
    """Every baseline on the outer folds of ``nested_cv(..., seed=seed)``; a JSON-ready dict (no timings in
    ``methods``; CPU seconds under ``cpu_seconds``, which is not part of any byte-identical output)."""
    y = np.asarray(y).astype(str)
    groups = np.asarray(X.index if groups is None else groups).astype(str)
    classes = tuple(sorted(set(y)))
    splits = outer_splits(y, groups, settings, derive_seed(seed, 0),
                          None if batches is None else np.asarray(batches).astype(str))
    caps = sorted({c for c in (restricted, settings.max_proteins) if c is not None})
    methods = {"plain_l1": dict(kind="l1", cap=None)}
    methods.update({f"plain_l1_max{c}": dict(kind="l1", cap=c) for c in caps})
    methods["random_forest"] = dict(kind="rf", cap=None)
    # binary: 1 = positive (probability column 1 is the positive class, as in the panel's folds)
    yi = (y == positive).astype(int) if len(classes) == 2 else np.asarray([classes.index(v) for v in y])
    out, cpu = {}, {}
    for name, spec in methods.items():
        parts, sizes = [], []
        t0 = time.process_time()
        for r, f, tr, te in splits:
            Ztr, Zte = plain_prepare(X.iloc[tr], X.iloc[te])
            s = derive_seed(seed, 41, r, f)
            if spec["kind"] == "l1":
                p, k = plain_l1(Ztr, yi[tr], Zte, seed=s, max_proteins=spec["cap"], inner_folds=settings.inner_folds)
            else:
                p, k = random_forest(Ztr, yi[tr], Zte, seed=s)
            full = np.zeros((len(te), max(2, len(classes))))
            full[:, np.unique(yi[tr])] = p
            parts.append((r, te, full))
            sizes.append(k)
        cpu[name] = time.process_time() - t0
        d = pooled_auc(parts, y, classes, positive)
        out[name] = {"auc": d["auc"], "auc_ci_low": d["auc_ci_low"], "auc_ci_high": d["auc_ci_high"],
                     "auc_per_repeat": d["auc_per_repeat"], "size": float(np.mean(sizes)),
                     "size_per_fold": sizes, "max_proteins": spec["cap"]}
        if len(classes) == 2:
            out[name].update(calibration(parts, y == positive))
    return {"schema": BASELINES_SCHEMA, "schema_version": 1, "package_version": __version__,
            "auc_definition": AUC_DEFINITION, "seed": int(seed), "n_outer_folds": len(splits),
            "methods": out, "cpu_seconds": cpu}
