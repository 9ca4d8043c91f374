"""Content validation of a signature file, whatever its checksum or signature says.

A checksum only proves that the bytes are the ones written; a signed file can still come from a buggy or
hostile writer. Before anything is scored, :func:`check_content` refuses (``SignatureError`` naming the field):
wrong types or missing fields, protein lists that are not lists of unique names, non-finite or absurd
(|x| > :data:`~proteomics.limits.MAX_ABS_MODEL_VALUE`) coefficients, intercepts, scaler values, fill values,
QC bounds or thresholds, arrays whose length differs from the number of proteins, probabilities outside
[0, 1], and random-forest trees whose child links could loop.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from .errors import SignatureError
from .limits import MAX_ABS_MODEL_VALUE

__all__ = ["check_content", "MAX_PROTEINS", "MAX_ABS_STEP_VALUE"]

#: most proteins a signature may list (a whole proteome is ~20,000 genes; multi-specimen panels double it)
MAX_PROTEINS = 100_000
#: preprocessing states may hold linear intensities (e.g. the VSN offset), so their bound is wider
MAX_ABS_STEP_VALUE = 1e15


class _Check:
    def __init__(self, path):
        self.path = path

    def fail(self, field: str, what: str):
        raise SignatureError(f"signature field {field!r} {what}", path=self.path,
                             hint="this signature is damaged or was not written by this package; do not use it")

    def typed(self, d: Mapping, key: str, types, field: str, *, required: bool = True):
        if key not in d:
            if required:
                self.fail(field, "is missing")
            return None
        v = d[key]
        if not isinstance(v, types) or (isinstance(v, bool) and bool not in _tuple(types)):
            names = "/".join(t.__name__ for t in _tuple(types))
            self.fail(field, f"must be of type {names}, not {type(v).__name__}")
        return v

    def number(self, v, field: str, *, bound: float = MAX_ABS_MODEL_VALUE, lo=None, hi=None, nullable=False):
        if v is None and nullable:
            return
        if isinstance(v, bool) or not isinstance(v, int | float):
            self.fail(field, f"must be a number, not {type(v).__name__}")
        if not math.isfinite(v):
            self.fail(field, f"holds a non-finite number ({v})")
        if abs(v) > bound:
            self.fail(field, f"holds an absurd value ({v:g}; the limit is ±{bound:g})")
        if (lo is not None and v < lo) or (hi is not None and v > hi):
            self.fail(field, f"holds {v:g}, outside [{lo}, {hi}]")

    def vector(self, v, field: str, n: int | None = None, **kw) -> list:
        if not isinstance(v, list):
            self.fail(field, f"must be a list of numbers, not {type(v).__name__}")
        if n is not None and len(v) != n:
            self.fail(field, f"has {len(v)} values for {n} proteins")
        for x in v:
            self.number(x, field, **kw)
        return v

    def matrix(self, v, field: str, ncol: int | None, nrow: int | None = None, **kw) -> list:
        if not isinstance(v, list) or not v:
            self.fail(field, "must be a non-empty list of rows")
        if nrow is not None and len(v) != nrow:
            self.fail(field, f"has {len(v)} rows, expected {nrow}")
        for row in v:
            self.vector(row, field, ncol, **kw)
        return v

    def numbers_in(self, obj, field: str, bound: float, depth: int = 0) -> None:
        """Every number anywhere inside ``obj`` is finite and within ``bound`` (None allowed)."""
        if isinstance(obj, bool) or obj is None or isinstance(obj, str):
            return
        if isinstance(obj, int | float):
            self.number(obj, field, bound=bound)
        elif isinstance(obj, list):
            for x in obj:
                self.numbers_in(x, field, bound, depth + 1)
        elif isinstance(obj, dict):
            for k, x in obj.items():
                self.numbers_in(x, f"{field}.{k}", bound, depth + 1)


def _tuple(t) -> tuple:
    return t if isinstance(t, tuple) else (t,)


def check_content(d: Mapping[str, Any], *, path=None) -> None:
    """Refuse a parsed signature whose content is unusable or insane (see the module docstring)."""
    c = _Check(path)
    for key in ("name", "version"):
        c.typed(d, key, str, key)
    kind = c.typed(d, "kind", str, "kind")
    proteins = c.typed(d, "proteins", list, "proteins")
    if not proteins or len(proteins) > MAX_PROTEINS:
        c.fail("proteins", f"must list 1 to {MAX_PROTEINS:,} proteins, not {len(proteins)}")
    if not all(isinstance(p, str) and p for p in proteins):
        c.fail("proteins", "must hold non-empty protein_group strings")
    if len(set(proteins)) != len(proteins):
        c.fail("proteins", "lists a protein twice")
    n = len(proteins)
    c.typed(d, "specimen", (str, type(None)), "specimen", required=False)
    specimens = c.typed(d, "specimens", list, "specimens", required=False) or []
    if not all(isinstance(s, str) and s for s in specimens):
        c.fail("specimens", "must hold specimen names")
    steps = c.typed(d, "steps", list, "steps")
    for i, st in enumerate(steps):
        if not isinstance(st, dict) or not isinstance(st.get("step"), str):
            c.fail(f"steps[{i}]", "must be an object naming its 'step'")
        c.typed(st, "params", dict, f"steps[{i}].params", required=False)
        learned = c.typed(st, "learned", dict, f"steps[{i}].learned", required=False) or {}
        for key in ("proteins_in_", "proteins_out_"):
            if key in learned:
                _names(c, learned[key], f"steps[{i}].learned.{key}")
        c.numbers_in(learned, f"steps[{i}].learned", MAX_ABS_STEP_VALUE)
        c.numbers_in(st.get("params", {}), f"steps[{i}].params", MAX_ABS_STEP_VALUE)
    model = c.typed(d, "model", dict, "model")
    for key in ("thresholds", "qc", "training", "performance"):
        c.typed(d, key, dict, key, required=False)
    cats = c.typed(d, "categories", list, "categories", required=False) or []
    if not all(isinstance(x, dict) and isinstance(x.get("name"), str) for x in cats):
        c.fail("categories", "must be objects with a 'name'")
    for name, t in (d.get("thresholds") or {}).items():
        if isinstance(t, dict):
            c.number(t.get("probability"), f"thresholds.{name}.probability", lo=0, hi=1)
            c.numbers_in(t, f"thresholds.{name}", MAX_ABS_MODEL_VALUE)
        else:
            c.number(t, f"thresholds.{name}", lo=0, hi=1)
    _check_qc(c, d.get("qc") or {}, n)
    if kind == "panel":
        _check_panel_model(c, model, n)
    elif kind == "stratifier":
        _check_stratifier_model(c, model, n)


def _names(c: _Check, v, field: str) -> None:
    if not isinstance(v, list) or not all(isinstance(p, str) and p for p in v) or len(set(v)) != len(v):
        c.fail(field, "must be a list of distinct protein names")


def _check_qc(c: _Check, qc: Mapping, n: int) -> None:
    for key in ("training_min", "training_max"):
        if key in qc:
            c.vector(qc[key], f"qc.{key}", n, nullable=True)
    for key in ("max_missing_fraction", "min_input_coverage"):
        if key in qc:
            c.number(qc[key], f"qc.{key}", lo=0, hi=1)
    if "max_missing" in qc:
        c.number(qc["max_missing"], "qc.max_missing", lo=0, hi=n)
    if "range_margin" in qc:
        c.number(qc["range_margin"], "qc.range_margin", lo=0)


def _check_panel_model(c: _Check, m: Mapping, n: int) -> None:
    kind = c.typed(m, "type", str, "model.type")
    if kind not in ("logistic", "svm", "random_forest"):
        c.fail("model.type", f"is {kind!r}; this package scores logistic, svm and random_forest models")
    classes = c.typed(m, "classes", list, "model.classes")
    if len(classes) < 2 or not all(isinstance(x, str) for x in classes) or len(set(classes)) != len(classes):
        c.fail("model.classes", "must list at least two distinct class names")
    binary = c.typed(m, "binary", bool, "model.binary")
    if binary != (len(classes) == 2):
        c.fail("model.binary", f"is {binary} for {len(classes)} classes")
    if c.typed(m, "positive", str, "model.positive") not in classes:
        c.fail("model.positive", "is not one of model.classes")
    mc = c.typed(m, "model_classes", list, "model.model_classes")
    if (mc != [0, 1]) if binary else (sorted(map(str, mc)) != sorted(classes) or len(mc) != len(classes)):
        c.fail("model.model_classes", "does not match model.classes")
    fill = c.typed(m, "fill", dict, "model.fill")
    c.vector(c.typed(fill, "values", list, "model.fill.values"), "model.fill.values", n)
    sc = c.typed(m, "scale", dict, "model.scale")
    c.vector(c.typed(sc, "mean", list, "model.scale.mean"), "model.scale.mean", n)
    c.vector(c.typed(sc, "scale", list, "model.scale.scale"), "model.scale.scale", n, lo=1e-12)
    c.vector(c.typed(sc, "var", list, "model.scale.var"), "model.scale.var", n, lo=0, bound=1e12)
    c.number(c.typed(sc, "n_samples_seen", int, "model.scale.n_samples_seen"), "model.scale.n_samples_seen", lo=1)
    n_rows = 1 if binary else len(classes)
    if kind in ("logistic", "svm"):
        c.matrix(c.typed(m, "coef", list, "model.coef"), "model.coef", n, n_rows)
        c.vector(c.typed(m, "intercept", list, "model.intercept"), "model.intercept", n_rows)
        if kind == "svm":
            cal = c.typed(m, "calibration", dict, "model.calibration")
            for key in ("a", "b"):
                v = c.vector(c.typed(cal, key, list, f"model.calibration.{key}"), f"model.calibration.{key}")
                if not v:
                    c.fail(f"model.calibration.{key}", "is empty")
    else:
        trees = c.typed(m, "trees", list, "model.trees")
        if not trees:
            c.fail("model.trees", "is empty")
        for i, t in enumerate(trees):
            _check_tree(c, t, f"model.trees[{i}]", n, len(classes))
    iv = c.typed(m, "interval", dict, "model.interval", required=False) or {}
    if iv.get("method") == "bag_models" and kind != "logistic":
        c.fail("model.interval.method", f"is 'bag_models' for a {kind} model (only a bagged logistic panel has it)")
    if iv.get("method") in ("bootstrap_refit", "bag_models"):  # refits, or a bagged panel's subsample models
        coef = c.matrix(c.typed(iv, "coef", list, "model.interval.coef"), "model.interval.coef", n)
        c.vector(c.typed(iv, "intercept", list, "model.interval.intercept"), "model.interval.intercept", len(coef))
        if kind == "svm":
            c.matrix(c.typed(iv, "calibration", list, "model.interval.calibration"), "model.interval.calibration",
                     2, len(coef))
    elif iv.get("method") not in (None, "none", "tree_percentiles"):
        c.fail("model.interval.method", f"is {iv.get('method')!r}")


def _check_tree(c: _Check, t, field: str, n: int, n_classes: int) -> None:
    if not isinstance(t, dict):
        c.fail(field, "must be an object")
    left, right, feat = (c.typed(t, k, list, f"{field}.{k}") for k in ("left", "right", "feature"))
    thr = c.vector(c.typed(t, "threshold", list, f"{field}.threshold"), f"{field}.threshold")
    value = c.matrix(c.typed(t, "value", list, f"{field}.value"), f"{field}.value", n_classes, lo=0)
    size = len(left)
    if not size or any(len(x) != size for x in (right, feat, thr, value)):
        c.fail(field, "has node arrays of different lengths")
    for i in range(size):
        a, b, f = left[i], right[i], feat[i]
        if not all(isinstance(x, int) and not isinstance(x, bool) for x in (a, b, f)):
            c.fail(field, "has non-integer node links")
        if a == -1 or b == -1:
            if a != b:
                c.fail(field, f"node {i} has one child only")
        elif not (i < a < size and i < b < size and 0 <= f < n):  # children after parents: no loops
            c.fail(field, f"node {i} links outside the tree or backwards")


def _check_stratifier_model(c: _Check, m: Mapping, n: int) -> None:
    clusters = c.typed(m, "clusters", list, "model.clusters")
    k = len(clusters)
    if k < 1 or not all(isinstance(x, str) and x for x in clusters) or len(set(clusters)) != k:
        c.fail("model.clusters", "must list distinct cluster names")
    c.matrix(c.typed(m, "centroids", list, "model.centroids"), "model.centroids", n, k)
    c.number(c.typed(m, "temperature", (int, float), "model.temperature"), "model.temperature", lo=1e-12)
    if m.get("radius") is not None:
        c.vector(m["radius"], "model.radius", k, lo=0)
    c.vector(c.typed(m, "feature_mean", list, "model.feature_mean"), "model.feature_mean", n)
    c.vector(c.typed(m, "feature_sd", list, "model.feature_sd"), "model.feature_sd", n, lo=1e-12)
    if "radius_factor" in m:
        c.number(m["radius_factor"], "model.radius_factor", lo=0)
    c.typed(m, "unlockable", str, "model.unlockable", required=False)
