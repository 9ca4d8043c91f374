"""From protein abundance to what the instrument records: the sample model (samples × proteins, log2) and the
precursor noise and missingness model (see the package docstring).

A further noise model goes here as another function with :func:`precursor_table`'s signature.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from .catalogue import MNAR_QUANTILE

__all__ = ["sample_abundance", "precursor_table"]


def sample_abundance(rng: np.random.Generator, spec: str, prot: pd.DataFrame, subj: pd.DataFrame,
               prog: pd.DataFrame, batch_effects: bool = True) -> pd.DataFrame:
    """samples × proteins complete log2 abundance (see the package docstring for the model)."""
    n, p = len(subj), len(prot)
    m = prot["log10_abundance"].to_numpy() * math.log2(10)
    cancer = (subj["condition"] == "cancer").to_numpy(float)
    A = m + prot["sd_bio"].to_numpy() * rng.standard_normal((n, p))
    A += np.outer(cancer, prot["true_log2fc"].to_numpy())
    A += np.outer((subj["age"].to_numpy(float) - 60) / 10, prot["age_effect_per_decade"].to_numpy())
    A += np.outer((subj["sex"] == "female").to_numpy(float), prot["sex_effect_female"].to_numpy())
    A += np.outer(subj["smoking"].to_numpy(float) / 10, prot["smoking_effect_per_10py"].to_numpy())
    panel = prot["panel"].to_numpy()
    levels = {"ery": rng.normal(0, 0.3, n), "plt": rng.normal(0, 0.4, n), "coag": rng.normal(0, 0.15, n)}
    if spec == "plasma":
        levels["ery"] = levels["ery"] + 4.5 * subj["hemolysed"].to_numpy(float)
        levels["coag"] = levels["coag"] - 2.0 * subj["clotted"].to_numpy(float)
        for name, lv in levels.items():
            cols = panel == name
            A[:, cols] += lv[:, None] * rng.uniform(0.8, 1.2, cols.sum())[None, :]
    pos = {g: j for j, g in enumerate(prot["protein_group"])}
    for row in prog[prog["specimen"] == spec].itertuples():
        members = (subj["subgroup"] == row.subgroup).to_numpy()
        A[members, pos[row.protein_group]] += row.effect
    batch = subj["batch"].to_numpy()
    delta = prot["batch_delta"].to_numpy()
    if batch_effects:
        A += np.where(batch == "1", -0.5, 0.5)[:, None] * delta[None, :] + np.where(batch == "2", 0.4, 0.0)[:, None]
    new_batch = batch == "3"
    if new_batch.any():
        A[new_batch] += rng.normal(0, 0.2, p)[None, :] - 0.2
    load = rng.normal(0, 0.3, n) + (subj["load"].to_numpy(float) if "load" in subj else 0.0)
    A += load[:, None]
    samples = [f"{s}_{spec}" for s in subj.index]
    return pd.DataFrame(A, index=pd.Index(samples, name="sample"), columns=prot["protein_group"].tolist())


def precursor_table(rng: np.random.Generator, spec: str, prot: pd.DataFrame, A: pd.DataFrame, runs: list[str],
                     lib: dict) -> pd.DataFrame:
    """Long table of every (run, precursor) with expected/observed log2 intensity, status and q-values."""
    reps = prot["n_precursors"].to_numpy()
    pidx = np.repeat(np.arange(len(prot)), reps)
    kidx = np.concatenate([np.arange(r) for r in reps])
    groups = prot["protein_group"].to_numpy()
    resp = np.array([lib[groups[j]][3][k] for j, k in zip(pidx, kidx, strict=True)])
    n_runs, n_prec = A.shape[0], pidx.size
    expected = A.to_numpy()[:, pidx] - np.log2(reps[pidx])[None, :] + resp[None, :]
    observed = expected + rng.normal(0, 0.2, expected.shape)
    threshold = np.quantile(expected, MNAR_QUANTILE[spec])
    from scipy.special import ndtr
    p_miss = ndtr((threshold - expected) / 0.9)
    missing = (rng.random(expected.shape) < p_miss) | (rng.random(expected.shape) < 0.03)
    near = missing & (expected > threshold - 2.0) & (rng.random(expected.shape) < 0.2)
    status = np.where(missing, np.where(near, "low_confidence", "missing"), "detected").astype(object)
    # protein groups identified by a single precursor in a run: sometimes above 1 % protein q-value
    detected = status == "detected"
    per_protein = np.zeros((n_runs, len(prot)), dtype=int)
    for r in range(n_runs):
        per_protein[r] = np.bincount(pidx, weights=detected[r], minlength=len(prot)).astype(int)
    weak_pg = (per_protein == 1) & (rng.random(per_protein.shape) < 0.1)
    weak_rows = weak_pg[:, pidx] & detected
    status[weak_rows] = "low_confidence"
    q = np.where(status == "detected", 10 ** -rng.uniform(2.05, 5.5, expected.shape),
                 rng.uniform(0.0105, 0.05, expected.shape))
    pg_q_protein = 10 ** -rng.uniform(2.1, 5.0, per_protein.shape)
    pg_q_protein[weak_pg] = rng.uniform(0.011, 0.04, int(weak_pg.sum()))
    pg_q = pg_q_protein[:, pidx]
    lowconf_only = (status == "low_confidence") & ~weak_rows
    pg_q = np.where(lowconf_only & (per_protein[:, pidx] == 0), np.maximum(pg_q, q), pg_q)
    seqs = [lib[groups[j]][0][k] for j, k in zip(pidx, kidx, strict=True)]
    mods = [lib[groups[j]][1][k] for j, k in zip(pidx, kidx, strict=True)]
    charge = np.array([lib[groups[j]][2][k] for j, k in zip(pidx, kidx, strict=True)])
    prec_id = [f"{m}{c}" for m, c in zip(mods, charge, strict=True)]
    return pd.DataFrame({
        "run": np.repeat(np.array(runs, dtype=object), n_prec),
        "sample": np.repeat(A.index.to_numpy(dtype=object), n_prec),
        "protein_group": np.tile(groups[pidx], n_runs),
        "precursor_id": np.tile(np.array(prec_id, dtype=object), n_runs),
        "modified_sequence": np.tile(np.array(mods, dtype=object), n_runs),
        "stripped_sequence": np.tile(np.array(seqs, dtype=object), n_runs),
        "charge": np.tile(charge, n_runs),
        "log2_expected": expected.ravel(), "log2_intensity": observed.ravel(), "status": status.ravel(),
        "q_value": q.ravel(), "pg_q_value": pg_q.ravel(),
    })
