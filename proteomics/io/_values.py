"""Values shared by the tabular readers: text → float64 with line/column-precise errors, decimal marks,
missing tokens, charges, contaminant/decoy flags (the rule is :mod:`proteomics.contaminants`), wide → long
reshaping and the final QuantTable.

* Missing-value tokens (``""``, ``NA``, ``NaN``, ``nan``, ``N/A``, ``#N/A``, ``null``, ``NULL``, ``None``,
  ``Filtered``) are missing (NaN). Infinite values (``inf``, ``Infinity``, ``-inf``) are **refused**.
* Decimal commas (``1234,5``) are accepted when a file uses them consistently; mixing ``1,5`` and ``1.5``
  in the numeric columns of one file is refused.
* Intensities are linear; zero means "not quantified" and becomes NaN.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Protocol

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ..errors import InputError
from .table import QuantTable


class HasColumns(Protocol):
    """What :func:`wide_columns` needs of an opened table: its header and its path."""

    columns: tuple[str, ...]
    path: object


MISSING_TOKENS = ("", "NA", "NaN", "nan", "NAN", "N/A", "n/a", "#N/A", "null", "NULL", "None", "Filtered",
                  "#NUM!", "#VALUE!")
_MISSING_SET = frozenset(MISSING_TOKENS)
_INF_RE = re.compile(r"^[+-]?(inf|infinity)$", re.IGNORECASE)
_COMMA_DEC = re.compile(r"^[+-]?\d*,\d+([eE][+-]?\d+)?$")
_DOT_DEC = re.compile(r"^[+-]?\d*\.\d+([eE][+-]?\d+)?$")
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


def _exact_float(text: pd.Series) -> np.ndarray:
    """Correctly rounded float64 of number strings ('' → NaN, anything else unparsable → NaN): Arrow's cast
    (pandas' own parser may be 1 ulp off, so a decimal-comma file would not read to the same numbers)."""
    arr = pa.array(text.to_numpy(dtype=object), type=pa.large_string())
    arr = pc.if_else(pc.equal(arr, ""), pa.scalar(None, pa.large_string()), arr)
    try:
        return np.asarray(pc.cast(arr, pa.float64()).to_numpy(zero_copy_only=False), dtype="float64")
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        return pd.to_numeric(text, errors="coerce").astype("float64").to_numpy()


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
    s = pd.Series(values, dtype="str").fillna("").str.strip()
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
    arr = _exact_float(s.where(~missing, ""))
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


def text_with_number(text: pd.Series, numbers) -> pd.Series:
    """Row-wise ``text + int_str(numbers)`` ('PEPTIDE' + 2.0 → 'PEPTIDE2'; missing number → ''), building one
    string per distinct (text, number) pair rather than one per row (precursors repeat in every run)."""
    num = np.asarray(numbers, dtype="float64")
    if (num < 0).any():  # the pair code below needs numbers ≥ 0; a negative charge is rare: row by row
        return pd.Series(np.asarray(pd.Series(text).astype(str) + int_str(pd.Series(num, index=text.index)),
                                    dtype=object), index=text.index, dtype=object)
    codes, cats = pd.factorize(text, use_na_sentinel=False)
    whole = np.where(np.isnan(num), -1, num).astype(np.int64) + 1  # 0 = missing
    width = int(whole.max(initial=0)) + 1
    pair, first = pd.factorize(codes.astype(np.int64) * width + whole)
    strs = np.asarray([f"{cats[k // width]}{'' if k % width == 0 else k % width - 1}" for k in first.tolist()],
                      dtype=object)
    return pd.Series(strs[pair], index=text.index, dtype=object)


def text_values(col: pd.Series) -> pd.Series:
    """A text or categorical column → Python strings (object dtype) with '' → None; a categorical is decoded
    one string per category (rows share them), so millions of rows cost one take."""
    if not isinstance(col.dtype, pd.CategoricalDtype):
        v = col.astype("str")
        return v.where(v != "", None)
    table = np.append(np.asarray(col.cat.categories, dtype=object), None)  # code −1 → the last slot
    table[table == ""] = None
    return pd.Series(table[col.cat.codes.to_numpy()], index=col.index, dtype=object)


def blank_to_missing(col: pd.Series) -> pd.Series:
    """Empty strings → missing (categoricals: the empty category is removed, no strings materialised)."""
    if isinstance(col.dtype, pd.CategoricalDtype):
        return col.cat.remove_categories([""]) if "" in col.cat.categories else col
    return text_values(col)


def wide_columns(src: HasColumns, prefix: str = "", suffix: str = "") -> dict[str, str]:
    """{header column → run name} for columns named ``prefix + run + suffix`` (exact affixes) of a table's
    header (``src``: a :class:`~proteomics.io._tabular.Source`)."""
    out = {}
    for c in src.columns:
        if c.startswith(prefix) and c.endswith(suffix) and len(c) > len(prefix) + len(suffix):
            run = c[len(prefix): len(c) - len(suffix)] if suffix else c[len(prefix):]
            out[c] = run.strip()
    dup = {r for r, n in Counter(out.values()).items() if n > 1}
    if dup:
        r = sorted(dup)[0]
        col = next(c for c, v in out.items() if v == r)
        raise InputError(f"run {r!r} appears in two columns", path=src.path, line=1, column=col,
                         hint="give every run a unique column name")
    return out


def melt_wide(df: pd.DataFrame, runcols: dict[str, str], id_cols: Sequence[str],
              values: np.ndarray | None = None) -> pd.DataFrame:
    """Wide (entity × run columns) → long rows (run-major order: all entities of run 1, then run 2 …);
    ``intensity`` float64 with zeros turned into NaN (linear data). Vectorised: text id columns and ``run``
    come back as categoricals built from tiled codes (no per-row strings). ``values`` (entities × runs,
    float64) replaces ``df[runcols]`` when given."""
    n = len(df)
    cols = list(runcols)
    if values is None:  # entities × runs
        values = df[cols].to_numpy(dtype="float64") if cols else np.empty((n, 0))
    vals = values.T.reshape(-1)
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


def concat_frames(frames: list[pd.DataFrame], columns: Sequence[str] | None = None,
                  extra: dict[str, pd.Series] | None = None) -> pd.DataFrame:
    """Concatenate batches into one frame with a default index, columns in ``columns`` order (default: the
    first batch's), taking the ``extra`` columns (already whole) as they are. Categorical columns are united
    (``union_categoricals``) instead of falling back to Python objects."""
    extra = extra or {}
    out = {}
    for c in columns if columns is not None else list(frames[0].columns):
        if c in extra:
            out[c] = extra[c].reset_index(drop=True)
            continue
        parts = [f[c] for f in frames]
        if len(parts) == 1:
            out[c] = parts[0].reset_index(drop=True)
        elif all(isinstance(p.dtype, pd.CategoricalDtype) for p in parts):
            out[c] = pd.Series(pd.api.types.union_categoricals(parts))
        else:
            out[c] = pd.concat(parts, ignore_index=True)
    return pd.DataFrame(out, copy=False)  # one block per column: no consolidation copy


_CANON_ORDER = ("run", "level", "entity_id", "protein_group", "intensity", "sequence", "charge", "q_value",
                "gene", "n_psm", "contaminant", "decoy")


def finish(df: pd.DataFrame, *, level: str, fmt: str, path, meta: dict | None = None):
    """Order columns canonically, make ``run``/``protein_group`` categoricals (first-seen order), make
    ``intensity`` float64 with zeros → NaN, and build the validated :class:`QuantTable`."""
    df["level"] = level
    if level == "protein" and len(df):
        _no_repeated_proteins(df, path)
    inten = df["intensity"].to_numpy(dtype="float64")
    df["intensity"] = np.where(inten == 0, np.nan, inten)
    for c in ("run", "protein_group"):  # categories: the values present, in first-seen order
        df[c] = _first_seen_categorical(df[c])
    for c in ("gene", "sequence", "entity_id"):  # Python strings, blank → None; a categorical gene stays one
        if c == "gene" and c in df.columns and isinstance(df[c].dtype, pd.CategoricalDtype):
            df[c] = _first_seen_categorical(df[c])
        elif c in df.columns:
            df[c] = text_values(df[c])
    order = [c for c in _CANON_ORDER if c in df.columns] + sorted(c for c in df.columns if c.startswith("src_"))
    # the columns as they are (no copy of the table), under a default index
    df = pd.DataFrame({c: df[c].array for c in order}, index=pd.RangeIndex(len(df)), copy=False)
    return QuantTable(df, format=fmt, path=str(path), meta=dict(meta or {}))


def _no_repeated_proteins(df: pd.DataFrame, path) -> None:
    """A protein-level table has one row per protein: a repeated id would silently lose a row downstream."""
    key = "entity_id" if "entity_id" in df.columns else "protein_group"
    dup = df.duplicated(["run", key]).to_numpy()
    if dup.any():
        i = int(np.argmax(dup))
        raise InputError(f"protein {df[key].iloc[i]!s} appears on more than one row (run {df['run'].iloc[i]!s})",
                         path=path, hint="each protein (group) must be one row; remove or merge the repeated rows")


def _first_seen_categorical(col: pd.Series) -> pd.Categorical:
    """Categorical of the column's strings, categories in first-seen order (deterministic)."""
    codes, uniques = pd.factorize(col.astype(object) if not isinstance(col.dtype, pd.CategoricalDtype)
                                  else col, use_na_sentinel=True)
    uniques = pd.Index([str(u) for u in np.asarray(uniques, dtype=object)], dtype=object)
    return pd.Categorical.from_codes(codes, categories=uniques) if uniques.is_unique else \
        pd.Categorical(col.astype(str))


