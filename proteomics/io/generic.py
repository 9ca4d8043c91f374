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
    """Number of leading annotation columns: leading columns that are not all-numeric in ``rows``."""
    n_id = 0
    for j in range(len(header)):
        vals = [r[j] for r in rows if j < len(r)]
        if vals and all(_is_num(v) for v in vals) and any(v.strip() not in T.MISSING_TOKENS for v in vals):
            break
        n_id = j + 1
    return n_id


def sniff_generic(p: Peek) -> float:
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
    df = T.read_frame(src, ids + runs, numeric=runs)
    values = df[runs].to_numpy(dtype="float64")
    finite = values[np.isfinite(values)]
    mx = float(finite.max()) if finite.size else 0.0
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
