"""Leakage-free nested cross-validation of a whole panel pipeline.

The pipeline (``make_pipeline``) is one ``sklearn.pipeline.Pipeline``: the preprocessing steps
(filtering, normalisation, imputation, batch correction; ``proteomics.preprocess``), the selector, the
fill of missing panel values, standardisation and the model. It is cloned and refitted on every training
set, so no learned number ever sees a test sample.

Outer loop: ``outer_repeats`` × ``outer_folds`` stratified folds grouped by subject
(``StratifiedGroupKFold``; a subject never appears on both sides, asserted), or leave-one-batch-out.
Inner loop (``proteomics.panel.tuning.tune``): on the outer training part only, repeated grouped stratified
folds score every (selector penalty, panel size, model C) on the same folds; the size rule picks the size.
Every size of the grid is also fitted on the outer training part and predicts the outer test part, which
gives the size–AUC curve (``proteomics.panel.curve``). Every task has its own seed derived from (seed, permutation, repeat, fold), so results do not
depend on ``n_jobs`` or on execution order.

X is a samples × proteins DataFrame (log2, NaN = missing), rows indexed by sample id.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from sklearn.model_selection import LeaveOneGroupOut, StratifiedGroupKFold
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from ..errors import InputError
from . import metrics as M
from .bagging import anchor_panel, bag_rankings, bagged_back_end, fit_bagged
from .curve import size_curve
from .seeds import derive_seed, preprocess_steps
from .selection import PanelFill, make_model, selector_for
from .settings import PanelSettings, size_label
from .tuning import Choice, TuneResult, back_end, encode, n_splits, score_auc, tune

log = logging.getLogger(__name__)

__all__ = ["NestedCVResult", "FoldResult", "nested_cv", "make_pipeline", "preprocess_steps", "fit_tuned",
           "fit_choice", "outer_splits", "derive_seed", "positive_proba"]

Progress = Callable[[int, int], None]


def make_pipeline(settings: PanelSettings, k: int | None, C: float | None, seed: int = 0, *,
                  penalty: float | None = None) -> Pipeline:
    """The whole learnable panel: preprocessing → select(k, penalty) → fill → standardise → model(C)."""
    steps = preprocess_steps(settings, seed)
    steps.append(("select", selector_for(settings, k, seed=seed, penalty=penalty)))
    steps.append(("fill", PanelFill(settings.fill)))
    steps.append(("scale", StandardScaler()))
    steps.append(("model", make_model(settings.model, C=1.0 if C is None else C, seed=seed,
                                      **dict(settings.model_options))))
    return Pipeline(steps)


def positive_proba(model_or_pipe, X, positive_index: int) -> np.ndarray:
    """Probability of the positive class (column ``positive_index`` of predict_proba)."""
    return np.asarray(model_or_pipe.predict_proba(X))[:, positive_index]


# -- splits --------------------------------------------------------------------------------------------------
def outer_splits(y: np.ndarray, groups: np.ndarray, settings: PanelSettings, seed: int,
                 batches: np.ndarray | None = None) -> list[tuple[int, int, np.ndarray, np.ndarray]]:
    """(repeat, fold, train_idx, test_idx) of the outer loop; asserts that no group is split."""
    out = []
    if settings.leave_one_batch_out:
        if batches is None:
            raise InputError(f"leave_one_batch_out column {settings.leave_one_batch_out!r} is not in the samples")
        for f, (tr, te) in enumerate(LeaveOneGroupOut().split(np.zeros(len(y)), y, batches)):
            out.append((0, f, tr, te))
    else:
        n = n_splits(y, groups, settings.outer_folds)
        if n < 2:
            raise InputError("too few subjects per class for cross-validation (need ≥ 2 in every class)")
        for r in range(settings.outer_repeats):
            cv = StratifiedGroupKFold(n_splits=n, shuffle=True, random_state=derive_seed(seed, 11, r))
            for f, (tr, te) in enumerate(cv.split(np.zeros(len(y)), y, groups)):
                out.append((r, f, tr, te))
    for _, _, tr, te in out:
        assert not set(groups[tr]) & set(groups[te]), "a subject was split across training and test folds"
    return out


# -- inner tuning (proteomics.panel.tuning) and the final fit ---------------------------------------------------
def fit_choice(X: pd.DataFrame, y: np.ndarray, settings: PanelSettings, classes: Sequence[str], positive: str,
               seed: int, choice: Choice) -> Pipeline:
    """The panel pipeline with a tuned (size, penalty, C), fitted on all of (X, y)."""
    y_enc, _ = encode(y, positive, classes)
    if settings.bag_count():
        return fit_bagged(X, y_enc, settings, choice.k, choice.C, seed, penalty=choice.penalty)
    return make_pipeline(settings, choice.k, choice.C, seed, penalty=choice.penalty).fit(X, y_enc)


def fit_tuned(X: pd.DataFrame, y: np.ndarray, groups: np.ndarray, settings: PanelSettings,
              classes: Sequence[str], positive: str, seed: int) -> tuple[Pipeline, TuneResult]:
    """Tune on (X, y) with inner CV, then fit the pipeline with the size rule's choice on all of (X, y)."""
    tr = tune(X, y, groups, settings, classes, positive, seed)
    return fit_choice(X, y, settings, classes, positive, seed, tr.choice), tr


# -- outer loop ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class FoldResult:
    """One outer fold: its test samples, the size rule's (k, penalty, C), selected proteins (ranked), test AUC,
    and the test probabilities of the chosen panel (``proba``) and of every curve size (``size_proba``)."""

    permutation: int
    repeat: int
    fold: int
    seed: int
    test_samples: tuple[str, ...]
    k: int | None
    C: float | None
    selected: tuple[str, ...]
    auc: float
    proba: np.ndarray = field(repr=False)  # (n_test, n_classes) predicted probabilities
    penalty: float | None = None
    size_proba: dict = field(default_factory=dict, repr=False)  # size → (n_test, n_classes)
    size_n: dict = field(default_factory=dict, repr=False)  # size → number of proteins actually kept
    size_selected: dict = field(default_factory=dict, repr=False)  # size → the proteins of that size's panel

    def to_dict(self) -> dict:
        return {"permutation": self.permutation, "repeat": self.repeat, "fold": self.fold, "seed": self.seed,
                "k": size_label(self.k), "penalty": self.penalty, "C": self.C, "selected": list(self.selected),
                "n_selected": len(self.selected), "auc": self.auc, "n_test": len(self.test_samples)}


def _outer_task(X, y, groups, tr, te, settings, classes, positive, seed, perm, r, f) -> FoldResult:
    """Tune on the outer training part, then fit every curve size's tuned pipeline on it and predict the test
    part (only the rule's choice under permutation). Preprocessing is fitted once and shared by the sizes.
    With bagging (``settings.bag_count()``) the rule's choice is the bagged panel; the curve's sizes stay
    exact (what a hard cap of that size would give)."""
    curve = perm == 0
    res = tune(X.iloc[tr], y[tr], groups[tr], settings, classes, positive, seed, curve=curve)
    y_enc, _ = encode(y[tr], positive, classes)
    steps = preprocess_steps(settings, seed)
    front = Pipeline(steps).fit(X.iloc[tr], y_enc) if steps else None
    Xa = front.transform(X.iloc[tr]) if front else X.iloc[tr]
    Xb = front.transform(X.iloc[te]) if front else X.iloc[te]
    wanted = dict(res.per_size) if curve else {}
    wanted[("rule",)] = res.choice
    size_proba, size_n, size_sel, sel_cache = {}, {}, {}, {}
    proba, sel = None, ()
    n_bags = settings.bag_count()
    for key, ch in wanted.items():
        if ch.penalty not in sel_cache:
            sel_cache[ch.penalty] = selector_for(settings, None, seed=seed, penalty=ch.penalty).fit(Xa, y_enc)
        ranking = sel_cache[ch.penalty].ranking_
        cols = anchor_panel(ranking, ch.k)
        if n_bags and key == ("rule",):  # the chosen size, bagged (proteomics.panel.bagging); the curve is not
            bags = bag_rankings(settings, Xa, y_enc, seed, ch.penalty)
            cols, back = bagged_back_end(settings, Xa, y_enc, bags, ch.k, ch.C, seed, anchor=cols)
        else:
            back = back_end(settings, ch.C, seed).fit(Xa[cols], y_enc)
        pr = np.asarray(back.predict_proba(Xb[cols]), dtype=float)
        if key == ("rule",):
            proba, sel = pr, tuple(cols)
        else:
            size_proba[key], size_n[key], size_sel[key] = pr, len(cols), tuple(cols)
    auc = score_auc(y[te], proba, classes, positive) if len(set(y[te])) > 1 else float("nan")
    ch = res.choice
    return FoldResult(perm, r, f, seed, tuple(X.index[te]), ch.k, ch.C, sel, float(auc), proba, ch.penalty,
                      size_proba, size_n, size_sel)


@dataclass(frozen=True)
class NestedCVResult:
    """Nested-CV outcome on the real labels (``folds``, ``oof``) and, if requested, under permutations.

    oof : DataFrame, one row per (repeat, sample): sample, repeat, fold, label, probability (of the
        positive class; with several classes also ``proba_<class>`` columns).
    auc_per_repeat : AUC of the pooled out-of-fold predictions of each repeat (macro one-vs-rest AUC with
        several classes); ``auc`` is their mean.
    selection : DataFrame protein_group, frequency (fraction of outer folds selecting it), n_folds, mean_rank.
    permutation_aucs : the same ``auc`` computed with shuffled labels (one per permutation).
    size_curve : [{size, auc, auc_ci_low, auc_ci_high, auc_se, mean_panel_size}] (see ``proteomics.panel.curve``).
    """

    folds: tuple[FoldResult, ...]
    oof: pd.DataFrame
    auc_per_repeat: tuple[float, ...]
    auc: float
    selection: pd.DataFrame
    permutation_aucs: tuple[float, ...]
    classes: tuple[str, ...]
    positive: str
    seeds: dict
    params: dict
    size_curve: tuple = ()


def _permuted_labels(y: np.ndarray, groups: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Shuffle labels between subjects (keeps each subject's samples together) or between samples."""
    g = pd.Series(y).groupby(pd.Series(groups)).agg(lambda s: s.iloc[0] if s.nunique() == 1 else None)
    if g.isna().any():
        return rng.permutation(y)
    uniq = g.index.to_numpy()
    perm = dict(zip(uniq, rng.permutation(g.to_numpy()), strict=True))
    return np.asarray([perm[x] for x in groups])


def _summarise(fr: list[FoldResult], sample_ids, y, classes, positive) -> tuple:
    rows = []
    for f in fr:
        for i, s in enumerate(f.test_samples):
            row = {"sample": s, "repeat": f.repeat, "fold": f.fold,
                   "probability": float(f.proba[i, list(classes).index(positive) if len(classes) > 2 else 1])}
            if len(classes) > 2:
                row.update({f"proba_{c}": float(f.proba[i, j]) for j, c in enumerate(classes)})
            rows.append(row)
    oof = pd.DataFrame(rows)
    lab = pd.Series(y, index=list(sample_ids))
    oof.insert(3, "label", lab.loc[oof["sample"]].to_numpy())
    oof = oof.sort_values(["repeat", "sample"], kind="mergesort").reset_index(drop=True)
    aucs = []
    for _, part in oof.groupby("repeat", sort=True):
        if len(classes) > 2:
            aucs.append(M.multiclass_auc(part["label"].to_numpy(),
                                         part[[f"proba_{c}" for c in classes]].to_numpy(), classes))
        else:
            aucs.append(M.roc_auc((part["label"] == positive).astype(int), part["probability"]))
    return oof, tuple(float(a) for a in aucs), float(np.mean(aucs))


def _selection_table(fr: list[FoldResult], proteins: Sequence[str]) -> pd.DataFrame:
    n = len(fr)
    cnt: dict[str, int] = {}
    rank_sum: dict[str, float] = {}
    for f in fr:
        for r, p in enumerate(f.selected, start=1):
            cnt[p] = cnt.get(p, 0) + 1
            rank_sum[p] = rank_sum.get(p, 0.0) + r
    t = pd.DataFrame({"protein_group": list(cnt), "n_folds": [cnt[p] for p in cnt],
                      "mean_rank": [rank_sum[p] / cnt[p] for p in cnt]})
    t["frequency"] = t["n_folds"] / max(1, n)
    t = t.sort_values(["frequency", "mean_rank", "protein_group"], ascending=[False, True, True],
                      kind="mergesort").reset_index(drop=True)
    return t[["protein_group", "frequency", "n_folds", "mean_rank"]]


def nested_cv(X: pd.DataFrame, y: Sequence, *, positive: str, settings: PanelSettings, groups=None,
              batches=None, seed: int = 0, n_permutations: int = 0, n_jobs: int = 1,
              progress: Progress | None = None) -> NestedCVResult:
    """Nested CV of the panel pipeline on X (samples × proteins, log2) and labels y.

    ``groups`` (e.g. subject ids) keep samples together; ``batches`` are used for leave-one-batch-out.
    ``n_permutations`` > 0 repeats the whole nested CV with labels shuffled between subjects (seeded).
    ``progress(done, total)`` is called after every outer fold (in order). Results are identical for any
    ``n_jobs``.
    """
    y = np.asarray(y).astype(str)
    X = X.copy()
    X.index = X.index.astype(str)
    groups = np.asarray(X.index if groups is None else groups).astype(str)
    classes = tuple(sorted(set(y)))
    if positive not in classes:
        raise InputError(f"positive class {positive!r} is not a label value", hint=f"use one of {', '.join(classes)}")
    if len(classes) < 2:
        raise InputError("the label has a single class")
    batches = None if batches is None else np.asarray(batches).astype(str)
    tasks = []
    for perm in range(n_permutations + 1):
        yp = y if perm == 0 else _permuted_labels(y, groups, np.random.default_rng(derive_seed(seed, 97, perm)))
        for r, f, tr, te in outer_splits(yp, groups, settings, derive_seed(seed, perm), batches):
            tasks.append((perm, r, f, yp, tr, te, derive_seed(seed, perm, r, f)))
    total = len(tasks)
    runner = Parallel(n_jobs=n_jobs, return_as="generator")
    gen = runner(delayed(_outer_task)(X, yp, groups, tr, te, settings, classes, positive, s, perm, r, f)
                 for perm, r, f, yp, tr, te, s in tasks)
    results: list[FoldResult] = []
    for done, res in enumerate(gen, start=1):
        results.append(res)
        if progress is not None:
            progress(done, total)
    real = [f for f in results if f.permutation == 0]
    oof, aucs, auc = _summarise(real, X.index, y, classes, positive)
    null = []
    for perm in range(1, n_permutations + 1):
        fr = [f for f in results if f.permutation == perm]
        yp = tasks[[t[0] for t in tasks].index(perm)][3]
        null.append(_summarise(fr, X.index, yp, classes, positive)[2])
    seeds = {"seed": seed, "fold_seeds": [f.seed for f in real]}
    curve = tuple(size_curve(real, X.index, y, classes, positive))
    return NestedCVResult(tuple(real), oof, aucs, auc, _selection_table(real, X.columns), tuple(null), classes,
                          positive, seeds, settings.to_dict(), curve)
