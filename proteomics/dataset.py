"""The central container: a samples × proteins matrix of log2 abundances with aligned annotations.

``Dataset.X`` has shape (n_samples, n_proteins), values are log2 intensities, NaN means missing.
``samples`` is a DataFrame indexed by sample id (rows of X, in order); ``proteins`` is indexed by
``protein_group`` (columns of X, in order). ``layers`` hold more arrays of X's shape (``n_peptides``,
``imputed`` …). ``history`` is the tuple of provenance :class:`Step` records. Objects are frozen:
``subset`` and ``with_values`` return new ones.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd

from . import _anndata
from ._files import _clean_for_json, atomic_path
from ._version import __version__
from .errors import InputError
from .limits import loads_json

__all__ = ["Dataset", "Step", "DATASET_SCHEMA", "DATASET_SCHEMA_VERSION"]

DATASET_SCHEMA = "proteomics.dataset"
DATASET_SCHEMA_VERSION = 1
_LAYER_SEP = "::"


@dataclass(frozen=True)
class Step:
    """One provenance record: what was done, with which settings, by which version, to which input."""

    name: str
    params: Mapping[str, Any] = field(default_factory=dict)
    version: str = __version__
    input_sha256: str = ""

    def to_dict(self) -> dict:
        return {"name": self.name, "params": _clean_for_json(dict(self.params)), "version": self.version,
                "input_sha256": self.input_sha256}

    @classmethod
    def from_dict(cls, d: Mapping) -> Step:
        return cls(name=d["name"], params=dict(d.get("params", {})), version=d.get("version", ""),
                   input_sha256=d.get("input_sha256", ""))


def _frozen(a: np.ndarray) -> np.ndarray:
    a = np.array(a, copy=True)
    a.setflags(write=False)
    return a


class Dataset:
    """Samples × proteins, log2, NaN = missing, with aligned sample and protein tables.

    Parameters
    ----------
    X : array (n_samples, n_proteins) of log2 values; NaN = missing; ±inf is refused.
    samples : DataFrame indexed by unique sample ids (str), one row per row of X.
    proteins : DataFrame indexed by unique protein_group strings, one row per column of X.
    layers : optional mapping name → array of X's shape.
    history : tuple of :class:`Step`.
    """

    __slots__ = ("_X", "_samples", "_proteins", "_layers", "_history")

    def __init__(self, X, samples: pd.DataFrame, proteins: pd.DataFrame,
                 layers: Mapping[str, np.ndarray] | None = None, history: Sequence[Step] = ()):
        X = np.asarray(X, dtype=float)
        if X.ndim != 2:
            raise InputError(f"X must be 2-D (samples × proteins), got {X.ndim}-D")
        if np.isinf(X).any():
            raise InputError("X holds infinite values", hint="log2 of zero intensities must be NaN (missing)")
        samples = pd.DataFrame(samples).copy()
        proteins = pd.DataFrame(proteins).copy()
        samples.index = samples.index.astype(str)
        proteins.index = proteins.index.astype(str)
        samples.index.name = "sample"
        proteins.index.name = "protein_group"
        if samples.shape[0] != X.shape[0]:
            raise InputError(f"samples table has {samples.shape[0]} rows but X has {X.shape[0]} samples")
        if proteins.shape[0] != X.shape[1]:
            raise InputError(f"proteins table has {proteins.shape[0]} rows but X has {X.shape[1]} proteins")
        for what, idx in (("sample", samples.index), ("protein_group", proteins.index)):
            dup = idx[idx.duplicated()].unique().tolist()
            if dup:
                raise InputError(f"duplicate {what} ids: {', '.join(map(str, dup[:10]))}",
                                 hint=f"make every {what} id unique")
        lay = {}
        for name, arr in (layers or {}).items():
            arr = np.asarray(arr)
            if arr.shape != X.shape:
                raise InputError(f"layer {name!r} has shape {arr.shape}, expected {X.shape}")
            lay[str(name)] = _frozen(arr)
        self._X = _frozen(X)
        self._samples = samples
        self._proteins = proteins
        self._layers = MappingProxyType(lay)
        self._history = tuple(history)

    # -- read-only views -------------------------------------------------------------------------
    @property
    def X(self) -> np.ndarray:
        """Read-only (n_samples, n_proteins) log2 matrix."""
        return self._X

    @property
    def samples(self) -> pd.DataFrame:
        """Copy of the sample table (index: sample id)."""
        return self._samples.copy()

    @property
    def proteins(self) -> pd.DataFrame:
        """Copy of the protein table (index: protein_group)."""
        return self._proteins.copy()

    @property
    def layers(self) -> Mapping[str, np.ndarray]:
        return self._layers

    @property
    def history(self) -> tuple[Step, ...]:
        return self._history

    @property
    def sample_ids(self) -> list[str]:
        return self._samples.index.tolist()

    @property
    def protein_ids(self) -> list[str]:
        return self._proteins.index.tolist()

    @property
    def shape(self) -> tuple[int, int]:
        return self._X.shape

    @property
    def n_samples(self) -> int:
        return self._X.shape[0]

    @property
    def n_proteins(self) -> int:
        return self._X.shape[1]

    def __repr__(self) -> str:
        steps = ", ".join(s.name for s in self._history) or "none"
        return (f"Dataset({self.n_samples} samples × {self.n_proteins} proteins, log2, "
                f"{np.isnan(self._X).mean():.1%} missing, layers={sorted(self._layers)}, steps: {steps})")

    def to_frame(self) -> pd.DataFrame:
        """X as a DataFrame (index: sample ids, columns: protein_group), log2."""
        return pd.DataFrame(np.array(self._X), index=self._samples.index.copy(),
                            columns=self._proteins.index.copy())

    # -- new objects -----------------------------------------------------------------------------
    def subset(self, samples=None, proteins=None) -> Dataset:
        """Keep the given samples and/or proteins (ids, boolean masks or integer positions), in that order."""
        ri = self._positions(samples, self._samples.index, "sample")
        ci = self._positions(proteins, self._proteins.index, "protein_group")
        return Dataset(self._X[np.ix_(ri, ci)], self._samples.iloc[ri], self._proteins.iloc[ci],
                       {k: v[np.ix_(ri, ci)] for k, v in self._layers.items()}, self._history)

    @staticmethod
    def _positions(sel, index: pd.Index, what: str) -> np.ndarray:
        if sel is None:
            return np.arange(len(index))
        arr = np.asarray(sel)
        if arr.dtype == bool:
            if arr.shape != (len(index),):
                raise InputError(f"boolean {what} mask has length {arr.shape[0]}, expected {len(index)}")
            return np.flatnonzero(arr)
        if arr.dtype.kind in "iu":
            return arr.astype(int)
        pos = index.get_indexer([str(s) for s in arr])
        missing = [str(s) for s, p in zip(arr, pos, strict=True) if p < 0]
        if missing:
            raise InputError(f"unknown {what} ids: {', '.join(missing[:10])}")
        return pos

    def with_values(self, X, step: Step | None = None, layers: Mapping[str, np.ndarray] | None = None,
                    proteins: pd.DataFrame | None = None, samples: pd.DataFrame | None = None) -> Dataset:
        """A new Dataset with new values (same shape unless ``proteins``/``samples`` are given).

        ``layers`` replaces/adds the given layers; other layers are kept when shapes still match.
        ``step`` is appended to the history.
        """
        X = np.asarray(X, dtype=float)
        prot = self._proteins if proteins is None else proteins
        samp = self._samples if samples is None else samples
        lay = {k: v for k, v in self._layers.items() if v.shape == X.shape}
        lay.update(layers or {})
        hist = self._history + ((step,) if step is not None else ())
        return Dataset(X, samp, prot, lay, hist)

    def with_samples(self, samples: pd.DataFrame) -> Dataset:
        """Same values with a replaced sample table (same index)."""
        return Dataset(self._X, samples, self._proteins, self._layers, self._history)

    def with_step(self, step: Step) -> Dataset:
        return Dataset(self._X, self._samples, self._proteins, self._layers, self._history + (step,))

    # -- identity ----------------------------------------------------------------------------------
    def checksum(self) -> str:
        """sha256 over the values and the sample/protein ids (used in provenance records)."""
        h = hashlib.sha256()
        h.update(np.ascontiguousarray(self._X).tobytes())
        h.update("\x00".join(self.sample_ids).encode())
        h.update(b"\x01")
        h.update("\x00".join(self.protein_ids).encode())
        return h.hexdigest()

    @classmethod
    def from_frame(cls, frame: pd.DataFrame, samples: pd.DataFrame | None = None,
                   proteins: pd.DataFrame | None = None, **kw) -> Dataset:
        """Build from a samples × proteins DataFrame of log2 values."""
        s = samples.loc[frame.index.astype(str)] if samples is not None else pd.DataFrame(index=frame.index)
        p = proteins.loc[frame.columns.astype(str)] if proteins is not None else pd.DataFrame(index=frame.columns)
        return cls(frame.to_numpy(dtype=float), s, p, **kw)

    # -- files ---------------------------------------------------------------------------------------
    def matrix_table(self) -> pd.DataFrame:
        """The MATRIX.tsv layout: column ``protein_group`` then one column per sample (log2)."""
        t = pd.DataFrame(self._X.T, columns=self.sample_ids)
        t.insert(0, "protein_group", self.protein_ids)
        return t

    def to_tsv(self, path: str | os.PathLike) -> None:
        """Write the protein matrix TSV (first column protein_group, one log2 column per sample, empty = missing)."""
        with atomic_path(path) as tmp:
            self.matrix_table().to_csv(tmp, sep="\t", index=False, na_rep="", lineterminator="\n")

    @classmethod
    def read_tsv(cls, path: str | os.PathLike, samples: pd.DataFrame | None = None) -> Dataset:
        """Read a matrix TSV written by :meth:`to_tsv`; ``samples`` optionally annotates the columns."""
        path = Path(path)
        try:
            t = pd.read_csv(path, sep="\t", float_precision="round_trip", dtype={"protein_group": str})
        except (OSError, ValueError) as exc:
            raise InputError(f"cannot read protein matrix ({exc})", path=path) from None
        if t.columns[0] != "protein_group":
            raise InputError("first column must be 'protein_group'", path=path, line=1, column=1)
        frame = t.set_index("protein_group").T
        try:
            frame = frame.astype(float)
        except ValueError:
            raise InputError("non-numeric values in the matrix", path=path,
                             hint="cells must be log2 numbers or empty") from None
        return cls.from_frame(frame, samples=samples)

    def to_parquet(self, path: str | os.PathLike) -> None:
        """Write everything (values, layers, sample/protein tables, history) to one Parquet file."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        cols = {"protein_group": pa.array(self.protein_ids, pa.string())}
        for i, s in enumerate(self.sample_ids):
            cols[s] = pa.array(self._X[i, :], pa.float64())
        for name in sorted(self._layers):
            arr = self._layers[name]
            for i, s in enumerate(self.sample_ids):
                cols[f"{name}{_LAYER_SEP}{s}"] = pa.array(arr[i, :])
        meta = {
            "schema": DATASET_SCHEMA, "schema_version": DATASET_SCHEMA_VERSION,
            "samples": json.loads(self._samples.reset_index().to_json(orient="split", index=False)),
            "sample_dtypes": {c: str(t) for c, t in self._samples.dtypes.items()},
            "proteins": json.loads(self._proteins.reset_index().to_json(orient="split", index=False)),
            "protein_dtypes": {c: str(t) for c, t in self._proteins.dtypes.items()},
            "layers": sorted(self._layers),
            "history": [s.to_dict() for s in self._history],
        }
        table = pa.table(cols).replace_schema_metadata({"proteomics": json.dumps(meta, sort_keys=True)})
        with atomic_path(path) as tmp:
            pq.write_table(table, tmp)

    @classmethod
    def read_parquet(cls, path: str | os.PathLike) -> Dataset:
        """Read a file written by :meth:`to_parquet`."""
        import pyarrow.parquet as pq

        try:
            table = pq.read_table(path)
        except (OSError, ValueError) as exc:
            raise InputError(f"cannot read Parquet dataset ({exc})", path=path) from None
        raw = (table.schema.metadata or {}).get(b"proteomics")
        if raw is None:
            raise InputError("not a proteomics dataset Parquet file (no 'proteomics' metadata)", path=path)
        meta = loads_json(raw, path=path, what="dataset metadata")
        if meta.get("schema") != DATASET_SCHEMA or meta.get("schema_version") != DATASET_SCHEMA_VERSION:
            raise InputError(f"unsupported dataset schema {meta.get('schema')} v{meta.get('schema_version')}",
                             path=path)

        def _table(key):
            d = meta[key]
            df = pd.DataFrame(d["data"], columns=d["columns"])
            for c, t in meta[key[:-1] + "_dtypes"].items():
                if c in df and t != "object":
                    try:
                        df[c] = df[c].astype(t)
                    except (TypeError, ValueError):
                        pass
            return df.set_index(df.columns[0])

        samples, proteins = _table("samples"), _table("proteins")
        sids = samples.index.astype(str).tolist()
        X = np.column_stack([table.column(s).to_numpy(zero_copy_only=False) for s in sids]) if sids else \
            np.empty((len(proteins), 0))
        layers = {name: np.column_stack([table.column(f"{name}{_LAYER_SEP}{s}").to_numpy(zero_copy_only=False)
                                         for s in sids]).T for name in meta["layers"]}
        return cls(X.T.astype(float), samples, proteins, layers, tuple(Step.from_dict(h) for h in meta["history"]))

    def to_anndata(self):
        """An ``anndata.AnnData``: obs = samples (sheet columns), var = proteins (gene, description …),
        X = log2 with NaN for missing, layers (counts, imputation masks), provenance in ``uns['proteomics']``
        as JSON strings. Needs the ``anndata`` extra."""
        return _anndata.to_anndata(self.X, self.samples, self.proteins, self.layers,
                                   [s.to_dict() for s in self.history],
                                   schema=DATASET_SCHEMA, schema_version=DATASET_SCHEMA_VERSION)

    @classmethod
    def from_anndata(cls, adata) -> Dataset:
        """The reverse of :meth:`to_anndata` (any AnnData with samples in obs and log2 proteins in var)."""
        X, samples, proteins, layers, history = _anndata.from_anndata(adata)
        return cls(X, samples, proteins, layers, tuple(Step.from_dict(h) for h in history))
