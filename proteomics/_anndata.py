"""Conversion between :class:`~proteomics.dataset.Dataset` and ``anndata.AnnData`` (the scverse container).

This module works on a Dataset's parts (so it sits below ``dataset.py``: :meth:`Dataset.to_anndata` and
:meth:`Dataset.from_anndata` call it; it never imports the Dataset class).

Layout (what scanpy/anndata users expect): ``X`` = samples × proteins, log2, NaN = missing; ``obs`` = the
sample table (the sheet's columns, index = sample id); ``var`` = the protein table (``gene``, ``description``
…, index = protein_group); ``layers`` = arrays of X's shape (``n_peptides`` counts, ``imputed`` masks …);
``uns['proteomics']`` = provenance as JSON **strings** (h5ad stores plain strings; lists of dicts are not
storable), so any anndata reader opens the file. ``anndata`` is an optional dependency (extra ``anndata``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from ._files import _clean_for_json
from ._version import __version__
from .errors import InputError

__all__ = ["to_anndata", "from_anndata", "import_anndata"]

UNS_KEY = "proteomics"


def import_anndata():
    """The ``anndata`` module, or an InputError saying how to install it (an optional dependency)."""
    try:
        import anndata
    except ImportError:
        raise InputError("anndata is not installed", hint="pip install 'proteomics[anndata]'") from None
    return anndata


def _storable(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy h5ad can store: object columns holding anything but strings become strings (NaN kept)."""
    out = frame.copy()
    for c in out.columns:
        s = out[c]
        if s.dtype == object:
            vals = s.tolist()
            if not all(isinstance(v, str) for v in vals if not pd.isna(v)):
                out[c] = pd.Series([None if pd.isna(v) else str(v) for v in vals], index=s.index, dtype=object)
    out.columns = [str(c) for c in out.columns]
    return out


def to_anndata(X: np.ndarray, samples: pd.DataFrame, proteins: pd.DataFrame, layers: Mapping[str, np.ndarray],
               history: Sequence[Mapping[str, Any]], *, schema: str, schema_version: int):
    """``AnnData`` of a Dataset's parts (``X`` samples × proteins, log2; ``history`` as ``Step.to_dict()``
    records); provenance in ``uns['proteomics']`` as JSON strings (see module doc)."""
    anndata = import_anndata()
    uns = {UNS_KEY: {"schema": schema, "schema_version": schema_version,
                     "proteomics_version": __version__, "units": "log2; NaN = missing",
                     "history": json.dumps(_clean_for_json(list(history)), sort_keys=True),
                     "sample_dtypes": json.dumps({str(c): str(t) for c, t in samples.dtypes.items()},
                                                 sort_keys=True),
                     "protein_dtypes": json.dumps({str(c): str(t) for c, t in proteins.dtypes.items()},
                                                  sort_keys=True)}}
    return anndata.AnnData(X=np.array(X, dtype=np.float64), obs=_storable(samples),
                           var=_storable(proteins), layers={k: np.array(v) for k, v in layers.items()},
                           uns=uns)


def _restore(frame: pd.DataFrame, dtypes: dict[str, str], index_name: str) -> pd.DataFrame:
    """Categoricals that h5ad made from string columns go back to plain object columns."""
    out = pd.DataFrame(frame).copy()
    for c in out.columns:
        want = dtypes.get(str(c))
        if isinstance(out[c].dtype, pd.CategoricalDtype) and want != "category":
            vals = out[c].astype(object)
            out[c] = vals.where(vals.notna(), np.nan)
            if want not in (None, "object", "str", "string"):
                try:
                    out[c] = out[c].astype(want)
                except (TypeError, ValueError):
                    pass
    out.index = out.index.astype(str)
    out.index.name = index_name
    return out


def from_anndata(adata: Any) -> tuple[np.ndarray, pd.DataFrame, pd.DataFrame, dict[str, np.ndarray], list[dict]]:
    """A Dataset's parts ``(X, samples, proteins, layers, history records)`` from an ``AnnData`` (samples in
    ``obs``, proteins in ``var``, log2 values in ``X``).

    Files we wrote bring back their provenance; others get an empty history. Sparse ``X`` is densified and
    its implicit zeros are values (0.0), as anndata means them."""

    X = adata.X
    if X is None:
        raise InputError("the AnnData has no X matrix", hint="put the log2 values in X (samples × proteins)")
    if hasattr(X, "toarray"):
        X = X.toarray()
    X = np.asarray(X, dtype=float)
    meta = dict(adata.uns.get(UNS_KEY, {}) or {})

    def _json(key, default):
        v = meta.get(key)
        try:
            return json.loads(v) if isinstance(v, str) else default
        except json.JSONDecodeError:
            return default

    history = list(_json("history", []))
    samples = _restore(adata.obs, _json("sample_dtypes", {}), "sample")
    proteins = _restore(adata.var, _json("protein_dtypes", {}), "protein_group")
    layers = {}
    for k in adata.layers.keys():
        arr = adata.layers[k]
        layers[str(k)] = np.asarray(arr.toarray() if hasattr(arr, "toarray") else arr)
    return X, samples, proteins, layers, history
