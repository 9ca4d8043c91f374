"""Preprocessing steps: scikit-learn transformers over samples × proteins (log2, NaN = missing).

``STEPS`` maps the configuration names to the classes (the only registry of this stage). Every step accepts
a :class:`~proteomics.dataset.Dataset` (returns a Dataset with a provenance Step appended) or a DataFrame
(returns a DataFrame), learns only in ``fit`` and exports its learned state with ``get_state()``.
"""

from __future__ import annotations

from ..errors import InputError
from .base import ProteomicsTransformer, as_frame
from .batch import ComBat
from .filter import CONTAMINANT_PREFIXES, ContaminantFilter, MinPeptidesFilter, MinValidFilter, is_contaminant
from .impute import DownshiftImputer, KNNImputer, MinProbImputer, NoImputer
from .mode import ModeNormalizer
from .normalize import (
    MedianNormalizer,
    QuantileNormalizer,
    ReferenceNormalizer,
    TotalIntensityNormalizer,
    VSNNormalizer,
)

__all__ = ["STEPS", "ProteomicsTransformer", "as_frame", "ContaminantFilter", "MinValidFilter",
           "MinPeptidesFilter", "MedianNormalizer", "QuantileNormalizer", "VSNNormalizer",
           "ReferenceNormalizer", "TotalIntensityNormalizer", "ModeNormalizer", "DownshiftImputer", "MinProbImputer",
           "KNNImputer", "NoImputer", "ComBat", "CONTAMINANT_PREFIXES", "is_contaminant", "step_from_state",
           "STEP_KINDS", "step_methods", "step_key", "make_step"]

STEPS: dict[str, type[ProteomicsTransformer]] = {
    "filter_contaminants": ContaminantFilter,
    "filter_min_valid": MinValidFilter,
    "filter_min_peptides": MinPeptidesFilter,
    "normalize_median": MedianNormalizer,
    "normalize_mode": ModeNormalizer,
    "normalize_quantile": QuantileNormalizer,
    "normalize_vsn": VSNNormalizer,
    "normalize_reference": ReferenceNormalizer,
    "normalize_total": TotalIntensityNormalizer,
    "impute_downshift": DownshiftImputer,
    "impute_minprob": MinProbImputer,
    "impute_knn": KNNImputer,
    "impute_none": NoImputer,
    "batch_combat": ComBat,
}


#: the kinds of step, as the prefixes of the STEPS keys
STEP_KINDS = ("filter", "normalize", "impute", "batch")


def step_methods(kind: str) -> tuple[str, ...]:
    """The methods of one kind of step, as registered in STEPS (``normalize`` → median, mode, quantile …)."""
    return tuple(key.split("_", 1)[1] for key in STEPS if key.split("_", 1)[0] == kind)


def step_key(kind: str, method: str) -> str:
    """The STEPS key of ``kind`` + ``method`` (``("normalize", "median")`` → ``normalize_median``); an unknown
    method is an InputError listing every registered one."""
    key = f"{kind}_{method}"
    if key not in STEPS:
        raise InputError(f"unknown {kind} method {method!r}",
                         hint=f"use one of {', '.join(step_methods(kind)) or '(none registered)'}")
    return key


def make_step(kind: str, method: str, **params) -> ProteomicsTransformer:
    """A fresh (unfitted) step ``kind`` + ``method`` with ``params`` (see :func:`step_key`)."""
    return STEPS[step_key(kind, method)](**params)


def step_from_state(state: dict) -> ProteomicsTransformer:
    """Rebuild any fitted step from its ``get_state()`` dict (dispatch on ``state['step']``, the class name)."""
    by_class = {cls.__name__: cls for cls in STEPS.values()}
    cls = by_class.get(str(state.get("step")))
    if cls is None:
        raise InputError(f"unknown preprocessing step {state.get('step')!r} in state",
                         hint=f"known steps: {', '.join(sorted(by_class))}")
    return cls.from_state(state)
