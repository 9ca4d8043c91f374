"""MaxQuant: ``proteinGroups.txt`` (protein level, wide), ``evidence.txt`` (precursor level, long) and
``peptides.txt`` (peptide level, wide).

Intensities are MaxQuant's linear values; 0 means not quantified (NaN). Contaminants (every accession
``CON__``; MaxQuant's ``Potential contaminant`` column is not used, see :mod:`proteomics.contaminants`), decoys
(``Reverse`` = ``+`` or every accession ``REV__``) and, for
protein groups, ``Only identified by site`` are dropped by default; ``keep_contaminants=True`` keeps them
flagged (``contaminant``, ``decoy``, ``src_only_identified_by_site``).
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

__all__ = ["read_maxquant_proteingroups", "sniff_maxquant_proteingroups", "read_maxquant_evidence",
           "sniff_maxquant_evidence", "read_maxquant_peptides", "sniff_maxquant_peptides"]

log = logging.getLogger(__name__)

_PG_QUANT = {"lfq": "LFQ intensity ", "intensity": "Intensity ", "ibaq": "iBAQ ", "ms_ms_count": "MS/MS count "}
_PEP_QUANT = {"lfq": "LFQ intensity ", "intensity": "Intensity "}
#: "+" or empty; the last columns of a MaxQuant table, so a row saved without trailing empty fields lacks them
_FLAGS = ("Reverse", "Only identified by site", "Potential contaminant")


def sniff_maxquant_proteingroups(p: Peek) -> float:
    """Confidence in [0, 1] that the peeked file is this reader's format (0 = not mine); reads the header only."""
    cols = set(p.columns())
    if {"Protein IDs", "Majority protein IDs"} <= cols:
        return 0.9
    # a trimmed table (kept columns only, e.g. AlphaPeptStats' examples): Protein IDs, per-run quantities and a
    # MaxQuant flag column
    if "Protein IDs" in cols and cols & set(_FLAGS) and any(c.startswith(tuple(_PG_QUANT.values())) for c in cols):
        return 0.7
    return 0.0


def sniff_maxquant_evidence(p: Peek) -> float:
    """Confidence in [0, 1] that the peeked file is this reader's format (0 = not mine); reads the header only."""
    cols = set(p.columns())
    if {"Raw file", "Modified sequence", "Charge", "Proteins"} <= cols and "Intensity" in cols:
        return 0.9
    return 0.0


def sniff_maxquant_peptides(p: Peek) -> float:
    """Confidence in [0, 1] that the peeked file is this reader's format (0 = not mine); reads the header only."""
    cols = p.columns()
    s = set(cols)
    if {"Sequence", "Proteins", "Leading razor protein"} <= s and "Raw file" not in s \
            and any(c.startswith("Intensity ") for c in cols):
        return 0.9
    return 0.0


def _flag(df: pd.DataFrame, names) -> np.ndarray:
    out = np.zeros(len(df), dtype=bool)
    for c in names:
        if c in df.columns:
            out |= df[c].astype(str).str.strip().eq("+").to_numpy()
    return out


_NOT_RUNS = {"iBAQ ": {"peptides"}}  # 'iBAQ peptides' = theoretical peptide count, not a run


def _runcols(src: T.Source, prefix: str) -> dict[str, str]:
    bad = _NOT_RUNS.get(prefix, set())
    return {c: r for c, r in T.wide_columns(src, prefix=prefix).items() if r not in bad}


def _choose(src: T.Source, quantity: str, table: dict[str, str], path) -> tuple[str, dict[str, str]]:
    if quantity == "auto":
        order = [k for k in ("lfq", "intensity", "ibaq") if k in table]
        for k in order:
            runcols = _runcols(src, table[k])
            if runcols:
                return k, runcols
        raise InputError(f"no per-run quantity columns ({', '.join(repr(table[k] + '<run>') for k in order)})",
                         path=path, line=1, hint="export per-run intensities from MaxQuant")
    if quantity not in table:
        raise InputError(f"unknown quantity {quantity!r}", path=path,
                         hint=f"choose auto or one of {', '.join(table)}")
    runcols = _runcols(src, table[quantity])
    if not runcols:
        T.require(src, [table[quantity] + "<run>"])
    return quantity, runcols


def read_maxquant_proteingroups(path: str | os.PathLike, *, quantity: str = "auto", keep_contaminants: bool = False,
                        fdr: float = 0.01, **options) -> QuantTable:
    """MaxQuant ``proteinGroups.txt`` → protein-level QuantTable (runs × protein groups, linear).

    ``quantity``: ``auto`` (LFQ intensity, else Intensity, else iBAQ), ``lfq``, ``intensity``, ``ibaq`` or
    ``ms_ms_count`` (spectral counts). Run = column suffix (``LFQ intensity A-1`` → ``A-1``);
    ``protein_group`` = ``Protein IDs`` verbatim; ``gene`` = ``Gene names``; ``n_psm`` = per-run
    ``MS/MS count``; ``q_value`` = ``Q-value`` (rows with Q-value > ``fdr`` dropped); ``Peptides`` and
    ``Razor + unique peptides`` kept as ``src_peptides``/``src_razor_unique_peptides``. Rows with all
    values missing are kept (NaN intensities)."""
    T.check_options(path, options)
    fdr = T.check_fdr(path, fdr)
    src = T.open_source(path)
    T.require(src, ["Protein IDs"])
    kind, runcols = _choose(src, quantity, _PG_QUANT, path)
    counts = T.wide_columns(src, prefix="MS/MS count ")
    counts = {c: r for c, r in counts.items() if r in set(runcols.values())}
    extra = [c for c in ("Gene names", "Q-value", "Peptides", "Razor + unique peptides", "Reverse",
                         "Only identified by site") if c in src.columns]
    numeric = [c for c in ("Q-value", "Peptides", "Razor + unique peptides") if c in extra]
    df = T.read_frame(src, ["Protein IDs", *extra, *runcols, *counts], numeric=[*numeric, *runcols, *counts],
                      nonneg=list(runcols), may_be_empty=_FLAGS)
    n_in = len(df)
    contam = T.contaminant_mask(df["Protein IDs"])
    decoy = _flag(df, ["Reverse"]) | T.decoy_mask(df["Protein IDs"])
    site = _flag(df, ["Only identified by site"])
    keep = np.ones(n_in, dtype=bool)
    if "Q-value" in df.columns:
        keep &= ~(df["Q-value"].to_numpy(dtype="float64") > fdr)
    if not keep_contaminants:
        keep &= ~(contam | decoy | site)
    df = df.loc[keep].reset_index(drop=True)
    contam, decoy, site = contam[keep], decoy[keep], site[keep]
    ids = ["Protein IDs", *extra]
    df["__c"], df["__d"], df["__s"] = contam, decoy, site
    long, out = _long_frame(df, runcols, [*ids, "__s"], "Protein IDs", "Protein IDs", counts)
    if "Q-value" in long:
        out["q_value"] = long["Q-value"].to_numpy(dtype="float64")
    out["src_only_identified_by_site"] = long["__s"].to_numpy(dtype=bool)
    if "Peptides" in long:
        out["src_peptides"] = long["Peptides"].to_numpy(dtype="float64")
    if "Razor + unique peptides" in long:
        out["src_razor_unique_peptides"] = long["Razor + unique peptides"].to_numpy(dtype="float64")
    meta = {"quantity": kind, "rows_in_file": n_in, "rows_kept": int(keep.sum()),
            "contaminants": int(contam.sum()) if keep_contaminants else 0}
    return T.finish(out, level="protein", fmt="maxquant_proteingroups", path=path, meta=meta)


def read_maxquant_evidence(path: str | os.PathLike, *, keep_contaminants: bool = False, fdr: float = 0.01,
                  **options) -> QuantTable:
    """MaxQuant ``evidence.txt`` → precursor-level QuantTable (long, linear ``Intensity``).

    Run = ``Raw file``; entity = ``Modified sequence`` + ``Charge``; ``protein_group`` = ``Proteins``
    (``Leading razor protein`` when empty; rows with neither are dropped); several evidence rows of the same
    precursor in a run keep the largest intensity, ``n_psm`` counts them. MaxQuant has already filtered at
    its own PSM/protein FDR; ``fdr`` is accepted for a uniform interface."""
    T.check_options(path, options)
    src = T.open_source(path)
    need = ["Raw file", "Modified sequence", "Charge", "Intensity"]
    T.require(src, need)
    if "Proteins" not in src.columns and "Leading razor protein" not in src.columns:
        T.require(src, ["Proteins"])
    extra = [c for c in ("Proteins", "Leading razor protein", "Sequence", "Gene names", "PEP", "Reverse")
             if c in src.columns]
    df = T.read_frame(src, [*need, *extra], numeric=["Charge", "Intensity", *(["PEP"] if "PEP" in extra else [])],
                      nonneg=["Intensity"], integer=["Charge"], may_be_empty=_FLAGS,
                      categorical=[c for c in ("Raw file", "Gene names") if c in extra or c == "Raw file"])
    prot = df["Proteins"].astype(str) if "Proteins" in df else pd.Series("", index=df.index)
    if "Leading razor protein" in df:
        prot = prot.where(prot.str.strip() != "", df["Leading razor protein"].astype(str))
    contam = T.contaminant_mask(prot)
    decoy = _flag(df, ["Reverse"]) | T.decoy_mask(prot)
    keep = prot.str.strip().ne("").to_numpy().copy()
    n_noprot = int((~keep).sum())
    if not keep_contaminants:
        keep &= ~(contam | decoy)
    df, prot, contam, decoy = df.loc[keep], prot[keep], contam[keep], decoy[keep]
    charge = df["Charge"].to_numpy(dtype="float64")
    out = pd.DataFrame({
        "run": df["Raw file"].array,
        "entity_id": (df["Modified sequence"].astype("str") + T.int_str(pd.Series(charge, index=df.index))).array,
        "protein_group": prot.array,
        "intensity": np.where(df["Intensity"].to_numpy(dtype="float64") == 0, np.nan,
                              df["Intensity"].to_numpy(dtype="float64")),
        "charge": pd.array(charge, dtype="Float64").astype("Int64"),
        "contaminant": contam, "decoy": decoy})
    if "Sequence" in df:
        out["sequence"] = df["Sequence"].astype("str").array
    if "Gene names" in df:
        out["gene"] = T.blank_to_missing(df["Gene names"]).array
    if "PEP" in df:
        out["src_pep"] = df["PEP"].to_numpy(dtype="float64")
    # one row per (run, precursor): the largest intensity (NaN last, ties keep file order); n_psm = rows
    out["n_psm"] = out.groupby(["run", "entity_id"], sort=False)["intensity"].transform("size").astype("int64")
    order = np.argsort(-out["intensity"].fillna(-1.0).to_numpy(), kind="stable")
    out = out.iloc[order]
    out = out.loc[~out.duplicated(["run", "entity_id"], keep="first")].sort_index(kind="stable")
    meta = {"rows_in_file": int(len(keep)), "rows_without_protein": n_noprot}
    return T.finish(out, level="precursor", fmt="maxquant_evidence", path=path, meta=meta)


def read_maxquant_peptides(path: str | os.PathLike, *, quantity: str = "auto", keep_contaminants: bool = False,
                  fdr: float = 0.01, **options) -> QuantTable:
    """MaxQuant ``peptides.txt`` (wide) → peptide-level QuantTable (long, linear).

    ``quantity``: ``auto`` (LFQ intensity if present, else Intensity), ``lfq`` or ``intensity``. Run =
    column suffix; entity = ``Sequence``; ``protein_group`` = ``Proteins`` (``Leading razor protein`` when
    empty); ``n_psm`` = per-run ``Experiment <run>`` count when present."""
    T.check_options(path, options)
    src = T.open_source(path)
    T.require(src, ["Sequence", "Proteins"])
    kind, runcols = _choose(src, quantity, _PEP_QUANT, path)
    exp = {c: r for c, r in T.wide_columns(src, prefix="Experiment ").items() if r in set(runcols.values())}
    extra = [c for c in ("Leading razor protein", "Gene names", "PEP", "Reverse")
             if c in src.columns]
    df = T.read_frame(src, ["Sequence", "Proteins", *extra, *runcols, *exp],
                      numeric=[*runcols, *exp, *(["PEP"] if "PEP" in extra else [])], nonneg=list(runcols),
                      may_be_empty=_FLAGS)
    prot = df["Proteins"].astype(str)
    if "Leading razor protein" in df:
        prot = prot.where(prot.str.strip() != "", df["Leading razor protein"].astype(str))
    df["Proteins"] = prot
    contam = T.contaminant_mask(prot)
    decoy = _flag(df, ["Reverse"]) | T.decoy_mask(prot)
    keep = prot.str.strip().ne("").to_numpy().copy()
    if not keep_contaminants:
        keep &= ~(contam | decoy)
    df = df.loc[keep].reset_index(drop=True)
    df["__c"], df["__d"] = contam[keep], decoy[keep]
    ids = ["Sequence", "Proteins", *[c for c in ("Gene names", "PEP") if c in df]]
    long, out = _long_frame(df, runcols, ids, "Sequence", "Proteins", exp)
    out["sequence"] = long["Sequence"]
    if "PEP" in long:
        out["src_pep"] = long["PEP"].to_numpy(dtype="float64")
    return T.finish(out, level="peptide", fmt="maxquant_peptides", path=path, meta={"quantity": kind})


def _long_frame(df: pd.DataFrame, runcols: dict[str, str], ids: list[str], entity: str, protein: str,
                counts: dict[str, str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Melt the run columns of a MaxQuant table (one row per row × run) and start its QuantTable frame: run,
    entity_id, protein_group, intensity, gene (``Gene names``), the ``__c``/``__d`` flags as contaminant/decoy,
    and n_psm from ``counts`` (count column → run, e.g. ``MS/MS count <run>``; missing = 0). Returns
    (melted table, frame)."""
    long = T.melt_wide(df, runcols, [*ids, "__c", "__d"])
    out = pd.DataFrame({"run": long["run"], "entity_id": long[entity], "protein_group": long[protein],
                        "intensity": long["intensity"]})
    if "Gene names" in long:
        out["gene"] = T.blank_to_missing(long["Gene names"])
    if counts:
        by_run = {r: c for c, r in counts.items()}
        cnt = T.melt_wide(df, {by_run[r]: r for r in runcols.values()}, [])["intensity"].fillna(0.0)
        out["n_psm"] = cnt.to_numpy().astype("int64")
    out["contaminant"] = long["__c"].to_numpy(dtype=bool)
    out["decoy"] = long["__d"].to_numpy(dtype=bool)
    return long, out
