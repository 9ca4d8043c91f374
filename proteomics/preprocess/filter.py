"""Protein filters: contaminants/decoys, minimum valid values, minimum peptides.

Every filter takes samples × proteins (log2, NaN = missing) and decides in ``fit`` which proteins to keep
(``proteins_out_``, learned on training samples only); ``transform`` keeps exactly those columns, so a
fitted filter applied to one new sample keeps the same proteins (``single_sample_safe = True``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from ..contaminants import CONTAMINANT_PREFIXES as _CONTAMINANT_DB
from ..contaminants import DECOY_PREFIXES, contaminant_mask, decoy_mask, prefix_mask
from ..errors import InputError
from .base import ProteomicsTransformer, store_params

__all__ = ["ContaminantFilter", "MinValidFilter", "MinPeptidesFilter", "CONTAMINANT_PREFIXES",
           "is_contaminant"]

#: accession prefixes of contaminant and decoy entries (see :mod:`proteomics.contaminants` for the rule)
CONTAMINANT_PREFIXES: tuple[str, ...] = (*_CONTAMINANT_DB, *DECOY_PREFIXES)


def is_contaminant(protein_groups: Sequence[str], prefixes: Sequence[str] | None = None) -> np.ndarray:
    """Boolean array, one per group string: True for a contaminant or decoy group by the package's one rule
    (:mod:`proteomics.contaminants`: *every* ``;``-separated member is a contaminant-database entry, or every
    member is a decoy). With ``prefixes``, the same "every member" rule for those prefixes instead."""
    if prefixes is not None:
        return prefix_mask(list(protein_groups), tuple(prefixes))
    groups = list(protein_groups)
    return contaminant_mask(groups) | decoy_mask(groups)


def _truthy(values: pd.Series) -> np.ndarray:
    """Contaminant flag column → bool (True/1/'+'/'yes'/'true' count as flagged; NaN is not flagged)."""
    if values.dtype == bool:
        return values.to_numpy()
    txt = values.astype("string").str.strip().str.lower().fillna("")
    return txt.isin(["true", "1", "1.0", "+", "yes", "y"]).to_numpy()


class _Filter(ProteomicsTransformer):
    _keeps_proteins = False
    _state_attrs = ("proteins_out_",)

    def _transform(self, frame: pd.DataFrame, ds=None) -> pd.DataFrame:
        return frame.loc[:, self.proteins_out_]

    def _keep(self, frame: pd.DataFrame, mask: np.ndarray) -> None:
        self.proteins_out_ = [str(c) for c, k in zip(frame.columns, mask, strict=True) if k]


class ContaminantFilter(_Filter):
    """Drop contaminant and decoy protein groups.

    A group is dropped when it is a contaminant or a decoy by :func:`is_contaminant` (every ';'-separated member a
    contaminant-database entry, or every member a decoy; with ``prefixes``, every member starting with one of
    them) or, for a Dataset, when ``Dataset.proteins[flag_column]`` (the reader's flag, same rule) is true.
    Input/output: samples × proteins, log2 (values untouched, columns dropped).
    """

    _uses_dataset = True

    def __init__(self, prefixes: Sequence[str] | None = None, flag_column: str = "contaminant"):
        store_params(self, locals())

    def _fit(self, frame, y=None, ds=None):
        drop = is_contaminant([str(c) for c in frame.columns], self.prefixes)
        if ds is not None and self.flag_column in ds.proteins.columns:
            flags = ds.proteins[self.flag_column].reindex([str(c) for c in frame.columns])
            drop |= _truthy(flags)
        self._keep(frame, ~drop)

    def _transform(self, frame, ds=None):
        return frame.loc[:, self.proteins_out_]


class MinValidFilter(_Filter):
    """Keep proteins with at least ``min_fraction`` valid (non-NaN) values (and, when ``min_count`` is given,
    at least ``min_count`` valid values).

    Overall, or, when ``per_group`` and groups are known (``y`` in ``fit``, or the Dataset's ``group_column``),
    in at least one group, so a protein seen in one group only is kept (and reaches the detection test).
    Learned on the training samples. Input/output: samples × proteins, log2.
    """

    _uses_dataset = True

    def __init__(self, min_fraction: float = 0.7, per_group: bool = True, group_column: str | None = None,
                 min_count: int | None = None):
        store_params(self, locals())

    def _fit(self, frame, y=None, ds=None):
        if not 0.0 <= float(self.min_fraction) <= 1.0:
            raise InputError(f"min_fraction must be within [0, 1], got {self.min_fraction}")
        valid = frame.notna().to_numpy()
        groups = None
        if self.per_group:
            if y is not None:
                groups = np.asarray(y)
                if groups.shape[0] != frame.shape[0]:
                    raise InputError(f"y has {groups.shape[0]} labels but there are {frame.shape[0]} samples")
            elif ds is not None and self.group_column is not None:
                if self.group_column not in ds.samples.columns:
                    raise InputError(f"sample table has no column {self.group_column!r}",
                                     hint="name an existing group column or set per_group=False")
                groups = ds.samples[self.group_column].to_numpy()
        count = 0 if self.min_count is None else int(self.min_count)

        def ok(v):
            return (v.mean(axis=0) >= self.min_fraction - 1e-12) & (v.sum(axis=0) >= count)

        if groups is None:
            keep = ok(valid)
        else:
            keep = np.zeros(frame.shape[1], dtype=bool)
            labels = pd.Series(groups).astype(str).to_numpy()
            for g in np.unique(labels):
                keep |= ok(valid[labels == g])
        self._keep(frame, keep)


class MinPeptidesFilter(_Filter):
    """Keep proteins identified by at least ``min_peptides`` peptides/precursors.

    The count per protein comes from, in order: ``counts`` (mapping protein_group → count, given at
    construction: the way to use this step on plain DataFrames inside sklearn Pipelines); a Dataset's
    ``proteins['n_peptides_total']``; or the maximum over samples of a Dataset's ``layers['n_peptides']``.
    When none is available the step raises :class:`InputError` unless ``if_unknown='keep'``, which makes it a
    documented no-op (all proteins kept). Proteins absent from ``counts`` count as 0.
    Input/output: samples × proteins, log2.
    """

    _uses_dataset = True

    def __init__(self, min_peptides: int = 2, counts: Mapping[str, int] | None = None, if_unknown: str = "error"):
        store_params(self, locals())

    def _fit(self, frame, y=None, ds=None):
        if self.if_unknown not in ("error", "keep"):
            raise InputError(f"if_unknown must be 'error' or 'keep', got {self.if_unknown!r}")
        cols = [str(c) for c in frame.columns]
        n = None
        if self.counts is not None:
            n = np.array([float(self.counts.get(c, 0)) for c in cols])
        elif ds is not None and "n_peptides_total" in ds.proteins.columns:
            n = ds.proteins["n_peptides_total"].reindex(cols).to_numpy(dtype=float)
        elif ds is not None and "n_peptides" in ds.layers:
            lay = pd.DataFrame(np.asarray(ds.layers["n_peptides"], dtype=float), columns=ds.protein_ids)
            n = lay.reindex(columns=cols).max(axis=0).to_numpy()
        if n is None:
            if self.if_unknown == "keep":
                self._keep(frame, np.ones(len(cols), dtype=bool))
                return
            raise InputError("MinPeptidesFilter needs peptide counts but none are known",
                             hint="quantify from precursors/peptides (n_peptides layer), pass counts=, "
                                  "or set if_unknown='keep'")
        self._keep(frame, np.nan_to_num(n, nan=0.0) >= self.min_peptides)
