"""Planted-subgroup and structureless cohorts for the stratify tests (numpy only, seeded)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from proteomics.dataset import Dataset

#: small but honest settings: 25 resamples, 19 null data sets of 10 resamples
#: (smallest possible p = 1/20 = 0.05 = alpha)
FAST = {"repeats": 25, "null_permutations": 19, "null_repeats": 10, "n_features": 200}


def planted(k: int, *, n: int = 40, p: int = 1000, n_prog: int = 30, effect: float = 2.0, seed: int = 1,
            missing: float = 0.0) -> tuple[Dataset, np.ndarray]:
    """log2 matrix (n samples × p proteins): protein means N(22, 2), sample noise N(0, 1), and for each of k
    subgroups a programme of ``n_prog`` own proteins shifted by +``effect`` log2 (k = 1: no structure).
    Samples alternate between subgroups; batch is balanced across them (b1/b2 alternating in pairs)."""
    rng = np.random.default_rng(seed)
    truth = np.arange(n) % k
    X = rng.normal(size=(n, p)) + rng.normal(22, 2, size=p)
    if k > 1:
        for c in range(k):
            X[np.ix_(truth == c, np.arange(c * n_prog, (c + 1) * n_prog))] += effect
    if missing:
        X[rng.random(X.shape) < missing] = np.nan
    samples = pd.DataFrame({"subject": [f"S{i:02d}" for i in range(n)], "specimen": "plasma",
                            "batch": np.where((np.arange(n) // 2) % 2 == 0, "b1", "b2"),
                            "age": rng.normal(60, 10, n).round(1)},
                           index=[f"S{i:02d}" for i in range(n)])
    proteins = pd.DataFrame(index=[f"P{j:04d}" for j in range(p)])
    return Dataset(X, samples, proteins), truth


@pytest.fixture(scope="session")
def planted3():
    ds, truth = planted(3)
    from proteomics.stratify import stratify

    return ds, truth, stratify(ds, settings=FAST, seed=0)


@pytest.fixture(scope="session")
def structureless():
    ds, _ = planted(1, seed=7)
    from proteomics.stratify import stratify

    return ds, stratify(ds, settings=FAST, seed=0)
