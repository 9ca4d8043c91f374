"""iBAQ (Schwanhäusser et al. 2011): summed intensity divided by the number of theoretically observable peptides.

Observable peptides: fully tryptic (no missed cleavage), 6-30 residues, distinct
(:func:`proteomics.io.fasta.count_observable_peptides`, pyteomics.parser). A protein group uses its first
member accession found in the FASTA; groups without a FASTA entry or with 0 observable peptides are NaN.
Result ``log2(Σ intensity / n_observable)``.
"""

from __future__ import annotations

import logging

import numpy as np

from ..errors import InputError
from ..io.fasta import count_observable_peptides, read_fasta

__all__ = ["observable_counts"]

log = logging.getLogger(__name__)


def _accession_keys(member: str) -> list[str]:
    m = member.strip()
    keys = [m]
    if "|" in m:  # sp|P12345|NAME_HUMAN
        parts = m.split("|")
        if len(parts) >= 2:
            keys.append(parts[1])
    return keys


def observable_counts(protein_groups: list[str], fasta, enzyme: str = "trypsin") -> np.ndarray:
    """Number of observable peptides per protein group (float array, NaN when unknown)."""
    if fasta is None:
        raise InputError("iBAQ needs the protein FASTA", hint="pass --fasta with the database used for the search")
    db = read_fasta(fasta)
    seq = {}
    for acc, s in zip(db["accession"].astype(str), db["sequence"].astype(str), strict=True):
        seq.setdefault(acc, s)
    cache: dict[str, int] = {}
    out = np.full(len(protein_groups), np.nan)
    for i, g in enumerate(protein_groups):
        for member in str(g).split(";"):
            hit = next((k for k in _accession_keys(member) if k in seq), None)
            if hit is not None:
                if hit not in cache:
                    cache[hit] = count_observable_peptides(seq[hit], enzyme)
                out[i] = cache[hit] if cache[hit] > 0 else np.nan
                break
    n_missing = int(np.isnan(out).sum())
    if n_missing:
        log.warning("iBAQ: %d of %d protein groups have no FASTA entry or no observable peptide (NaN)",
                    n_missing, len(protein_groups))
    return out
