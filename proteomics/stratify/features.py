"""Preprocessing and the feature space in which patients are clustered.

``fit_preprocess`` fits the configured ``proteomics.preprocess.STEPS`` transformers on the training Dataset
(samples × proteins, log2) in order and returns the transformed Dataset and the fitted steps.
``select_features`` ranks proteins by their variance across samples (log2², NaN skipped) and keeps the top
``n_features`` (ties: original column order), or validates a user-given list.
``FeatureSpace`` standardises the selected proteins (z = (x - mean) / sd, learned on the training samples); a
missing value becomes 0 (the training mean) in z-space and is counted, so a sample with too many missing features
can be refused.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..config.stratify import STRATIFY_PREPROCESS
from ..dataset import Dataset
from ..errors import InputError
from ..preprocess import STEPS

__all__ = ["DEFAULT_PREPROCESS", "parse_preprocess", "fit_preprocess", "select_features", "FeatureSpace"]

#: default preprocessing before clustering (declared in the config: drop contaminants, ≥ 70 % valid, median)
DEFAULT_PREPROCESS = STRATIFY_PREPROCESS


def parse_preprocess(spec) -> list[tuple[str, dict]]:
    """Normalise a preprocessing spec: a list of ``[name, params]`` pairs, ``{"name": .., "params": ..}`` mappings,
    bare names, or fitted/unfitted transformer objects given as ``(name, transformer)``."""
    out = []
    for i, item in enumerate(spec or ()):
        if isinstance(item, str):
            out.append((item, {}))
        elif isinstance(item, Mapping):
            if "name" not in item:
                raise InputError(f"preprocess step {i + 1} has no 'name'", column="preprocess",
                                 hint="write each step as {name: STEP, params: {...}}")
            out.append((str(item["name"]), dict(item.get("params") or {})))
        elif isinstance(item, Sequence) and len(item) == 2:
            name, params = item
            if hasattr(params, "get_params"):
                params = params.get_params()
            out.append((str(name), dict(params or {})))
        else:
            raise InputError(f"cannot read preprocess step {i + 1}: {item!r}", column="preprocess",
                             hint="write each step as [name, {params}]")
    return out


def fit_preprocess(ds: Dataset, spec: Sequence[tuple[str, dict]]) -> tuple[Dataset, list[tuple[str, Any]]]:
    """Fit each step on ``ds`` (samples × proteins, log2) in order; return the result and the fitted steps."""
    if not spec:
        return ds, []
    fitted = []
    for name, params in spec:
        if name not in STEPS:
            raise InputError(f"unknown preprocessing step {name!r}", column="preprocess",
                             hint=f"choose from {', '.join(sorted(STEPS))}")
        try:
            step = STEPS[name](**params)
        except TypeError as exc:
            raise InputError(f"bad settings for preprocessing step {name!r} ({exc})", column="preprocess") from None
        ds = step.fit_transform(ds)
        fitted.append((name, step))
    return ds, fitted


def select_features(frame: pd.DataFrame, n_features: int, proteins: Sequence[str] | None = None,
                    min_valid: int = 3) -> list[str]:
    """The clustering proteins: ``proteins`` if given (all must be present), else the ``n_features`` proteins with
    the largest variance across samples (log2 units², NaN skipped, at least ``min_valid`` values, non-zero)."""
    cols = [str(c) for c in frame.columns]
    if proteins is not None:
        proteins = [str(p) for p in proteins]
        missing = [p for p in proteins if p not in set(cols)]
        if missing:
            raise InputError(f"{len(missing)} protein(s) of the given list are absent after preprocessing: "
                             f"{', '.join(missing[:10])}", column="proteins",
                             hint="check the protein_group spelling or relax the filters")
        if len(proteins) < 2:
            raise InputError("at least two proteins are needed for clustering", column="proteins")
        return list(dict.fromkeys(proteins))
    X = frame.to_numpy(float)
    n_ok = np.isfinite(X).sum(axis=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        var = np.nanvar(X, axis=0, ddof=1)
    var = np.where((n_ok >= min_valid) & np.isfinite(var) & (var > 0), var, -np.inf)
    order = np.argsort(-var, kind="stable")
    keep = [cols[j] for j in order[:n_features] if np.isfinite(var[j])]
    if len(keep) < 2:
        raise InputError("fewer than two proteins vary across samples after preprocessing",
                         hint="check the input matrix and the missing-value filter")
    return keep


@dataclass(frozen=True)
class FeatureSpace:
    """Standardisation of the clustering proteins, learned on training samples (log2 → unitless z-scores)."""

    proteins: tuple[str, ...]
    mean: np.ndarray
    sd: np.ndarray

    @classmethod
    def fit(cls, frame: pd.DataFrame, proteins: Sequence[str]) -> FeatureSpace:
        X = frame.loc[:, list(proteins)].to_numpy(float)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            mean = np.nanmean(X, axis=0)
            sd = np.nanstd(X, axis=0, ddof=1)
        sd = np.where(np.isfinite(sd) & (sd > 0), sd, 1.0)
        mean = np.where(np.isfinite(mean), mean, 0.0)
        return cls(tuple(str(p) for p in proteins), mean, sd)

    def transform(self, frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """Z (samples × features, NaN → 0) and the fraction of missing features per sample."""
        X = frame.loc[:, list(self.proteins)].to_numpy(float)
        miss = ~np.isfinite(X)
        Z = np.where(miss, 0.0, (X - self.mean) / self.sd)
        return Z, miss.mean(axis=1)

    def to_dict(self) -> dict:
        return {"mean": self.mean.tolist(), "sd": self.sd.tolist()}

    @classmethod
    def from_dict(cls, proteins: Sequence[str], d: Mapping) -> FeatureSpace:
        return cls(tuple(proteins), np.asarray(d["mean"], float), np.asarray(d["sd"], float))
