"""FragPipe: ``combined_protein.tsv`` (protein level, wide), ``combined_ion.tsv`` (precursor level, wide),
``combined_peptide.tsv`` (peptide level, wide), ``psm.tsv`` (PSM level, long) and ``MSstats.csv`` (long,
precursor level; the MSstats input format that FragPipe and quantms/OpenMS write).

``protein_group`` is FragPipe's ``Protein`` string verbatim (not ``Protein ID``). Wide run columns are
``<run> <quantity>``; the run name is the column prefix. Intensities are linear; 0 = not quantified (NaN).
Contaminants (``contam_``/``CON__``) and decoys (``rev_``) are dropped unless ``keep_contaminants=True``.
"""

from __future__ import annotations

import logging
import os
import re

import numpy as np
import pandas as pd

from ..errors import InputError
from . import _tabular as T
from .base import Peek
from .table import QuantTable

__all__ = ["read_fragpipe_combined_protein", "sniff_fragpipe_combined_protein", "read_fragpipe_combined_ion",
           "sniff_fragpipe_combined_ion", "read_fragpipe_combined_peptide", "sniff_fragpipe_combined_peptide",
           "read_fragpipe_psm", "sniff_fragpipe_psm", "read_msstats", "sniff_msstats"]

log = logging.getLogger(__name__)

# quantity name -> column suffix; the run part must not end in one of the other quantity words
_WIDE = {"maxlfq": " MaxLFQ Intensity", "intensity": " Intensity", "razor_intensity": " Razor Intensity",
         "unique_intensity": " Unique Intensity", "spectral_count": " Spectral Count",
         "total_spectral_count": " Total Spectral Count", "unique_spectral_count": " Unique Spectral Count"}
_NOT_RUN_END = (" MaxLFQ", " Razor", " Unique", " Total")
_NOT_RUN = ("Combined", "Summarized")
_AUTO = ("maxlfq", "intensity", "razor_intensity", "spectral_count")


def _runcols(src: T.Source, kind: str) -> dict[str, str]:
    suffix = _WIDE[kind]
    out = {}
    for c in src.columns:
        if c.endswith(suffix) and len(c) > len(suffix):
            run = c[: -len(suffix)]
            if run.endswith(_NOT_RUN_END) or run.startswith(_NOT_RUN):
                continue
            out[c] = run.strip()
    runs = list(out.values())
    dup = sorted({r for r in runs if runs.count(r) > 1})
    if dup:
        col = next(c for c, r in out.items() if r == dup[0])
        raise InputError(f"run {dup[0]!r} appears in two columns", path=src.path, line=1, column=col,
                         hint="give every run a unique column name")
    seen: set[str] = set()
    for c in src.columns:  # the same header twice
        if c in out and c in seen:
            raise InputError(f"column {c!r} appears twice", path=src.path, line=1, column=c,
                             hint="give every run a unique column name")
        seen.add(c)
    return out


def _choose(src: T.Source, quantity: str) -> tuple[str, dict[str, str]]:
    if quantity == "auto":
        for k in _AUTO:
            cols = _runcols(src, k)
            if cols:
                return k, cols
        raise InputError("no per-run quantity columns ('<run> MaxLFQ Intensity', '<run> Intensity', "
                         "'<run> Spectral Count')", path=src.path, line=1,
                         hint="export the combined table with per-run quantities")
    if quantity not in _WIDE:
        raise InputError(f"unknown quantity {quantity!r}", path=src.path,
                         hint=f"choose auto or one of {', '.join(_WIDE)}")
    cols = _runcols(src, quantity)
    if not cols:
        T.require(src, ["<run>" + _WIDE[quantity]])
    return quantity, cols


def sniff_fragpipe_combined_protein(p: Peek) -> float:
    """Confidence in [0, 1] that the peeked file is this reader's format (0 = not mine); reads the header only."""
    cols = p.columns()
    s = set(cols)
    if {"Protein", "Protein ID"} <= s and "Peptide Sequence" not in s and "Spectrum" not in s and \
            any(c.endswith((" Intensity", " Spectral Count")) for c in cols):
        return 0.9
    return 0.0


def sniff_fragpipe_combined_ion(p: Peek) -> float:
    """Confidence in [0, 1] that the peeked file is this reader's format (0 = not mine); reads the header only."""
    s = set(p.columns())
    if {"Peptide Sequence", "Modified Sequence", "Charge", "Protein", "Protein ID"} <= s:
        return 0.9
    return 0.0


def sniff_fragpipe_combined_peptide(p: Peek) -> float:
    """Confidence in [0, 1] that the peeked file is this reader's format (0 = not mine); reads the header only."""
    s = set(p.columns())
    if {"Peptide Sequence", "Protein", "Protein ID"} <= s and "Charge" not in s and "Modified Sequence" not in s:
        return 0.85
    return 0.0


def sniff_fragpipe_psm(p: Peek) -> float:
    """Confidence in [0, 1] that the peeked file is this reader's format (0 = not mine); reads the header only."""
    s = set(p.columns())
    if {"Spectrum", "Peptide", "Protein", "Charge"} <= s and ("Spectrum File" in s or "Intensity" in s):
        return 0.9
    return 0.0


def sniff_msstats(p: Peek) -> float:
    """Confidence in [0, 1] that the peeked file is this reader's format (0 = not mine); reads the header only."""
    s = set(p.columns())
    if {"ProteinName", "PeptideSequence", "PrecursorCharge", "Run", "Intensity"} <= s:
        return 0.8
    return 0.0


def _flags(prot: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    return T.contaminant_mask(prot), T.decoy_mask(prot)


def _read_wide(path, *, level: str, fmt: str, entity: list[str], quantity: str, keep_contaminants: bool,
               options: dict) -> QuantTable:
    T.check_options(path, options)
    src = T.open_source(path)
    T.require(src, ["Protein", *entity])
    kind, runcols = _choose(src, quantity)
    gene = next((c for c in ("Gene", "Gene Names", "Genes") if c in src.columns), None)
    seq = "Peptide Sequence" if "Peptide Sequence" in src.columns else None
    ids = list(dict.fromkeys(["Protein", *entity, *([gene] if gene else []), *([seq] if seq else [])]))
    numeric = list(runcols) + (["Charge"] if "Charge" in entity else [])
    df = T.read_frame(src, ids + list(runcols), numeric=numeric, nonneg=list(runcols),
                      integer=["Charge"] if "Charge" in entity else [])
    contam, decoy = _flags(df["Protein"])
    keep = (df["Protein"].astype(str).str.strip() != "").to_numpy().copy()
    if not keep_contaminants:
        keep &= ~(contam | decoy)
    df = df.loc[keep].reset_index(drop=True)
    df["__c"], df["__d"] = contam[keep], decoy[keep]
    if "Charge" in entity:
        z = df["Charge"].to_numpy(dtype="float64")
        df["__e"] = df["Modified Sequence"].astype(str).where(df["Modified Sequence"].astype(str) != "",
                                                              df["Peptide Sequence"].astype(str)) + \
            T.int_str(pd.Series(z, index=df.index))
    else:
        df["__e"] = df[entity[0]].astype(str)
    idcols = ["__e", "Protein", "__c", "__d", *([gene] if gene else []), *([seq] if seq else []),
              *(["Charge"] if "Charge" in entity else [])]
    long = T.melt_wide(df, runcols, idcols)
    out = pd.DataFrame({"run": long["run"], "entity_id": long["__e"], "protein_group": long["Protein"],
                        "intensity": long["intensity"]})
    if seq and level != "protein":
        out["sequence"] = long[seq]
    if "Charge" in entity:
        out["charge"] = pd.array(long["Charge"].to_numpy(dtype="float64"), dtype="Float64").astype("Int64")
    if gene:
        out["gene"] = T.blank_to_missing(long[gene])
    out["contaminant"] = long["__c"].to_numpy(dtype=bool)
    out["decoy"] = long["__d"].to_numpy(dtype=bool)
    return T.finish(out, level=level, fmt=fmt, path=path, meta={"quantity": kind})


def read_fragpipe_combined_protein(path: str | os.PathLike, *, quantity: str = "auto", keep_contaminants: bool = False,
                          **options) -> QuantTable:
    """FragPipe ``combined_protein.tsv`` → protein-level QuantTable (linear). ``quantity``: ``auto``
    (``MaxLFQ Intensity``, else ``Intensity``, else ``Razor Intensity``, else ``Spectral Count``) or one of
    maxlfq, intensity, razor_intensity, unique_intensity, spectral_count, total_spectral_count,
    unique_spectral_count. ``protein_group`` = ``Protein``; entity = ``Protein``."""
    return _read_wide(path, level="protein", fmt="fragpipe_combined_protein", entity=["Protein"],
                      quantity=quantity, keep_contaminants=keep_contaminants, options=options)


def read_fragpipe_combined_ion(path: str | os.PathLike, *, quantity: str = "auto", keep_contaminants: bool = False,
                      **options) -> QuantTable:
    """FragPipe ``combined_ion.tsv`` → precursor-level QuantTable (entity = ``Modified Sequence`` (else
    ``Peptide Sequence``) + ``Charge``; linear ``<run> MaxLFQ Intensity`` or ``<run> Intensity``)."""
    return _read_wide(path, level="precursor", fmt="fragpipe_combined_ion",
                      entity=["Peptide Sequence", "Modified Sequence", "Charge"], quantity=quantity,
                      keep_contaminants=keep_contaminants, options=options)


def read_fragpipe_combined_peptide(path: str | os.PathLike, *, quantity: str = "auto", keep_contaminants: bool = False,
                          **options) -> QuantTable:
    """FragPipe ``combined_peptide.tsv`` → peptide-level QuantTable (entity = ``Peptide Sequence``)."""
    return _read_wide(path, level="peptide", fmt="fragpipe_combined_peptide", entity=["Peptide Sequence"],
                      quantity=quantity, keep_contaminants=keep_contaminants, options=options)


_SPECTRUM_RE = re.compile(r"^(?P<run>.+)\.\d+\.\d+\.\d+$")


def read_fragpipe_psm(path: str | os.PathLike, *, keep_contaminants: bool = False, **options) -> QuantTable:
    """FragPipe ``psm.tsv`` → PSM-level QuantTable: one row per PSM (entity = ``Spectrum``), ``intensity`` =
    the PSM's linear MS1 ``Intensity`` (0 → NaN), ``n_psm`` = 1 (spectral counting sums these). Run = the
    ``Spectrum`` name without ``.scan.scan.charge``. Philosopher has already filtered PSMs at its FDR;
    ``PeptideProphet Probability`` is kept as ``src_peptideprophet_probability``."""
    T.check_options(path, options)
    src = T.open_source(path)
    T.require(src, ["Spectrum", "Peptide", "Protein", "Charge"])
    opt = [c for c in ("Modified Peptide", "Intensity", "Gene", "PeptideProphet Probability") if c in src.columns]
    numeric = ["Charge", *[c for c in ("Intensity", "PeptideProphet Probability") if c in opt]]
    df = T.read_frame(src, ["Spectrum", "Peptide", "Protein", "Charge", *opt], numeric=numeric,
                      nonneg=["Intensity"] if "Intensity" in opt else [], integer=["Charge"])
    contam, decoy = _flags(df["Protein"])
    keep = (df["Protein"].astype(str).str.strip() != "").to_numpy().copy()
    if not keep_contaminants:
        keep &= ~(contam | decoy)
    df = df.loc[keep].reset_index(drop=True)
    spec = df["Spectrum"].astype(str)
    run = spec.str.extract(_SPECTRUM_RE)["run"].fillna(spec)
    z = df["Charge"].to_numpy(dtype="float64")
    out = pd.DataFrame({"run": run.to_numpy(dtype=object), "entity_id": spec.to_numpy(dtype=object),
                        "protein_group": df["Protein"].astype(str).to_numpy(dtype=object),
                        "intensity": df["Intensity"].to_numpy(dtype="float64") if "Intensity" in df
                        else np.full(len(df), np.nan),
                        "sequence": df["Peptide"].astype(str).to_numpy(dtype=object),
                        "charge": pd.array(z, dtype="Float64").astype("Int64"),
                        "n_psm": np.ones(len(df), dtype="int64"),
                        "contaminant": contam[keep], "decoy": decoy[keep]})
    if "Gene" in df:
        g = df["Gene"].astype(str).to_numpy(dtype=object)
        out["gene"] = np.where(g == "", None, g)
    if "PeptideProphet Probability" in df:
        out["src_peptideprophet_probability"] = df["PeptideProphet Probability"].to_numpy(dtype="float64")
    if "Modified Peptide" in df:
        out["src_modified_peptide"] = df["Modified Peptide"].astype(str).to_numpy(dtype=object)
    return T.finish(out, level="psm", fmt="fragpipe_psm", path=path)


def read_msstats(path: str | os.PathLike, *, keep_contaminants: bool = False, **options) -> QuantTable:
    """MSstats input table (FragPipe ``MSstats.csv``, quantms/OpenMS ``*_msstats_in.csv``) → precursor-level
    QuantTable. Entity = ``PeptideSequence`` + ``PrecursorCharge``; fragment rows of one precursor are summed
    (linear); only the light label (``IsotopeLabelType`` L) is kept; run = ``Run`` verbatim;
    ``Condition``/``BioReplicate`` kept as ``src_condition``/``src_bioreplicate``."""
    T.check_options(path, options)
    src = T.open_source(path)
    need = ["ProteinName", "PeptideSequence", "PrecursorCharge", "Run", "Intensity"]
    T.require(src, need)
    opt = [c for c in ("IsotopeLabelType", "Condition", "BioReplicate") if c in src.columns]
    df = T.read_frame(src, need + opt, numeric=["PrecursorCharge", "Intensity"], nonneg=["Intensity"],
                      integer=["PrecursorCharge"])
    if "IsotopeLabelType" in df:
        lab = df["IsotopeLabelType"].astype(str).str.strip().str.upper()
        df = df.loc[(lab == "L") | (lab == "")].reset_index(drop=True)
    contam, decoy = _flags(df["ProteinName"])
    keep = (df["ProteinName"].astype(str).str.strip() != "").to_numpy().copy()
    if not keep_contaminants:
        keep &= ~(contam | decoy)
    df = df.loc[keep].reset_index(drop=True)
    z = df["PrecursorCharge"].to_numpy(dtype="float64")
    df["__e"] = df["PeptideSequence"].astype(str) + T.int_str(pd.Series(z)).to_numpy()
    df["__c"], df["__d"] = contam[keep], decoy[keep]
    keys = ["Run", "__e", "ProteinName"]
    g = df.groupby(keys, sort=False, dropna=False)
    agg = g.agg(**{"intensity": ("Intensity", "sum"), "__c": ("__c", "first"),
                   "__d": ("__d", "first"), "seq": ("PeptideSequence", "first"), "z": ("PrecursorCharge", "first"),
                   **({"cond": ("Condition", "first")} if "Condition" in df else {}),
                   **({"rep": ("BioReplicate", "first")} if "BioReplicate" in df else {})}).reset_index()
    out = pd.DataFrame({"run": agg["Run"].astype(str), "entity_id": agg["__e"], "protein_group": agg["ProteinName"],
                        "intensity": agg["intensity"].to_numpy(dtype="float64"), "sequence": agg["seq"],
                        "charge": pd.array(agg["z"].to_numpy(dtype="float64"), dtype="Float64").astype("Int64"),
                        "contaminant": agg["__c"].to_numpy(dtype=bool), "decoy": agg["__d"].to_numpy(dtype=bool)})
    if "cond" in agg:
        out["src_condition"] = agg["cond"].astype(str)
    if "rep" in agg:
        out["src_bioreplicate"] = agg["rep"].astype(str)
    return T.finish(out, level="precursor", fmt="msstats", path=path)
