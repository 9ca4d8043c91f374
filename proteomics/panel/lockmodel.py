"""The ``model`` payload of a panel signature: export of the fitted back end (fill → standardise → classifier)
to JSON numbers, and its exact re-application to new samples.

Exactness: the scaler and the linear models are rebuilt as scikit-learn objects from the stored numbers and
called the same way the pipeline calls them, so scoring the training samples reproduces the pipeline's
``predict_proba`` bit for bit. Random forests are stored tree by tree (children, feature, threshold, class
fractions) and evaluated with float32 comparisons like scikit-learn.

Probability interval (binary panels): ``interval_boot`` bootstrap refits (seeded, stratified by class) of the
classifier on the locked, standardised panel values; the 2.5 and 97.5 percentiles of the refits' probabilities
form the 95 % interval. It reflects the uncertainty of the final model's coefficients given the panel, not the
uncertainty of the selection. For random forests the interval is the 2.5–97.5 percentile range of the
individual trees' probabilities; for a bagged panel (``proteomics.panel.bagging``) that of its subsample models.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import expit
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler
from sklearn.svm import LinearSVC

from ..errors import SignatureError
from . import metrics as M

__all__ = ["model_payload", "apply_model", "categories_and_thresholds"]


def _f(a) -> list:
    return np.asarray(a, dtype=float).tolist()


def _tree_payload(est) -> dict:
    t = est.tree_
    value = t.value[:, 0, :]
    return {"left": t.children_left.tolist(), "right": t.children_right.tolist(), "feature": t.feature.tolist(),
            "threshold": _f(t.threshold), "value": _f(value)}


def _linear_part(model) -> tuple[np.ndarray, np.ndarray]:
    return np.asarray(model.coef_, float), np.asarray(model.intercept_, float)


def model_payload(pipe, Xpanel: pd.DataFrame, y: np.ndarray, *, positive: str, classes: Sequence[str], settings,
                  seed: int = 0) -> dict[str, Any]:
    """JSON payload of the fitted back end of ``pipe``. ``Xpanel`` holds the training samples' panel values
    after preprocessing (log2, before fill), ``y`` the string labels."""
    fill = pipe.named_steps["fill"]
    scale = pipe.named_steps["scale"]
    model = pipe.named_steps["model"]
    binary = len(classes) == 2
    out: dict[str, Any] = {"type": settings.model, "selector": settings.selector, "classes": list(classes),
                           "positive": positive, "binary": binary,
                           "fill": {"method": fill.method, "values": _f(fill.fill_values_)},
                           "scale": {"mean": _f(scale.mean_), "scale": _f(scale.scale_), "var": _f(scale.var_),
                                     "n_samples_seen": int(scale.n_samples_seen_)},
                           "model_classes": [int(c) if binary else str(c) for c in _classes_of(model)]}
    if settings.model == "logistic":
        coef, icpt = _linear_part(model)
        out.update(coef=coef.tolist(), intercept=icpt.tolist(), C=float(model.C))
    elif settings.model == "svm":
        cc = model.calibrated_classifiers_[0]
        coef, icpt = _linear_part(cc.estimator)
        out.update(coef=coef.tolist(), intercept=icpt.tolist(), C=float(cc.estimator.C),
                   calibration={"method": "sigmoid", "a": [float(c.a_) for c in cc.calibrators],
                                "b": [float(c.b_) for c in cc.calibrators]})
        if not binary:
            raise SignatureError("a multi-class linear SVM cannot be locked yet", hint="use model: logistic")
    else:
        out["trees"] = [_tree_payload(e) for e in model.estimators_]
        out["n_classes"] = int(model.n_classes_)
    out["interval"] = _interval_payload(pipe, Xpanel, y, positive, classes, settings, seed)
    return out


def _classes_of(model) -> list:
    return list(model.classes_)


def _interval_payload(pipe, Xpanel, y, positive, classes, settings, seed) -> dict:
    if len(classes) != 2:
        return {"method": "none", "level": 0.95}
    if settings.model == "random_forest":
        return {"method": "tree_percentiles", "level": 0.95}
    base = pipe.named_steps["model"]
    if hasattr(base, "bag_coef_"):  # a bagged panel: the subsample models themselves (proteomics.panel.bagging)
        return {"method": "bag_models", "level": 0.95, "n_boot": int(base.bag_coef_.shape[0]),
                "coef": [_f(c[0]) for c in base.bag_coef_], "intercept": [float(b[0]) for b in base.bag_intercept_]}
    Z = pipe[-3:-1].transform(Xpanel)  # fill + scale, as fitted
    yb = (y == positive).astype(int)
    rng = np.random.default_rng(seed)
    coefs, icpts, cal = [], [], []
    for _ in range(int(settings.interval_boot)):
        idx = np.concatenate([rng.choice(np.flatnonzero(yb == c), size=int((yb == c).sum()), replace=True)
                              for c in (0, 1)])
        m = clone(base).fit(Z[idx], yb[idx])
        if settings.model == "svm":
            cc = m.calibrated_classifiers_[0]
            coefs.append(_f(cc.estimator.coef_[0]))
            icpts.append(float(cc.estimator.intercept_[0]))
            cal.append([float(cc.calibrators[0].a_), float(cc.calibrators[0].b_)])
        else:
            coefs.append(_f(m.coef_[0]))
            icpts.append(float(m.intercept_[0]))
    out = {"method": "bootstrap_refit", "level": 0.95, "n_boot": int(settings.interval_boot), "coef": coefs,
           "intercept": icpts}
    if cal:
        out["calibration"] = cal
    return out


# -- application ---------------------------------------------------------------------------------------------------
def _scaler(p: Mapping) -> StandardScaler:
    s = StandardScaler()
    s.mean_ = np.asarray(p["mean"], float)
    s.scale_ = np.asarray(p["scale"], float)
    s.var_ = np.asarray(p["var"], float)
    s.n_samples_seen_ = int(p["n_samples_seen"])
    s.n_features_in_ = s.mean_.size
    return s


def _tree_proba(tree: Mapping, X32: np.ndarray) -> np.ndarray:
    left = np.asarray(tree["left"])
    right = np.asarray(tree["right"])
    feat = np.asarray(tree["feature"])
    thr = np.asarray(tree["threshold"], float)
    val = np.asarray(tree["value"], float)
    node = np.zeros(X32.shape[0], dtype=int)
    rows = np.arange(X32.shape[0])
    while True:
        leaf = left[node] == -1
        if leaf.all():
            break
        go_left = X32[rows, np.where(leaf, 0, feat[node])] <= thr[node]
        node = np.where(leaf, node, np.where(go_left, left[node], right[node]))
    p = val[node]
    s = p.sum(axis=1, keepdims=True)
    return p / np.where(s == 0, 1, s)


def apply_model(payload: Mapping[str, Any], Xpanel: np.ndarray) -> dict[str, np.ndarray]:
    """Probabilities for panel values ``Xpanel`` (samples × panel proteins, log2, after preprocessing, NaN
    allowed). Returns ``proba`` (n, n_classes in ``payload['classes']`` order), ``probability`` (positive
    class), ``score`` (log-odds of the positive class; linear predictor for linear models), ``prob_low`` and
    ``prob_high`` (95 % interval; NaN when not available)."""
    fill = np.asarray(payload["fill"]["values"], float)
    A = np.asarray(Xpanel, float)
    A = np.where(np.isnan(A), fill[None, :], A)
    Z = _scaler(payload["scale"]).transform(A)
    classes = list(payload["classes"])
    binary = bool(payload["binary"])
    pos_i = 1 if binary else classes.index(payload["positive"])
    n = Z.shape[0]
    low = np.full(n, np.nan)
    high = np.full(n, np.nan)
    kind = payload["type"]
    if kind in ("logistic", "svm"):
        coef = np.asarray(payload["coef"], float)
        icpt = np.asarray(payload["intercept"], float)
        if kind == "logistic":
            m = LogisticRegression()
            m.coef_, m.intercept_ = coef, icpt
            m.classes_ = np.asarray(payload["model_classes"], dtype=int if binary else object)
            m.n_features_in_ = coef.shape[1]
            proba = m.predict_proba(Z)
            score = m.decision_function(Z) if binary else np.log(proba[:, pos_i]) - np.log1p(-proba[:, pos_i])
        else:
            m = LinearSVC()
            m.coef_, m.intercept_ = coef, icpt
            m.classes_ = np.asarray(payload["model_classes"], dtype=int)
            m.n_features_in_ = coef.shape[1]
            d = m.decision_function(Z)
            a, b = payload["calibration"]["a"][0], payload["calibration"]["b"][0]
            proba = np.zeros((n, 2))
            proba[:, 1] = expit(-(a * d + b))
            proba[:, 0] = 1.0 - proba[:, 1]
            proba[(1.0 < proba) & (proba <= 1.0 + 1e-5)] = 1.0
            mean = np.zeros_like(proba)
            mean += proba
            proba = mean / 1
            score = d
        iv = payload.get("interval", {})
        if iv.get("method") in ("bootstrap_refit", "bag_models"):
            B = np.asarray(iv["coef"], float)
            eta = Z @ B.T + np.asarray(iv["intercept"], float)[None, :]
            if kind == "svm":
                cal = np.asarray(iv["calibration"], float)
                pb = expit(-(cal[:, 0][None, :] * eta + cal[:, 1][None, :]))
            else:
                pb = expit(eta)
            low, high = np.percentile(pb, [2.5, 97.5], axis=1)
    elif kind == "random_forest":
        X32 = Z.astype(np.float32)
        per_tree = np.stack([_tree_proba(t, X32) for t in payload["trees"]])
        proba = np.zeros(per_tree.shape[1:])
        for p in per_tree:
            proba += p
        proba /= len(payload["trees"])
        with np.errstate(divide="ignore"):
            pp = np.clip(proba[:, pos_i], 1e-6, 1 - 1e-6)
            score = np.log(pp) - np.log1p(-pp)
        if binary:
            low, high = np.percentile(per_tree[:, :, pos_i], [2.5, 97.5], axis=0)
    else:
        raise SignatureError(f"unknown model type {kind!r} in signature")
    return {"proba": np.asarray(proba, float), "probability": np.asarray(proba, float)[:, pos_i],
            "score": np.asarray(score, float).ravel(), "prob_low": np.asarray(low, float),
            "prob_high": np.asarray(high, float)}


# -- thresholds and risk categories ------------------------------------------------------------------------------
def _target_thresholds(y01: np.ndarray, prob: np.ndarray, sensitivity: float, specificity: float):
    """(rule_out, rule_in): the highest threshold t with P(prob ≥ t | positive) ≥ ``sensitivity`` and the
    lowest t with P(prob < t | negative) ≥ ``specificity``, on the given probabilities."""
    pos, neg = np.sort(prob[(y01 == 1) & np.isfinite(prob)]), np.sort(prob[(y01 == 0) & np.isfinite(prob)])
    if not len(pos) or not len(neg):
        return 0.5, 0.5
    allowed_missed = int(np.floor(len(pos) * (1 - sensitivity) + 1e-9))  # positives allowed below rule-out
    ro = float(pos[min(allowed_missed, len(pos) - 1)])
    needed = int(np.ceil(len(neg) * specificity - 1e-9))  # negatives that must fall below rule-in
    ri = float(np.nextafter(neg[max(needed, 1) - 1], np.inf)) if needed > 0 else float(neg[0])
    return min(1.0, ro), min(1.0, ri)


def categories_and_thresholds(y01: np.ndarray, prob: np.ndarray, settings) -> tuple[dict, tuple]:
    """Rule-out and rule-in probability thresholds from out-of-fold probabilities, with their operating
    characteristics, and the risk categories they define.

    rule_out: the highest threshold keeping sensitivity ≥ ``fixed_sensitivity`` (config
    ``panel.fixed_sensitivity``); rule_in: the lowest threshold reaching specificity ≥ ``fixed_specificity``
    (``panel.fixed_specificity``). A very good panel meets both targets over a whole range of probabilities
    (rule_out computed ≥ rule_in): the two thresholds are then that range's ends, swapped, so both targets still
    hold; "intermediate" then holds the training samples the targets allow to be misclassed (the lowest positives
    and the highest negatives), not an empty band. Categories: low < rule_out ≤
    intermediate < rule_in ≤ high; a patient whose 95% interval straddles a threshold is "indeterminate" when
    scored. PPV/NPV are at ``settings.prevalence`` (or the cohort's).
    """
    y01 = np.asarray(y01).astype(int)
    prev = settings.prevalence if settings.prevalence is not None else float(y01.mean())
    ro, ri = _target_thresholds(y01, np.asarray(prob, float), settings.fixed_sensitivity,
                                settings.fixed_specificity)
    if ro > ri:  # both targets hold for any threshold in [ri, ro]: its ends become rule-out and rule-in
        ro, ri = ri, ro

    def oc(t):
        c = M.confusion_at(y01, prob, t)
        pv = M.predictive_values(c["sensitivity"], c["specificity"], prev)
        return {"probability": float(t), "sensitivity": c["sensitivity"], "specificity": c["specificity"],
                "ppv": pv["ppv"], "npv": pv["npv"], "prevalence": prev, "source": "nested-CV out-of-fold"}

    th = {"rule_out": oc(ro), "rule_in": oc(ri)}
    if ro == ri:
        cats = ({"name": "low", "rule": f"probability < {ro:.6g}"},
                {"name": "high", "rule": f"probability ≥ {ri:.6g}"})
    else:
        cats = ({"name": "low", "rule": f"probability < {ro:.6g}"},
                {"name": "intermediate", "rule": f"{ro:.6g} ≤ probability < {ri:.6g}"},
                {"name": "high", "rule": f"probability ≥ {ri:.6g}"})
    return th, cats
