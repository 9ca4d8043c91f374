"""Spectral counting: PSMs per protein and sample, and NSAF (Zybailov et al. 2006).

``spectral_count``: log2 of the number of PSMs (a PSM-level table counts rows; other levels sum ``n_psm``);
0 counts are missing (NaN). ``nsaf``: ``(SpC_p / L_p) / Σ_q (SpC_q / L_q)`` per sample with ``L`` the protein
length from the FASTA (first member found), reported as log2.
"""

from __future__ import annotations

import numpy as np

from ..errors import InputError
from ..io.fasta import read_fasta
from .ibaq import _accession_keys

__all__ = ["protein_lengths", "nsaf"]


def protein_lengths(protein_groups: list[str], fasta) -> np.ndarray:
    """Sequence length of each protein group's first member found in the FASTA (NaN when none is); NSAF needs
    it."""
    if fasta is None:
        raise InputError("NSAF needs the protein FASTA for protein lengths", hint="pass --fasta")
    db = read_fasta(fasta)
    length = {}
    for acc, s in zip(db["accession"].astype(str), db["sequence"].astype(str), strict=True):
        length.setdefault(acc, len(s))
    out = np.full(len(protein_groups), np.nan)
    for i, g in enumerate(protein_groups):
        for member in str(g).split(";"):
            hit = next((k for k in _accession_keys(member) if k in length), None)
            if hit is not None:
                out[i] = length[hit]
                break
    return out


def nsaf(counts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """counts (n_proteins, n_samples) linear PSM counts, lengths (n_proteins,) → log2 NSAF (NaN where 0)."""
    saf = counts / lengths[:, None]
    saf = np.where(np.isfinite(saf), saf, 0.0)
    tot = saf.sum(axis=0, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        val = saf / tot
        return np.where(val > 0, np.log2(val), np.nan)
