"""The simulated MaxQuant ``proteinGroups.txt`` (from the same precursors as the DIA-NN report)."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd

from .cohort import Cohort
from .diann import diann_report_frame, tsv_bytes, uniform_from, write_file

__all__ = ["maxquant_protein_groups_frame", "write_maxquant_protein_groups"]


def sig5(x: np.ndarray) -> np.ndarray:
    """Round positive values to 5 significant digits (MaxQuant prints intensities like 158240000)."""
    x = np.asarray(x, float)
    with np.errstate(divide="ignore", invalid="ignore"):
        mag = np.where(x > 0, np.floor(np.log10(np.where(x > 0, x, 1.0))) - 4, 0)
    return np.where(x > 0, np.round(x / 10 ** mag) * 10 ** mag, 0.0)


def maxquant_protein_groups_frame(cohort: Cohort, specimen: str = "plasma", samples: list[str] | None = None,
                                  report: pd.DataFrame | None = None) -> pd.DataFrame:
    """MaxQuant-style proteinGroups table (linear intensities, 0 = not quantified) from the same precursors.

    Adds 5 CON__ (common contaminant) rows, 4 REV__ (decoy) rows and marks 2 groups 'Only identified by site'.
    """
    rep = diann_report_frame(cohort, specimen, samples) if report is None else report
    rep = rep[(rep["Q.Value"] <= 0.01) & (rep["PG.Q.Value"] <= 0.01)]
    runs = list(dict.fromkeys(rep["Run"]))
    prot = cohort.proteins[specimen].set_index("protein_group")
    groups = sorted(rep["Protein.Group"].unique())
    g = rep.groupby(["Protein.Group", "Run"])
    inten = g["Precursor.Quantity"].sum().unstack("Run").reindex(index=groups, columns=runs).fillna(0.0)
    npep = g["Stripped.Sequence"].nunique().unstack("Run").reindex(index=groups, columns=runs).fillna(0).astype(int)
    lfq = g["PG.MaxLFQ"].first().unstack("Run").reindex(index=groups, columns=runs).fillna(0.0)
    total_pep = rep.groupby("Protein.Group")["Stripped.Sequence"].nunique().reindex(groups).astype(int)
    lfq[total_pep < 2] = 0.0
    u = uniform_from(pd.Series(groups), 11, cohort.seed)
    length = np.round(np.exp(6.0 + 0.8 * u) + 50).astype(int)
    n_theor = np.maximum(3, np.round(length / 25)).astype(int)
    msms = np.round(npep.to_numpy() * (1 + uniform_from(pd.Series(groups), 12, cohort.seed)[:, None])).astype(int)
    ids = [";".join(g.split(";")) for g in groups]
    genes = prot["gene"].reindex(groups).to_numpy()
    site = np.zeros(len(groups), dtype=bool)
    site[[i for i, g in enumerate(groups) if g.startswith("SIM")][:2]] = True
    base = pd.DataFrame({"Protein IDs": ids, "Majority protein IDs": ids,
                         "Peptide counts (all)": total_pep.astype(str).to_numpy(),
                         "Peptide counts (razor+unique)": total_pep.astype(str).to_numpy(),
                         "Peptide counts (unique)": total_pep.astype(str).to_numpy(),
                         "Gene names": genes, "Fasta headers": "",
                         "Number of proteins": [len(g.split(";")) for g in groups],
                         "Peptides": total_pep.to_numpy(), "Razor + unique peptides": total_pep.to_numpy(),
                         "Unique peptides": total_pep.to_numpy()})
    I_ = sig5(inten.to_numpy())
    cov = np.round(np.minimum(95, 100 * total_pep.to_numpy() * 12 / length), 1)
    cols = {}
    for name, mat in (("Peptides", npep.to_numpy()), ("Razor + unique peptides", npep.to_numpy()),
                      ("Unique peptides", npep.to_numpy())):
        for j, r in enumerate(runs):
            cols[f"{name} {r}"] = mat[:, j]
    cols.update({"Sequence coverage [%]": cov, "Unique + razor sequence coverage [%]": cov,
                 "Unique sequence coverage [%]": cov, "Mol. weight [kDa]": np.round(length * 0.1105, 3),
                 "Sequence length": length, "Sequence lengths": length.astype(str), "Q-value": 0.0,
                 "Score": np.round(5 + 12.5 * total_pep.to_numpy() * (0.8 + 0.4 * u), 3),
                 "Intensity": sig5(I_.sum(axis=1))})
    for j, r in enumerate(runs):
        cols[f"Intensity {r}"] = I_[:, j]
    ibaq = sig5(I_ / n_theor[:, None])
    cols["iBAQ"] = sig5(ibaq.sum(axis=1))
    for j, r in enumerate(runs):
        cols[f"iBAQ {r}"] = ibaq[:, j]
    L_ = sig5(lfq.to_numpy())
    for j, r in enumerate(runs):
        cols[f"LFQ intensity {r}"] = L_[:, j]
    for j, r in enumerate(runs):
        cols[f"MS/MS count {r}"] = msms[:, j]
    cols["MS/MS count"] = msms.sum(axis=1)
    cols["Only identified by site"] = np.where(site, "+", "")
    cols["Reverse"] = ""
    cols["Potential contaminant"] = ""
    table = pd.concat([base, pd.DataFrame(cols)], axis=1)
    # contaminants and decoys
    extra = []
    rng = np.random.default_rng(cohort.seed + 17)
    for acc, kind in (("CON__P04264", "con"), ("CON__P35908", "con"), ("CON__P13645", "con"),
                      ("CON__P35527", "con"), ("CON__P00761", "con"), ("REV__P04114", "rev"),
                      ("REV__Q9Y490", "rev"), ("REV__P35579", "rev"), ("REV__P21333", "rev")):
        row = dict.fromkeys(table.columns, 0)
        npp = int(rng.integers(1, 6)) if kind == "con" else 1
        present = rng.random(len(runs)) < (0.6 if kind == "con" else 0.1)
        vals = sig5(np.where(present, 2 ** rng.normal(24 if kind == "con" else 19, 1.5, len(runs)), 0.0))
        row.update({"Protein IDs": acc, "Majority protein IDs": acc, "Peptide counts (all)": str(npp),
                    "Peptide counts (razor+unique)": str(npp), "Peptide counts (unique)": str(npp),
                    "Gene names": "", "Fasta headers": "", "Number of proteins": 1, "Peptides": npp,
                    "Razor + unique peptides": npp, "Unique peptides": npp, "Sequence coverage [%]": 5.0,
                    "Unique + razor sequence coverage [%]": 5.0, "Unique sequence coverage [%]": 5.0,
                    "Mol. weight [kDa]": 60.0, "Sequence length": 550, "Sequence lengths": "550",
                    "Q-value": 0.0 if kind == "con" else 0.0089, "Score": 20.0 if kind == "con" else 3.1,
                    "Intensity": sig5(np.array([vals.sum()]))[0], "iBAQ": sig5(np.array([vals.sum() / 20]))[0],
                    "MS/MS count": int(present.sum()), "Only identified by site": "",
                    "Reverse": "+" if kind == "rev" else "", "Potential contaminant": "+" if kind == "con" else ""})
        for j, r in enumerate(runs):
            for name in ("Peptides", "Razor + unique peptides", "Unique peptides"):
                row[f"{name} {r}"] = npp if present[j] else 0
            row[f"Intensity {r}"] = vals[j]
            row[f"iBAQ {r}"] = sig5(np.array([vals[j] / 20]))[0]
            row[f"LFQ intensity {r}"] = vals[j] if kind == "con" else 0.0
            row[f"MS/MS count {r}"] = int(present[j])
        extra.append(row)
    table = pd.concat([table, pd.DataFrame(extra, columns=table.columns)], ignore_index=True)
    table = table.sort_values("Protein IDs", kind="stable").reset_index(drop=True)
    table["id"] = np.arange(len(table))
    intcols = [c for c in table.columns if c.startswith(("Intensity", "LFQ intensity", "iBAQ"))]
    for c in intcols:
        table[c] = table[c].astype(float).round().astype("int64")
    return table


def write_maxquant_protein_groups(cohort: Cohort, path: str | os.PathLike, specimen: str = "plasma",
                                  samples: list[str] | None = None, report: pd.DataFrame | None = None) -> str:
    """Write :func:`maxquant_protein_groups_frame` as MaxQuant's tab-separated text; returns its sha256."""
    return write_file(path, tsv_bytes(maxquant_protein_groups_frame(cohort, specimen, samples, report), ".6g"))
