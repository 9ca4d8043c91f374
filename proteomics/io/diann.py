"""DIA-NN: main report (``report.tsv``, ``report.parquet``; 1.8, 1.9 and 2.x schemas), ``pg_matrix.tsv``
(protein × run, wide) and ``pr_matrix.tsv`` (precursor × run, wide).

Reports stream: only the needed columns are read (pyarrow CSV reader in 4 MiB batches, or
``pyarrow.dataset`` with column projection and q-value filter pushdown for Parquet), filtered batch by batch.
Intensities are DIA-NN's linear quantities; zero means not quantified (NaN).
"""

from __future__ import annotations

import difflib
import logging
import os
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import InputError
from . import _tabular as T
from ._values import text_with_number
from .base import Peek
from .table import QuantTable

__all__ = ["read_diann_report", "sniff_diann_report", "read_diann_pg_matrix", "sniff_diann_pg_matrix",
           "read_diann_pr_matrix", "sniff_diann_pr_matrix"]

log = logging.getLogger(__name__)

_RUN_COLS = ("Run", "File.Name")
_QVAL_FILTERS = ("Q.Value", "PG.Q.Value", "Lib.PG.Q.Value")
_QUANTITIES = ("precursor", "precursor_raw", "pg_maxlfq")
_MATRIX_ID_COLS = ("Protein.Group", "Protein.Ids", "Protein.Names", "Genes", "First.Protein.Description",
                   "Proteotypic", "Stripped.Sequence", "Modified.Sequence", "Precursor.Charge", "Precursor.Id",
                   "N.Sequences", "N.Proteotypic.Sequences")


def sniff_diann_report(p: Peek) -> float:
    """Confidence in [0, 1] that the peeked file is this reader's format (0 = not mine); reads the header only."""
    cols = set(p.columns())
    if "Protein.Group" in cols and "Q.Value" in cols and (cols & set(_RUN_COLS)) and (
            "Precursor.Id" in cols or {"Modified.Sequence", "Precursor.Charge"} <= cols):
        return 0.9
    return 0.0


def sniff_diann_pg_matrix(p: Peek) -> float:
    """Confidence in [0, 1] that the peeked file is this reader's format (0 = not mine); reads the header only."""
    cols = p.columns()
    if cols[:1] == ["Protein.Group"] and "Precursor.Id" not in cols and "Q.Value" not in cols \
            and ("Protein.Names" in cols or "Genes" in cols or "Protein.Ids" in cols):
        return 0.9
    return 0.0


def sniff_diann_pr_matrix(p: Peek) -> float:
    """Confidence in [0, 1] that the peeked file is this reader's format (0 = not mine); reads the header only."""
    cols = p.columns()
    if cols[:1] == ["Protein.Group"] and "Precursor.Id" in cols and "Q.Value" not in cols:
        return 0.9
    return 0.0


def read_diann_report(path: str | os.PathLike, *, fdr: float = 0.01, keep_contaminants: bool = False,
                quantity: str = "precursor", **options) -> QuantTable:
    """Read a DIA-NN main report (TSV or Parquet, optionally gzipped TSV).

    Rows pass when ``Q.Value ≤ fdr``, ``PG.Q.Value ≤ fdr`` and ``Lib.PG.Q.Value ≤ fdr`` (each where the
    column exists). ``quantity``: ``"precursor"`` (``Precursor.Normalised``, else ``Precursor.Quantity``;
    level precursor), ``"precursor_raw"`` (``Precursor.Quantity``) or ``"pg_maxlfq"`` (``PG.MaxLFQ``, one
    row per run × protein group, level protein, ``n_psm`` = passing precursors). Run = ``Run`` column, else
    ``File.Name`` verbatim. Contaminants (``CON__``/``cRAP``) and decoys (2.x ``Decoy`` = 1) are dropped
    unless ``keep_contaminants=True`` (then kept and flagged). Intensities linear, zero → NaN.
    """
    T.check_options(path, options, ())
    fdr = T.check_fdr(path, fdr)
    if quantity not in _QUANTITIES:
        raise InputError(f"unknown quantity {quantity!r}", path=path, hint=f"choose one of {', '.join(_QUANTITIES)}")
    is_parquet = _is_parquet(path)
    if is_parquet:
        cols = _parquet_columns(path)
    else:
        src = T.open_source(path)
        cols = list(src.columns)
    plan = _plan(path, cols, quantity)
    filters = [c for c in _QVAL_FILTERS if c in cols]
    numeric = [c for c in (*filters, plan["intensity"], plan.get("charge"), plan.get("decoy")) if c]
    numeric = list(dict.fromkeys(numeric))
    usecols = list(dict.fromkeys([c for c in plan.values() if c] + filters))

    def keep(df: pd.DataFrame) -> pd.DataFrame:
        ok = np.ones(len(df), dtype=bool)
        for c in filters:
            v = df[c].to_numpy(dtype="float64")
            ok &= v <= fdr  # NaN q-values fail the filter
        return df.loc[ok]

    if is_parquet:
        df = _read_parquet(path, usecols, filters, fdr)
    else:
        df = T.read_frame(src, usecols, numeric=numeric, nonneg=[plan["intensity"]], transform=keep,
                          integer=[plan["charge"]] if plan.get("charge") else [],
                          late=[c for c in (plan["run"], "Protein.Group", plan.get("gene"), plan.get("entity"),
                                            plan.get("modseq"), plan.get("sequence")) if c])  # keep() reads q-values only
    n_pass = len(df)
    if n_pass == 0:
        raise InputError(f"no rows pass the q-value filters ({', '.join(filters)} ≤ {fdr:g})", path=path,
                         hint="check the report, or raise fdr")
    out = pd.DataFrame({"run": df[plan["run"]], "protein_group": df[plan["protein_group"]]})
    if plan.get("entity"):
        out["entity_id"] = df[plan["entity"]]  # categorical; finish decodes it
    else:
        out["entity_id"] = text_with_number(df[plan["modseq"]], df[plan["charge"]])
    out["intensity"] = df[plan["intensity"]].to_numpy(dtype="float64")
    if plan.get("sequence"):
        out["sequence"] = df[plan["sequence"]]
    if plan.get("charge"):
        charge = df[plan["charge"]].to_numpy(dtype="float64")
        missing = np.isnan(charge)
        out["charge"] = pd.arrays.IntegerArray(np.where(missing, 0, charge).astype(np.int64), missing)
    out["q_value"] = df["Q.Value"].to_numpy(dtype="float64")
    if plan.get("gene"):
        out["gene"] = T.blank_to_missing(df[plan["gene"]])
    out["contaminant"] = T.contaminant_mask(out["protein_group"])
    decoy = T.decoy_mask(out["protein_group"])
    if plan.get("decoy"):
        decoy = decoy | (df[plan["decoy"]].to_numpy(dtype="float64") > 0)
    out["decoy"] = decoy
    if "PG.Q.Value" in df.columns:
        out["src_pg_q_value"] = df["PG.Q.Value"].to_numpy(dtype="float64")
    del df  # only `out` is needed from here on (keeps the peak memory down)
    n_dropped = 0
    if not keep_contaminants:
        drop = out["contaminant"].to_numpy() | out["decoy"].to_numpy()
        n_dropped = int(drop.sum())
        if n_dropped:
            out = out.loc[~drop]
    level = "precursor"
    if quantity == "pg_maxlfq":
        out = _to_protein(out)
        level = "protein"
    meta = {"filters": {c: fdr for c in filters}, "quantity": plan["intensity"], "rows_passing_fdr": n_pass,
            "rows_dropped_contaminant_decoy": n_dropped, "run_column": plan["run"]}
    if not filters:
        log.warning("%s: no q-value columns; no FDR filter applied", path)
    return T.finish(out, level=level, fmt="diann_report", path=path, meta=meta)


def _to_protein(out: pd.DataFrame) -> pd.DataFrame:
    """Precursor rows → one row per (run, protein group) holding PG.MaxLFQ (identical within the group)."""
    g = out.groupby(["run", "protein_group"], sort=False, observed=True)
    first = g.head(1).copy()
    first["n_psm"] = g.size().to_numpy()
    first["entity_id"] = first["protein_group"].astype(str)
    if "src_pg_q_value" in first.columns:
        first["q_value"] = first.pop("src_pg_q_value")
    return first.drop(columns=[c for c in ("sequence", "charge") if c in first.columns])


def _plan(path, cols: list[str], quantity: str) -> dict:
    have = set(cols)
    run = next((c for c in _RUN_COLS if c in have), None)
    if run is None:
        _missing(path, cols, "Run")
    for need in ("Protein.Group", "Q.Value"):
        if need not in have:
            _missing(path, cols, need)
    if quantity == "pg_maxlfq":
        inten = "PG.MaxLFQ"
    elif quantity == "precursor_raw":
        inten = "Precursor.Quantity"
    else:
        inten = "Precursor.Normalised" if "Precursor.Normalised" in have else "Precursor.Quantity"
    if inten not in have:
        _missing(path, cols, inten)
    plan = {"run": run, "protein_group": "Protein.Group", "intensity": inten,
            "entity": "Precursor.Id" if "Precursor.Id" in have else None,
            "sequence": "Stripped.Sequence" if "Stripped.Sequence" in have else None,
            "charge": "Precursor.Charge" if "Precursor.Charge" in have else None,
            "gene": "Genes" if "Genes" in have else None,
            "decoy": "Decoy" if "Decoy" in have else None,
            "q": "Q.Value"}
    if plan["entity"] is None:
        if "Modified.Sequence" not in have or plan["charge"] is None:
            _missing(path, cols, "Precursor.Id")
        plan["modseq"] = "Modified.Sequence"
    return plan


def _missing(path, cols, name):
    close = difflib.get_close_matches(name, cols, n=3, cutoff=0.6)
    raise InputError(f"missing required column {name!r}", path=path, line=1, column=name,
                     hint=f"did you mean {', '.join(map(repr, close))}?" if close else
                     "export the full DIA-NN report (or choose the right --format)")


def _is_parquet(path) -> bool:
    p = Path(path)
    if p.is_dir() or not p.exists():
        return False
    with open(p, "rb") as fh:
        return fh.read(4) == b"PAR1"


def _parquet_columns(path) -> list[str]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        return list(pq.read_schema(path).names)
    except (pa.ArrowException, OSError) as exc:
        raise InputError(f"corrupt Parquet file ({exc})", path=path, hint="re-export it") from None


_TEXT = ("Run", "File.Name", "Protein.Group", "Precursor.Id", "Modified.Sequence", "Stripped.Sequence", "Genes")


def _read_parquet(path, usecols: list[str], filters: list[str], fdr: float) -> pd.DataFrame:
    """Column projection + q-value filter pushdown with ``pyarrow.dataset``; the passing rows stay Arrow until
    the end, then every text column is dictionary-encoded once over the file (categorical, first-seen order:
    one Python string per distinct value) and numbers become float64/int columns."""
    import pyarrow as pa
    import pyarrow.dataset as ds

    try:
        dset = ds.dataset(str(path), format="parquet")
        expr = None
        for c in filters:
            e = ds.field(c) <= fdr
            expr = e if expr is None else expr & e
        table = pa.Table.from_batches(list(dset.to_batches(columns=usecols, filter=expr, batch_size=1 << 16)),
                                      schema=pa.schema([dset.schema.field(c) for c in usecols]))
    except (pa.ArrowException, OSError) as exc:
        raise InputError(f"cannot read Parquet file ({str(exc).splitlines()[0]})", path=path,
                         hint="check that it is a complete DIA-NN report.parquet") from None
    if table.num_rows == 0:
        raise InputError(f"no rows pass the q-value filters ({', '.join(filters)} ≤ {fdr:g})", path=path,
                         hint="check the report, or raise fdr")
    cols = {}
    for c in usecols:
        col = table.column(c)
        if c in _TEXT:
            kind = col.type.value_type if pa.types.is_dictionary(col.type) else col.type
            if not (pa.types.is_string(kind) or pa.types.is_large_string(kind)):
                col = col.cast(pa.string())
            cols[c] = (col if pa.types.is_dictionary(col.type) else col.dictionary_encode()).to_pandas()
        elif pa.types.is_integer(col.type) or pa.types.is_floating(col.type) or pa.types.is_boolean(col.type):
            cols[c] = col.to_pandas()
        else:
            raise InputError(f"column {c!r} is not numeric", path=path, column=c, hint="re-export the report")
    del table
    df = pd.DataFrame(cols, copy=False)
    if "Precursor.Charge" in df.columns:
        T.check_integral(df["Precursor.Charge"].to_numpy(dtype="float64", na_value=np.nan), path=path,
                         column="Precursor.Charge", first_line=None)
    inten = [c for c in df.columns if c in ("Precursor.Normalised", "Precursor.Quantity", "PG.MaxLFQ")]
    for c in inten:
        v = df[c].to_numpy(dtype="float64", na_value=np.nan)
        if np.isinf(v).any() or (v < 0).any():
            raise InputError(f"negative or infinite intensities in {c!r}", path=path, column=c,
                             hint="intensities must be finite linear numbers ≥ 0")
    return df


def _read_matrix(path: str | os.PathLike, *, level: str, fmt: str, keep_contaminants: bool = False,
                **options) -> QuantTable:
    """A DIA-NN wide matrix → long table (level ``protein`` for pg_matrix, ``precursor`` for pr_matrix).
    Run names are the run column headers verbatim; values linear, empty/0 = missing (NaN rows kept)."""
    T.check_options(path, options)  # the matrices are already FDR-filtered by DIA-NN
    src = T.open_source(path)
    T.require(src, ["Protein.Group"] + (["Precursor.Id"] if level == "precursor" else []))
    runcols = {c: c for c in src.columns if c not in _MATRIX_ID_COLS}
    if not runcols:
        raise InputError("no run columns after the annotation columns", path=path, line=1,
                         hint="a DIA-NN matrix has one column per run after Protein.Group … columns")
    T.wide_columns(src)  # refuses duplicated column names
    ids = [c for c in ("Protein.Group", "Genes", "Precursor.Id", "Stripped.Sequence", "Precursor.Charge")
           if c in src.columns]
    df = T.read_frame(src, ids + list(runcols), numeric=list(runcols), nonneg=list(runcols), ragged=True)
    long = T.melt_wide(df, runcols, ids)
    out = pd.DataFrame({"run": long["run"], "protein_group": long["Protein.Group"],
                        "entity_id": long["Precursor.Id" if level == "precursor" else "Protein.Group"],
                        "intensity": long["intensity"]})
    if "Stripped.Sequence" in long:
        out["sequence"] = long["Stripped.Sequence"]
    if "Genes" in long:
        out["gene"] = long["Genes"]
    out["contaminant"] = T.contaminant_mask(out["protein_group"])
    if not keep_contaminants:
        out = out.loc[~out["contaminant"].to_numpy()]
    return T.finish(out, level=level, fmt=fmt, path=path, meta={"wide_runs": list(runcols.values())})


def read_diann_pg_matrix(path, **options):
    """DIA-NN ``pg_matrix.tsv`` (protein groups × runs, linear) → protein-level QuantTable."""
    return _read_matrix(path, level="protein", fmt="diann_pg_matrix", **options)


def read_diann_pr_matrix(path, **options):
    """DIA-NN ``pr_matrix.tsv`` (precursors × runs, linear) → precursor-level QuantTable."""
    return _read_matrix(path, level="precursor", fmt="diann_pr_matrix", **options)
