"""mzTab 1.0 reader (PSI standard; parsed with ``pyteomics.mztab``).

Sections (option ``section``):

- ``protein``: PRT rows with ``protein_abundance_assay[n]`` (preferred) or
  ``protein_abundance_study_variable[n]`` columns → level ``protein``, one run per assay / study variable,
  ``intensity`` = the abundance as written (linear), ``protein_group`` = ``accession`` verbatim (plus
  ``ambiguity_members`` in ``src_ambiguity_members``). Run names: an assay's ``assay[n]-ms_run_ref`` →
  the stem of ``ms_run[k]-location``; a study variable's ``study_variable[n]-description``; else
  ``assay[n]`` / ``study_variable[n]``.
- ``peptide``: PEP rows with ``peptide_abundance_*`` columns → level ``peptide``
  (``entity_id`` = sequence + modifications + charge).
- ``psm``: PSM rows → spectral counts per protein group per run (see :mod:`._psm`): the run is the stem of
  the ``ms_run`` named in ``spectra_ref``; the score is ``search_engine_score[score]`` (default 1; whether
  higher is better follows its name in ``psm_search_engine_score[n]``: e-values, PEP, q- and p-values sort
  low); decoys come from an ``opt_*_decoy_peptide`` column or the accession prefix.
- ``auto`` (default): protein abundances if present, else peptide abundances, else the PSM section.

Options: ``section``, ``abundance`` (``auto``/``assay``/``study_variable``), ``fdr`` (0.01), ``score`` (index),
``level`` (``protein`` or ``psm``, PSM section only), ``decoy_prefixes``.
"""

from __future__ import annotations

import io
import re

import numpy as np
import pandas as pd

from ..contaminants import contaminant_mask
from ..errors import InputError
from ..samples.runs import run_stem
from . import _psm
from ._psm import read_text
from ._values import check_fdr, check_options, finish
from .base import Peek
from .table import QuantTable

__all__ = ["read_mztab", "sniff_mztab"]

_PREFIX_HEADER = {"PRT": "PRH", "PEP": "PEH", "PSM": "PSH", "SML": "SMH", "SMF": "SFH", "SME": "SEH"}
_KNOWN = {"MTD", "COM", *_PREFIX_HEADER, *_PREFIX_HEADER.values()}
_MSRUN = re.compile(r"ms_run\[(\d+)\]")
_LOW_IS_GOOD = re.compile(r"e-?value|expect|\bpep\b|:pep|posterior|q-?value|\bfdr|p-?value", re.IGNORECASE)
_NULLS = {"", "null", "nan", "na", "none"}


def sniff_mztab(p: Peek) -> float:
    """1.0 when the file starts with mzTab metadata (``MTD`` lines with an ``mzTab-version``)."""
    lines = [ln for ln in p.lines if ln.strip()]
    if lines and lines[0].lstrip("\ufeff").startswith(("MTD\t", "COM\t")) and "mzTab-" in p.text[:4096]:
        return 1.0
    return 0.0


def read_mztab(path, *, section: str = "auto", abundance: str = "auto", fdr: float = 0.01, score: int = 1,
               level: str = "protein", decoy_prefixes=_psm.DECOY_PREFIXES, keep_contaminants: bool = False,
               **options) -> QuantTable:
    """Read an mzTab 1.0 file (optionally gzipped) into a QuantTable (see module docstring).

    Intensities are linear as written in the file (abundances) or PSM counts (PSM section).
    """
    from pyteomics import mztab

    if section not in ("auto", "protein", "peptide", "psm"):
        raise InputError(f"unknown mzTab section {section!r}", path=path,
                         hint="use section='auto', 'protein', 'peptide' or 'psm'")
    check_options(path, options)
    fdr = check_fdr(path, fdr)
    text = read_text(path)
    counts = _validate(text, path)
    with _psm.warnings_to_log(path):
        try:
            tab = mztab.MzTab(io.StringIO(text), table_format="df")
        except Exception as exc:  # pyteomics raises many types on odd content; all are the user's file
            raise InputError(f"cannot parse mzTab ({type(exc).__name__}: {exc})", path=path,
                             hint="check the file is a complete mzTab 1.0 export") from None
    md = tab.metadata
    if section in ("auto", "protein"):
        got = _abundance_table(tab.protein_table, "protein", md, abundance, path, decoy_prefixes,
                               keep_contaminants)
        if got is not None or section == "protein":
            if got is None:
                raise InputError("the protein section has no protein_abundance_assay[n] or "
                                 "protein_abundance_study_variable[n] values", path=path,
                                 hint="use section='psm' for spectral counts, or export abundances")
            return got
    if section in ("auto", "peptide"):
        got = _abundance_table(tab.peptide_table, "peptide", md, abundance, path, decoy_prefixes,
                               keep_contaminants)
        if got is not None or section == "peptide":
            if got is None:
                raise InputError("the peptide section has no peptide_abundance_* values", path=path,
                                 hint="use section='psm' for spectral counts")
            return got
    if not counts.get("PSM"):
        raise InputError("mzTab file has no abundance columns and no PSM rows", path=path,
                         hint="export protein/peptide abundances or the PSM section")
    return _psm_table(tab, md, path, fdr=fdr, score=score, level=level, decoy_prefixes=decoy_prefixes,
                      keep_contaminants=keep_contaminants)


def _validate(text: str, path) -> dict[str, int]:
    """Line-level checks with line numbers: known prefixes, a header before rows, field counts."""
    headers: dict[str, int] = {}
    counts: dict[str, int] = {}
    saw_mtd = False
    for no, raw in enumerate(text.splitlines(), start=1):
        line = raw.rstrip("\r\n")
        if not line.strip():
            continue
        fields = line.lstrip("\ufeff").split("\t")
        tag = fields[0]
        if tag not in _KNOWN:
            raise InputError(f"unknown mzTab line prefix {tag[:20]!r}", path=path, line=no,
                             hint="every mzTab line starts with MTD, COM, PRH/PRT, PEH/PEP or PSH/PSM")
        if tag == "MTD":
            saw_mtd = True
            if len(fields) < 3:
                raise InputError("MTD line without a value", path=path, line=no, hint="write 'MTD<TAB>key<TAB>value'")
        elif tag in _PREFIX_HEADER.values():
            seen: set[str] = set()
            for name in fields[1:]:
                if name in seen:
                    raise InputError(f"duplicated column {name!r} in the {tag} header", path=path, line=no,
                                     column=name, hint="each column name may appear once")
                seen.add(name)
            headers[tag] = len(fields)
        elif tag in _PREFIX_HEADER:
            h = _PREFIX_HEADER[tag]
            if h not in headers:
                raise InputError(f"{tag} row before its {h} header line", path=path, line=no,
                                 hint=f"add the {h} header line above the {tag} rows")
            if len(fields) != headers[h]:
                raise InputError(f"{tag} row has {len(fields)} fields but the {h} header has {headers[h]}",
                                 path=path, line=no, hint="the file may be truncated or a field holds a tab")
            counts[tag] = counts.get(tag, 0) + 1
    if not saw_mtd:
        raise InputError("no MTD metadata lines: not an mzTab file", path=path, line=1,
                         hint="give an mzTab 1.0 file (MTD mzTab-version 1.0.0)")
    return counts


def _run_location_stem(md: dict, k: str | int) -> str | None:
    loc = md.get(f"ms_run[{k}]-location")
    return run_stem(loc) if loc else None


def _abundance_table(table, kind: str, md: dict, abundance: str, path, decoy_prefixes=_psm.DECOY_PREFIXES,
                     keep_contaminants: bool = False) -> QuantTable | None:
    """Protein or peptide abundances → QuantTable, or None when the section has no abundance values.
    Decoy rows (``opt_*_decoy_peptide`` = 1 or a decoy accession prefix) are dropped; contaminant rows
    (``CON__``, ``contam_`` …) too unless ``keep_contaminants`` (then flagged)."""
    if table is None or len(table) == 0:
        return None
    df = table.reset_index() if kind == "protein" and "accession" not in table.columns else table
    if "accession" in df.columns:
        acc = df["accession"].astype(str)
        decoy = acc.str.startswith(tuple(decoy_prefixes)).to_numpy(dtype=bool, copy=True)
        dcols = [c for c in df.columns if str(c).startswith("opt_") and str(c).endswith("decoy_peptide")]
        if dcols:
            decoy = decoy | (pd.to_numeric(df[dcols[0]], errors="coerce").fillna(0) > 0).to_numpy()
        contam = contaminant_mask(acc)
        df = df[~decoy] if keep_contaminants else df[~decoy & ~contam]
        if df.empty:
            return None
    cols = {}
    for mode in (("assay", "study_variable") if abundance == "auto" else (abundance,)):
        pat = re.compile(rf"^{kind}_abundance_{mode}\[(\d+)\]$")
        found = {int(m.group(1)): c for c in df.columns if (m := pat.match(str(c)))}
        if found:
            cols = {_abundance_run_name(md, mode, n): c for n, c in sorted(found.items())}
            break
    if not cols:
        return None
    values = {}
    for run, col in cols.items():
        values[run] = _numeric(df[col], path, col)
    wide = pd.DataFrame(values)
    if not np.isfinite(wide.to_numpy(dtype=float)).any():
        return None
    if kind == "protein":
        entity = df["accession"].astype(str)
        group = entity
        extra = {"src_ambiguity_members": df["ambiguity_members"].astype(str)} if "ambiguity_members" in df else {}
        seq = charge = None
    else:
        if "accession" not in df or "sequence" not in df:
            raise InputError("peptide section lacks 'sequence' or 'accession'", path=path, column="accession",
                             hint="export the PEP section with its mandatory columns")
        group = df["accession"].astype(str)
        seq = df["sequence"].astype(str)
        mods = df["modifications"].astype(str) if "modifications" in df else pd.Series("", index=df.index)
        charge = pd.to_numeric(df["charge"], errors="coerce") if "charge" in df else pd.Series(np.nan, index=df.index)
        entity = seq + "|" + mods.where(~mods.str.lower().isin(_NULLS), "") + "|" + charge.astype(str)
        extra = {}
    parts = []
    for run in wide.columns:
        part = pd.DataFrame({"run": run, "level": kind, "entity_id": entity.to_numpy(),
                             "protein_group": group.to_numpy(), "intensity": wide[run].to_numpy(dtype=float)})
        if seq is not None:
            part["sequence"] = seq.to_numpy()
            part["charge"] = charge.to_numpy(dtype=float)
        for k, v in extra.items():
            part[k] = v.to_numpy()
        parts.append(part)
    out = pd.concat(parts, ignore_index=True)
    out.loc[out["intensity"] == 0, "intensity"] = np.nan  # zero = not quantified
    if keep_contaminants:
        out["contaminant"] = contaminant_mask(out["protein_group"])
    return finish(out, level=kind, fmt="mztab", path=path,
                  meta={"section": kind, "abundance_columns": list(cols.values())})


def _abundance_run_name(md: dict, mode: str, n: int) -> str:
    if mode == "assay":
        ref = md.get(f"assay[{n}]-ms_run_ref")
        if ref:
            m = _MSRUN.search(str(ref))
            stem = _run_location_stem(md, m.group(1)) if m else None
            if stem:
                return stem
        return f"assay[{n}]"
    desc = md.get(f"study_variable[{n}]-description")
    return str(desc).strip() if desc not in (None, "") and str(desc).lower() != "null" else f"study_variable[{n}]"


def _numeric(col: pd.Series, path, name: str) -> pd.Series:
    s = col.astype(object).where(col.notna(), None)
    txt = s.map(lambda v: "" if v is None else str(v).strip())
    nul = txt.str.lower().isin(_NULLS)
    num = pd.to_numeric(txt.where(~nul, None), errors="coerce")
    bad = num.isna() & ~nul
    if bad.any():
        first = txt[bad].iloc[0]
        raise InputError(f"non-numeric value {first[:30]!r} in {name}", path=path, column=name,
                         hint="abundances must be numbers or null")
    return num.astype(float)


def _psm_table(tab, md: dict, path, *, fdr, score, level, decoy_prefixes, keep_contaminants) -> QuantTable:
    s = tab.spectrum_match_table
    s = s.reset_index() if "PSM_ID" not in s.columns else s
    for need in ("sequence", "accession", "spectra_ref"):
        if need not in s.columns:
            raise InputError(f"PSM section lacks the mandatory column {need!r}", path=path, column=need,
                             hint="export the PSM section with its mandatory columns")
    ref = s["spectra_ref"].astype(str)
    k = ref.str.extract(_MSRUN, expand=False)
    runs = k.map(lambda x: _run_location_stem(md, x) if isinstance(x, str) else None)
    runs = runs.fillna(k.map(lambda x: f"ms_run[{x}]" if isinstance(x, str) else "run"))
    score_col = f"search_engine_score[{score}]"
    score_name = md.get(f"psm_search_engine_score[{score}]")  # e.g. ('Andromeda:score', '') from pyteomics
    score_name = score_name[0] if isinstance(score_name, tuple) else score_name
    score_name = str(score_name) if score_name else score_col
    higher = not _LOW_IS_GOOD.search(score_name)
    if score_col in s.columns:
        sc = _numeric(s[score_col], path, score_col)
    else:
        sc = pd.Series(np.nan, index=s.index)
    dcols = [c for c in s.columns if str(c).startswith("opt_") and str(c).endswith("decoy_peptide")]
    decoy = (pd.to_numeric(s[dcols[0]], errors="coerce").fillna(0) > 0) if dcols else pd.Series(False, index=s.index)
    psm_id = s["PSM_ID"].astype(str) if "PSM_ID" in s.columns else ref
    acc = s["accession"].astype(object).where(s["accession"].notna(), None)
    acc = acc.map(lambda v: None if v is None or str(v).strip().lower() in _NULLS else str(v).strip())
    psms = pd.DataFrame({
        "run": runs.to_numpy(), "psm": psm_id.to_numpy(), "sequence": s["sequence"].astype(str).to_numpy(),
        "charge": pd.to_numeric(s["charge"], errors="coerce").to_numpy() if "charge" in s else np.nan,
        "accession": acc.to_numpy(), "score": sc.to_numpy(dtype=float), "decoy": decoy.to_numpy(dtype=bool),
        "passed": np.nan})
    return _psm.psms_to_quant(psms, path=path, fmt="mztab", fdr=fdr, higher_better=higher, score_name=score_name,
                              decoy_prefixes=decoy_prefixes, level=level, keep_contaminants=keep_contaminants,
                              meta={"section": "psm"})
