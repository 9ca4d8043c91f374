"""Small, vectorised clustering routines used inside consensus resampling (tens of samples, few dimensions).

scikit-learn's ``KMeans``/``GaussianMixture`` spend milliseconds per call on validation and thread management,
which dominates when a consensus run makes thousands of tiny fits; these numpy versions do the same maths in
microseconds. The tests compare them with scikit-learn (k-means objective, mixture log-likelihood).

* ``kmeans``: Lloyd's algorithm from k-means++ seeds, ``n_init`` restarts run side by side; the partition with the
  smallest within-cluster sum of squares wins (first restart on ties). An emptied cluster keeps its centre.
* ``gmm_diag``: EM for a Gaussian mixture with diagonal covariances (variance floor ``reg_covar`` added as in
  scikit-learn), initialised from the k-means partition; returns the most probable component per sample.
"""

from __future__ import annotations

import numpy as np

__all__ = ["kmeans", "gmm_diag"]


def _logsumexp_rows(a: np.ndarray) -> np.ndarray:
    m = a.max(axis=1)
    return m + np.log(np.exp(a - m[:, None]).sum(axis=1))


def _sqdist(X: np.ndarray, C: np.ndarray) -> np.ndarray:
    """(r, n, k) squared distances between rows of X (n, d) and centres C (r, k, d)."""
    x2 = (X * X).sum(axis=1)
    c2 = (C * C).sum(axis=2)
    d = x2[None, :, None] - 2.0 * np.einsum("nd,rkd->rnk", X, C) + c2[:, None, :]
    return np.maximum(d, 0.0)


def _plusplus(X: np.ndarray, k: int, r: int, rng: np.random.Generator) -> np.ndarray:
    """k-means++ seeding for ``r`` restarts at once: (r, k, d) initial centres."""
    n = X.shape[0]
    C = np.empty((r, k, X.shape[1]))
    C[:, 0] = X[rng.integers(0, n, size=r)]
    d2 = _sqdist(X, C[:, :1])[:, :, 0]
    for j in range(1, k):
        total = d2.sum(axis=1, keepdims=True)
        u = rng.random((r, 1)) * total
        idx = np.minimum((np.cumsum(d2, axis=1) < u).sum(axis=1), n - 1)
        C[:, j] = X[idx]
        d2 = np.minimum(d2, _sqdist(X, C[:, j:j + 1])[:, :, 0])
    return C


def kmeans(X: np.ndarray, k: int, *, n_init: int = 5, max_iter: int = 100,
           rng: np.random.Generator) -> tuple[np.ndarray, float]:
    """Labels (n,) in 0..k-1 and the within-cluster sum of squares of the best of ``n_init`` restarts."""
    X = np.asarray(X, float)
    n = X.shape[0]
    C = _plusplus(X, k, n_init, rng)
    labels = np.full((n_init, n), -1)
    eye = np.eye(k)
    for _ in range(max_iter):
        new = np.argmin(_sqdist(X, C), axis=2)
        if np.array_equal(new, labels):
            break
        labels = new
        W = eye[labels]                                  # (r, n, k) one-hot
        counts = W.sum(axis=1)                           # (r, k)
        sums = np.einsum("rnk,nd->rkd", W, X)
        C = np.where(counts[:, :, None] > 0, sums / np.maximum(counts, 1)[:, :, None], C)
    d = _sqdist(X, C)
    inertia = np.take_along_axis(d, labels[:, :, None], axis=2)[:, :, 0].sum(axis=1)
    best = int(np.argmin(inertia))
    return labels[best], float(inertia[best])


def gmm_diag(X: np.ndarray, k: int, *, init_labels: np.ndarray, reg_covar: float = 1e-6, max_iter: int = 100,
             tol: float = 1e-3) -> tuple[np.ndarray, float]:
    """EM for a diagonal-covariance Gaussian mixture; returns (labels, mean log-likelihood per sample)."""
    X = np.asarray(X, float)
    n, d = X.shape
    resp = np.eye(k)[init_labels]
    prev = -np.inf
    ll = -np.inf
    for _ in range(max_iter):
        nk = resp.sum(axis=0) + 10 * np.finfo(float).eps
        means = resp.T @ X / nk[:, None]
        var = resp.T @ (X * X) / nk[:, None] - means ** 2 + reg_covar
        var = np.maximum(var, reg_covar)
        log_w = np.log(nk / n)
        log_p = -0.5 * (d * np.log(2 * np.pi) + np.log(var).sum(axis=1)[None, :]
                        + ((X[:, None, :] - means[None, :, :]) ** 2 / var[None, :, :]).sum(axis=2))
        weighted = log_p + log_w[None, :]
        norm = _logsumexp_rows(weighted)
        ll = float(norm.mean())
        resp = np.exp(weighted - norm[:, None])
        if abs(ll - prev) < tol:
            break
        prev = ll
    return np.argmax(resp, axis=1), ll
