"""Precursor-level LFQ cohorts with known protein truth, for judging roll-ups (``quant`` accuracy benchmarks).

``simulate_lfq(n_runs, n_proteins, seed, noise=...)`` returns a :class:`LfqTruth`: a long precursor table
(``run, level, entity_id, protein_group, intensity``; linear, as a reader returns it) and ``truth``, the true
protein log2 abundance (proteins × runs). Two independent noise models:

``"gaussian"``
    precursor = protein truth + precursor response (normal, sd 1) + run effect (normal, sd 0.3) + Gaussian
    noise (sd 0.2); missing not at random (probit around the 20 % quantile of expected intensity, sd 0.9)
    plus 3 % at random. The shape of ``write_large_diann_report``.
``"heavy"``
    precursor noise Student t (3 degrees of freedom, scale 0.2); run-specific ionisation bias that depends on
    intensity (run offset plus a run slope × (intensity − 24), slopes sd 0.03); runs acquired in blocks of 20
    and 8 % of precursors lost for a whole block; a detection limit that drifts per run (sd 0.5); 2 % at
    random.

Protein truth: base level normal(24, 2.5); runs alternate between conditions A and B; 25 % of proteins
change between the conditions by ±0.5, ±1 or ±2 log2; biological variation normal(0, 0.2) per protein and
run. Precursors per protein: 1 + negative binomial (mean ≈ 4, heavy tail; a quarter of the proteins have one
precursor). Each run is drawn from its own seed, so any run subset of a cohort is the same data.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["LfqTruth", "simulate_lfq", "lfq_runs", "profile_errors", "NOISE_MODELS"]

NOISE_MODELS = ("gaussian", "heavy")
_BLOCK = 20


@dataclass(frozen=True)
class LfqTruth:
    """``data``: long precursor table (linear intensities, NaN-free: missing rows are absent);
    ``truth``: DataFrame proteins × runs of true log2 protein abundance; ``condition``: per run, A or B."""

    data: pd.DataFrame
    truth: pd.DataFrame
    condition: pd.Series


def _design(n_runs: int, n_proteins: int, seed: int, noise: str):
    if noise not in NOISE_MODELS:
        raise ValueError(f"noise must be one of {NOISE_MODELS}")
    rng = np.random.default_rng([seed, 0x1F0, NOISE_MODELS.index(noise)])
    k = 1 + rng.negative_binomial(1, 0.25, n_proteins)  # precursors per protein, mean ≈ 4, geometric tail
    prot_of = np.repeat(np.arange(n_proteins), k)
    n_prec = len(prot_of)
    level = rng.normal(24.0, 2.5, n_proteins)
    fc = np.where(rng.random(n_proteins) < 0.25, rng.choice([-2, -1, -0.5, 0.5, 1, 2], n_proteins), 0.0)
    resp = rng.normal(0.0, 1.0, n_prec)
    threshold = np.quantile(level[prot_of] + resp, 0.2)
    block_loss = rng.random((n_prec, (n_runs + _BLOCK - 1) // _BLOCK)) < 0.08 if noise == "heavy" else None
    names = np.char.mod("SIM%06d", np.arange(n_proteins)).astype(object)
    ent = np.char.add(np.char.add(names[prot_of].astype(str), "_"),
                      np.char.mod("%d", np.arange(n_prec) - np.repeat(np.cumsum(k) - k, k))).astype(object)
    return dict(prot_of=prot_of, level=level, fc=fc, resp=resp, threshold=threshold, block_loss=block_loss,
                names=names, ent=ent)


def _run(d: dict, r: int, seed: int, noise: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One run: (truth per protein log2, kept precursor positions, their linear intensities)."""
    from scipy.special import ndtr

    rr = np.random.default_rng([seed, 0x1F1, NOISE_MODELS.index(noise), r])
    n_p, prot_of = len(d["level"]), d["prot_of"]
    truth = d["level"] + (d["fc"] if r % 2 else 0.0) + rr.normal(0.0, 0.2, n_p)
    mu = truth[prot_of] + d["resp"]
    n = len(mu)
    if noise == "gaussian":
        x = mu + rr.normal(0.0, 0.3) + rr.normal(0.0, 0.2, n)
        keep = (rr.random(n) >= ndtr((d["threshold"] - x) / 0.9)) & (rr.random(n) >= 0.03)
    else:
        x = mu + rr.normal(0.0, 0.3) + rr.normal(0.0, 0.03) * (mu - 24.0) + 0.2 * rr.standard_t(3, n)
        thr = d["threshold"] + rr.normal(0.0, 0.5)
        keep = (rr.random(n) >= ndtr((thr - x) / 0.9)) & (rr.random(n) >= 0.02) & ~d["block_loss"][:, r // _BLOCK]
    pos = np.flatnonzero(keep)
    return truth, pos, 2.0 ** x[pos]


def lfq_runs(n_runs: int, n_proteins: int, seed: int = 0, noise: str = "gaussian",
             runs_per_chunk: int = 8) -> Iterator[tuple[pd.DataFrame, np.ndarray]]:
    """Chunks of runs: (long precursor rows of those runs, truth (proteins × chunk runs, log2))."""
    d = _design(n_runs, n_proteins, seed, noise)
    for start in range(0, n_runs, runs_per_chunk):
        parts, truths = [], []
        for r in range(start, min(n_runs, start + runs_per_chunk)):
            t, pos, inten = _run(d, r, seed, noise)
            truths.append(t)
            parts.append(pd.DataFrame({"run": f"run{r:05d}", "entity_id": d["ent"][pos],
                                       "protein_group": d["names"][d["prot_of"][pos]], "intensity": inten}))
        yield pd.concat(parts, ignore_index=True), np.column_stack(truths)


def simulate_lfq(n_runs: int, n_proteins: int, seed: int = 0, noise: str = "gaussian") -> LfqTruth:
    """The whole cohort in memory (see module docstring); ``data`` as a precursor-level QuantTable frame."""
    frames, truths = [], []
    for df, t in lfq_runs(n_runs, n_proteins, seed, noise):
        frames.append(df)
        truths.append(t)
    data = pd.concat(frames, ignore_index=True)
    for c in ("run", "entity_id", "protein_group"):
        data[c] = data[c].astype("category")
    data.insert(1, "level", "precursor")
    runs = [f"run{r:05d}" for r in range(n_runs)]
    names = [f"SIM{p:06d}" for p in range(n_proteins)]
    truth = pd.DataFrame(np.column_stack(truths), index=names, columns=runs)
    cond = pd.Series(np.where(np.arange(n_runs) % 2, "B", "A"), index=runs, name="condition")
    return LfqTruth(data=data, truth=truth, condition=cond)


def profile_errors(est: pd.DataFrame, truth: pd.DataFrame) -> np.ndarray:
    """Absolute log2 errors of estimated protein profiles against truth (both proteins × runs, log2; NaN = not
    quantified), after removing each protein's arbitrary level (the median over its quantified runs of
    est − truth). Proteins quantified in fewer than 2 runs carry no profile and are left out. Returns the
    errors of every remaining protein × run cell (1-D)."""
    est = est.reindex(index=truth.index, columns=truth.columns)
    e = est.to_numpy(dtype=float) - truth.to_numpy(dtype=float)
    ok = np.isfinite(e).sum(axis=1) >= 2
    e = e[ok]
    e = e - np.nanmedian(e, axis=1, keepdims=True)
    return np.abs(e[np.isfinite(e)])
