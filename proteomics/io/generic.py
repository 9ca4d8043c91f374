"""Generic wide matrix (fallback when no tool format claims a file).

Layouts (TSV or CSV, optionally gzipped):

* protein matrix: first column protein id (optionally more annotation columns such as ``Gene``), then one
  numeric column per run;
* peptide matrix: a peptide column (named like ``peptide``/``sequence``/``precursor``) and a protein column
  (named like ``protein``/``accession``; else the other leading text column), then one column per run.

The annotation columns are the leading columns whose values are not all numbers; every later column is a run.
``scale``: ``"auto"`` treats values as linear when the largest finite value exceeds 100 (log2 intensities
stay below ~40), else as log2; log2 values become linear (2**x). Zeros in linear data are missing (NaN).
"""

from __future__ import annotations

import csv
import logging
import os
import re
import warnings

import numpy as np
import pandas as pd

from ..errors import InputError
from . import _tabular as T
from .base import Peek
from .table import QuantTable

__all__ = ["read_generic", "sniff_generic"]

log = logging.getLogger(__name__)

_PEPTIDE_RE = re.compile(r"peptide|sequence|precursor", re.I)
_PROTEIN_RE = re.compile(r"protein|accession|uniprot", re.I)
_GENE_RE = re.compile(r"^(gene|genes|gene[ ._]?names?|gene[ ._]?symbol)$", re.I)
_SCALES = ("auto", "linear", "log2")
# numeric columns that annotate rows rather than hold a run's intensities (long tables, sample sheets)
_NOT_RUN_RE = re.compile(r"^(bio[ ._]?)?rep(licate)?$|^tech[ ._]?rep(licate)?$|^fraction$|^(precursor[ ._]?)?charge$|"
                         r"^run$|^condition$|^experiment$|^mz$|^m/z$|^rt$|^retention[ ._]?time$|^q[ ._]?value$|"
                         r"^score$|^pep$|^length$|^id$", re.I)


def _is_num(v: str) -> bool:
    v = v.strip()
    if v in T.MISSING_TOKENS:
        return True
    try:
        float(v.replace(",", ".") if v.count(",") == 1 and "." not in v else v)
        return True
    except ValueError:
        return False


def _layout(header: list[str], rows: list[list[str]]) -> int:
    """Number of leading annotation columns: the first column when it is not numeric, then every following
    column holding text (or named like a protein/peptide/gene column); a column of only missing values is a run
    whose values are all missing, not an annotation."""
    n_id = 0
    for j in range(len(header)):
        vals = [r[j] for r in rows if j < len(r)]
        numeric = all(_is_num(v) for v in vals)
        named = bool(_PEPTIDE_RE.search(header[j]) or _PROTEIN_RE.search(header[j]) or _GENE_RE.match(header[j]))
        has_value = any(v.strip() not in T.MISSING_TOKENS for v in vals)
        if j > 0 and numeric and not (named and not has_value):
            break
        if j == 0 and vals and numeric and has_value:
            break
        n_id = j + 1
    return n_id


def sniff_generic(p: Peek) -> float:
    """Confidence in [0, 1] that the peeked file is this reader's format (0 = not mine); reads the header only."""
    try:  # the full header (a wide matrix of many runs can have a header longer than the peek)
        src = T.open_source(p.path)
    except InputError:
        return 0.0
    cols = list(src.columns)
    if len(cols) < 2:
        return 0.0
    rows = list(csv.reader(list(src.sample[:20]), delimiter=src.sep))
    n_id = _layout(cols, rows)
    runs = cols[n_id:]
    if n_id < 1 or len(runs) < 2 or any(_NOT_RUN_RE.match(c) for c in runs):
        return 0.0
    for j in range(n_id, len(cols)):  # every run column numeric in the first rows
        if not all(_is_num(r[j]) for r in rows if j < len(r)):
            return 0.0
    return 0.5


def read_generic(path: str | os.PathLike, *, scale: str = "auto", keep_contaminants: bool = False,
                 **options) -> QuantTable:
    """Read a wide protein or peptide matrix (see module doc) into a long QuantTable (linear intensities,
    NaN = missing, rows with missing values kept). Run names are the run column headers verbatim."""
    T.check_options(path, options, ("fdr",))
    if scale not in _SCALES:
        raise InputError(f"unknown scale {scale!r}", path=path, hint="choose auto, linear or log2")
    src = T.open_source(path)
    try:
        rows = list(csv.reader(list(src.sample), delimiter=src.sep))
    except csv.Error as exc:
        raise InputError(f"cannot parse the table ({exc})", path=path, line=2,
                         hint="check the delimiter and quoting; a cell longer than 128 KiB is not a table cell") from None
    cols = list(src.columns)
    n_id = _layout(cols, rows)
    if n_id == 0:
        raise InputError("missing the protein id column: the first column holds numbers", path=path, line=1,
                         column=cols[0], hint="put the protein (or peptide and protein) id column(s) first")
    if n_id >= len(cols):
        raise InputError("no numeric run columns found", path=path, line=2,
                         hint="a wide matrix has id column(s) first, then one numeric column per run")
    ids, runs = cols[:n_id], cols[n_id:]
    notrun = [c for c in runs if _NOT_RUN_RE.match(c)]
    if notrun:
        raise InputError(f"column {notrun[0]!r} looks like an annotation, not a run", path=path, line=1,
                         column=notrun[0], hint="a wide matrix has id column(s) then one intensity column per run; "
                                                "for a long table give the tool's format with --format")
    T.wide_columns(src)  # refuses duplicated column names
    empty = [c for c in runs if not c]
    if empty:
        raise InputError("a run column has an empty name", path=path, line=1,
                         column=cols.index(empty[0]) + 1, hint="name every run column")
    pep = next((c for c in ids if _PEPTIDE_RE.search(c) and not _PROTEIN_RE.search(c)), None)
    prot = next((c for c in ids if _PROTEIN_RE.search(c)), None)
    gene = next((c for c in ids if _GENE_RE.match(c) and c not in (pep, prot)), None)
    if pep is not None:
        level = "peptide"
        if prot is None:
            others = [c for c in ids if c not in (pep, gene)]
            if not others:
                raise InputError(f"peptide column {pep!r} but no protein column", path=path, line=1,
                                 hint="add a protein column (e.g. 'protein') before the run columns")
            prot = others[0]
    else:
        level = "protein"
        prot = prot or ids[0]
    df = T.read_frame(src, ids + runs, numeric=runs, transform=_no_repeats(path, pep or prot))
    values = df[runs].to_numpy(dtype="float64")
    finite = values[np.isfinite(values)]
    if not finite.size:
        raise InputError(f"every value of the {len(runs)} run columns is missing (no intensity at all)", path=path,
                         hint="check the export: the run columns of a matrix hold the intensities")
    _check_one_scale(values, runs, path)
    mx = float(finite.max())
    used = scale if scale != "auto" else ("linear" if mx > 100 else "log2")
    if used == "log2":
        if mx > 100:
            raise InputError(f"values up to {mx:g} cannot be log2 intensities", path=path,
                             hint="use scale=linear (or auto)")
        values = np.exp2(values)
    else:
        neg = np.argwhere(values < 0)
        if len(neg):
            i, j = neg[0]
            raise InputError(f"negative intensity {values[i, j]:g} in linear data", path=path, line=int(i) + 2,
                             column=runs[j], hint="linear intensities are ≥ 0; for log2 values use scale=log2")
        values = np.where(values == 0, np.nan, values)
    long = T.melt_wide(df, {c: c for c in runs}, ids, values=values)
    out = pd.DataFrame({"run": long["run"], "entity_id": long[pep or prot], "protein_group": long[prot],
                        "intensity": long["intensity"]})
    if pep is not None:
        out["sequence"] = long[pep]
    if gene is not None:
        out["gene"] = T.blank_to_missing(long[gene])
    for c in ids:
        if c not in (pep, prot, gene):
            out["src_" + re.sub(r"\W+", "_", c).strip("_").lower()] = long[c]
    pg = out["protein_group"]  # categorical: test the distinct strings, not every row
    blank = np.array([not str(c).strip() for c in pg.cat.categories], dtype=bool)
    if blank.any():
        codes = pg.cat.codes.to_numpy()
        out = out.loc[~((codes >= 0) & blank[np.maximum(codes, 0)])]
    out["contaminant"] = T.contaminant_mask(out["protein_group"])
    if not keep_contaminants:
        out = out.loc[~out["contaminant"].to_numpy()]
    meta = {"scale": used, "scale_option": scale, "max_value": mx, "id_columns": ids}
    return T.finish(out, level=level, fmt="generic", path=path, meta=meta)


def _no_repeats(path, key: str):
    """A per-batch check (for :func:`_tabular.read_frame`) refusing the first repeated id, naming both lines, as
    soon as the batch holding it is read (the rest of the file is not read)."""
    seen: dict[str, int] = {}
    state = {"rows": 0}

    def check(df: pd.DataFrame) -> pd.DataFrame:
        ids = df[key].astype(str).str.strip().to_numpy()
        start = state["rows"] + 2
        state["rows"] += len(ids)
        s = pd.Series(ids)
        bad = (s.duplicated() | s.isin(seen.keys())) & (s != "")
        if bad.any():
            i = int(np.argmax(bad.to_numpy()))
            dup = ids[i]
            first = seen.get(dup, start + int(np.argmax(ids == dup)))
            raise InputError(f"{key} {dup!r} repeats line {first}; each row must be a different one", path=path,
                             line=start + i, column=key, hint="remove or merge the repeated rows")
        seen.update({v: start + k for k, v in enumerate(ids) if v})
        return df

    return check


#: medians of log2 intensities lie near 15–35; of linear intensities near 1e4–1e9
_LOG2_MEDIAN_MAX, _LINEAR_MEDIAN_MIN = 64.0, 1000.0


def _check_one_scale(values: np.ndarray, runs: list[str], path) -> None:
    """Refuse a matrix whose run columns mix log2 and linear values (judged per column by its median)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-missing columns have no median
        med = np.nanmedian(np.where(np.isfinite(values) & (values != 0), values, np.nan), axis=0)
    log2 = [r for r, m in zip(runs, med, strict=True) if np.isfinite(m) and m <= _LOG2_MEDIAN_MAX]
    lin = [r for r, m in zip(runs, med, strict=True) if np.isfinite(m) and m >= _LINEAR_MEDIAN_MIN]
    if log2 and lin:
        raise InputError(f"run columns mix scales: {len(log2)} look log2 (e.g. {log2[0]!r}, median "
                         f"{med[runs.index(log2[0])]:.3g}) and {len(lin)} look linear (e.g. {lin[0]!r}, median "
                         f"{med[runs.index(lin[0])]:.3g})", path=path, line=1, column=lin[0],
                         hint="export every run on the same scale (all linear or all log2)")
