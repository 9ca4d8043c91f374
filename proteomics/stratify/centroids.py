"""Nearest-centroid assignment in the standardised feature space, with a calibrated confidence.

For a sample with z-scores ``z`` (features standardised as in :class:`~proteomics.stratify.features.FeatureSpace`)
the distance to cluster c is the mean squared difference ``d_c = mean_j (z_j - mu_cj)^2``. The cluster is the
nearest centroid; the confidence is the softmax probability ``exp(-d_c / T) / sum_c' exp(-d_c' / T)`` of that
cluster. The temperature ``T`` is fitted once on the training samples by minimising the leave-one-out log loss
(each training sample's own centroid recomputed without it), so the confidences are calibrated against the
consensus labels rather than over-confident. ``T`` is bounded to [1e-3, 1e3].
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize_scalar
from scipy.special import log_softmax

__all__ = ["CentroidModel"]

_T_BOUNDS = (np.log(1e-3), np.log(1e3))


def _sq_dist(Z: np.ndarray, centroids: np.ndarray) -> np.ndarray:
    """(n_samples, k) mean squared euclidean distances between rows of Z and centroids."""
    return ((Z[:, None, :] - centroids[None, :, :]) ** 2).mean(axis=2)


@dataclass(frozen=True)
class CentroidModel:
    """Centroids (k × features, z units) with cluster names and the softmax temperature."""

    clusters: tuple[str, ...]
    centroids: np.ndarray
    temperature: float
    #: per cluster, the largest distance of a training member to its centroid (a new sample beyond it is atypical)
    radius: np.ndarray | None = None

    @classmethod
    def fit(cls, Z: np.ndarray, labels: np.ndarray, clusters: tuple[str, ...]) -> CentroidModel:
        """Centroids from integer ``labels`` (0..k-1) of the training rows of ``Z``; temperature by LOO log loss."""
        k = len(clusters)
        onehot = (labels[:, None] == np.arange(k)[None, :]).astype(float)
        n_c = onehot.sum(axis=0)
        centroids = (onehot.T @ Z) / np.maximum(n_c, 1)[:, None]
        d = _sq_dist(Z, centroids)
        own = d[np.arange(len(labels)), labels]
        radius = np.array([own[labels == c].max() if (labels == c).any() else 0.0 for c in range(k)])
        if k < 2:
            return cls(tuple(clusters), centroids, 1.0, radius)
        # leave-one-out distance to the own centroid: mu_-i = (n mu - z_i) / (n - 1)
        own_n = n_c[labels]
        loo_ok = own_n > 1
        mu_loo = (own_n[:, None] * centroids[labels] - Z) / np.maximum(own_n - 1, 1)[:, None]
        d_loo = d.copy()
        d_loo[np.arange(len(labels)), labels] = np.where(loo_ok, ((Z - mu_loo) ** 2).mean(axis=1),
                                                         d[np.arange(len(labels)), labels])
        rows = np.flatnonzero(loo_ok)

        def loss(log_t: float) -> float:
            lp = log_softmax(-d_loo[rows] / np.exp(log_t), axis=1)
            return float(-lp[np.arange(rows.size), labels[rows]].mean())

        if rows.size == 0:
            return cls(tuple(clusters), centroids, 1.0, radius)
        opt = minimize_scalar(loss, bounds=_T_BOUNDS, method="bounded", options={"xatol": 1e-6})
        return cls(tuple(clusters), centroids, float(np.exp(opt.x)), radius)

    def distances(self, Z: np.ndarray) -> np.ndarray:
        """(n, k) mean squared distances of the rows of ``Z`` to the centroids (z units²)."""
        return _sq_dist(np.asarray(Z, float), self.centroids)

    def predict(self, Z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Nearest-centroid index per row of ``Z`` and the (n, k) matrix of softmax probabilities."""
        d = self.distances(Z)
        prob = np.exp(log_softmax(-d / self.temperature, axis=1))
        return np.argmin(d, axis=1), prob

    def to_dict(self) -> dict:
        return {"type": "nearest_centroid", "distance": "mean squared euclidean in z-space",
                "clusters": list(self.clusters), "centroids": self.centroids.tolist(),
                "temperature": self.temperature,
                "radius": None if self.radius is None else self.radius.tolist()}

    @classmethod
    def from_dict(cls, d: Mapping) -> CentroidModel:
        radius = None if d.get("radius") is None else np.asarray(d["radius"], float)
        return cls(tuple(d["clusters"]), np.asarray(d["centroids"], float), float(d["temperature"]), radius)
