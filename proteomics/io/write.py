"""Writing tables atomically (TSV with shortest round-trip floats, Parquet), plus ``inspect`` and ``formats``
(what ``proteomics inspect`` and ``proteomics formats`` print).

Every writer goes through :func:`proteomics._files.atomic_path` (temporary file + rename), so a reader never
sees a half-written file. TSV: UTF-8, tab separated, LF line ends, header row, no index, floats written with
Python's shortest repr (they read back to the identical float64), missing values (NaN/None) empty.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import pandas as pd

from .._files import atomic_path, write_text
from ..errors import InputError

__all__ = ["table_to_tsv_text", "write_tsv", "write_parquet", "write_table", "inspect", "formats"]


def _format_float_column(values: np.ndarray) -> np.ndarray:
    """float64 array → object array of shortest round-trip strings ('' for NaN)."""
    out = np.empty(len(values), dtype=object)
    nan = np.isnan(values)
    out[nan] = ""
    finite = values[~nan]
    out[~nan] = [repr(float(v)) for v in finite.tolist()]
    return out


def table_to_tsv_text(df: pd.DataFrame) -> str:
    """The TSV text of ``df`` (columns as they are, no index); see module doc for the float format.
    Tabs or newlines inside text values are refused (they would break the table)."""
    cols = {}
    for c in df.columns:
        s = df[c]
        if pd.api.types.is_float_dtype(s.dtype) and not isinstance(s.dtype, pd.CategoricalDtype):
            cols[c] = _format_float_column(s.to_numpy(dtype="float64", na_value=np.nan))
        elif pd.api.types.is_bool_dtype(s.dtype):
            cols[c] = np.where(s.to_numpy(dtype=bool), "true", "false").astype(object)
        else:
            v = s.astype(object).to_numpy()
            mask = pd.isna(v)
            text = np.array(["" if m else str(x) for x, m in zip(v.tolist(), mask.tolist(), strict=True)],
                            dtype=object)
            cols[c] = text
    header = [str(c) for c in df.columns]
    for name in header:
        if "\t" in name or "\n" in name:
            raise InputError(f"column name {name!r} holds a tab or newline", hint="rename the column")
    lines = ["\t".join(header)]
    if len(df):
        mat = np.column_stack([cols[c] for c in df.columns]) if len(df.columns) else np.empty((len(df), 0))
        for row in mat.tolist():
            for x in row:
                if "\t" in x or "\n" in x or "\r" in x:
                    raise InputError(f"value {x!r} holds a tab or newline", hint="clean the value before writing")
            lines.append("\t".join(row))
    return "\n".join(lines) + "\n"


def write_tsv(df: pd.DataFrame, path: str | os.PathLike) -> None:
    """Write ``df`` as TSV atomically (see :func:`table_to_tsv_text`)."""
    write_text(path, table_to_tsv_text(df))


def write_parquet(df: pd.DataFrame, path: str | os.PathLike) -> None:
    """Write ``df`` as Parquet atomically (pyarrow, no index, zstd-free default compression 'snappy')."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(df, preserve_index=False)
    with atomic_path(path, suffix=".parquet") as tmp:
        pq.write_table(table, tmp, compression="snappy")


def write_table(df: pd.DataFrame, path: str | os.PathLike) -> None:
    """Write ``df`` as Parquet when ``path`` ends in ``.parquet``, else as TSV; atomically."""
    if str(path).endswith(".parquet"):
        write_parquet(df, path)
    else:
        write_tsv(df, path)


def inspect(path: str | os.PathLike, format: str = "auto", **options) -> dict[str, Any]:
    """Read ``path`` (never modifying it) and summarise it: ``format``, ``level``, ``n_runs``,
    ``n_proteins``, ``runs``, ``n_rows``, ``n_entities``, ``missing_fraction`` (share of rows with NaN
    intensity), ``candidates`` (every reader that claims the file, best first) and the reader's notes."""
    from . import _load_readers, read
    from .registry import candidates, peek

    _load_readers()
    cands = [name for _, name in candidates(peek(path))]
    qt = read(path, format=format, **options)
    out = qt.summary()
    d = qt.data
    out["path"] = str(path)
    out["n_entities"] = int(d["entity_id"].nunique())
    out["missing_fraction"] = float(np.isnan(d["intensity"].to_numpy(dtype="float64")).mean()) if len(d) else 0.0
    out["candidates"] = cands
    return out


def formats() -> list[dict[str, Any]]:
    """Every registered reader as ``{"name", "files", "level", "fallback"}``; tool formats sorted by name,
    then the fallback(s)."""
    from . import _load_readers
    from .registry import FALLBACK, READERS

    _load_readers()
    rows = [{"name": r.name, "files": r.files, "level": r.level, "fallback": False}
            for r in sorted(READERS.values(), key=lambda r: r.name)]
    rows += [{"name": r.name, "files": r.files, "level": r.level, "fallback": True}
             for r in sorted(FALLBACK.values(), key=lambda r: r.name)]
    return rows
