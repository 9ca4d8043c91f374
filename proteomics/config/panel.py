"""The panel's settings (``panel`` section of a run config, a ``--config PANEL.yaml``, or ``build_panel``'s
``settings``): every key and its default, declared once.

Adding a panel setting is one edit here; the run config, PANEL.yaml, ``build_panel`` and the published JSON
schema all take it from this model. Choices that come from a registry (``selector``, ``model``) are checked
against it by :func:`proteomics.panel.settings.coerce_settings`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import Field, field_validator

from .base import Strict

__all__ = ["PanelSettings", "describe_preprocess"]


class PanelSettings(Strict):
    """Settings of :func:`proteomics.panel.build_panel`.

    selector / model : see ``proteomics.panel.selection`` (``moderated_t`` + ``logistic`` by default).
    max_proteins : largest panel size; ``panel_sizes`` (default 1, 2, 3, 5, 8 … up to it) are tuned in
        the inner folds unless ``fixed_size`` is true (then the panel has exactly ``max_proteins``).
    C_grid : inverse L2 penalties tuned for the logistic / SVM model (on standardised proteins).
    outer_folds, outer_repeats, inner_folds : nested CV shape; folds are stratified by label and grouped
        by ``group_by`` (a sample-table column, e.g. subject; absent column → each sample its own group).
    leave_one_batch_out : sample-table column; when set, the outer loop leaves one batch out at a time.
    batch_column : used for the batch-confounding warning (default "batch" if present).
    preprocess : preprocessing steps fitted inside every training fold, as (STEPS key, params) pairs,
        ``{"step": key, "params": {...}}`` dicts, or transformer instances; None → minimal default
        (``filter_min_valid`` 0.5 + ``normalize_median`` when available). A run passes its own chain.
    selector_options / model_options : extra keyword arguments of the selector / classifier (e.g.
        ``{"n_estimators": 100}`` for the random forest, ``{"threshold": 0.7}`` for stability selection).
    fill : how missing panel values are completed (``min`` or ``median`` of the training samples).
    prevalence : the prevalence at which PPV/NPV are reported (None → the cohort's).
    fixed_specificity / fixed_sensitivity : risk categories of the signature: rule-in threshold = the lowest
        probability reaching this specificity, rule-out threshold = the highest keeping this sensitivity (both on
        out-of-fold predictions); also the operating points reported.
    n_boot : bootstrap resamples for the AUC CI; interval_boot : bootstrap refits of the locked model for
        the probability interval.
    max_missing_fraction / range_margin : QC rules of the signature (fraction of panel proteins that may be
        missing in one sample; allowed excess beyond the training range, in log2 units).
    name / version / intended_use / specimen : recorded in the signature.
    """

    selector: str = "moderated_t"
    model: str = "logistic"
    max_proteins: int = Field(5, ge=1)
    panel_sizes: tuple[int, ...] | None = None
    fixed_size: bool = False
    C_grid: tuple[float, ...] = Field((0.1, 1.0, 10.0), min_length=1)
    outer_folds: int = Field(5, ge=2)
    outer_repeats: int = Field(3, ge=1)
    inner_folds: int = Field(3, ge=2)
    group_by: str | None = "subject"
    leave_one_batch_out: str | None = None
    batch_column: str | None = "batch"
    preprocess: tuple[Any, ...] | None = None
    selector_options: dict[str, Any] = Field(default_factory=dict)
    model_options: dict[str, Any] = Field(default_factory=dict)
    fill: str = "min"
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
        if any(c <= 0 for c in v):
            raise ValueError("C_grid must hold positive numbers")
        return v

    def sizes(self) -> tuple[int, ...]:
        """Panel sizes tried in the inner folds (sorted, ≤ max_proteins)."""
        if self.fixed_size:
            return (self.max_proteins,)
        if self.panel_sizes:
            return tuple(sorted({int(k) for k in self.panel_sizes if 1 <= int(k) <= self.max_proteins}))
        base = [1, 2, 3, 5, 8, 13, 20, 30, 50]
        return tuple(sorted({k for k in base if k <= self.max_proteins} | {self.max_proteins}))

    def c_values(self) -> tuple[float | None, ...]:
        """Inverse penalties tuned (None for the random forest, which has none)."""
        return (None,) if self.model == "random_forest" else tuple(float(c) for c in self.C_grid)

    def to_dict(self) -> dict[str, Any]:
        """Every setting as plain values (as recorded in the signature; preprocessing steps described)."""
        d = {name: getattr(self, name) for name in type(self).model_fields}
        d["preprocess"] = [list(p) if isinstance(p, tuple) else p for p in describe_preprocess(self.preprocess)]
        d["selector_options"] = dict(self.selector_options)
        d["model_options"] = dict(self.model_options)
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
