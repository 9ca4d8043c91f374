"""The panel's settings (``panel`` section of a run config, a ``--config PANEL.yaml``, or ``build_panel``'s
``settings``): every key and its default, declared once.

Adding a panel setting is one edit here; the run config, PANEL.yaml, ``build_panel`` and the published JSON
schema all take it from this model. Choices that come from a registry (``selector``, ``model``) are checked
against it by :func:`proteomics.panel.settings.coerce_settings`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

import numpy as np
from pydantic import Field, field_validator, model_validator

from .base import PRESENCE_FILTER, Strict

__all__ = ["PanelSettings", "describe_preprocess", "DEFAULT_SIZE_GRID", "DEFAULT_PENALTIES", "PATH_SELECTORS",
           "L1_SELECTORS", "DEFAULT_PREPROCESS", "DEFAULT_BAGS", "size_label"]

#: panel sizes tried by default; None = unrestricted (every protein the selector ranks)
DEFAULT_SIZE_GRID: tuple[int | None, ...] = (1, 2, 3, 5, 8, 10, 15, 20, 30, 50, None)
#: default positions on the L1 path (multiples of c_min), sparsest first: 1.12 … 10⁴ (glmnet's λ_max/λ down to
#: its lambda.min.ratio 1e-4), 14 points
DEFAULT_PENALTIES: tuple[float, ...] = tuple(float(round(v, 4)) for v in np.logspace(0.05, 4, 14))
#: subsamples of the bagged panel when ``bags`` is unset (no hard cap, logistic model); 50 measured no better
DEFAULT_BAGS = 25
#: selectors whose ranking depends on a penalty tuned together with the panel size (see panel.selection)
PATH_SELECTORS = ("l1", "elastic_net")
#: selectors that rank by an L1 / elastic-net path: their L2 refit keeps C = 1 unless C_grid is given (the path
#: is what is tuned)
L1_SELECTORS = ("l1_share", *PATH_SELECTORS)
#: the panel's preprocessing when none is given (a run passes its own chain): proteins observed in ≥ 70 % of
#: the training samples, as in the plain baseline and stratify (a panel protein must be measurable in most
#: samples: a locked signature refuses a sample missing more than ``max_missing_fraction`` of its proteins),
#: then per-sample median centring
DEFAULT_PREPROCESS: tuple[tuple[str, dict[str, Any]], ...] = (PRESENCE_FILTER, ("normalize_median", {}))


def size_label(k: int | None) -> int | str:
    """A size as written in JSON/TSV/YAML: the integer, or ``"unrestricted"``."""
    return "unrestricted" if k is None else int(k)


class PanelSettings(Strict):
    """Settings of :func:`proteomics.panel.build_panel`.

    selector / model : see ``proteomics.panel.selection`` (``l1_share``, the share of the L1 path model, +
        ``logistic`` by default).
    redundancy / redundancy_threshold : ``cluster`` keeps one protein per cluster of proteins correlated at
        |r| ≥ threshold (from any selector's ranking); ``none`` (default) keeps the ranking as it is.
    size_grid : panel sizes tried ("unrestricted" = every protein the selector ranks); every size is tuned
        (penalty, C) in the inner folds and its nested-CV AUC reported (the size–AUC curve).
    size_rule : how the inner CV picks the size: ``best`` (default; the size with the best pooled inner
        out-of-fold AUC, ties to the larger) or ``one_se`` (the smallest size whose pooled inner out-of-fold AUC
        is within one DeLong standard error of the best size's: smaller panels, lower AUC on the bench cohorts).
    max_proteins : hard cap on the panel size (unset: the size rule decides); the report shows what the cap
        costs in AUC. ``fixed_size``: the panel has exactly ``max_proteins`` proteins.
    penalty_grid : positions on the L1 / elastic-net path (multiples of c_min, increasing): tuned with the size
        for ``l1`` / ``elastic_net``; the grid ``l1_share`` sums the proteins' shares over.
    C_grid : inverse L2 penalties tuned for the logistic / SVM model (on standardised proteins); unset → 1.0
        with an L1-path selector (the path is what is tuned), (0.1, 1, 10) otherwise.
    inner_repeats : repeats of the inner CV (new folds each, the same folds for every candidate); unset → 3
        below 60 training samples, 2 below 200, else 1.
    baseline : also run the plain L1 and random-forest baselines on the same outer folds (baselines.json).
    outer_folds, outer_repeats, inner_folds : nested CV shape; folds are stratified by label and grouped
        by ``group_by`` (a sample-table column, e.g. subject; absent column → each sample its own group).
    leave_one_batch_out : sample-table column; when set, the outer loop leaves one batch out at a time.
    batch_column : used for the batch-confounding warning (default "batch" if present).
    preprocess : preprocessing steps fitted inside every training fold, as (STEPS key, params) pairs,
        ``{"step": key, "params": {...}}`` dicts, or transformer instances; None → ``DEFAULT_PREPROCESS``
        (``filter_min_valid`` 0.7 of all training samples + ``normalize_median``). A run passes its own chain.
    selector_options / model_options : extra keyword arguments of the selector / classifier (e.g.
        ``{"n_estimators": 100}`` for the random forest, ``{"threshold": 0.7}`` for stability selection).
    fill : how missing panel values are completed (``min`` or ``median`` of the training samples).
    prevalence : the prevalence at which PPV/NPV are reported (None → the cohort's).
    fixed_specificity / fixed_sensitivity : risk categories of the signature: rule-in threshold = the lowest
        probability reaching this specificity, rule-out threshold = the highest keeping this sensitivity (both on
        out-of-fold predictions); also the operating points reported.
    bags : subsamples (63.2 % of each class) of a bagged panel: each keeps the panel chosen on all training
        samples and adds its own top k; the model averages their logistic models' log-odds and the panel is the
        union of their proteins (``proteomics.panel.bagging``). Unset → 25 with the logistic model and no
        ``max_proteins`` (a hard cap keeps the panel exact and unbagged), else 0; 0 = off.
    n_boot : bootstrap resamples for the AUC CI; interval_boot : bootstrap refits of the locked model for
        the probability interval (a bagged panel's interval comes from its subsample models instead).
    max_missing_fraction / range_margin : QC rules of the signature (fraction of panel proteins that may be
        missing in one sample; allowed excess beyond the training range, in log2 units).
    name / version / intended_use / specimen : recorded in the signature.
    """

    _renamed = {"panel_sizes": "size_grid"}

    #: l1_share (default): share of the model along the L1 logistic path, size tuned (multivariate); l1: the path at
    #: one penalty, tuned over penalty and size; moderated_t: univariate
    selector: str = "l1_share"
    model: str = "logistic"
    #: cluster: one protein per cluster of proteins correlated at |r| >= redundancy_threshold
    redundancy: Literal["none", "cluster"] = "none"
    redundancy_threshold: float = Field(0.8, gt=0, le=1)
    #: panel sizes whose nested-CV AUC is reported (the size-AUC curve) and among which size_rule chooses
    size_grid: tuple[int | Literal["unrestricted"] | None, ...] = Field(DEFAULT_SIZE_GRID, min_length=1)
    #: best: the size with the best pooled inner out-of-fold AUC; one_se: smallest size within one SE of it
    size_rule: Literal["one_se", "best"] = "best"
    #: hard cap on the panel size (a targeted assay costs per protein); unset = the size rule decides
    max_proteins: int | None = Field(None, ge=1)
    fixed_size: bool = False
    #: L1 path positions (multiples of the smallest C with a non-zero coefficient), increasing
    penalty_grid: tuple[float, ...] = Field(DEFAULT_PENALTIES, min_length=1)
    C_grid: tuple[float, ...] | None = Field(None, min_length=1)
    outer_folds: int = Field(5, ge=2)
    outer_repeats: int = Field(3, ge=1)
    inner_folds: int = Field(3, ge=2)
    #: inner CV repeats (same folds for every candidate); unset = 3 below 60 samples, 2 below 200, else 1
    inner_repeats: int | None = Field(None, ge=1)
    #: also run the plain L1 and random-forest baselines on the same outer folds (baselines.json)
    baseline: bool = False
    group_by: str | None = "subject"
    leave_one_batch_out: str | None = None
    batch_column: str | None = "batch"
    preprocess: tuple[Any, ...] | None = None
    selector_options: dict[str, Any] = Field(default_factory=dict)
    model_options: dict[str, Any] = Field(default_factory=dict)
    fill: str = "min"
    #: a bagged panel over n subsamples (union of their panels, averaged logistic models); 0 = off;
    #: unset = DEFAULT_BAGS with the logistic model and no max_proteins, else 0
    bags: int | None = Field(None, ge=0, le=1000)
    prevalence: float | None = Field(None, gt=0, lt=1)
    fixed_specificity: float = Field(0.9, gt=0, lt=1, description="specificity target of the rule-in threshold")
    fixed_sensitivity: float = Field(0.9, gt=0, lt=1, description="sensitivity target of the rule-out threshold")
    n_boot: int = Field(2000, ge=0)
    interval_boot: int = Field(100, ge=0)
    max_missing_fraction: float = Field(0.34, ge=0, le=1)
    range_margin: float = Field(2.0, ge=0)
    name: str | None = None
    version: str = "1"
    intended_use: str = "research use only"
    specimen: str | None = None

    @field_validator("preprocess", mode="before")
    @classmethod
    def _pairs_as_tuples(cls, v):
        return v if v is None else tuple(tuple(x) if isinstance(x, list) else x for x in v)

    @field_validator("C_grid")
    @classmethod
    def _positive(cls, v):
        if v is not None and any(c <= 0 for c in v):
            raise ValueError("C_grid must hold positive numbers")
        return v

    @field_validator("size_grid")
    @classmethod
    def _sizes(cls, v):
        out = []
        for k in v:
            if k is None or k == "unrestricted":
                k = None
            elif k < 1:
                raise ValueError(f"panel size {k} is not a positive integer (or 'unrestricted')")
            if k not in out:
                out.append(k)
        return tuple(out)

    @field_validator("penalty_grid")
    @classmethod
    def _increasing(cls, v):
        if any(p <= 0 for p in v) or any(b <= a for a, b in zip(v, v[1:], strict=False)):
            raise ValueError("penalty_grid must hold increasing positive multiples of c_min")
        return tuple(float(p) for p in v)

    @model_validator(mode="after")
    def _cap(self):
        if self.fixed_size and self.max_proteins is None:
            raise ValueError("fixed_size needs max_proteins (the exact panel size)")
        if self.bags and (self.model != "logistic" or self.max_proteins is not None):
            raise ValueError("bags needs model: logistic and no max_proteins (a bagged panel is the union of "
                             "its subsamples' panels, which a hard cap cannot bound)")
        if not self.sizes():
            raise ValueError(f"no size of size_grid is within max_proteins={self.max_proteins}")
        return self

    def curve_sizes(self) -> tuple[int | None, ...]:
        """Every size whose nested-CV AUC is reported (the grid, plus the cap), smallest first, None last."""
        if self.fixed_size:
            return (self.max_proteins,)
        ks = {k for k in self.size_grid if k is not None}
        if self.max_proteins is not None:
            ks.add(int(self.max_proteins))
        return (*sorted(ks), *((None,) if None in self.size_grid else ()))

    def sizes(self) -> tuple[int | None, ...]:
        """Sizes the size rule may choose: the curve's sizes within ``max_proteins`` (the hard cap)."""
        cap = self.max_proteins
        return tuple(k for k in self.curve_sizes() if cap is None or (k is not None and k <= cap))

    def bag_count(self) -> int:
        """Subsamples of the bagged panel (``bags``, or DEFAULT_BAGS with the logistic model and no hard cap)."""
        if self.bags is not None:
            return int(self.bags)
        return DEFAULT_BAGS if self.model == "logistic" and self.max_proteins is None else 0

    def inner_repeat_count(self, n_train: int) -> int:
        """Inner CV repeats for ``n_train`` training samples (``inner_repeats`` or the automatic rule)."""
        if self.inner_repeats is not None:
            return int(self.inner_repeats)
        return 3 if n_train < 60 else 2 if n_train < 200 else 1

    def penalties(self) -> tuple[float | None, ...]:
        """Selector penalties tuned (None for selectors without a path)."""
        return tuple(self.penalty_grid) if self.selector in PATH_SELECTORS else (None,)

    def c_values(self) -> tuple[float | None, ...]:
        """Inverse penalties of the model tuned (None for the random forest, which has none)."""
        if self.model == "random_forest":
            return (None,)
        if self.C_grid is None:
            return (1.0,) if self.selector in L1_SELECTORS else (0.1, 1.0, 10.0)
        return tuple(float(c) for c in self.C_grid)

    def to_dict(self) -> dict[str, Any]:
        """Every setting as plain values (as recorded in the signature; preprocessing steps described)."""
        d = {name: getattr(self, name) for name in type(self).model_fields}
        d["preprocess"] = [list(p) if isinstance(p, tuple) else p for p in describe_preprocess(self.preprocess)]
        d["selector_options"] = dict(self.selector_options)
        d["model_options"] = dict(self.model_options)
        d["size_grid"] = [size_label(k) for k in self.size_grid]
        d["penalty_grid"] = list(self.penalty_grid)
        d["C_grid"] = None if self.C_grid is None else list(self.C_grid)
        return d


def describe_preprocess(pre) -> list:
    """Preprocessing items (pairs, dicts or transformers) as JSON-ready ``{"step", "params"}`` records."""
    if pre is None:
        return []
    out = []
    for item in pre:
        if isinstance(item, Mapping):
            out.append({"step": item.get("step"), "params": dict(item.get("params", {}))})
        elif isinstance(item, tuple | list) and len(item) == 2 and not isinstance(item[1], Mapping) \
                and hasattr(item[1], "get_params"):
            out.append({"step": item[0], "class": type(item[1]).__name__, "params": item[1].get_params()})
        elif isinstance(item, tuple | list) and len(item) == 2:
            out.append({"step": item[0], "params": dict(item[1])})
        elif hasattr(item, "get_params"):
            out.append({"step": type(item).__name__, "params": item.get_params()})
        else:
            out.append(str(item))
    return out
