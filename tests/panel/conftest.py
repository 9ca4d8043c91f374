"""Small simulated cohorts for the panel tests (seeded; planted effects are the ground truth)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from proteomics import Dataset

FAST = {"outer_folds": 3, "outer_repeats": 1, "inner_folds": 2, "C_grid": [1.0], "max_proteins": 3,
        "size_grid": [1, 2, 3], "penalty_grid": [2.0, 5.0, 20.0], "inner_repeats": 1,
        "n_boot": 200, "interval_boot": 20, "specimen": "plasma"}


def simulate(n_per_class: int = 20, n_proteins: int = 200, n_true: int = 4, effect: float = 1.5,
             missing: float = 0.05, seed: int = 0, specimens_per_subject: int = 1) -> Dataset:
    """Two classes (case/control); proteins P000..P{n_true-1} are higher by ``effect`` (log2) in cases."""
    rng = np.random.default_rng(seed)
    n_sub = 2 * n_per_class
    y_sub = np.array(["case"] * n_per_class + ["control"] * n_per_class)
    subj = np.repeat(np.arange(n_sub), specimens_per_subject)
    y = y_sub[subj]
    base = rng.normal(22, 1.0, n_proteins)
    subj_eff = rng.normal(0, 0.3, (n_sub, n_proteins))[subj]
    X = base[None, :] + subj_eff + rng.normal(0, 0.7, (subj.size, n_proteins))
    X[:, :n_true] += np.where(y == "case", effect, 0.0)[:, None]
    X[rng.random(X.shape) < missing] = np.nan
    ids = [f"S{i:03d}" for i in range(subj.size)]
    samples = pd.DataFrame({"condition": y, "subject": [f"sub{s:03d}" for s in subj], "specimen": "plasma",
                            "batch": np.where(np.arange(subj.size) % 2 == 0, "b1", "b2")}, index=ids)
    return Dataset(X, samples, pd.DataFrame(index=[f"P{j:03d}" for j in range(n_proteins)]))


@pytest.fixture(scope="module")
def cohort() -> Dataset:
    return simulate()
