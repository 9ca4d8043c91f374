"""Per-specimen proteins of the simulated cohort: peptide library, abundance, true effects (see the package
docstring for the model)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .catalogue import ACUTE_PHASE, N_GENERIC, OFFSET_LOG10, TIER_LOG10

__all__ = ["library", "specimen_proteins"]

_AA = np.array(list("ACDEFGHIKLMNPQRSTVWY"))
_AA_FREQ = np.array([8.3, 1.4, 5.5, 6.8, 3.9, 7.1, 2.3, 5.9, 0.1, 9.7, 2.4, 4.1, 4.7, 3.9, 0.1, 6.6, 5.4,
                     6.9, 1.1, 2.9])  # K and R only at the C terminus (tryptic)


def _peptides(rng: np.random.Generator, n: int, taken: set) -> list[str]:
    """``n`` random tryptic-like sequences (6–28 residues then K/R) not already in ``taken``."""
    out: list[str] = []
    p = _AA_FREQ / _AA_FREQ.sum()
    while len(out) < n:
        lengths = np.clip(rng.gamma(5.0, 2.4, n), 6, 28).astype(int)
        body = _AA[rng.choice(_AA.size, size=(n, 28), p=p)]
        ends = np.where(rng.random(n) < 0.55, "K", "R")
        for row, length, end in zip(body, lengths, ends, strict=True):
            seq = "".join(row[:length]) + end
            if seq not in taken and len(out) < n:
                taken.add(seq)
                out.append(seq)
    return out


def library(rng: np.random.Generator, groups: list[str], max_prec: int = 30) -> dict:
    """Per protein group: up to ``max_prec`` precursors (sequence, modified sequence, charge, response)."""
    taken: set = set()
    lib = {}
    for g in groups:
        seqs = _peptides(rng, max_prec, taken)
        mods = []
        for s in seqs:
            m = s.replace("C", "C(UniMod:4)")
            if "M" in s and rng.random() < 0.15:  # oxidised first methionine
                m = m.replace("M", "M(UniMod:35)", 1)
            mods.append(m)
        charge = rng.choice([2, 3, 4], size=max_prec, p=[0.65, 0.3, 0.05])
        lib[g] = (seqs, mods, charge, rng.normal(0.0, 1.0, max_prec), rng.uniform(3, 115, max_prec))
    return lib


def specimen_proteins(rng: np.random.Generator, spec: str, cat: pd.DataFrame, generic: pd.DataFrame,
                       fraction_changed: float, extra_proteins: int = 0) -> pd.DataFrame:
    """One row per protein of ``spec``: log10 abundance, between-patient SD (log2), true cancer log2 fold change,
    covariate effects (log2), batch shift and number of precursors (see the package docstring)."""
    real = cat[cat[spec] != "-"]
    n_gen = N_GENERIC[spec] + extra_proteins
    prot = pd.concat([real[["protein_group", "gene", "entry", "panel"]], generic.iloc[:n_gen]], ignore_index=True)
    tiers = list(real[spec]) + list(generic["tier"].iloc[:n_gen])
    log10 = np.array([TIER_LOG10[t] for t in tiers]) + OFFSET_LOG10[spec]
    log10 += np.where(np.array(tiers) == "S", 0.0, rng.normal(0, 0.25, len(tiers)))
    prot["log10_abundance"] = np.round(log10, 3)
    sd = np.clip(np.exp(rng.normal(np.log(0.6), 0.35, len(prot))), 0.2, 1.5)
    sd[prot["gene"].isin(ACUTE_PHASE).to_numpy()] = 1.0
    sd[prot["gene"].str.startswith(("IGH", "IGK", "JCHAIN")).to_numpy()] = 0.5
    panel = prot["panel"].to_numpy()
    ref = panel == "ref"
    if ref.sum() < 8:
        pool = np.flatnonzero((panel == "-") & (log10 > 7.5 + OFFSET_LOG10[spec]))
        ref[rng.choice(pool, 8 - ref.sum(), replace=False)] = True
    sd[ref] = 0.1
    prot["sd_bio"] = np.round(sd, 3)
    prot["reference"] = ref
    contam = np.isin(panel, ["ery", "plt", "coag"])
    eligible = ~ref & ~contam
    n_changed = round(fraction_changed * len(prot))
    marker = np.flatnonzero(eligible & (panel == "mk"))
    marker = rng.permutation(marker)[: int(0.6 * n_changed)]
    rest = np.setdiff1d(np.flatnonzero(eligible), marker)
    changed = np.concatenate([marker, rng.choice(rest, n_changed - marker.size, replace=False)])
    fc = np.zeros(len(prot))
    sign = np.where(rng.random(changed.size) < np.where(panel[changed] == "mk", 0.8, 0.5), 1.0, -1.0)
    fc[changed] = np.round(sign * rng.uniform(0.5, 1.5, changed.size), 3)
    prot["true_log2fc"] = fc
    prot["changed"] = fc != 0
    free = rng.permutation(np.flatnonzero(eligible & (fc == 0)))
    for name, n, lo, hi in (("age_effect_per_decade", 4, 0.15, 0.35), ("sex_effect_female", 3, 0.4, 0.8),
                            ("smoking_effect_per_10py", 4, 0.15, 0.35)):
        eff = np.zeros(len(prot))
        idx, free = free[:n], free[n:]
        eff[idx] = np.round(rng.choice([-1.0, 1.0], n) * rng.uniform(lo, hi, n), 3)
        prot[name] = eff
    prot["batch_delta"] = rng.normal(0, 0.3, len(prot))
    prot["free"] = False
    prot.loc[free, "free"] = True
    n_prec = np.exp(rng.normal(0.75 + 0.33 * (log10 - OFFSET_LOG10[spec] - 6.5), 0.6))
    prot["n_precursors"] = np.clip(np.round(n_prec), 1, 30).astype(int)
    return prot
