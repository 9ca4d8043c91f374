"""Specimen-aware contamination indices and notes.

Plasma/serum: erythrocyte, platelet and coagulation indices from the marker panels of Geyer et al. 2019
(EMBO Mol Med 11:e10427), shipped in ``proteomics/qc/data/specimen_markers.csv`` with their source.
The index of a panel for a sample is the median, over the panel markers quantified in that sample, of the marker's
log2 deviation from its median over the study's plasma/serum samples (so a missing marker does not move the
index), minus the same median over all its proteins (the sample's loading: a sample loaded 5 log2 low is not
thereby free of haemolysis, nor a well-loaded one contaminated); ``<panel>_share`` is the log2 share of the sample's total linear intensity carried by the quantified
markers (the paper's panel-to-total ratio), given for information. Flags: robust z across the plasma/serum samples of the study above ``z_threshold`` (erythrocyte, platelet:
more marker signal) or below −``z_threshold`` (coagulation: fibrinogen consumed by clotting).
BAL and sputum get notes (dilution; DTT-sensitive proteins), not indices.
"""

from __future__ import annotations

import io
from importlib import resources

import numpy as np
import pandas as pd

from ..dataset import Dataset
from ..errors import InputError
from .metrics import robust_z

__all__ = ["load_markers", "contamination_qc", "specimen_notes", "haemolysis_check", "BLOOD_PANELS", "MARKER_SOURCE",
           "HAEMOLYSIS_MIN_SAMPLES"]

BLOOD_PANELS = ("erythrocyte", "platelet", "coagulation")
MARKER_SOURCE = ("Geyer PE et al. (2019) Plasma Proteome Profiling to detect and avoid sample-related biases in "
                 "biomarker studies. EMBO Mol Med 11:e10427. doi:10.15252/emmm.201910427")
_BLOOD = {"plasma", "serum"}
#: fewest plasma/serum samples a batch needs before one sample's erythrocyte index is judged against the others
HAEMOLYSIS_MIN_SAMPLES = 5


def load_markers() -> pd.DataFrame:
    """The shipped marker table: columns ``panel, gene, direction, role`` (comment lines start with '#')."""
    text = resources.files("proteomics.qc").joinpath("data/specimen_markers.csv").read_text(encoding="utf-8")
    return pd.read_csv(io.StringIO(text), comment="#", dtype=str)


def _gene_sets(ds: Dataset) -> list[set[str]]:
    """Upper-case gene symbols of each protein group (``gene`` column split on ';', else UniProt entry names)."""
    prot = ds.proteins
    genes = prot["gene"] if "gene" in prot.columns else pd.Series([None] * ds.n_proteins, index=prot.index)
    out = []
    for pg, g in zip(ds.protein_ids, genes, strict=True):
        if isinstance(g, str) and g.strip():
            out.append({x.strip().upper() for x in g.split(";") if x.strip()})
        else:  # sp|P69905|HBA_HUMAN → HBA (entry names are not always gene symbols)
            names = set()
            for m in str(pg).split(";"):
                last = m.split("|")[-1]
                if "_" in last:
                    names.add(last.rsplit("_", 1)[0].upper())
            out.append(names)
    return out


def _median_deviation(M: np.ndarray) -> np.ndarray:
    """Per sample: median over its quantified columns of (x − column median over samples); NaN if none."""
    out = np.full(M.shape[0], np.nan)
    if M.shape[1] == 0:
        return out
    ok = np.isfinite(M)
    has = ok.any(axis=0)
    med = np.full(M.shape[1], np.nan)
    med[has] = np.nanmedian(M[:, has], axis=0)
    D = M - med[None, :]
    rows = ok.any(axis=1)
    out[rows] = np.nanmedian(D[rows], axis=1)
    return out


def specimen_notes(specimen: str | None) -> list[str]:
    """Plain-language QC notes for a specimen type (BAL dilution, sputum DTT; blood panel source)."""
    s = (specimen or "").strip().lower()
    if s in _BLOOD:
        return ["Contamination indices use the erythrocyte, platelet and coagulation marker panels of " + MARKER_SOURCE
                + "; a flagged sample may carry marker proteins from sample handling, not biology."]
    if s == "bal":
        return ["BAL recovers epithelial lining fluid at a variable, unknown dilution: compare samples after a "
                "within-sample normalisation (total intensity or reference proteins, e.g. normalize_total or "
                "normalize_reference); albumin (ALB) mostly reflects plasma leakage and dilution, surfactant "
                "(SFTPB) and club-cell secretoglobin (SCGB1A1) the airway/alveolar compartment."]
    if s == "sputum":
        return ["Sputum processed with dithiothreitol (DTT): DTT reduces disulfide bonds, so mucins (MUC5AC, MUC5B) "
                "and disulfide-rich secreted proteins (e.g. SCGB1A1) are recovered and digested differently from "
                "untreated samples; do not compare them across protocols and keep the DTT protocol constant."]
    return []


def contamination_qc(ds: Dataset, specimen: str | None = None, *, z_threshold: float = 3.0) -> pd.DataFrame:
    """Blood contamination indices per plasma/serum sample (empty DataFrame when there is none).

    ``specimen`` applies to every sample; when None, ``ds.samples['specimen']`` is used per sample.
    Columns: ``sample, specimen``, then per panel ``<panel>_index`` (median log2 deviation of the markers from
    their study medians, less the sample's median deviation over all proteins; NaN when no marker is quantified), ``<panel>_share`` (log2 share of total intensity),
    ``<panel>_n_markers`` (int), ``<panel>_z`` (robust z of the index) and ``<panel>_flag``, and
    ``contamination_flag`` (any panel flagged).
    """
    if not isinstance(ds, Dataset):
        raise InputError("contamination_qc needs a Dataset")
    if specimen is not None:
        spec = np.array([str(specimen).lower()] * ds.n_samples, dtype=object)
    elif "specimen" in ds.samples.columns:
        spec = ds.samples["specimen"].astype(str).str.lower().to_numpy()
    else:
        return pd.DataFrame()
    blood = np.isin(spec, list(_BLOOD))
    if not blood.any():
        return pd.DataFrame()
    sub = ds.subset(samples=np.flatnonzero(blood))
    X = np.asarray(sub.X, dtype=float)
    lin = np.where(np.isfinite(X), np.exp2(X), 0.0)
    total = lin.sum(axis=1)
    genes = _gene_sets(sub)
    markers = load_markers()
    loading = _median_deviation(X)  # log2, per sample: how much more or less was measured overall
    out = pd.DataFrame({"sample": sub.sample_ids, "specimen": spec[blood]})
    flags = []
    for panel in BLOOD_PANELS:
        m = markers[(markers["panel"] == panel) & (markers["role"] == "index")]
        wanted = set(m["gene"].str.upper())
        direction = m["direction"].iloc[0] if len(m) else "up"
        cols = np.array([bool(g & wanted) for g in genes], dtype=bool)
        share = lin[:, cols].sum(axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            share = np.where((share > 0) & (total > 0), np.log2(share / total), np.nan)
        idx = _median_deviation(X[:, cols]) - loading
        z = robust_z(idx) if np.isfinite(idx).sum() >= 3 else np.full(idx.shape, np.nan)
        flag = (z < -z_threshold) if direction == "down" else (z > z_threshold)
        out[f"{panel}_index"] = idx
        out[f"{panel}_share"] = share
        out[f"{panel}_n_markers"] = np.isfinite(X[:, cols]).sum(axis=1).astype(int)
        out[f"{panel}_z"] = z
        out[f"{panel}_flag"] = np.where(np.isfinite(z), flag, False)
        flags.append(f"{panel}_flag")
    out["contamination_flag"] = out[flags].any(axis=1)
    return out


def haemolysis_check(ds: Dataset, *, min_samples: int = HAEMOLYSIS_MIN_SAMPLES,
                     z_threshold: float = 3.0) -> pd.Series:
    """Per sample of ``ds`` (samples × proteins, log2, not normalised), whether its erythrocyte index
    (:func:`contamination_qc`) suggests haemolysis, judged against the other plasma/serum samples of ``ds`` (the
    only reference there is: nothing here is learned from a training cohort). Index: sample ids; values start with
    one of ``possible haemolysis`` (robust z of the index > ``z_threshold``), ``not flagged``, ``not checked``
    (fewer than ``min_samples`` plasma/serum samples, no erythrocyte marker quantified, specimen unknown) or
    ``not applicable`` (other specimens), followed by ``": "`` and the detail (z, unitless; sample count)."""
    ids = pd.Index(ds.sample_ids)
    if "specimen" not in ds.samples.columns:
        return pd.Series("not checked: the specimen of the samples is unknown", index=ids, dtype=object)
    spec = ds.samples["specimen"].astype(str).to_numpy()
    blood = ds.samples["specimen"].astype(str).str.lower().isin(_BLOOD).to_numpy()
    out = pd.Series([f"not applicable: {x} is not plasma or serum" for x in spec], index=ids, dtype=object)
    n = int(blood.sum())
    if n == 0:
        return out
    if n < min_samples:
        out[blood] = (f"not checked: {n} plasma/serum sample{'s' if n != 1 else ''} scored together; at least "
                      f"{min_samples} are needed to compare a sample's erythrocyte markers with the others")
        return out
    qc = contamination_qc(ds, z_threshold=z_threshold).set_index("sample")
    for sid in ids[blood]:
        z = float(qc.at[sid, "erythrocyte_z"])
        if not np.isfinite(z):  # NaN: no marker quantified; ±inf: the batch's indices do not vary (MAD 0)
            out[sid] = ("not checked: no erythrocyte marker protein was quantified" if np.isnan(z) else
                        "not checked: the erythrocyte index does not vary between the samples scored together")
            continue
        detail = (f"erythrocyte index z = {z:.1f} against the {n} plasma/serum samples scored together (flagged "
                  f"above {z_threshold:g})")
        out[sid] = ("possible haemolysis: " if bool(qc.at[sid, "erythrocyte_flag"]) else "not flagged: ") + detail
    return out
