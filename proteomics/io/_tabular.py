"""Shared parsing for the tabular search-engine formats (TSV/CSV, optionally gzipped; Parquet).

Every tabular reader goes through :func:`open_source` (checks the file, finds the delimiter, encoding and
header) and :func:`read_frame` (streams only the needed columns with the pyarrow CSV reader in batches,
turns numeric columns into float64 with line/column-precise errors, applies a per-batch filter). Nothing
here ever writes to the input file.

The value conventions (missing tokens, refused Inf, decimal commas, zero = missing) are in ``_values.py``,
whose helpers are re-exported here so readers use one namespace (``from . import _tabular as T``).
"""

from __future__ import annotations

import csv
import difflib
import gzip
import io
import logging
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from .._text import sniff_delimiter, sniff_encoding
from ..contaminants import contaminant_mask, decoy_mask
from ..errors import InputError
from ..limits import DETECT_PEEK_BYTES
from ._padded import Padded
from ._values import (
    MISSING_TOKENS,
    blank_to_missing,
    check_fdr,
    check_integral,
    check_options,
    concat_frames,
    finish,
    int_str,
    melt_wide,
    to_float,
    wide_columns,
)
from .base import Peek, peek

log = logging.getLogger(__name__)

__all__ = ["Source", "open_source", "read_frame", "require", "BLOCK_SIZE",
           # re-exported from _values
           "MISSING_TOKENS", "blank_to_missing", "check_fdr", "check_integral", "check_options", "concat_frames",
           "contaminant_mask", "decoy_mask", "finish", "int_str", "melt_wide", "to_float", "wide_columns"]

BLOCK_SIZE = 1 << 22  # 4 MiB of text per batch (peak memory of a 1 GB report ≈ 0.4 GiB)


@dataclass(frozen=True)
class Source:
    """An opened, validated text table: delimiter ``sep``, ``encoding``, header ``columns`` (stripped)."""

    head: Peek  # the file's start (path, compression) as ``peek`` read it
    sep: str
    encoding: str
    columns: tuple[str, ...]
    quoted: bool = True  # '"' quotes fields (CSV; TSV only when its header is quoted, as R writes it)
    sample: tuple[str, ...] = ()  # the first (≤ 50) non-empty data lines, decoded

    @property
    def path(self) -> Path:
        return self.head.path

    @property
    def gzipped(self) -> bool:
        return self.head.gzipped

    @property
    def n_header_fields(self) -> int:
        return len(self.columns)


def _head_lines(path: Path, gz: bool, encoding: str, n_rows: int = 50) -> tuple[str, list[str]]:
    """The full header line (any length) and up to ``n_rows`` non-empty data lines, decoded strictly."""
    opener = gzip.open if gz else open
    budget = DETECT_PEEK_BYTES  # detection reads at most this much decompressed text; the reader streams the rest
    with opener(path, "rb") as raw, io.TextIOWrapper(raw, encoding=encoding, newline=None) as fh:
        header = fh.readline(budget)
        if len(header) >= budget and not header.endswith("\n"):
            raise InputError(f"the header line is longer than {budget // 2**20} MiB", path=path, line=1,
                             hint="this is not a table export (or it has no line breaks)")
        used = len(header)
        rows: list[str] = []
        while used < budget and len(rows) < n_rows:
            line = fh.readline(budget - used)
            if not line:
                break
            used += len(line)
            if not line.endswith("\n") and used >= budget:
                break  # cut by the budget: not a whole line
            if line.strip():
                rows.append(line.rstrip("\n"))
    return header.rstrip("\n"), rows


def open_source(path: str | os.PathLike, *, sep: str | None = None) -> Source:
    """Check ``path`` and read its header. Refuses empty files, header-only files, NUL bytes, undecodable
    text (only UTF-8, UTF-8 with BOM and UTF-16 with BOM are accepted), gzip that is not gzip, directories,
    and duplicated column names. The header may be of any length (thousands of run columns)."""
    p = peek(path)  # not found, directory, empty, corrupt gzip, NUL bytes
    path = Path(path)
    with (gzip.open if p.gzipped else open)(path, "rb") as fh:
        text_encoding = sniff_encoding(fh.read(4))  # one rule for every text file (_text.py)
    # the streaming parser reads UTF-8 bytes (a UTF-8 BOM only needs stripping from the first column name)
    encoding = "utf-8" if text_encoding == "utf-8-sig" else text_encoding
    try:
        header, data_lines = _head_lines(path, p.gzipped, text_encoding)
    except UnicodeDecodeError:
        raise InputError("text is not UTF-8 (unknown encoding)", path=path,
                         hint="save the table as UTF-8 (or UTF-16 with a byte-order mark)") from None
    except (OSError, EOFError) as exc:
        raise InputError(f"cannot read file ({exc})", path=path, hint="re-export or re-compress it") from None
    header = header.lstrip("\ufeff")
    if not header.strip():
        raise InputError("first line is empty; expected a header line", path=path, line=1,
                         hint="remove leading blank lines")
    if sep is None:
        sep = sniff_delimiter(header)
    cols = _split_header(header, sep)
    if not data_lines:
        raise InputError("header without data rows", path=path, line=2,
                         hint="the export holds no rows; check the search-engine filters or export settings")
    quoted = sep != "\t" or header.startswith('"')
    return Source(head=p, sep=sep, encoding=encoding, columns=tuple(cols), quoted=quoted,
                  sample=tuple(data_lines))


def _split_header(header: str, sep: str) -> list[str]:
    return [c.strip() for c in next(csv.reader([header], delimiter=sep))]


def require(src: Source, names: Iterable[str], *, what: str = "") -> None:
    """``InputError`` naming the first missing column and its close matches in the header."""
    cols = set(src.columns)
    for name in names:
        if name not in cols:
            close = difflib.get_close_matches(name, list(src.columns), n=3, cutoff=0.6)
            hint = f"did you mean {', '.join(repr(c) for c in close)}?" if close else \
                "export the table with this column, or choose the right --format"
            raise InputError(f"missing required column {name!r}{' ' + what if what else ''}", path=src.path,
                             line=1, column=name, hint=hint)


def _check_duplicates(src: Source, names: Sequence[str]) -> None:
    seen: dict[str, int] = {}
    names = set(names)
    for i, c in enumerate(src.columns):
        if c in names and c in seen:
            raise InputError(f"column {c!r} appears twice in the header (fields {seen[c] + 1} and {i + 1})",
                             path=src.path, line=1, column=c, hint="give every run a unique column name")
        seen.setdefault(c, i)


def read_frame(src: Source, usecols: Sequence[str], *, numeric: Sequence[str] = (),
               nonneg: Sequence[str] = (), transform: Callable[[pd.DataFrame], pd.DataFrame] | None = None,
               block_size: int = BLOCK_SIZE, ragged: bool = False, may_be_empty: Sequence[str] = (),
               categorical: Sequence[str] = (), integer: Sequence[str] = (), late: Sequence[str] = ()) -> pd.DataFrame:
    """Stream ``usecols`` of ``src`` as strings in batches; ``numeric`` columns become float64 (missing
    tokens → NaN, see module doc), ``nonneg`` columns must be ≥ 0; ``transform(batch)`` runs on each batch
    (filter rows, select columns) so only its output stays in memory. Returns the concatenated frame with
    a default index. Every parse problem is an :class:`InputError` with line (and column).

    Short rows: tools such as MaxQuant leave out trailing empty fields. A row with fewer fields than the
    header is read with the missing fields empty when none of ``usecols`` is among the missing ones (or
    always with ``ragged=True``, or when the missing used ones are all ``may_be_empty`` flag columns, which
    Excel's tab-delimited save drops too), and is refused (truncated row, with its line) otherwise. The last row of a
    file that does not end with a newline and is short is always a truncated file.

    ``integer`` columns (charges) are numeric columns whose values must be whole numbers.

    ``categorical`` columns are turned into categoricals batch by batch (run names, protein groups: few
    distinct values), which keeps the memory of a multi-GB report bounded by the compact result.

    ``late`` text columns (precursor ids: distinct within a run, repeated across runs) are hidden from
    ``transform``, kept as Arrow text for the rows it keeps, and dictionary-encoded once over the whole file
    (returned categorical, categories in first-seen order): no Python string per row."""
    usecols = list(dict.fromkeys(usecols))
    numeric = list(dict.fromkeys(numeric))
    require(src, usecols)
    _check_duplicates(src, usecols)
    first: dict[str, int] = {}
    for i, c in enumerate(src.columns):
        first.setdefault(c, i)
    idx = [first[c] for c in usecols]
    if not src.encoding.startswith("utf-16"):
        try:
            return _stream(src, _native(src), usecols, idx, numeric, nonneg, transform, block_size, None,
                           categorical, integer, late)
        except _ShortRow:
            pass
    padded = Padded(src, max((i for c, i in zip(usecols, idx, strict=True) if c not in may_be_empty), default=-1),
                     ragged)
    out = _stream(src, padded, usecols, idx, numeric, nonneg, transform, block_size, padded, categorical,
                  integer, late)
    if padded.n_padded:
        log.warning("%s: %d rows have fewer fields than the header; the missing trailing fields are empty",
                    src.path, padded.n_padded)
    return out


class _ShortRow(Exception):
    def __init__(self, line):
        super().__init__(line)
        self.line = line


def _stream(src, fh, usecols, idx, numeric, nonneg, transform, block_size, padded=None, categorical=(),
            integer=(), late=()):
    bad_rows: list[tuple[int, int, int]] = []

    def on_invalid(row):
        bad_rows.append((row.number, row.expected_columns, row.actual_columns))
        return "error"

    ropts = pacsv.ReadOptions(block_size=block_size, encoding="utf-8", use_threads=False,
                              column_names=[f"f{i}" for i in range(src.n_header_fields)], skip_rows=1)
    popts = pacsv.ParseOptions(delimiter=src.sep, invalid_row_handler=on_invalid,
                               quote_char='"' if src.quoted else False, newlines_in_values=False)
    copts = pacsv.ConvertOptions(include_columns=[f"f{i}" for i in idx],
                                 column_types={f"f{i}": pa.string() for i in idx},
                                 strings_can_be_null=False, quoted_strings_can_be_null=False)
    frames: list[pd.DataFrame] = []
    state = {"rows": 0, "decimal": None}
    pos = dict(zip(usecols, idx, strict=True))
    nonneg_set = set(nonneg)
    late_parts: dict[str, list[pa.Array]] = {c: [] for c in late}
    stream = None
    try:
        stream = pacsv.open_csv(fh, read_options=ropts, parse_options=popts, convert_options=copts)
        for batch in stream:
            if batch.num_rows == 0:
                continue
            first_line = state["rows"] + 2
            block = _fast_block(batch, [f"f{pos[c]}" for c in numeric],
                                [k for k, c in enumerate(numeric) if c in nonneg_set], state)
            df = _batch_to_frame(batch, {c: pos[c] for c in usecols if c not in late_parts}, block, numeric,
                                 categorical)
            if block is None:  # per column, with line/column-precise errors
                for col in numeric:
                    df[col] = to_float(df[col], path=src.path, column=col, first_line=first_line, state=state,
                                       nonneg=col in nonneg)
            for col in integer:
                check_integral(df[col].to_numpy(dtype="float64"), path=src.path, column=col, first_line=first_line)
            state["rows"] += batch.num_rows
            if transform is not None:
                df = transform(df)
            whole = len(df) == batch.num_rows and isinstance(df.index, pd.RangeIndex)
            kept = None if whole else pa.array(df.index.to_numpy(dtype=np.int64))
            for c, parts in late_parts.items():
                col = _column(batch, pos[c])
                parts.append(col if kept is None else col.take(kept))
            frames.append(df)
    except InputError:
        raise
    except (pa.ArrowInvalid, UnicodeDecodeError, EOFError, gzip.BadGzipFile, OSError) as exc:
        if padded is not None and padded.error is not None:
            raise padded.error from None
        if bad_rows:
            number, exp, got = bad_rows[0]
            line = number if number and number > 0 else None
            if got < exp and padded is None:
                raise _ShortRow(line) from None
            raise InputError(f"row has {got} fields but the header has {exp} (truncated or malformed row)",
                             path=src.path, line=line,
                             hint="re-export the file; it may be cut short or have stray delimiters") from None
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        if "UTF8" in msg or "utf-8" in msg.lower() or isinstance(exc, UnicodeDecodeError):
            raise InputError("text is not valid UTF-8 (unknown encoding)", path=src.path,
                             hint="save the table as UTF-8") from None
        raise InputError(f"cannot parse table ({msg})", path=src.path,
                         hint="check that the file is a complete, uncorrupted export") from None
    finally:
        if stream is not None:
            stream.close()
        fh.close()
    if padded is not None and padded.error is not None:
        raise padded.error
    if not frames:
        raise InputError("header without data rows", path=src.path, line=2,
                         hint="the export holds no rows")
    late_cols = {c: pa.chunked_array(parts, type=pa.string()).dictionary_encode().to_pandas()
                 for c, parts in late_parts.items()}
    return concat_frames(frames, columns=usecols, extra=late_cols)


def _native(src: Source):
    """Arrow's own (un-gzipping) input stream: no Python bytes objects per block, so the heap stays small."""
    try:
        return pa.input_stream(str(src.path), compression="gzip" if src.gzipped else None)
    except (pa.ArrowException, OSError) as exc:
        raise InputError(f"cannot open file ({exc})", path=src.path, hint="check the file and its permissions") \
            from None


def _batch_to_frame(batch: pa.RecordBatch, idx: dict[str, int], block: np.ndarray | None,
                    numeric: Sequence[str], categorical: Sequence[str] = ()) -> pd.DataFrame:
    """Columns of the batch: text as Python strings, ``categorical`` columns dictionary-encoded by Arrow
    (categories in first-seen order; no Python string per row); the numeric columns from ``block``
    (numeric × rows, float64) when the fast path converted them."""
    fast = block is not None and len(numeric) > 0
    # the block's transpose is one float block of the frame as it is (no per-batch consolidation copy)
    df = pd.DataFrame(block.T, columns=list(numeric), copy=False) if fast else pd.DataFrame(
        index=pd.RangeIndex(batch.num_rows))
    for name, i in idx.items():
        if not (fast and name in df.columns):
            arr = _column(batch, i)
            df[name] = (arr.dictionary_encode() if name in categorical else arr).to_pandas()
    return df


def _column(batch: pa.RecordBatch, i: int) -> pa.Array:
    arr = batch.column(f"f{i}")
    return pc.utf8_ltrim(arr, characters="\ufeff") if i == 0 else arr


def _fast_block(batch: pa.RecordBatch, names: list[str], nonneg: list[int], state: dict) -> np.ndarray | None:
    """All numeric columns of a batch in one Arrow cast (plain dot-decimal numbers, empty = missing) →
    float64 array (columns × rows); None when any value needs the per-column path (decimal commas, tokens
    such as NA, text, Inf, negative intensities), which then reports the exact line and column."""
    if not names or state.get("decimal") == ",":
        return None
    try:
        big = pa.concat_arrays([batch.column(n) for n in names])
        big = pc.if_else(pc.equal(big, ""), pa.scalar(None, big.type), big)
        vals = np.asarray(pc.cast(big, pa.float64()).to_numpy(zero_copy_only=False), dtype="float64")
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        return None
    vals = vals.reshape(len(names), batch.num_rows)
    if np.isinf(vals).any() or (nonneg and (vals[nonneg] < 0).any()):
        return None
    if state.get("decimal") is None and pc.any(pc.match_substring(big, ".")).as_py():
        state["decimal"] = "."
    return vals
