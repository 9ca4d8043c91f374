"""Mixed-species benchmark (not collected by pytest): ProteoBench HYE subsets in ../shared/data/proteobench_hye.

    python -m tests.stats.bench_hye     (from the repository root)

Ground truth (SOURCES.md): A/B ratio human 1, yeast 2, E. coli 0.25. A protein is a true change when it is
yeast or E. coli, a false discovery when human. Roll-up (test-local, simple on purpose): precursor log2
intensity, per-run median normalisation, protein = median of mean-centred precursors + mean precursor level;
count for the DEqMS prior = minimum number of observed precursors over runs + 1. Prints true positives and
the false discovery proportion among calls at q < 0.01 and q < 0.05 for current limma, limma 3.54 (legacy),
DEqMS-style counts and Welch.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from proteomics.dataset import Dataset
from proteomics.stats.limma import moderated_t
from proteomics.stats.tests import welch_t
from tests.conftest import SHARED_DATA

D = SHARED_DATA / "proteobench_hye"


def alphapept():
    d = pd.read_csv(D / "AlphaPept_subset.csv")
    d = d[~d["decoy"]]
    d["prec"] = d["sequence"] + "/" + d["charge"].astype(str)
    return d.rename(columns={"shortname": "run", "ms1_int_sum_apex_dn": "intensity"})


def maxdia():
    d = pd.read_csv(D / "MaxDIA_sample_test.txt", sep="\t", low_memory=False)
    d["prec"] = d["Modified sequence"] + "/" + d["Charge"].astype(str)
    return d.rename(columns={"Raw file": "run", "Proteins": "protein", "Intensity": "intensity"})


def protein_matrix(d):
    d = d[(d["intensity"] > 0) & d["protein"].notna() & ~d["protein"].astype(str).str.contains(";")]
    d = d.groupby(["protein", "prec", "run"], as_index=False)["intensity"].max()
    d["l"] = np.log2(d["intensity"])
    P = d.pivot_table(index=["protein", "prec"], columns="run", values="l")
    P = P - P.median() + P.median().mean()
    centred = P.sub(P.mean(axis=1), axis=0)
    prot = centred.groupby(level=0).median().add(P.mean(axis=1).groupby(level=0).mean(), axis=0)
    counts = P.notna().groupby(level=0).sum().min(axis=1) + 1
    return prot, counts


def species(p):
    return next((s for s in ("HUMAN", "YEAST", "ECOLI") if s in p), "other")


def main():
    logging.basicConfig(level=logging.ERROR)
    for name, load in (("AlphaPept DDA", alphapept), ("MaxDIA AIF", maxdia)):
        prot, counts = protein_matrix(load())
        sp = np.array([species(p) for p in prot.index])
        keep = sp != "other"
        prot, counts, sp = prot[keep], counts[keep], sp[keep]
        s = pd.DataFrame({"condition": ["A" if "Condition_A" in r else "B" for r in prot.columns]},
                         index=prot.columns)
        ds = Dataset(prot.T.to_numpy(dtype=float), s, pd.DataFrame(index=prot.index))
        kinds, n_kind = np.unique(sp, return_counts=True)
        listing = ", ".join(f"{k} {v}" for k, v in zip(kinds, n_kind, strict=True))
        print(f"{name}: {ds.n_proteins} proteins ({listing}), {np.isnan(ds.X).mean():.0%} missing")
        methods = {"limma (current)": moderated_t(ds, "A-B"), "limma 3.54 (legacy)": moderated_t(ds, "A-B", legacy=True),
                   "DEqMS-style counts": moderated_t(ds, "A-B", weights_counts=counts.to_numpy(dtype=float)),
                   "Welch t": welch_t(ds, "A-B")}
        for thr in (0.01, 0.05):
            for label, res in methods.items():
                call = res.table["q_value"].to_numpy() < thr
                tp, fp = int((call & (sp != "HUMAN")).sum()), int((call & (sp == "HUMAN")).sum())
                print(f"  q<{thr:<5} {label:20s} true changes {tp:4d}  human calls {fp:3d}  FDP {fp / max(tp + fp, 1):.3f}")


if __name__ == "__main__":
    main()
