"""Shared parsing for the tabular search-engine formats (TSV/CSV, optionally gzipped; Parquet).

Every tabular reader goes through :func:`open_source` (checks the file, finds the delimiter, encoding and
header) and :func:`read_frame` (streams only the needed columns with the pyarrow CSV reader in batches,
turns numeric columns into float64 with line/column-precise errors, applies a per-batch filter). Nothing
here ever writes to the input file.

Conventions shared by all readers:

* Missing-value tokens (``""``, ``NA``, ``NaN``, ``nan``, ``N/A``, ``#N/A``, ``null``, ``NULL``, ``None``,
  ``Filtered``) are read as missing (NaN). Infinite values (``inf``, ``Infinity``, ``-inf``) are **refused**
  with an :class:`InputError` naming line and column.
* Decimal commas (``1234,5``) are accepted when a file uses them consistently; a file that mixes ``1,5``
  and ``1.5`` in its numeric columns is refused.
* Intensities are linear; zeros in linear intensities mean "not quantified" and become NaN.
"""

from __future__ import annotations

import difflib
import gzip
import io
import logging
import os
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from ..errors import InputError
from .registry import peek

log = logging.getLogger(__name__)

__all__ = ["Source", "open_source", "read_frame", "require", "check_options", "to_float", "contaminant_mask",
           "decoy_mask", "MISSING_TOKENS", "wide_columns", "melt_wide", "finish"]

MISSING_TOKENS = ("", "NA", "NaN", "nan", "NAN", "N/A", "n/a", "#N/A", "null", "NULL", "None", "Filtered",
                  "#NUM!", "#VALUE!")
_MISSING_SET = frozenset(MISSING_TOKENS)
_INF_RE = re.compile(r"^[+-]?(inf|infinity)$", re.IGNORECASE)
_COMMA_DEC = re.compile(r"^[+-]?\d*,\d+([eE][+-]?\d+)?$")
_DOT_DEC = re.compile(r"^[+-]?\d*\.\d+([eE][+-]?\d+)?$")
BLOCK_SIZE = 1 << 22  # 4 MiB of text per batch (peak memory of a 1 GB report ≈ 0.4 GiB)


@dataclass(frozen=True)
class Source:
    """An opened, validated text table: delimiter ``sep``, ``encoding``, header ``columns`` (stripped)."""

    path: Path
    sep: str
    encoding: str
    columns: tuple[str, ...]
    gzipped: bool
    n_header_fields: int
    quoted: bool = True  # '"' quotes fields (CSV; TSV only when its header is quoted, as R writes it)


def _raw_head(path: Path, gz: bool, n: int = 1 << 16) -> bytes:
    opener = gzip.open if gz else open
    with opener(path, "rb") as fh:
        return fh.read(n)


def open_source(path: str | os.PathLike, *, sep: str | None = None) -> Source:
    """Check ``path`` and read its header. Refuses empty files, header-only files, NUL bytes, undecodable
    text (only UTF-8, UTF-8 with BOM and UTF-16 with BOM are accepted), gzip that is not gzip, directories,
    and duplicated column names."""
    p = peek(path)  # not found, directory, empty, corrupt gzip, NUL bytes
    path = Path(path)
    raw = _raw_head(path, p.gzipped)
    if raw.startswith(b"\xef\xbb\xbf"):
        encoding = "utf-8"  # pyarrow strips nothing: we strip the BOM from the first column name
    elif raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        encoding = "utf-16"
    else:
        encoding = "utf-8"
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            if exc.start < len(raw) - 4:
                line = raw[: exc.start].count(b"\n") + 1
                raise InputError("text is not UTF-8 (unknown encoding)", path=path, line=line,
                                 hint="save the table as UTF-8 (or UTF-16 with a byte-order mark)") from None
    lines = [ln for ln in p.lines]
    header = lines[0].lstrip("\ufeff") if lines else ""
    if not header.strip():
        raise InputError("first line is empty; expected a header line", path=path, line=1,
                         hint="remove leading blank lines")
    if sep is None:
        sep = "\t" if "\t" in header else ("," if "," in header else (";" if ";" in header else "\t"))
    cols = _split_header(header, sep)
    data_lines = [ln for ln in lines[1:] if ln.strip()]
    if not data_lines:
        raise InputError("header without data rows", path=path, line=2,
                         hint="the export holds no rows; check the search-engine filters or export settings")
    quoted = sep != "\t" or header.startswith('"')
    return Source(path=path, sep=sep, encoding=encoding, columns=tuple(cols), gzipped=p.gzipped,
                  n_header_fields=len(cols), quoted=quoted)


def _split_header(header: str, sep: str) -> list[str]:
    import csv

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


def check_options(path, options: dict, allowed: Iterable[str] = ()) -> None:
    """Unknown reader options are user errors. The common options ``fdr`` (a number in (0, 1]) and ``scale``
    are accepted by every tool reader: tool formats hold linear intensities, so ``scale`` may be ``auto`` or
    ``linear`` (``log2`` is refused: it applies to generic matrices only)."""
    allowed = set(allowed) | {"fdr", "scale"}
    bad = sorted(set(options) - allowed)
    if bad:
        raise InputError(f"unknown reader option(s) {', '.join(bad)}", path=path,
                         hint=f"allowed options: {', '.join(sorted(allowed))}")
    scale = options.get("scale", "auto")
    if scale not in ("auto", "linear"):
        raise InputError(f"scale={scale!r} does not apply: this format holds linear intensities", path=path,
                         hint="use scale=auto (or linear); log2 applies to generic wide matrices")
    if "fdr" in options:
        check_fdr(path, options["fdr"])


def check_fdr(path, fdr) -> float:
    """``fdr`` as a float in (0, 1], else InputError."""
    try:
        fdr = float(fdr)
    except (TypeError, ValueError):
        raise InputError(f"fdr must be a number, got {fdr!r}", path=path, hint="e.g. fdr=0.01") from None
    if not 0 < fdr <= 1:
        raise InputError(f"fdr must be in (0, 1], got {fdr}", path=path, hint="e.g. fdr=0.01")
    return fdr


def _check_duplicates(src: Source, names: Sequence[str]) -> None:
    seen: dict[str, int] = {}
    for i, c in enumerate(src.columns):
        if c in names and c in seen:
            raise InputError(f"column {c!r} appears twice in the header (fields {seen[c] + 1} and {i + 1})",
                             path=src.path, line=1, column=c, hint="give every run a unique column name")
        seen.setdefault(c, i)


def read_frame(src: Source, usecols: Sequence[str], *, numeric: Sequence[str] = (),
               nonneg: Sequence[str] = (), transform: Callable[[pd.DataFrame], pd.DataFrame] | None = None,
               block_size: int = BLOCK_SIZE, ragged: bool = False,
               categorical: Sequence[str] = (), integer: Sequence[str] = ()) -> pd.DataFrame:
    """Stream ``usecols`` of ``src`` as strings in batches; ``numeric`` columns become float64 (missing
    tokens → NaN, see module doc), ``nonneg`` columns must be ≥ 0; ``transform(batch)`` runs on each batch
    (filter rows, select columns) so only its output stays in memory. Returns the concatenated frame with
    a default index. Every parse problem is an :class:`InputError` with line (and column).

    Short rows: tools such as MaxQuant leave out trailing empty fields. A row with fewer fields than the
    header is read with the missing fields empty when none of ``usecols`` is among the missing ones (or
    always, with ``ragged=True``), and is refused (truncated row, with its line) otherwise. The last row of a
    file that does not end with a newline and is short is always a truncated file.

    ``integer`` columns (charges) are numeric columns whose values must be whole numbers.

    ``categorical`` columns are turned into categoricals batch by batch (run names, protein groups: few
    distinct values), which keeps the memory of a multi-GB report bounded by the compact result."""
    usecols = list(dict.fromkeys(usecols))
    require(src, usecols)
    _check_duplicates(src, usecols)
    idx = [src.columns.index(c) for c in usecols]
    if src.encoding != "utf-16":
        try:
            return _stream(src, _native(src), usecols, idx, numeric, nonneg, transform, block_size, None,
                           categorical, integer)
        except _ShortRow:
            pass
    padded = _Padded(src, max(idx), ragged)
    out = _stream(src, padded, usecols, idx, numeric, nonneg, transform, block_size, padded, categorical,
                  integer)
    if padded.n_padded:
        log.warning("%s: %d rows have fewer fields than the header; the missing trailing fields are empty",
                    src.path, padded.n_padded)
    return out


class _ShortRow(Exception):
    def __init__(self, line):
        super().__init__(line)
        self.line = line


def _stream(src, fh, usecols, idx, numeric, nonneg, transform, block_size, padded=None, categorical=(),
            integer=()):
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
    stream = None
    try:
        stream = pacsv.open_csv(fh, read_options=ropts, parse_options=popts, convert_options=copts)
        for batch in stream:
            if batch.num_rows == 0:
                continue
            first_line = state["rows"] + 2
            df = _batch_to_frame(batch, usecols, idx)
            for col in numeric:
                df[col] = to_float(df[col], path=src.path, column=col, first_line=first_line, state=state,
                                   nonneg=col in nonneg)
            for col in integer:
                check_integral(df[col].to_numpy(dtype="float64"), path=src.path, column=col, first_line=first_line)
            state["rows"] += batch.num_rows
            if transform is not None:
                df = transform(df)
            for c in categorical:
                if c in df.columns:
                    df[c] = df[c].astype("category")
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
    return concat_frames(frames)


def concat_frames(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """Concatenate batches; categorical columns are united (``union_categoricals``) instead of falling back
    to Python objects."""
    if len(frames) == 1:
        return frames[0].reset_index(drop=True)
    out = {}
    for c in frames[0].columns:
        parts = [f[c] for f in frames]
        if all(isinstance(p.dtype, pd.CategoricalDtype) for p in parts):
            out[c] = pd.Series(pd.api.types.union_categoricals(parts))
        else:
            out[c] = pd.concat(parts, ignore_index=True)
    return pd.DataFrame(out)


class _Padded(io.RawIOBase):
    """A UTF-8 byte stream of ``src`` in which short rows get their missing trailing fields (empty).

    Refuses (``error`` is set and the stream ends) a short row that lacks a used field (index ≤
    ``max_used``) unless ``pad_used``, and a short last row without a final newline (truncated file)."""

    def __init__(self, src: Source, max_used: int, pad_used: bool):
        super().__init__()
        self.src, self.max_used, self.pad_used = src, max_used, pad_used
        self.n_padded = 0
        self.error: InputError | None = None
        self._buf = b""
        self._it = self._chunks()

    def readable(self):
        return True

    def readinto(self, b):
        while not self._buf:
            try:
                self._buf = next(self._it)
            except StopIteration:
                return 0
        n = min(len(b), len(self._buf))
        b[:n] = self._buf[:n]
        self._buf = self._buf[n:]
        return n

    def _lines(self):
        if self.src.encoding == "utf-16":
            with _binary(self.src) as raw, io.TextIOWrapper(raw, encoding="utf-16", newline="") as fh:
                for line in fh:
                    yield line.encode("utf-8")
        else:
            with _binary(self.src) as fh:
                yield from fh

    def _chunks(self):
        sep = self.src.sep.encode()
        n = self.src.n_header_fields
        out: list[bytes] = []
        size = 0
        try:
            for lineno, line in enumerate(self._lines(), start=1):
                k = line.count(sep) + 1
                if lineno > 1 and k < n and line.strip() and not (self.src.quoted and b'"' in line):
                    if not line.endswith(b"\n"):
                        self.error = InputError(f"row has {k} fields but the header has {n} (truncated file)",
                                                path=self.src.path, line=lineno,
                                                hint="the file is cut short; re-export or re-copy it")
                        return
                    if k - 1 < self.max_used and not self.pad_used:
                        self.error = InputError(f"row has {k} fields but the header has {n} (truncated row)",
                                                path=self.src.path, line=lineno,
                                                hint="re-export the file; this row is cut short")
                        return
                    line = line.rstrip(b"\r\n") + sep * (n - k) + b"\n"
                    self.n_padded += 1
                out.append(line)
                size += len(line)
                if size >= 1 << 22:
                    yield b"".join(out)
                    out, size = [], 0
        except (OSError, EOFError, UnicodeDecodeError) as exc:
            self.error = InputError(f"cannot read file ({exc})", path=self.src.path,
                                    hint="check that the file is complete and its encoding is UTF-8 or UTF-16")
            return
        if out:
            yield b"".join(out)


def _native(src: Source):
    """Arrow's own (un-gzipping) input stream: no Python bytes objects per block, so the heap stays small."""
    try:
        return pa.input_stream(str(src.path), compression="gzip" if src.gzipped else None)
    except (pa.ArrowException, OSError) as exc:
        raise InputError(f"cannot open file ({exc})", path=src.path, hint="check the file and its permissions") \
            from None


def _binary(src: Source):
    if src.gzipped:
        return gzip.open(src.path, "rb")
    return open(src.path, "rb")


def _batch_to_frame(batch: pa.RecordBatch, usecols: list[str], idx: list[int]) -> pd.DataFrame:
    data = {}
    for name, i in zip(usecols, idx, strict=True):
        arr = batch.column(f"f{i}")
        if i == 0:
            arr = pc.utf8_ltrim(arr, characters="\ufeff")
        data[name] = arr.to_pandas()  # Arrow-backed ``str`` dtype: compact for millions of rows
    return pd.DataFrame(data)


def _fast_float(values: pd.Series, state: dict) -> np.ndarray | None:
    """Arrow cast of plain numbers (dot decimals, empty = missing); None when the slow path is needed."""
    if state.get("decimal") == ",":
        return None
    try:
        arr = pa.array(values, type=pa.large_string()) if values.dtype != object else pa.array(
            values.astype(str).to_numpy(dtype=object), type=pa.large_string())
        arr = pc.if_else(pc.equal(arr, ""), pa.scalar(None, pa.large_string()), arr)
        out = pc.cast(arr, pa.float64()).to_numpy(zero_copy_only=False)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        return None
    out = np.asarray(out, dtype="float64")
    if np.isinf(out).any():
        return None  # let the slow path name the line
    if state.get("decimal") is None and pc.any(pc.match_substring(arr, ".")).as_py():
        state["decimal"] = "."
    return out


def to_float(values: pd.Series, *, path, column: str, first_line: int = 2, state: dict | None = None,
             nonneg: bool = False) -> pd.Series:
    """Strings → float64. Missing tokens → NaN; Inf refused; decimal commas accepted when consistent
    (``state['decimal']`` remembers the file's mark across batches); non-numeric text refused with the
    line ``first_line + position`` and the column name."""
    state = {} if state is None else state
    fast = _fast_float(values, state)
    if fast is not None:
        if nonneg and (fast < 0).any():
            pos = int(np.flatnonzero(fast < 0)[0])
            raise InputError(f"negative intensity {values.iloc[pos]!r}", path=path, line=first_line + pos,
                             column=column, hint="intensities must be linear and ≥ 0")
        return pd.Series(fast, index=values.index, name=values.name)
    s = values.astype(object).where(values.notna(), "")
    s = s.map(lambda v: v.strip() if isinstance(v, str) else v) if s.dtype == object else s
    s = s.astype(str)
    missing = s.isin(_MISSING_SET).to_numpy()
    comma = s.str.match(_COMMA_DEC).to_numpy()
    if comma.any():
        dot = s.str.match(_DOT_DEC).to_numpy()
        if state.get("decimal") == "." or dot.any():
            pos = int(np.flatnonzero(comma)[0]) if state.get("decimal") == "." else int(np.flatnonzero(dot)[0])
            raise InputError("mixed decimal marks (both '1,5' and '1.5' style numbers)", path=path,
                             line=first_line + pos, column=column,
                             hint="export with one decimal mark (Spectronaut: use the same locale for the "
                                  "whole report)")
        state["decimal"] = ","
        s = s.str.replace(",", ".", regex=False)
    elif state.get("decimal") is None and s.str.match(_DOT_DEC).any():
        state["decimal"] = "."
    elif state.get("decimal") == ",":
        if s.str.match(_DOT_DEC).any():
            pos = int(np.flatnonzero(s.str.match(_DOT_DEC).to_numpy())[0])
            raise InputError("mixed decimal marks (both '1,5' and '1.5' style numbers)", path=path,
                             line=first_line + pos, column=column, hint="export with one decimal mark")
    out = pd.to_numeric(s.where(~missing, ""), errors="coerce").astype("float64")
    arr = out.to_numpy()
    bad = np.isnan(arr) & ~missing
    if bad.any():
        pos = int(np.flatnonzero(bad)[0])
        raise InputError(f"non-numeric value {s.iloc[pos]!r}", path=path, line=first_line + pos, column=column,
                         hint="this column must hold numbers (missing values may be empty or NA)")
    inf = np.isinf(arr)
    if inf.any():
        pos = int(np.flatnonzero(inf)[0])
        raise InputError(f"infinite value {s.iloc[pos]!r}", path=path, line=first_line + pos, column=column,
                         hint="infinite numbers are refused; write them as empty (missing)")
    if nonneg:
        neg = arr < 0
        if neg.any():
            pos = int(np.flatnonzero(neg)[0])
            raise InputError(f"negative intensity {s.iloc[pos]!r}", path=path, line=first_line + pos,
                             column=column, hint="intensities must be linear and ≥ 0")
    return pd.Series(arr, index=values.index, name=values.name)


_CONTAM_RE = re.compile(r"\s*(?:CON__|contam_|contaminant_|cRAP|Cont_|CONTAM)", re.IGNORECASE)
_DECOY_RE = re.compile(r"\s*(?:REV__|rev_|DECOY_|decoy_)")


def _per_group(groups: pd.Series, pattern: re.Pattern) -> np.ndarray:
    """True where every ``;``-separated accession of the group string matches ``pattern`` (computed once per
    distinct group string)."""
    groups = pd.Series(groups)
    if isinstance(groups.dtype, pd.CategoricalDtype):
        codes, uniques = groups.cat.codes.to_numpy(), groups.cat.categories
    else:
        codes, uniques = pd.factorize(groups.astype(object), use_na_sentinel=True)
    flags = np.fromiter((all(pattern.match(x.strip() or "x") for x in str(u).split(";")) for u in uniques),
                        dtype=bool, count=len(uniques))
    out = np.zeros(len(codes), dtype=bool)
    ok = codes >= 0
    out[ok] = flags[codes[ok]]
    return out


def check_integral(v: np.ndarray, *, path, column: str, first_line: int | None = 2) -> None:
    """InputError (with line when known) at the first finite value that is not a whole number."""
    bad = np.isfinite(v) & (v != np.round(v))
    if bad.any():
        pos = int(np.flatnonzero(bad)[0])
        raise InputError(f"{v[pos]!r} is not a whole number", path=path,
                         line=None if first_line is None else first_line + pos, column=column,
                         hint="charges must be integers")


def int_str(values: pd.Series) -> pd.Series:
    """Numbers (float64, NaN = missing) → their integer text ('2'), '' when missing; vectorised."""
    v = pd.Series(values).astype("float64")
    out = v.astype("Int64").astype("str")
    return out.where(v.notna(), "")


def blank_to_missing(col: pd.Series) -> pd.Series:
    """Empty strings → missing (categoricals: the empty category is removed, no strings materialised)."""
    if isinstance(col.dtype, pd.CategoricalDtype):
        return col.cat.remove_categories([""]) if "" in col.cat.categories else col
    v = col.astype("str")
    return v.where(v != "", None)


def contaminant_mask(groups: pd.Series) -> np.ndarray:
    """True where every accession of the protein-group string (``;``-separated) is a contaminant
    (``CON__``, ``contam_``, ``cRAP``)."""
    return _per_group(groups, _CONTAM_RE)


def decoy_mask(groups: pd.Series) -> np.ndarray:
    """True where every accession of the protein-group string is a decoy (``REV__``, ``rev_``, ``DECOY_``)."""
    return _per_group(groups, _DECOY_RE)


def wide_columns(src: Source, prefix: str = "", suffix: str = "") -> dict[str, str]:
    """{header column → run name} for columns named ``prefix + run + suffix`` (exact affixes)."""
    out = {}
    for c in src.columns:
        if c.startswith(prefix) and c.endswith(suffix) and len(c) > len(prefix) + len(suffix):
            run = c[len(prefix): len(c) - len(suffix)] if suffix else c[len(prefix):]
            out[c] = run.strip()
    runs = list(out.values())
    dup = {r for r in runs if runs.count(r) > 1}
    if dup:
        r = sorted(dup)[0]
        col = next(c for c, v in out.items() if v == r)
        raise InputError(f"run {r!r} appears in two columns", path=src.path, line=1, column=col,
                         hint="give every run a unique column name")
    return out


def melt_wide(df: pd.DataFrame, runcols: dict[str, str], id_cols: Sequence[str]) -> pd.DataFrame:
    """Wide (entity × run columns) → long rows (run-major order: all entities of run 1, then run 2 …);
    ``intensity`` float64 with zeros turned into NaN (linear data). Vectorised: text id columns and ``run``
    come back as categoricals built from tiled codes (no per-row strings)."""
    n = len(df)
    cols = list(runcols)
    vals = df[cols].to_numpy(dtype="float64").T.reshape(-1) if cols else np.empty(0)
    vals = np.where(vals == 0, np.nan, vals)
    out = {}
    for c in id_cols:
        col = df[c]
        if pd.api.types.is_numeric_dtype(col) or pd.api.types.is_bool_dtype(col):
            out[c] = np.tile(col.to_numpy(), len(cols))
        else:
            codes, uniques = pd.factorize(col.astype(object), use_na_sentinel=True)
            out[c] = pd.Categorical.from_codes(np.tile(codes, len(cols)), categories=pd.Index(uniques, dtype=object))
    run_names = [runcols[c] for c in cols]
    out["run"] = pd.Categorical.from_codes(np.repeat(np.arange(len(cols)), n),
                                           categories=pd.Index(run_names, dtype=object))
    out["intensity"] = vals
    return pd.DataFrame(out)


_CANON_ORDER = ("run", "level", "entity_id", "protein_group", "intensity", "sequence", "charge", "q_value",
                "gene", "n_psm", "contaminant", "decoy")


def finish(df: pd.DataFrame, *, level: str, fmt: str, path, meta: dict | None = None):
    """Order columns canonically, make ``run``/``protein_group`` categoricals (first-seen order), make
    ``intensity`` float64 with zeros → NaN, and build the validated :class:`QuantTable`."""
    from .table import QuantTable

    df["level"] = level
    inten = df["intensity"].to_numpy(dtype="float64")
    df["intensity"] = np.where(inten == 0, np.nan, inten)
    for c in ("run", "protein_group"):
        df[c] = _first_seen_categorical(df[c])
    for c in ("gene", "sequence", "entity_id"):
        if c in df.columns and not isinstance(df[c].dtype, pd.CategoricalDtype):
            v = df[c].astype("str")
            df[c] = v.where(v != "", None)
    order = [c for c in _CANON_ORDER if c in df.columns] + sorted(c for c in df.columns if c.startswith("src_"))
    df = df[order].reset_index(drop=True)
    return QuantTable(df, format=fmt, path=str(path), meta=dict(meta or {}))


def _first_seen_categorical(col: pd.Series) -> pd.Categorical:
    """Categorical of the column's strings, categories in first-seen order (deterministic)."""
    codes, uniques = pd.factorize(col.astype(object) if not isinstance(col.dtype, pd.CategoricalDtype)
                                  else col, use_na_sentinel=True)
    uniques = pd.Index([str(u) for u in np.asarray(uniques, dtype=object)], dtype=object)
    return pd.Categorical.from_codes(codes, categories=uniques) if uniques.is_unique else \
        pd.Categorical(col.astype(str))


def read_text_table(path) -> tuple[Source, pd.DataFrame]:
    """Every column of a (small) table as strings; used by the wide-matrix readers."""
    src = open_source(path)
    return src, read_frame(src, list(src.columns))
