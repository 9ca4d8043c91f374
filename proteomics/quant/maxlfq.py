"""MaxLFQ protein roll-up (Cox et al. 2014, MCP 13:2513), vectorised over proteins.

Per protein with entity (precursor/peptide) log2 values ``V`` (K entities × S samples):

1. pairwise log-ratios ``r_ab = median_k(V[k, b] − V[k, a])`` over entities observed in both samples; a pair
   is used only when it has at least ``min_ratio_count`` such ratios (MaxQuant default 2);
2. least squares: the log profile ``w`` minimises ``Σ_valid (w_b − w_a − r_ab)²``, solved per connected
   component of the sample graph (normal equations ``L w = g`` with the Laplacian ``L``; adding the
   component's all-ones block makes the system regular and centres ``w`` within each component);
3. level: each component is shifted so that its summed linear intensity equals the summed entity intensity
   of those samples (Cox's rescaling, done per component since components are not comparable).

A sample without any valid ratio to another sample gets NaN (as MaxQuant's LFQ intensity 0), so with
``min_ratio_count=2`` a single-entity protein is not quantified. The delayed normalisation of MaxQuant is not
done here: normalise the protein matrix afterwards (e.g. median centring). Input and output are log2.
"""

from __future__ import annotations

import numpy as np

from ._nan import nanmedian

__all__ = ["maxlfq_block"]


def _components(A: np.ndarray) -> np.ndarray:
    """Same-component matrix (n, S, S) bool from adjacency (n, S, S) bool, by min-label propagation
    (iterations ≤ graph diameter; O(n·S²) each)."""
    n, S, _ = A.shape
    labels = np.broadcast_to(np.arange(S, dtype=np.int64), (n, S)).copy()
    big = np.int64(S)
    while True:
        nb = np.where(A, labels[:, None, :], big).min(axis=2)
        new = np.minimum(labels, nb)
        if np.array_equal(new, labels):
            break
        labels = new
    return labels[:, :, None] == labels[:, None, :]


def maxlfq_block(V: np.ndarray, min_ratio_count: int = 2) -> np.ndarray:
    """MaxLFQ for a chunk: ``V`` (n_proteins, K, S) log2 with NaN → (n_proteins, S) log2 (NaN = unquantified)."""
    n, K, S = V.shape
    if S == 0:
        return np.zeros((n, 0))
    ia, ib = np.triu_indices(S, k=1)  # each unordered pair once; R is antisymmetric
    D = V[:, :, ib] - V[:, :, ia]  # (n, K, pairs): V[k, b] - V[k, a]
    cnt = np.zeros((n, S, S), dtype=np.int64)
    cnt[:, ia, ib] = np.isfinite(D).sum(axis=1)
    cnt[:, ib, ia] = cnt[:, ia, ib]
    R = np.zeros((n, S, S))
    med = nanmedian(D, axis=1)  # (n, pairs); R[a, b] = median(V_b - V_a) = -R[b, a]
    R[:, ia, ib] = med
    R[:, ib, ia] = -med
    eye = np.eye(S, dtype=bool)[None]
    A = (cnt >= max(int(min_ratio_count), 1)) & ~eye
    R = np.where(A, R, 0.0)
    deg = A.sum(axis=2)
    L = np.where(eye, deg[:, :, None], 0) - A.astype(float)
    g = (A * R).sum(axis=1)  # g_c = Σ_j A[j, c] R[j, c]
    C = _components(A)
    w = np.linalg.solve(L + C.astype(float), g[:, :, None])[:, :, 0]
    connected = deg > 0
    # level per component: Σ_s 2^w_s = Σ_s Σ_k 2^V_ks over the component's samples
    lin = np.nansum(np.exp2(V), axis=1)  # (n, S) summed entity intensity per sample
    lin = np.where(connected, lin, 0.0)
    ew = np.where(connected, np.exp2(w), 0.0)
    Cf = C.astype(float)
    tot_v = (Cf @ lin[:, :, None])[:, :, 0]
    tot_w = (Cf @ ew[:, :, None])[:, :, 0]
    with np.errstate(divide="ignore", invalid="ignore"):
        out = w + np.log2(tot_v) - np.log2(tot_w)
    return np.where(connected & np.isfinite(out), out, np.nan)
