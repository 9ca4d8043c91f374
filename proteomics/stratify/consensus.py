"""Consensus clustering (Monti et al. 2003) with the PAC score (Șenbabaoğlu et al. 2014).

Input is a standardised feature matrix ``Z`` (samples × features, unitless z-scores of log2 values, no NaN).
Each of ``repeats`` resamples draws ``sample_fraction`` of the samples and ``feature_fraction`` of the features
without replacement and clusters the drawn samples with every algorithm (k-means, Ward hierarchical, Gaussian
mixture) for every k in ``ks``. For a pair of samples, the consensus is the number of resamples that put them in
the same cluster divided by the number of (resample, algorithm) pairs that drew both. Each resample is first
projected on its own top principal components (``n_components``), which denoises k-means and the mixture model.
The final partition for each k cuts an average-linkage tree on ``1 - consensus``.

Every resample gets its own child of ``numpy.random.SeedSequence(seed)`` and the co-clustering counts are integers,
so the result is identical for any ``n_jobs`` and any chunking. BLAS/OpenMP threads inside workers are limited to
one so floating-point reductions do not depend on the thread count.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from joblib import Parallel, delayed
from scipy.cluster.hierarchy import fcluster, linkage
from scipy.spatial.distance import squareform

from ._algorithms import gmm_diag, kmeans

__all__ = ["ALGORITHMS", "ConsensusResult", "consensus_cluster", "pac_score", "consensus_cdf", "relabel",
           "sample_confidence", "cluster_stability"]

ALGORITHMS = ("kmeans", "hierarchical", "gmm")

#: progress(done, total) callback type; called in the calling process only.
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class ConsensusResult:
    """Consensus matrices and final partitions for every k.

    ``consensus[k]``: (n_samples, n_samples) array in [0, 1], rows/columns in the order of ``Z``'s rows.
    ``labels[k]``: (n_samples,) int array of cluster indices 0..k-1 (0 = largest cluster).
    ``pac[k]``: proportion of sample pairs with consensus in (lower, upper].
    ``pac_by_algorithm[alg][k]``: the same for one algorithm's consensus alone.
    """

    ks: tuple[int, ...]
    algorithms: tuple[str, ...]
    consensus: dict[int, np.ndarray]
    labels: dict[int, np.ndarray]
    pac: dict[int, float]
    pac_by_algorithm: dict[str, dict[int, float]]
    repeats: int


# -- small pure functions ------------------------------------------------------------------------------------------
def pac_score(C: np.ndarray, lower: float = 0.1, upper: float = 0.9) -> float:
    """Proportion of ambiguous clustering: fraction of pairs i < j with ``lower < C[i, j] <= upper``.

    Equals CDF(upper) - CDF(lower) of the consensus values (Șenbabaoğlu et al. 2014). 0 = perfectly stable.
    """
    v = C[np.triu_indices(C.shape[0], 1)]
    if v.size == 0:
        return float("nan")
    return float(np.mean((v > lower) & (v <= upper)))


def consensus_cdf(C: np.ndarray, grid: Sequence[float] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Empirical CDF of the upper-triangle consensus values on ``grid`` (default 0, 0.01, …, 1)."""
    grid = np.linspace(0.0, 1.0, 101) if grid is None else np.asarray(grid, float)
    v = np.sort(C[np.triu_indices(C.shape[0], 1)])
    return grid, np.searchsorted(v, grid, side="right") / max(v.size, 1)


def relabel(labels: np.ndarray) -> np.ndarray:
    """Renumber clusters 0..k-1 by decreasing size, ties broken by the first sample of each cluster."""
    labels = np.asarray(labels)
    uniq, first, counts = np.unique(labels, return_index=True, return_counts=True)
    order = np.lexsort((first, -counts))  # primary: size desc; secondary: first occurrence
    mapping = np.empty(uniq.size, dtype=int)
    mapping[order] = np.arange(uniq.size)
    return mapping[np.searchsorted(uniq, labels)]


def sample_confidence(C: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Per sample: mean consensus with the other members of its own cluster (NaN for a singleton)."""
    same = labels[:, None] == labels[None, :]
    np.fill_diagonal(same, False)
    n_same = same.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n_same > 0, (C * same).sum(axis=1) / n_same, np.nan)


def cluster_stability(C: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Per cluster 0..k-1: mean consensus over pairs i < j within the cluster (Monti's cluster consensus)."""
    k = int(labels.max()) + 1
    out = np.full(k, np.nan)
    for c in range(k):  # k is small (≤ k_max)
        idx = np.flatnonzero(labels == c)
        if idx.size > 1:
            sub = C[np.ix_(idx, idx)]
            out[c] = sub[np.triu_indices(idx.size, 1)].mean()
    return out


# -- one resample ------------------------------------------------------------------------------------------------
def _reduce(sub: np.ndarray, n_components: int | None) -> np.ndarray:
    """Scores of the resample on its top ``n_components`` principal components (centred; None = no reduction)."""
    if n_components is None or n_components >= min(sub.shape):
        return sub
    centred = sub - sub.mean(axis=0)
    U, S, _ = np.linalg.svd(centred, full_matrices=False)
    return U[:, :n_components] * S[:n_components]


def _cluster_once(sub: np.ndarray, ks: Sequence[int], algorithms: Sequence[str], rng: np.random.Generator,
                  n_components: int | None = None) -> dict:
    sub = _reduce(sub, n_components)
    out = {}
    if "hierarchical" in algorithms:
        tree = linkage(sub, method="ward")
        for k in ks:
            out[("hierarchical", k)] = fcluster(tree, t=k, criterion="maxclust") - 1
    if "kmeans" in algorithms or "gmm" in algorithms:
        for k in ks:
            km, _ = kmeans(sub, k, n_init=5, rng=rng)
            if "kmeans" in algorithms:
                out[("kmeans", k)] = km
            if "gmm" in algorithms:
                out[("gmm", k)] = gmm_diag(sub, k, init_labels=km)[0]
    return out


def _run_chunk(Z: np.ndarray, ks: tuple[int, ...], algorithms: tuple[str, ...], sample_fraction: float,
               feature_fraction: float, seeds: list[np.random.SeedSequence],
               n_components: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Co-clustering counts (n_alg, n_k, n, n) and co-sampling counts (n, n) summed over the chunk's resamples."""
    from threadpoolctl import threadpool_limits

    n, p = Z.shape
    n_s = min(n, max(max(ks) + 1, int(round(sample_fraction * n))))
    n_f = min(p, max(2, int(round(feature_fraction * p))))
    M = np.zeros((len(algorithms), len(ks), n, n), dtype=np.int64)
    S = np.zeros((n, n), dtype=np.int64)
    with threadpool_limits(limits=1):
        for ss in seeds:
            rng = np.random.default_rng(ss)
            rows = np.sort(rng.choice(n, n_s, replace=False))
            cols = np.sort(rng.choice(p, n_f, replace=False))
            sub = Z[np.ix_(rows, cols)]
            S[np.ix_(rows, rows)] += 1
            res = _cluster_once(sub, ks, algorithms, rng, n_components)
            for a, alg in enumerate(algorithms):
                for j, k in enumerate(ks):
                    onehot = (res[(alg, k)][:, None] == np.arange(k)[None, :]).astype(np.int64)
                    M[a, j][np.ix_(rows, rows)] += onehot @ onehot.T
    return M, S


def consensus_cluster(Z: np.ndarray, ks: Sequence[int], *, algorithms: Sequence[str] = ALGORITHMS,
                      repeats: int = 100, sample_fraction: float = 0.8, feature_fraction: float = 0.8,
                      seed: int | np.random.SeedSequence = 0, n_jobs: int = 1, progress: Progress | None = None,
                      pac_range: tuple[float, float] = (0.1, 0.9), n_components: int | None = None) -> ConsensusResult:
    """Consensus clustering of the rows of ``Z`` (samples × features, standardised, no NaN) for each k in ``ks``.

    Each resample is clustered on its top ``n_components`` principal components (None: on all drawn features).
    Returns consensus matrices (n × n), final labels, and PAC per k (overall and per algorithm). Deterministic
    for a given ``seed`` whatever ``n_jobs``. ``progress(done, total)`` is called after each chunk of resamples.
    """
    Z = np.ascontiguousarray(Z, dtype=float)
    ks = tuple(int(k) for k in ks)
    algorithms = tuple(algorithms)
    n = Z.shape[0]
    ss = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(int(seed))
    children = ss.spawn(repeats)
    n_chunks = min(repeats, max(1, 4 * max(1, int(n_jobs)), repeats // 10))
    chunks = [list(c) for c in np.array_split(np.array(children, dtype=object), n_chunks) if len(c)]
    M = np.zeros((len(algorithms), len(ks), n, n), dtype=np.int64)
    S = np.zeros((n, n), dtype=np.int64)
    done = 0
    args = (Z, ks, algorithms, sample_fraction, feature_fraction)
    jobs = (delayed(_run_chunk)(*args, c, n_components) for c in chunks)
    if int(n_jobs) == 1:
        results = (_run_chunk(*args, c, n_components) for c in chunks)
    else:
        results = Parallel(n_jobs=int(n_jobs), return_as="generator")(jobs)
    for (m, i), c in zip(results, chunks, strict=True):
        M += m
        S += i
        done += len(c)
        if progress is not None:
            progress(done, repeats)
    with np.errstate(invalid="ignore", divide="ignore"):
        per_alg = np.where(S > 0, M / np.maximum(S, 1), 0.0)  # (n_alg, n_k, n, n)
        combined = np.where(S > 0, M.sum(axis=0) / np.maximum(S * len(algorithms), 1), 0.0)
    consensus, labels, pac = {}, {}, {}
    pac_alg: dict[str, dict[int, float]] = {a: {} for a in algorithms}
    for j, k in enumerate(ks):
        C = combined[j]
        np.fill_diagonal(C, 1.0)
        consensus[k] = C
        D = 1.0 - C
        np.fill_diagonal(D, 0.0)
        tree = linkage(squareform(D, checks=False), method="average")
        labels[k] = relabel(fcluster(tree, t=k, criterion="maxclust") - 1)
        pac[k] = pac_score(C, *pac_range)
        for a, alg in enumerate(algorithms):
            Ca = per_alg[a, j].copy()
            np.fill_diagonal(Ca, 1.0)
            pac_alg[alg][k] = pac_score(Ca, *pac_range)
    return ConsensusResult(ks=ks, algorithms=algorithms, consensus=consensus, labels=labels, pac=pac,
                           pac_by_algorithm=pac_alg, repeats=repeats)
