"""Writing tables atomically (TSV with shortest round-trip floats, Parquet, ...), and reading back the protein
matrices this package writes (``read_dataset``). ``inspect`` and ``formats`` are in :mod:`proteomics.io.registry`.

Every writer goes through :func:`proteomics._files.atomic_path` (temporary file + rename), so a reader never
sees a half-written file. TSV: UTF-8, tab separated, LF line ends, header row, no index, floats written with
Python's shortest repr (they read back to the identical float64), missing values (NaN/None) empty.
"""

from __future__ import annotations

import csv
import io
import os
import re
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd

from .._anndata import import_anndata
from .._files import atomic_path, write_bytes, write_text
from ..dataset import Dataset
from ..errors import InputError, close_path

__all__ = ["table_to_tsv_text", "write_tsv", "write_csv", "write_parquet", "write_xlsx", "write_table",
           "write_dataset", "read_dataset", "output_suffix", "TABLE_WRITERS", "DATASET_SUFFIXES"]


def _format_float_column(values: np.ndarray) -> np.ndarray:
    """float64 array → object array of shortest round-trip strings ('' for NaN)."""
    out = np.empty(len(values), dtype=object)
    nan = np.isnan(values)
    out[nan] = ""
    finite = values[~nan]
    out[~nan] = [repr(float(v)) for v in finite.tolist()]
    return out


def _text_columns(df: pd.DataFrame) -> list[np.ndarray]:
    """Each column of ``df`` as an object array of strings: shortest round-trip floats, ''
    for missing, ``true``/``false`` for booleans."""
    cols = []
    for c in df.columns:
        s = df[c]
        if pd.api.types.is_float_dtype(s.dtype) and not isinstance(s.dtype, pd.CategoricalDtype):
            cols.append(_format_float_column(s.to_numpy(dtype="float64", na_value=np.nan)))
        elif pd.api.types.is_bool_dtype(s.dtype):
            cols.append(np.where(s.to_numpy(dtype=bool), "true", "false").astype(object))
        else:
            v = s.astype(object).to_numpy()
            mask = pd.isna(v)
            cols.append(np.array(["" if m else str(x) for x, m in zip(v.tolist(), mask.tolist(), strict=True)],
                                 dtype=object))
    return cols


def _rows(df: pd.DataFrame) -> list[list[str]]:
    cols = _text_columns(df)
    if not len(df):
        return []
    return (np.column_stack(cols) if cols else np.empty((len(df), 0), dtype=object)).tolist()


def table_to_tsv_text(df: pd.DataFrame) -> str:
    """The TSV text of ``df`` (columns as they are, no index); see module doc for the float format.
    Tabs or newlines inside text values are refused (they would break the table)."""
    header = [str(c) for c in df.columns]
    for name in header:
        if "\t" in name or "\n" in name:
            raise InputError(f"column name {name!r} holds a tab or newline", hint="rename the column")
    lines = ["\t".join(header)]
    for row in _rows(df):
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


def write_csv(df: pd.DataFrame, path: str | os.PathLike) -> None:
    """Write ``df`` as comma-separated text atomically (RFC 4180 quoting, same cell format as TSV)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow([str(c) for c in df.columns])
    w.writerows(_rows(df))
    write_text(path, buf.getvalue())


_FIXED_TIME = "2000-01-01T00:00:00Z"


def _xlsx_bytes(sheets: dict[str, pd.DataFrame]) -> bytes:
    """An .xlsx workbook (openpyxl) with one sheet per table, byte-identical for identical tables: the
    document's created/modified stamps and the zip entries' times are fixed. openpyxl writes numbers with 16
    significant digits; cells whose double needs 17 are rewritten with the shortest round-trip repr."""
    from openpyxl import Workbook
    from openpyxl.utils import get_column_letter

    wb = Workbook()
    wb.remove(wb.active)
    exact: dict[str, dict[str, str]] = {}
    for i, (name, df) in enumerate(sheets.items(), start=1):
        ws = wb.create_sheet(title=str(name)[:31])
        ws.append([str(c) for c in df.columns])
        fix = exact.setdefault(f"xl/worksheets/sheet{i}.xml", {})
        letters = [get_column_letter(j) for j in range(1, len(df.columns) + 1)]
        for r, row in enumerate(df.astype(object).itertuples(index=False), start=2):
            values = [_xlsx_value(v) for v in row]
            ws.append(values)
            for letter, v in zip(letters, values, strict=True):
                if isinstance(v, float) and float(f"{v:.16g}") != v:
                    fix[f"{letter}{r}"] = repr(v)
        ws.freeze_panes = "A2"
    raw = io.BytesIO()
    wb.save(raw)
    out = io.BytesIO()
    stamp = re.compile(rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*(</dcterms:)")
    cell = re.compile(rb'(<c r="([A-Z]+[0-9]+)"[^>]*><v>)([^<]*)(</v>)')
    with zipfile.ZipFile(raw) as zin, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = zin.read(info.filename)
            if info.filename == "docProps/core.xml":
                data = stamp.sub(rb"\g<1>" + _FIXED_TIME.encode() + rb"\g<2>", data)
            fix = exact.get(info.filename)
            if fix:
                data = cell.sub(lambda m, fix=fix: m.group(1) + fix.get(m.group(2).decode(), m.group(3).decode())
                                .encode() + m.group(4), data)
            zout.writestr(zipfile.ZipInfo(info.filename, date_time=(2000, 1, 1, 0, 0, 0)), data,
                          compress_type=zipfile.ZIP_DEFLATED)
    return out.getvalue()


def _xlsx_value(v):
    if v is None or (isinstance(v, float | np.floating) and np.isnan(v)) or v is pd.NA or v is pd.NaT:
        return None
    if isinstance(v, np.bool_ | bool):
        return bool(v)
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, np.floating):
        return float(v)
    if isinstance(v, int | float | str):
        return v
    return str(v)


def write_xlsx(df: pd.DataFrame | dict[str, pd.DataFrame], path: str | os.PathLike) -> None:
    """Write one table (sheet ``table``) or ``{sheet name: table}`` as an Excel workbook (openpyxl), for
    Perseus / FragPipe-Analyst / spreadsheet users. Missing values are empty cells; floats are stored as
    IEEE doubles, so they read back identical."""
    sheets = df if isinstance(df, dict) else {"table": df}
    write_bytes(path, _xlsx_bytes(sheets))


#: every ``-o`` table format, chosen from the output's suffix (the one place that decides it)
TABLE_WRITERS = {".tsv": write_tsv, ".csv": write_csv, ".parquet": write_parquet, ".xlsx": write_xlsx}
#: protein matrices may also be written as h5ad (AnnData)
DATASET_SUFFIXES = (".tsv", ".csv", ".parquet", ".xlsx", ".h5ad")


def output_suffix(path: str | os.PathLike, *, dataset: bool = False) -> str:
    """The format named by ``path``'s suffix, or :class:`InputError` (exit 2) for any other suffix."""
    suffix = Path(path).suffix.lower()
    allowed = DATASET_SUFFIXES if dataset else tuple(TABLE_WRITERS)
    if suffix not in allowed:
        what = "a protein matrix" if dataset else "a table"
        extra = "" if dataset or suffix != ".h5ad" else " (h5ad holds a protein matrix, not a result table)"
        raise InputError(f"cannot write {what} as {suffix or 'a file without suffix'!r}{extra}", path=path,
                         hint=f"end the output name in {', '.join(allowed)}")
    return suffix


def write_table(df: pd.DataFrame, path: str | os.PathLike) -> None:
    """Write ``df`` in the format its suffix names (.tsv, .csv, .parquet, .xlsx), atomically; any other
    suffix is an :class:`InputError`."""
    TABLE_WRITERS[output_suffix(path)](df, path)


def write_dataset(ds, path: str | os.PathLike) -> None:
    """Write a protein :class:`~proteomics.dataset.Dataset` in the format its suffix names:

    - ``.tsv`` / ``.csv``: the MATRIX layout (``protein_group``, then one log2 column per sample; empty = missing);
    - ``.parquet``: everything (values, layers, sample/protein tables, provenance) in one file;
    - ``.xlsx``: sheets ``matrix`` (MATRIX layout), ``proteins`` (gene, description …) and ``samples``;
    - ``.h5ad``: AnnData (obs = samples, var = proteins, X log2 with NaN, layers, provenance as JSON).
    """
    suffix = output_suffix(path, dataset=True)
    if suffix in (".tsv", ".csv"):
        TABLE_WRITERS[suffix](ds.matrix_table(), path)
    elif suffix == ".parquet":
        ds.to_parquet(path)
    elif suffix == ".xlsx":
        write_xlsx({"matrix": ds.matrix_table(), "proteins": ds.proteins.reset_index(),
                    "samples": ds.samples.reset_index()}, path)
    else:
        with atomic_path(path, suffix=".h5ad") as tmp:
            ds.to_anndata().write_h5ad(tmp)


def read_dataset(path: str | os.PathLike, samples: pd.DataFrame | None = None):
    """Read a protein Dataset written by :func:`write_dataset` (.h5ad, .xlsx, dataset .parquet, MATRIX .tsv/.csv).
    ``samples`` optionally annotates the columns of a MATRIX file."""
    path = Path(path)
    suffix = output_suffix(path, dataset=True)
    if not path.is_file():
        raise InputError("file not found", path=path, hint=close_path(path) + "check the path")
    if suffix == ".h5ad":
        anndata = import_anndata()
        try:
            adata = anndata.read_h5ad(path)
        except (OSError, KeyError, ValueError) as exc:
            raise InputError(f"cannot read h5ad ({exc})", path=path, hint="give a file written by anndata") from None
        return Dataset.from_anndata(adata)
    if suffix == ".parquet":
        return Dataset.read_parquet(path)
    if suffix == ".xlsx":
        return _read_xlsx_dataset(path)
    sep = "," if suffix == ".csv" else "\t"
    t = pd.read_csv(path, sep=sep, float_precision="round_trip", dtype={"protein_group": str})
    return _dataset_from_matrix(t, path, samples)


def _dataset_from_matrix(t: pd.DataFrame, path, samples=None, proteins=None):
    if not len(t.columns) or t.columns[0] != "protein_group":
        raise InputError("first column must be 'protein_group'", path=path, line=1, column=1)
    frame = t.set_index("protein_group").T
    try:
        frame = frame.astype(float)
    except ValueError:
        raise InputError("non-numeric values in the matrix", path=path, hint="cells must be log2 numbers or empty") \
            from None
    frame.index = frame.index.astype(str)
    return Dataset.from_frame(frame, samples=samples, proteins=proteins)


def _read_xlsx_dataset(path: Path):
    try:
        sheets = pd.read_excel(path, sheet_name=None, engine="openpyxl", dtype={"protein_group": str})
    except (OSError, ValueError, KeyError) as exc:
        raise InputError(f"cannot read the workbook ({exc})", path=path) from None
    if "matrix" not in sheets:
        raise InputError("the workbook has no 'matrix' sheet", path=path,
                         hint="give a workbook written by proteomics (sheets matrix, proteins, samples)")
    samples = proteins = None
    if "samples" in sheets and len(sheets["samples"].columns) and sheets["samples"].columns[0] == "sample":
        samples = sheets["samples"].astype({"sample": str}).set_index("sample")
    if "proteins" in sheets and len(sheets["proteins"].columns) \
            and sheets["proteins"].columns[0] == "protein_group":
        proteins = sheets["proteins"].set_index("protein_group")
    return _dataset_from_matrix(sheets["matrix"], path, samples, proteins)
