"""Consensus clustering building blocks against closed-form cases (Monti 2003; Șenbabaoğlu 2014 PAC)."""

from __future__ import annotations

import numpy as np
import pytest

from proteomics.stratify.consensus import (
    cluster_stability,
    consensus_cdf,
    consensus_cluster,
    pac_score,
    relabel,
    sample_confidence,
)


def _matrix(upper: list[float], n: int) -> np.ndarray:
    C = np.eye(n)
    C[np.triu_indices(n, 1)] = upper
    return np.maximum(C, C.T)


def test_pac_counts_pairs_strictly_between_the_bounds():
    # 4 samples → 6 pairs: 0, 0.1 (not ambiguous: CDF(0.1) includes it), 0.5, 0.9 (ambiguous: ≤ 0.9), 0.95, 1
    C = _matrix([0.0, 0.1, 0.5, 0.9, 0.95, 1.0], 4)
    assert pac_score(C) == pytest.approx(2 / 6)
    assert pac_score(C, 0.0, 1.0) == pytest.approx(5 / 6)  # CDF(1) - CDF(0): every pair but the 0


def test_consensus_cdf_is_the_empirical_cdf_of_the_upper_triangle():
    C = _matrix([0.0, 0.25, 0.5, 0.75, 1.0, 1.0], 4)
    grid, cdf = consensus_cdf(C, [0.0, 0.3, 0.75, 0.99, 1.0])
    assert cdf.tolist() == [1 / 6, 2 / 6, 4 / 6, 4 / 6, 1.0]
    # PAC is CDF(0.9) - CDF(0.1)
    _, c = consensus_cdf(C, [0.1, 0.9])
    assert pac_score(C) == pytest.approx(c[1] - c[0])


def test_relabel_orders_by_size_then_first_appearance():
    assert relabel(np.array([5, 5, 2, 2, 2, 9, 7, 7])).tolist() == [1, 1, 0, 0, 0, 3, 2, 2]
    assert relabel(np.array([3, 1, 1, 3])).tolist() == [0, 1, 1, 0]  # tie: first sample decides


def test_confidence_and_stability_by_hand():
    # clusters {0,1,2} and {3}; pairs: (0,1)=1, (0,2)=0.5, (1,2)=0.8
    C = np.eye(4)
    for (i, j), v in {(0, 1): 1.0, (0, 2): 0.5, (1, 2): 0.8, (0, 3): 0.1, (1, 3): 0.0, (2, 3): 0.3}.items():
        C[i, j] = C[j, i] = v
    lab = np.array([0, 0, 0, 1])
    conf = sample_confidence(C, lab)
    assert conf[:3] == pytest.approx([0.75, 0.9, 0.65])
    assert np.isnan(conf[3])  # singleton
    stab = cluster_stability(C, lab)
    assert stab[0] == pytest.approx((1.0 + 0.5 + 0.8) / 3)
    assert np.isnan(stab[1])


def _blobs(k=3, n_per=8, d=20, sep=25.0, seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(k, d)) * sep
    truth = np.repeat(np.arange(k), n_per)
    return centres[truth] + rng.normal(size=(k * n_per, d)), truth


def test_perfectly_separated_clusters_give_block_consensus_and_zero_pac():
    Z, truth = _blobs()
    res = consensus_cluster(Z, [2, 3, 4], repeats=20, seed=3, n_components=None)
    C = res.consensus[3]
    same = truth[:, None] == truth[None, :]
    # every algorithm puts two samples of one blob together whenever both are drawn: consensus exactly 1 / 0
    assert np.array_equal(C, same.astype(float))
    assert res.pac[3] == 0.0
    assert all(v == 0.0 for v in (res.pac_by_algorithm[a][3] for a in res.algorithms))
    assert (res.labels[3][:, None] == res.labels[3][None, :]).tolist() == same.tolist()


def test_same_seed_same_result_and_progress_reaches_total():
    # (n_jobs = 2 giving identical bytes is tested end to end in test_stratify)
    Z, _ = _blobs(sep=0.8, seed=1)  # overlapping: consensus values strictly between 0 and 1
    calls = []
    a = consensus_cluster(Z, [2, 3], repeats=12, seed=11, progress=lambda d, t: calls.append((d, t)))
    b = consensus_cluster(Z, [2, 3], repeats=12, seed=11)
    for k in (2, 3):
        assert np.array_equal(a.consensus[k], b.consensus[k])
        assert np.array_equal(a.labels[k], b.labels[k])
    assert 0 < a.pac[2] < 1
    assert calls[-1] == (12, 12)
    c = consensus_cluster(Z, [2, 3], repeats=12, seed=12)
    assert not np.array_equal(a.consensus[2], c.consensus[2])  # the seed matters
