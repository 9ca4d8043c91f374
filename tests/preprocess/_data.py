"""Small synthetic samples × proteins (log2) data shared by the preprocess tests."""

from __future__ import annotations

import numpy as np
import pandas as pd

from proteomics.dataset import Dataset

N_SAMPLES, N_PROTEINS = 12, 30


def frame(missing: bool = True, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    prot = [f"P{j:02d}" for j in range(N_PROTEINS - 2)] + ["CON__P99", "REV__P98"]
    base = rng.normal(24, 2, N_PROTEINS)
    X = base[None, :] + rng.normal(0, 0.5, (N_SAMPLES, N_PROTEINS))
    X[6:] += 0.7  # batch shift
    if missing:
        low = X < np.quantile(X, 0.12)
        X[low] = np.nan
        X[0, 3] = np.nan
    return pd.DataFrame(X, index=[f"S{i:02d}" for i in range(N_SAMPLES)], columns=prot)


def annotations() -> dict:
    return {f"S{i:02d}": {"batch": "b1" if i < 6 else "b2", "group": "A" if i % 2 else "B"}
            for i in range(N_SAMPLES)}


def dataset(missing: bool = True) -> Dataset:
    f = frame(missing)
    ann = annotations()
    samples = pd.DataFrame({"batch": [ann[s]["batch"] for s in f.index], "group": [ann[s]["group"] for s in f.index]},
                           index=f.index)
    proteins = pd.DataFrame({"n_peptides_total": np.arange(f.shape[1]) % 4}, index=f.columns)
    return Dataset(f.to_numpy(), samples, proteins)


def kwargs_for(name: str) -> dict:
    """Constructor settings each step needs on the synthetic data."""
    if name == "filter_min_peptides":
        return {"counts": {f"P{j:02d}": j % 4 for j in range(N_PROTEINS)}}
    if name == "normalize_reference":
        return {"proteins": ["P00", "P01", "P02", "P05"]}
    if name == "batch_combat":
        return {"annotations": annotations(), "covariates": ["group"]}
    return {}


def needs_complete(name: str) -> bool:
    """No step needs complete data (ComBat handles NaN as sva does); kept as the single switch."""
    return False
