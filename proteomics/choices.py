"""Every choice the command line and the config offer, generated from the registries (never typed out twice):
input formats from ``io.READERS`` (+ the generic fallback), roll-ups from ``quant.METHODS``, preprocessing methods
from ``preprocess.STEPS``, multiple-testing corrections from ``stats.fdr.FDR_METHODS``.

:func:`literal` turns a tuple of names into a ``typing.Literal`` (config models); :func:`choice_enum` into a
``StrEnum`` (typer options).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Literal

from .io import FALLBACK, READERS
from .preprocess import step_methods
from .quant import METHODS, SINGLE_RUN_METHODS
from .stats.differential import DETECTION_TESTS as _DETECTION
from .stats.differential import MODELS as _DE_MODELS
from .stats.fdr import FDR_METHODS

__all__ = ["FORMATS", "QUANT_METHODS", "PANEL_QUANT_METHODS", "NORMALIZE_METHODS", "IMPUTE_METHODS",
           "BATCH_METHODS", "FDR_CHOICES", "DE_MODELS", "DETECTION_TESTS", "SCALES", "literal", "choice_enum"]

#: ``--format`` / ``inputs.format``: detect, or one reader by name
FORMATS: tuple[str, ...] = ("auto", *READERS, *FALLBACK)
#: ``--method`` / ``quantify.method``
QUANT_METHODS: tuple[str, ...] = tuple(METHODS)
#: ``panel.quant_method``: roll-ups that give one new run alone the value it gets in a batch
PANEL_QUANT_METHODS: tuple[str, ...] = tuple(m for m in METHODS if m in SINGLE_RUN_METHODS)
#: ``--normalize`` / ``preprocess.normalize.method`` (``none``: no normalisation)
NORMALIZE_METHODS: tuple[str, ...] = (*step_methods("normalize"), "none")
#: ``--impute`` / ``preprocess.impute.method``
IMPUTE_METHODS: tuple[str, ...] = ("none", *(m for m in step_methods("impute") if m != "none"))
#: ``preprocess.batch.method``
BATCH_METHODS: tuple[str, ...] = ("none", *step_methods("batch"))
#: ``--fdr`` / ``de.fdr``
FDR_CHOICES: tuple[str, ...] = tuple(FDR_METHODS)
#: ``--model`` / ``de.model`` (``stats.differential.MODELS``)
DE_MODELS: tuple[str, ...] = tuple(_DE_MODELS)
#: ``--detection`` / ``de.detection`` (``stats.differential.DETECTION_TESTS``)
DETECTION_TESTS: tuple[str, ...] = tuple(_DETECTION)
#: ``--scale`` / ``inputs.scale`` (how input values are read; not a registry: the three readings there are)
SCALES: tuple[str, ...] = ("auto", "linear", "log2")


def literal(names: tuple[str, ...]) -> Any:
    """``Literal[names...]`` for a pydantic field."""
    return Literal.__getitem__(tuple(names))


def choice_enum(name: str, names: tuple[str, ...]) -> type[StrEnum]:
    """A ``StrEnum`` whose members are ``names`` (typer shows them as the option's choices)."""
    return StrEnum(name, {n: n for n in names})
