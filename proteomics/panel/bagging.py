"""Bagged panels (the default without a hard cap): the panel of the chosen size, fitted on many subsamples of
the training samples and averaged.

With a few dozen training samples the selection itself is the largest source of error: a panel chosen on one
training set shares about a third of its proteins with the panel of the next fold (bench/README.md,
stability). A bagged panel draws ``bags`` subsamples (63.2 % of each class, without replacement, seeded) and
ranks the proteins on each with the configured selector. Each subsample's panel is the **anchor** (the panel of
that size chosen on all training samples) plus the subsample's own top ``k``; a logistic model is fitted on
each. The model is the average of the subsample models' log-odds; the panel is the union of their proteins,
ranked by how many subsamples used each (then by mean rank).

Why the anchor: proteins that separate only together (one cancels a nuisance the other carries) must be in the
same model. A subsample whose own top ``k`` misses one of them would add a model of the other alone, driven by
that nuisance; without the anchor a planted pair of this kind fell from nested AUC 0.99 to 0.82, with it to
0.94–1.00 (tests/panel/test_multivariate.py, bench/README.md). Where many proteins each carry a little of the
signal (the real plasma cohorts of the bench), the average spreads the model over them, as the random forest
and the plain L1 baseline do, and gains on the cohorts' mean.

Because every subsample model is linear in the same standardised panel values, the average is one logistic
model over the union: the locked signature stores it as an ordinary logistic model (fill → standardise →
coefficients), bit for bit what the nested CV scored. The subsample models are kept for the probability
interval (the 2.5–97.5 percentiles of their probabilities, as for a forest's trees), so the interval reflects
the uncertainty of the selection as well as of the coefficients.

The inner CV tunes the size without bagging (a bagged candidate costs ``bags`` fits); the nested CV scores
exactly that procedure (tune unbagged, fit bagged), so its AUC is honest for what is locked. ``k`` bounds each
subsample's own choice, not the union, which is why bagging is off under a hard cap (``max_proteins``: the
panel then has at most that many proteins) and the size–AUC curve is that of exact, unbagged panels (what each
cap would give).

X is a samples × proteins DataFrame of log2 values after preprocessing (NaN = missing); y the encoded labels.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from ..preprocess.base import store_params
from .models import PanelFill, make_model
from .seeds import derive_seed, preprocess_steps
from .selection import selector_for
from .selectors import _Selector
from .settings import PanelSettings
from .subsample import stratified_subsamples

__all__ = ["Bag", "BaggedLogistic", "BaggedUnion", "subsample_rows", "bag_rankings", "bagged_back_end",
           "fit_bagged", "anchor_panel", "SUBSAMPLE_FRACTION"]

#: fraction of each class drawn into one subsample (the expected share of distinct samples in a bootstrap)
SUBSAMPLE_FRACTION = 0.632

#: one subsample: its row positions in the training samples and its ranking (protein names, best first)
Bag = tuple[np.ndarray, list[str]]


def subsample_rows(y: np.ndarray, n_bags: int, seed: int) -> list[np.ndarray]:
    """``n_bags`` sorted row-position arrays, each holding round(0.632·n_c) (at least 2, at most n_c) samples
    of every class c, drawn without replacement with a generator seeded by ``seed``."""
    return stratified_subsamples(y, n_bags, lambda m: min(m, max(2, int(round(SUBSAMPLE_FRACTION * m)))), seed)


def bag_rankings(settings: PanelSettings, X: pd.DataFrame, y: np.ndarray, seed: int,
                 penalty: float | None = None) -> list[Bag]:
    """The selector of ``settings`` (at ``penalty`` for a path selector) fitted on every subsample of
    :func:`subsample_rows` (``settings.bag_count()`` of them): [(rows, ranking)]."""
    y = np.asarray(y)
    out = []
    for b, rows in enumerate(subsample_rows(y, settings.bag_count(), derive_seed(seed, 61))):
        sel = selector_for(settings, None, seed=derive_seed(seed, 61, b), penalty=penalty)
        out.append((rows, list(sel.fit(X.iloc[rows], y[rows]).ranking_)))
    return out


class BaggedLogistic(LogisticRegression):
    """The average of several logistic models over the same standardised columns, as one logistic model.

    Built by :func:`bagged_back_end`, never fitted by ``fit``: ``coef_``/``intercept_`` are the means of the
    subsample models' (zero where a subsample left a protein out), ``bag_coef_`` (n_bags, n_outputs, n_columns)
    and ``bag_intercept_`` (n_bags, n_outputs) are the subsample models. Averaging log-odds (class scores with
    several classes) is exact: every subsample model is linear in the columns.
    """

    def fit(self, X, y, sample_weight=None):  # noqa: D102 - a bagged model is assembled, not refitted
        raise TypeError("BaggedLogistic is assembled by proteomics.panel.bagging.bagged_back_end, not fitted")


class BaggedUnion(_Selector):
    """The ``select`` step of a bagged panel's pipeline: keeps the given ``proteins`` (the union, in its order)."""

    k = None  # the whole union is the panel

    def __init__(self, proteins: Sequence[str] = ()):
        store_params(self, locals())

    def _rank(self, X, y):
        names = list(self.proteins_in_)
        return np.asarray([names.index(p) for p in self.proteins], dtype=int), np.ones(len(names))


def _bag_panel(ranking: Sequence[str], k: int | None, anchor: Sequence[str]) -> list[str]:
    """One subsample's panel: the ``anchor`` proteins, then its own top ``k`` that are not among them."""
    top = list(ranking if k is None else ranking[: max(1, k)])
    held = set(anchor)
    return list(anchor) + [p for p in top if p not in held]


def _union(bags: Sequence[Bag], k: int | None, anchor: Sequence[str] = ()) -> list[str]:
    """Proteins of every subsample's panel (:func:`_bag_panel`): most often used first, then by mean rank, then by
    name."""
    count: dict[str, int] = {}
    rank: dict[str, float] = {}
    for _, ranking in bags:
        for r, p in enumerate(_bag_panel(ranking, k, anchor)):
            count[p] = count.get(p, 0) + 1
            rank[p] = rank.get(p, 0.0) + r
    return sorted(count, key=lambda p: (-count[p], rank[p] / count[p], p))


def _fit_linear(Z: np.ndarray, y: np.ndarray, C: float, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(coef (n_outputs, n_columns), intercept (n_outputs,), classes) of the panel's L2 logistic model."""
    m = make_model("logistic", C=C, seed=seed).fit(Z, y)
    return np.asarray(m.coef_, float), np.asarray(m.intercept_, float), m.classes_


def bagged_back_end(settings: PanelSettings, X: pd.DataFrame, y: np.ndarray, bags: Sequence[Bag], k: int | None,
                    C: float | None, seed: int, anchor: Sequence[str] = ()) -> tuple[list[str], Pipeline]:
    """(union of the subsamples' panels, fitted fill → standardise → :class:`BaggedLogistic`).

    A subsample's panel is ``anchor`` (the panel of all of ``X`` at this size) plus its own top ``k``. Fill values
    and standardisation are learned on all of ``X`` (the training samples) for the union; each subsample's model
    is fitted on its rows and its panel's columns of those standardised values.
    """
    y = np.asarray(y)
    cols = _union(bags, k, anchor)
    where = {p: j for j, p in enumerate(cols)}
    fill = PanelFill(settings.fill).fit(X[cols])
    scale = StandardScaler().fit(fill.transform(X[cols]))
    Z = scale.transform(fill.transform(X[cols]))
    c = 1.0 if C is None else float(C)
    coefs, icpts, classes = [], [], None
    for b, (rows, ranking) in enumerate(bags):
        idx = [where[p] for p in _bag_panel(ranking, k, anchor)]
        w, w0, classes = _fit_linear(Z[np.ix_(rows, idx)], y[rows], c, derive_seed(seed, 62, b))
        full = np.zeros((w.shape[0], len(cols)))
        full[:, idx] = w
        coefs.append(full)
        icpts.append(w0)
    model = BaggedLogistic(C=c)
    model.bag_coef_, model.bag_intercept_ = np.stack(coefs), np.stack(icpts)
    model.coef_, model.intercept_ = model.bag_coef_.mean(axis=0), model.bag_intercept_.mean(axis=0)
    model.classes_, model.n_features_in_, model.n_iter_ = np.asarray(classes), len(cols), np.zeros(1, dtype=int)
    return cols, Pipeline([("fill", fill), ("scale", scale), ("model", model)])


def fit_bagged(X: pd.DataFrame, y: np.ndarray, settings: PanelSettings, k: int | None, C: float | None, seed: int,
               penalty: float | None = None) -> Pipeline:
    """The whole bagged panel pipeline fitted on (X, y): preprocessing → :class:`BaggedUnion` → fill →
    standardise → :class:`BaggedLogistic` (the layout of :func:`proteomics.panel.cv.make_pipeline`)."""
    y = np.asarray(y)
    steps = preprocess_steps(settings, seed)  # fitted as the nested CV fits them (one Pipeline, then transform)
    Xa = Pipeline(steps).fit(X, y).transform(X) if steps else X
    ranking = selector_for(settings, None, seed=seed, penalty=penalty).fit(Xa, y).ranking_
    anchor = anchor_panel(ranking, k)
    cols, back = bagged_back_end(settings, Xa, y, bag_rankings(settings, Xa, y, seed, penalty), k, C, seed, anchor)
    select = BaggedUnion(tuple(cols)).fit(Xa, y)
    return Pipeline([*steps, ("select", select), *back.steps])


def anchor_panel(ranking: Sequence[str], k: int | None) -> list[str]:
    """The anchor: the top ``k`` of the ranking on all training samples (all of it for ``k`` None)."""
    return list(ranking if k is None else ranking[: max(1, k)])
