"""Validation of sheet columns (column name → values) into the sheet table indexed by ``sample``."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from ..errors import InputError
from .layouts import ALIASES, normalise_name
from .specimens import SPECIMENS, normalise_specimen

__all__ = ["REQUIRED_COLUMNS", "MISSING_VALUES", "is_missing", "as_text", "covariate", "close_names", "build_table"]

REQUIRED_COLUMNS = ("run", "sample", "subject", "specimen", "condition")
MISSING_VALUES = frozenset({"", "na", "nan", "n/a", "not available", "not applicable"})


def is_missing(value) -> bool:
    """True for None, NaN and the missing-value words of a sheet (empty, NA, n/a, not available …)."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return True
    return str(value).strip().lower() in MISSING_VALUES


def as_text(values) -> list[str]:
    """Values as stripped strings, "" for None/NaN (one per input value)."""
    return ["" if is_missing(v) and (v is None or isinstance(v, float)) else str(v).strip() for v in values]


def covariate(values) -> pd.Series:
    """Numeric when every non-missing value parses as a number (int64 if all integral and complete), else str."""
    s = pd.Series(list(values), dtype=object)
    miss = s.map(is_missing)
    present = s[~miss]
    num = pd.to_numeric(present.astype(str), errors="coerce") if len(present) else pd.Series(dtype=float)
    if len(present) and not num.isna().any() and not present.map(lambda v: isinstance(v, bool)).any():
        full = pd.Series(np.nan, index=s.index, dtype=float)
        full[~miss] = num.astype(float)
        if not miss.any() and np.all(np.mod(full.to_numpy(), 1) == 0):
            return full.astype("int64")
        return full
    # built as str with NaN kept: ``astype("str")`` would turn a missing cell into the class "nan"
    return pd.Series([np.nan if is_missing(v) else str(v).strip() for v in s], index=s.index, dtype="str")


def close_names(name: str, present: Iterable[str]) -> str:
    """Header names that may be meant by ``name``: a known alias of it (:data:`.layouts.ALIASES`), else a
    near-identical spelling (a typo); an empty string when nothing is close. Never a merely similar word."""
    present = [str(p) for p in present]
    norm = {normalise_name(p): p for p in present}
    aliases = [norm[a] for a in ALIASES.get(name, ()) if a in norm]
    if aliases:
        return ", ".join(repr(a) for a in aliases)
    close = difflib.get_close_matches(normalise_name(name), list(norm), n=3, cutoff=0.8)
    return ", ".join(repr(norm[c]) for c in close)


def build_table(columns: Mapping[str, Sequence], lines: Sequence[int], path: str,
                src_name: Mapping[str, str] | None = None, *, group: str | None = "condition") -> pd.DataFrame:
    """Validate column → values and return the sheet table (index ``sample``); InputError on any problem.

    Required: ``run, sample, subject, specimen`` and the grouping column ``group`` (``None``: none); a
    ``condition`` column is text whenever present."""
    p = path or None
    src_name = dict(src_name or {})

    def where(c: str) -> str:
        return src_name.get(c, c)

    n = len(lines)
    required = ("run", "sample", "subject", "specimen") + ((group,) if group else ())
    missing = [c for c in required if c not in columns]
    if missing:
        present = [c for c in columns]
        parts = []
        for c in missing:
            close = close_names(c, present)
            parts.append(f"{c!r}" + (f" (close: {close})" if close else ""))
        raise InputError(f"missing required column(s) {', '.join(parts)}", path=p, line=1, column=missing[0],
                         hint=f"the sheet needs a 'run' column and the grouping column ('{group or 'condition'}'); "
                              f"present: {', '.join(present[:12])}")
    if n == 0:
        raise InputError("the sample sheet has a header but no rows", path=p, line=1,
                         hint="add one row per run")
    table: dict[str, list[str] | pd.Series] = {}
    text_columns = dict.fromkeys([*required, *(c for c in ("condition", "batch") if c in columns)])
    for c in text_columns:
        values = as_text(columns[c])
        empty = [i for i, v in enumerate(values) if is_missing(v)]
        if c in required and empty:
            where_rows = ", ".join(str(lines[i]) for i in empty[:5]) + (" …" if len(empty) > 5 else "")
            raise InputError(f"empty value in required column {where(c)!r} (line(s) {where_rows})", path=p,
                             line=lines[empty[0]], column=where(c),
                             hint=f"fill in '{c}' for every run")
        table[c] = values
    # specimen vocabulary
    spec = []
    for i, v in enumerate(table["specimen"]):
        norm = normalise_specimen(v)
        if norm is None:
            raise InputError(f"unknown specimen type {v!r}", path=p, line=lines[i], column=where("specimen"),
                             hint=f"use one of {', '.join(SPECIMENS)}")
        spec.append(norm)
    table["specimen"] = spec
    for c in ("run", "sample"):
        seen: dict[str, int] = {}
        for i, v in enumerate(table[c]):
            if v in seen:
                raise InputError(f"duplicate {c} {v!r} (also on line {lines[seen[v]]})", path=p, line=lines[i],
                                 column=where(c), hint=f"every row needs a distinct '{c}'; remove or rename one")
            seen[v] = i
    for c in text_columns:
        if c not in required:  # optional text columns (condition, batch): missing values are NaN
            table[c] = pd.Series([np.nan if is_missing(v) else v for v in table[c]], dtype="str")
    for c, values in columns.items():
        if c in table:
            continue
        if not isinstance(c, str) or not c.strip():
            raise InputError("a column has an empty name", path=p, line=1, hint="give every column a header")
        if isinstance(values, pd.Series) and values.dtype.kind in "biuf":
            table[c] = values.reset_index(drop=True)
        else:
            table[c] = covariate(values)
    df = pd.DataFrame({k: (v.to_numpy() if isinstance(v, pd.Series) else v) for k, v in table.items()})
    for c in text_columns:
        if c in required and c != "sample":
            df[c] = df[c].astype("str")
    for c in df.columns:
        if isinstance(table[c], pd.Series):
            df[c] = df[c].astype(table[c].dtype)
    df.index = pd.Index(df.pop("sample").astype("str"), name="sample")
    return df
