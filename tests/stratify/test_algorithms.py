"""The numpy k-means and diagonal Gaussian mixture against scikit-learn (the reference implementation)."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score
from sklearn.mixture import GaussianMixture

from proteomics.stratify._algorithms import gmm_diag, kmeans


@pytest.mark.parametrize("seed", range(5))
def test_kmeans_objective_matches_sklearn(seed):
    rng = np.random.default_rng(seed)
    X = np.vstack([rng.normal(loc, 1.0, size=(10, 6)) for loc in (0.0, 2.0, 4.0)])
    labels, inertia = kmeans(X, 3, n_init=10, rng=np.random.default_rng(seed))
    ref = KMeans(n_clusters=3, n_init=10, random_state=seed).fit(X)
    # both are local optima of the same objective from 10 k-means++ starts: equal up to a near-tie
    assert inertia <= ref.inertia_ * 1.02
    centroids = np.vstack([X[labels == c].mean(axis=0) for c in range(3)])
    assert inertia == pytest.approx(((X - centroids[labels]) ** 2).sum())
    assert adjusted_rand_score(labels, ref.labels_) > 0.8


def test_kmeans_on_separated_blobs_equals_sklearn_partition():
    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(loc, 0.3, size=(7, 4)) for loc in (0.0, 5.0, 10.0, 15.0)])
    labels, _ = kmeans(X, 4, n_init=5, rng=rng)
    ref = KMeans(n_clusters=4, n_init=5, random_state=0).fit_predict(X)
    assert adjusted_rand_score(labels, ref) == 1.0


@pytest.mark.parametrize("seed", range(3))
def test_gmm_diag_matches_sklearn_em_from_the_same_start(seed):
    rng = np.random.default_rng(seed)
    X = np.vstack([rng.normal([0, 0, 0], [1.0, 0.5, 2.0], size=(25, 3)),
                   rng.normal([3, 1, -2], [0.5, 1.5, 1.0], size=(25, 3))])
    init = (rng.random(50) < 0.5).astype(int)
    init[:20], init[-20:] = 0, 1  # a rough start
    labels, ll = gmm_diag(X, 2, init_labels=init, reg_covar=1e-6, tol=1e-10, max_iter=500)
    # sklearn started from the same first M-step (means, variances, weights of the initial partition)
    w = np.bincount(init) / init.size
    means = np.vstack([X[init == c].mean(axis=0) for c in (0, 1)])
    var = np.vstack([X[init == c].var(axis=0) for c in (0, 1)]) + 1e-6
    ref = GaussianMixture(2, covariance_type="diag", reg_covar=1e-6, tol=1e-10, max_iter=500, weights_init=w,
                          means_init=means, precisions_init=1 / var).fit(X)
    assert ll == pytest.approx(ref.score(X), rel=1e-6)
    assert adjusted_rand_score(labels, ref.predict(X)) == 1.0
