"""Nearest-centroid model: assignment, calibrated softmax confidence, JSON round trip."""

from __future__ import annotations

import json

import numpy as np

from proteomics.stratify.centroids import CentroidModel


def _data(sep: float, seed: int = 0):
    rng = np.random.default_rng(seed)
    labels = np.repeat([0, 1], 20)
    Z = rng.normal(size=(40, 10))
    Z[labels == 1, :] += sep
    return Z, labels


def test_centroids_are_cluster_means_and_nearest_wins():
    Z, labels = _data(3.0)
    m = CentroidModel.fit(Z, labels, ("C1", "C2"))
    assert np.allclose(m.centroids[0], Z[labels == 0].mean(axis=0))
    idx, prob = m.predict(np.vstack([m.centroids[1], m.centroids[0]]))
    assert idx.tolist() == [1, 0]
    assert np.allclose(prob.sum(axis=1), 1.0)


def test_confidence_reflects_overlap():
    far = CentroidModel.fit(*_data(3.0), ("C1", "C2"))
    near = CentroidModel.fit(*_data(0.3), ("C1", "C2"))
    Zf, _ = _data(3.0, seed=1)
    Zn, _ = _data(0.3, seed=1)
    cf = far.predict(Zf)[1].max(axis=1).mean()
    cn = near.predict(Zn)[1].max(axis=1).mean()
    assert cf > 0.95
    assert 0.5 <= cn < 0.8  # barely separated clusters must not look certain


def test_json_round_trip_is_exact():
    m = CentroidModel.fit(*_data(1.0), ("C1", "C2"))
    back = CentroidModel.from_dict(json.loads(json.dumps(m.to_dict())))
    Z, _ = _data(1.0, seed=2)
    assert np.array_equal(back.predict(Z)[1], m.predict(Z)[1])
