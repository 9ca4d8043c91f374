"""Per-sample and per-protein QC tables (tidy DataFrames for the report's plots; no plotting here).

Input: a :class:`~proteomics.dataset.Dataset` (samples × proteins, log2, NaN = missing).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import chi2

from ..dataset import Dataset
from ..errors import InputError

__all__ = ["sample_qc", "protein_qc", "intensity_table", "pca_table", "robust_z"]

_MAD_SCALE = 1.4826


def robust_z(values: np.ndarray, min_scale: float = 0.0) -> np.ndarray:
    """(x − median) / max(1.4826 · MAD, min_scale), NaN-aware; with scale 0, ±inf off the median, 0 on it."""
    v = np.asarray(values, dtype=float)
    if not np.isfinite(v).any():
        return np.full(v.shape, np.nan)
    med = np.nanmedian(v)
    mad = max(_MAD_SCALE * np.nanmedian(np.abs(v - med)), float(min_scale))
    with np.errstate(divide="ignore", invalid="ignore"):
        if mad > 0:
            return (v - med) / mad
        d = v - med  # MAD 0: equal to the median → 0, otherwise ±inf; NaN stays NaN
        return np.where(d == 0, 0.0, np.where(d > 0, np.inf, np.where(d < 0, -np.inf, np.nan)))


def _pairwise_median_correlation(X: np.ndarray, min_shared: int = 3) -> np.ndarray:
    """Median over other samples of the Pearson correlation on co-quantified proteins (samples × proteins)."""
    n = X.shape[0]
    M = np.isfinite(X).astype(float)
    Z = np.where(M > 0, X, 0.0)
    cnt = M @ M.T
    s1 = Z @ M.T  # Σ x_i over shared
    s2 = (Z * Z) @ M.T
    sxy = Z @ Z.T
    with np.errstate(divide="ignore", invalid="ignore"):
        mx, my = s1 / cnt, s1.T / cnt
        cov = sxy / cnt - mx * my
        vx = s2 / cnt - mx * mx
        vy = s2.T / cnt - my * my
        r = cov / np.sqrt(vx * vy)
    r[cnt < min_shared] = np.nan
    r[np.eye(n, dtype=bool)] = np.nan
    out = np.full(n, np.nan)
    for i in range(n):  # n samples only (not proteins)
        v = r[i][np.isfinite(r[i])]
        if v.size:
            out[i] = np.median(v)
    return out


def _pca_scores(X: np.ndarray, n_components: int) -> tuple[np.ndarray, np.ndarray]:
    """PCA of samples × proteins on proteins quantified in every sample (column-centred)."""
    full = np.isfinite(X).all(axis=0)
    A = X[:, full]
    if A.shape[1] < 2 or A.shape[0] < 3:
        return np.full((X.shape[0], 0), np.nan), np.zeros(0)
    A = A - A.mean(axis=0)
    U, S, _ = np.linalg.svd(A, full_matrices=False)
    k = min(n_components, A.shape[0] - 1, A.shape[1])
    scores = U[:, :k] * S[:k]
    # fix signs so results are deterministic across LAPACK builds: largest |loading| of each score positive
    sign = np.sign(scores[np.argmax(np.abs(scores), axis=0), np.arange(k)])
    sign[sign == 0] = 1
    var = S ** 2 / max(A.shape[0] - 1, 1)
    return scores * sign, var[:k] / var.sum()


def sample_qc(ds: Dataset, *, n_components: int = 3, outlier_quantile: float = 0.999,
              z_threshold: float = 3.5) -> pd.DataFrame:
    """One row per sample (column ``sample`` first, dataset order).

    Columns: ``n_proteins`` (quantified protein groups), ``n_precursors`` (sum of the ``n_peptides`` layer, NaN
    without it), ``missing_fraction``, ``median_log2`` (median log2 intensity), ``median_correlation`` (median
    Pearson r to the other samples on co-quantified proteins), ``pca_distance`` (robust distance in the space of
    the first ``n_components`` principal components of proteins quantified in every sample: per component
    (score − median)/(1.4826·MAD), summed in squares), and the flags ``pca_outlier`` (distance² above the
    ``outlier_quantile`` of χ² with k degrees of freedom and robust z of the distance above ``z_threshold``: the
    χ² cut alone over-flags small studies, whose MADs are noisy), ``missing_flag`` (robust z of missing fraction >
    ``z_threshold``), ``correlation_flag`` (robust z of median correlation < −``z_threshold``), ``n_proteins_flag``
    (robust z < −``z_threshold``) and ``outlier`` (any flag). The robust z scales have floors (2 percentage
    points of missingness, 0.01 of correlation, 2 % of the median protein count).
    """
    if not isinstance(ds, Dataset):
        raise InputError("sample_qc needs a Dataset")
    X = np.asarray(ds.X, dtype=float)
    obs = np.isfinite(X)
    n_prot = obs.sum(axis=1)
    with np.errstate(all="ignore"):
        med = np.array([np.median(r[np.isfinite(r)]) if np.isfinite(r).any() else np.nan for r in X])
    n_prec = np.asarray(ds.layers["n_peptides"], float).sum(axis=1) if "n_peptides" in ds.layers \
        else np.full(X.shape[0], np.nan)
    corr = _pairwise_median_correlation(X)
    scores, _ = _pca_scores(X, n_components)
    k = scores.shape[1]
    if k:
        Z = np.column_stack([robust_z(scores[:, j]) for j in range(k)])
        Z = np.where(np.isfinite(Z), Z, 1e6)
        dist = np.sqrt((Z ** 2).sum(axis=1))
        pca_flag = (dist ** 2 > chi2.ppf(outlier_quantile, k)) & (robust_z(dist) > z_threshold)
    else:
        dist = np.full(X.shape[0], np.nan)
        pca_flag = np.zeros(X.shape[0], dtype=bool)
    miss = 1.0 - obs.mean(axis=1) if X.shape[1] else np.full(X.shape[0], np.nan)
    # scale floors keep near-identical samples from being flagged for trivial differences: 2 percentage points
    # of missingness, 0.01 of correlation, 2 % of the median number of proteins
    miss_flag = robust_z(miss, 0.02) > z_threshold
    corr_flag = robust_z(corr, 0.01) < -z_threshold
    nprot_flag = robust_z(n_prot.astype(float), 0.02 * max(float(np.median(n_prot)), 1.0)) < -z_threshold
    out = pd.DataFrame({
        "sample": ds.sample_ids, "n_proteins": n_prot.astype(int), "n_precursors": n_prec,
        "missing_fraction": miss, "median_log2": med, "median_correlation": corr, "pca_distance": dist,
        "pca_outlier": pca_flag, "missing_flag": miss_flag, "correlation_flag": corr_flag,
        "n_proteins_flag": nprot_flag})
    out["outlier"] = out[["pca_outlier", "missing_flag", "correlation_flag", "n_proteins_flag"]].any(axis=1)
    return out


def protein_qc(ds: Dataset, group: str = "condition") -> pd.DataFrame:
    """One row per protein (column ``protein_group`` first, dataset order).

    Columns: ``gene`` (when known), ``n_valid``, ``missing_fraction``, ``mean_log2``, ``cv`` (all samples), then
    per level g of ``ds.samples[group]`` (sorted): ``n_valid_<g>``, ``missing_<g>`` and ``cv_<g>``. CVs are on
    the linear scale: SD (n − 1) / mean of 2^x over the valid values; NaN with fewer than 2 values.
    Without a ``group`` column only the overall columns are returned.
    """
    if not isinstance(ds, Dataset):
        raise InputError("protein_qc needs a Dataset")
    X = np.asarray(ds.X, dtype=float)
    out = pd.DataFrame({"protein_group": ds.protein_ids})
    prot = ds.proteins
    if "gene" in prot.columns:
        out["gene"] = prot["gene"].to_numpy()

    def stats(block: np.ndarray):
        ok = np.isfinite(block)
        n = ok.sum(axis=0)
        lin = np.where(ok, np.exp2(block), 0.0)
        with np.errstate(all="ignore"):
            mean = lin.sum(axis=0) / n
            var = (np.where(ok, (np.exp2(block) - mean) ** 2, 0.0)).sum(axis=0) / (n - 1)
            cv = np.where(n >= 2, np.sqrt(var) / mean, np.nan)
            mlog = np.where(n > 0, np.where(ok, block, 0.0).sum(axis=0) / np.maximum(n, 1), np.nan)
        miss = 1.0 - n / block.shape[0] if block.shape[0] else np.full(block.shape[1], np.nan)
        return n, miss, cv, mlog

    n, miss, cv, mlog = stats(X)
    out["n_valid"] = n
    out["missing_fraction"] = miss
    out["mean_log2"] = mlog
    out["cv"] = cv
    samples = ds.samples
    if group in samples.columns:
        labels = samples[group].astype(str).to_numpy()
        for g in sorted(set(labels)):
            ng, mg, cg, _ = stats(X[labels == g])
            out[f"n_valid_{g}"] = ng
            out[f"missing_{g}"] = mg
            out[f"cv_{g}"] = cg
    return out


def intensity_table(ds: Dataset, stage: str = "") -> pd.DataFrame:
    """Long table of the quantified values: ``sample, protein_group, log2, stage`` (for distribution plots)."""
    X = np.asarray(ds.X, dtype=float)
    i, j = np.nonzero(np.isfinite(X))
    return pd.DataFrame({"sample": np.asarray(ds.sample_ids, dtype=object)[i],
                         "protein_group": np.asarray(ds.protein_ids, dtype=object)[j],
                         "log2": X[i, j], "stage": stage})


def pca_table(ds: Dataset, n_components: int = 2, annotations: tuple[str, ...] = ("condition", "batch")) -> pd.DataFrame:
    """Sample scores ``PC1..PCk`` (proteins quantified in every sample, centred) plus annotation columns.

    ``DataFrame.attrs['explained_variance_ratio']`` holds the fraction of variance of each component.
    """
    X = np.asarray(ds.X, dtype=float)
    scores, ratio = _pca_scores(X, n_components)
    out = pd.DataFrame({"sample": ds.sample_ids})
    for j in range(scores.shape[1]):
        out[f"PC{j + 1}"] = scores[:, j]
    samples = ds.samples
    for col in annotations:
        if col in samples.columns:
            out[col] = samples[col].astype(str).to_numpy()
    out.attrs["explained_variance_ratio"] = [float(r) for r in ratio]
    return out
