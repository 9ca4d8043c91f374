"""Spectronaut long "normal report" (TSV or CSV; precursor or fragment rows), including decimal-comma exports.

Run = ``R.FileName``; ``protein_group`` = ``PG.ProteinGroups`` verbatim; entity = ``EG.PrecursorId`` (else
``EG.ModifiedSequence`` + ``FG.Charge``). Quantity: ``FG.Quantity`` (precursor level, default) or
``PG.Quantity`` (``quantity="pg"``: protein level, one row per run × group). Rows pass when ``EG.Qvalue ≤
fdr`` and ``PG.Qvalue ≤ fdr`` (where present). Fragment-level exports repeat the precursor on every fragment
row; one row per run × precursor is kept. ``Filtered``/``NaN`` quantities are missing. Decimal commas are
converted when the whole file uses them; mixed decimal marks are refused.
"""

from __future__ import annotations

import logging
import os

import numpy as np
import pandas as pd

from ..errors import InputError
from . import _tabular as T
from .base import Peek
from .table import QuantTable

__all__ = ["read_spectronaut", "sniff_spectronaut"]

log = logging.getLogger(__name__)

_QUANT = {"precursor": "FG.Quantity", "pg": "PG.Quantity"}


def sniff_spectronaut(p: Peek) -> float:
    """Confidence in [0, 1] that the peeked file is this reader's format (0 = not mine); reads the header only."""
    s = set(p.columns())
    if {"R.FileName", "PG.ProteinGroups"} <= s and ({"EG.PrecursorId", "FG.Quantity", "PG.Quantity"} & s):
        return 0.9
    return 0.0


def read_spectronaut(path: str | os.PathLike, *, fdr: float = 0.01, keep_contaminants: bool = False,
                     quantity: str = "auto", **options) -> QuantTable:
    """Read a Spectronaut normal report (see module doc). ``quantity``: ``auto`` (FG.Quantity if present,
    else PG.Quantity), ``precursor`` or ``pg``. Intensities linear; zero → NaN."""
    T.check_options(path, options, ("scale",))
    fdr = T.check_fdr(path, fdr)
    src = T.open_source(path)
    cols = set(src.columns)
    T.require(src, ["R.FileName", "PG.ProteinGroups"])
    if quantity == "auto":
        quantity = "precursor" if "FG.Quantity" in cols else "pg"
    if quantity not in _QUANT:
        raise InputError(f"unknown quantity {quantity!r}", path=path, hint="choose auto, precursor or pg")
    inten = _QUANT[quantity]
    T.require(src, [inten])
    level = "precursor" if quantity == "precursor" else "protein"
    if level == "precursor":
        if "EG.PrecursorId" in cols:
            ent = ["EG.PrecursorId"]
        else:
            T.require(src, ["EG.ModifiedSequence", "FG.Charge"], what="(needed without EG.PrecursorId)")
            ent = ["EG.ModifiedSequence", "FG.Charge"]
    else:
        ent = []
    filters = [c for c in ("EG.Qvalue", "PG.Qvalue") if c in cols]
    if level == "protein":
        filters = [c for c in filters if c == "PG.Qvalue"]
    opt = [c for c in ("PEP.StrippedSequence", "FG.Charge", "PG.Genes", "EG.IsDecoy") if c in cols]
    numeric = list(dict.fromkeys([inten, *filters, *(["FG.Charge"] if "FG.Charge" in cols else [])]))
    usecols = list(dict.fromkeys(["R.FileName", "PG.ProteinGroups", *ent, inten, *filters, *opt]))

    def keep(df: pd.DataFrame) -> pd.DataFrame:
        ok = np.ones(len(df), dtype=bool)
        for c in filters:
            ok &= df[c].to_numpy(dtype="float64") <= fdr
        if "EG.IsDecoy" in df and not keep_contaminants:
            ok &= ~_is_true(df["EG.IsDecoy"])
        df = df.loc[ok]
        # fragment-level exports repeat each precursor on every fragment row: keep one per run × entity
        return df.loc[~df.duplicated(["R.FileName", *ent] if ent else ["R.FileName", "PG.ProteinGroups"])]

    df = T.read_frame(src, usecols, numeric=numeric, nonneg=[inten], transform=keep,
                      integer=["FG.Charge"] if "FG.Charge" in cols else [],
                      categorical=[c for c in ("R.FileName", "PG.ProteinGroups", "PG.Genes") if c in cols])
    if len(df) == 0:
        raise InputError(f"no rows pass the q-value filters ({', '.join(filters)} ≤ {fdr:g})", path=path,
                         hint="check the report, or raise fdr")
    if level == "precursor" and ent == ["EG.PrecursorId"]:
        eid = df["EG.PrecursorId"].astype("str")
    elif level == "precursor":
        z = df["FG.Charge"].to_numpy(dtype="float64")
        eid = df["EG.ModifiedSequence"].astype("str") + "." + T.int_str(pd.Series(z, index=df.index))
    else:
        eid = df["PG.ProteinGroups"]
    out = pd.DataFrame({"run": df["R.FileName"], "entity_id": eid, "protein_group": df["PG.ProteinGroups"],
                        "intensity": df[inten].to_numpy(dtype="float64")})
    if level == "precursor":
        if "PEP.StrippedSequence" in df:
            out["sequence"] = df["PEP.StrippedSequence"]
        if "FG.Charge" in df:
            out["charge"] = pd.array(df["FG.Charge"].to_numpy(dtype="float64"), dtype="Float64").astype("Int64")
        if "EG.Qvalue" in df:
            out["q_value"] = df["EG.Qvalue"].to_numpy(dtype="float64")
    elif "PG.Qvalue" in df:
        out["q_value"] = df["PG.Qvalue"].to_numpy(dtype="float64")
    if "PG.Genes" in df:
        out["gene"] = T.blank_to_missing(df["PG.Genes"])
    out["contaminant"] = T.contaminant_mask(out["protein_group"])
    dec = T.decoy_mask(out["protein_group"])
    if "EG.IsDecoy" in df:
        dec = dec | _is_true(df["EG.IsDecoy"])
    out["decoy"] = dec
    del df
    if not keep_contaminants:
        drop = out["contaminant"].to_numpy() | out["decoy"].to_numpy()
        if drop.any():
            out = out.loc[~drop]
    dup = out.duplicated(["run", "entity_id"], keep="first").to_numpy()
    if dup.any():  # the same precursor in two batches
        out = out.loc[~dup]
    meta = {"filters": {c: fdr for c in filters}, "quantity": inten, "rows": len(out)}
    return T.finish(out, level=level, fmt="spectronaut", path=path, meta=meta)


def _is_true(col: pd.Series) -> np.ndarray:
    return col.astype("str").str.strip().str.lower().isin(["true", "1"]).to_numpy()
