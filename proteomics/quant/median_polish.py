"""Tukey median polish roll-up (MSstats ``dataProcess(summaryMethod="TMP")`` style), vectorised over proteins.

Per protein the (runs × entities) log2 matrix is polished as R ``stats::medpolish(x, na.rm=TRUE)`` does
(at most ``maxiter`` = 10 sweeps, row sweep first, stopping when the sum of absolute residuals changes by less
than ``eps`` = 0.01 relative); the protein value of a run is ``overall + row effect``. A run without any
observed entity is NaN. Input and output are log2.
"""

from __future__ import annotations

import numpy as np

from ._nan import nanmedian

__all__ = ["median_polish_block"]


def _nanmedian(a, axis):
    return nanmedian(a, axis)


def median_polish_block(V: np.ndarray, maxiter: int = 10, eps: float = 0.01) -> np.ndarray:
    """``V`` (n_proteins, K entities, S samples) log2 → (n_proteins, S) log2."""
    z = np.transpose(V, (0, 2, 1)).copy()  # (n, runs, entities) as MSstats
    n, nr, nc = z.shape
    r = np.zeros((n, nr))
    c = np.zeros((n, nc))
    t = np.zeros(n)
    oldsum = np.zeros(n)
    active = np.ones(n, dtype=bool)
    for _ in range(maxiter):
        a = active
        rdelta = _nanmedian(z[a], axis=2)
        z[a] -= rdelta[:, :, None]
        r[a] += rdelta
        delta = _nanmedian(c[a], axis=1)
        c[a] -= delta[:, None]
        t[a] += delta
        cdelta = _nanmedian(z[a], axis=1)
        z[a] -= cdelta[:, None, :]
        c[a] += cdelta
        delta = _nanmedian(r[a], axis=1)
        r[a] -= delta[:, None]
        t[a] += delta
        newsum = np.nansum(np.abs(z[a]), axis=(1, 2))
        conv = (newsum == 0) | (np.abs(newsum - oldsum[a]) < eps * newsum)
        oldsum[a] = newsum
        idx = np.flatnonzero(a)
        active[idx[conv]] = False
        if not active.any():
            break
    return t[:, None] + r
