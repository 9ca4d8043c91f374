"""``PanelSettings``: every choice of a panel run, validated, with JSON-ready defaults.

Keys match the ``panel`` section of the run config (``proteomics.config.PanelConfig``) plus a few
panel-only options. Unknown keys are an :class:`~proteomics.errors.InputError` naming the allowed ones.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..errors import InputError
from .selection import MODELS, SELECTORS

__all__ = ["PanelSettings", "coerce_settings"]


@dataclass(frozen=True)
class PanelSettings:
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
        (``filter_min_valid`` 0.5 + ``normalize_median`` when available).
    selector_options / model_options : extra keyword arguments of the selector / classifier (e.g.
        ``{"n_estimators": 100}`` for the random forest, ``{"threshold": 0.7}`` for stability selection).
    fill : how missing panel values are completed (``min`` or ``median`` of the training samples).
    prevalence : the prevalence at which PPV/NPV are reported (None → the cohort's).
    fixed_specificity / fixed_sensitivity : the operating points reported and used for the rule-in / rule-out
        thresholds of the signature.
    n_boot : bootstrap resamples for the AUC CI; interval_boot : bootstrap refits of the locked model for
        the probability interval.
    max_missing_fraction / range_margin : QC rules of the signature (fraction of panel proteins that may be
        missing in one sample; allowed excess beyond the training range, in log2 units).
    """

    selector: str = "moderated_t"
    model: str = "logistic"
    max_proteins: int = 5
    panel_sizes: tuple[int, ...] | None = None
    fixed_size: bool = False
    C_grid: tuple[float, ...] = (0.1, 1.0, 10.0)
    outer_folds: int = 5
    outer_repeats: int = 3
    inner_folds: int = 3
    group_by: str | None = "subject"
    leave_one_batch_out: str | None = None
    batch_column: str | None = "batch"
    preprocess: tuple | None = None
    selector_options: Mapping[str, Any] = field(default_factory=dict)
    model_options: Mapping[str, Any] = field(default_factory=dict)
    fill: str = "min"
    prevalence: float | None = None
    fixed_specificity: float = 0.9
    fixed_sensitivity: float = 0.9
    n_boot: int = 2000
    interval_boot: int = 100
    max_missing_fraction: float = 0.34
    range_margin: float = 2.0
    name: str | None = None
    version: str = "1"
    intended_use: str = "research use only"
    specimen: str | None = None

    def sizes(self) -> tuple[int, ...]:
        """Panel sizes tried in the inner folds (sorted, ≤ max_proteins)."""
        if self.fixed_size:
            return (self.max_proteins,)
        if self.panel_sizes:
            return tuple(sorted({int(k) for k in self.panel_sizes if 1 <= int(k) <= self.max_proteins}))
        base = [1, 2, 3, 5, 8, 13, 20, 30, 50]
        return tuple(sorted({k for k in base if k <= self.max_proteins} | {self.max_proteins}))

    def c_values(self) -> tuple[float | None, ...]:
        return (None,) if self.model == "random_forest" else tuple(float(c) for c in self.C_grid)

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["preprocess"] = [list(p) if isinstance(p, tuple) else p for p in _describe_pre(self.preprocess)]
        d["selector_options"] = dict(self.selector_options)
        d["model_options"] = dict(self.model_options)
        return d


def _describe_pre(pre) -> list:
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


_ALIASES = {"enabled": None, "label": None, "positive": None, "permutations": None}


def coerce_settings(settings: PanelSettings | Mapping[str, Any] | None) -> PanelSettings:
    """A :class:`PanelSettings` from a mapping (e.g. the config's ``panel`` section) or itself."""
    if settings is None:
        return PanelSettings()
    if isinstance(settings, PanelSettings):
        s = settings
    else:
        names = {f.name for f in dataclasses.fields(PanelSettings)}
        kw = {}
        for k, v in dict(settings).items():
            if k in _ALIASES:
                continue
            if k not in names:
                raise InputError(f"unknown panel setting {k!r}", hint=f"allowed: {', '.join(sorted(names))}")
            if k in ("panel_sizes", "C_grid", "preprocess") and v is not None:
                v = tuple(tuple(x) if isinstance(x, list) else x for x in v)
            kw[k] = v
        s = PanelSettings(**kw)
    if s.selector not in SELECTORS:
        raise InputError(f"unknown selector {s.selector!r}", hint=f"use one of {', '.join(SELECTORS)}")
    if s.model not in MODELS:
        raise InputError(f"unknown model {s.model!r}", hint=f"use one of {', '.join(MODELS)}")
    if s.max_proteins < 1:
        raise InputError("max_proteins must be ≥ 1")
    if s.outer_folds < 2 or s.inner_folds < 2 or s.outer_repeats < 1:
        raise InputError("outer_folds and inner_folds must be ≥ 2 and outer_repeats ≥ 1")
    if s.prevalence is not None and not 0 < s.prevalence < 1:
        raise InputError(f"prevalence must be in (0, 1), got {s.prevalence}")
    if not s.c_values() or any(c is not None and c <= 0 for c in s.c_values()):
        raise InputError("C_grid must hold positive numbers")
    return s
