"""Detection-aware differential abundance (``--model dpc``), protein-level variant.

The class of model of limpa (Li, Cobbold & Smyth 2025), written from the paper's description for a protein
matrix (samples × proteins, log2, NaN = not detected); no code taken:

1. fit the detection probability curve on the protein matrix (:func:`proteomics.stats.dpc.fit_detection_curve`:
   logistic in intensity, with a cap) and complete the matrix: a missing value becomes its posterior mean given
   non-detection, with the posterior SD as its standard error (:func:`~proteomics.stats.dpc.posterior_fill`),
   so "not detected" counts as evidence of low abundance without imputing a fixed number;
2. precision weights ``w_ij = sigma² / (sigma² + se_ij²)`` (1 for an observed value; ``sigma`` the curve's
   common SD), so uncertain fills count less;
3. per protein a weighted group-means fit (``~0 + group``): group means ``m_g = Σ w y / Σ w`` and contrast
   SE factor ``sqrt(Σ_g c_g² / W_g)``; the residual variance uses **observed values only**, with
   ``df = n_observed − groups observed``: a group entirely filled adds no residual degrees of freedom (its fills
   sit near their common posterior mean and would fake precision);
4. empirical-Bayes moderation (limma ``squeezeVar``) with a variance trend on the protein's mean of the
   completed values, and the moderated t with ``df_total = df + d0``.

Every protein with at least one detected value gets a test (``test = "dpc"``): no protein is dropped because a
group is unobserved. Only group designs are supported (no covariates or blocks); use ``--model limma`` for those.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import stats

from ..dataset import Dataset
from ..errors import InputError
from ._squeeze import squeeze_var
from .design import contrast_matrix, make_design
from .dpc import DPCFit, fit_detection_curve, posterior_fill
from .fdr import adjust
from .results import build_result

__all__ = ["dpc_t", "complete_with_dpc"]


def _quant_sigma(ds: Dataset) -> float | None:
    for step in reversed(ds.history):
        curve = dict(step.params).get("detection_curve") if step.name == "quantify" else None
        if curve and "sigma" in curve:
            return float(curve["sigma"])
    return None


def complete_with_dpc(ds: Dataset, fit: DPCFit | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray,
                                                                         np.ndarray, dict]:
    """(completed values, SE, weights, detected mask, curve description), arrays samples × proteins (log2).

    A Dataset quantified with ``quantify --method dpc`` is already complete and carries its SEs (layer
    ``dpc_se``; a value counts as detected where ``n_peptides`` > 0); otherwise the curve is fitted on the protein
    matrix and missing values are filled by :func:`~proteomics.stats.dpc.posterior_fill`. Proteins never
    detected stay NaN with weight 0."""
    X = np.asarray(ds.X, dtype=float)
    if "dpc_se" in ds.layers and not np.isnan(X).all():
        se = np.asarray(ds.layers["dpc_se"], dtype=float)
        obs = np.asarray(ds.layers["n_peptides"]) > 0 if "n_peptides" in ds.layers else np.isfinite(X)
        sigma = _quant_sigma(ds)
        if sigma is None:
            with np.errstate(all="ignore"):
                sigma = float(np.sqrt(np.nanmedian(np.nanvar(X, axis=0, ddof=1))))
        w = np.where(np.isfinite(X), sigma ** 2 / (sigma ** 2 + np.nan_to_num(se, nan=0.0) ** 2), 0.0)
        return X, se, w, obs & np.isfinite(X), {"source": "quantify --method dpc", "sigma": sigma}
    if fit is None:
        fit = fit_detection_curve(X.T)
    full, se = posterior_fill(X.T, fit)
    full, se = full.T, se.T
    w = fit.sigma ** 2 / (fit.sigma ** 2 + se ** 2)
    w = np.where(np.isfinite(full), w, 0.0)
    return full, se, w, np.isfinite(X), fit.curve.as_dict() | {"sigma": fit.sigma}


def dpc_t(ds: Dataset, contrasts: str | Sequence[str], *, group: str = "condition", trend: bool = True,
          robust: bool = False, fdr: str = "bh", fit: DPCFit | None = None):
    """Detection-aware moderated t for each contrast (see module doc). Returns one
    :class:`~proteomics.stats.results.DEResult` for a string, a list for several. Columns as for limma plus
    ``test`` (``dpc``), ``weight`` (mean precision weight of the protein's values), ``df_residual``,
    ``s2_post``, ``s2_prior``, ``df_prior``."""
    single = isinstance(contrasts, str)
    cons = [contrasts] if single else list(contrasts)
    if len(set(cons)) != len(cons):
        raise InputError("the same contrast is given twice", hint="list each contrast once")
    design = make_design(ds.samples, group=group)
    if design.matrix.shape[1] != len(design.levels):
        raise InputError("--model dpc supports group designs only (no covariates)",
                         hint="use --model limma for designs with covariates or blocks")
    C = contrast_matrix(cons, design)
    full, _se, w, obs, curve = complete_with_dpc(ds, fit)
    X = np.where(obs, full, np.nan)
    D = design.matrix.astype(bool)                                  # samples × groups
    W = w.T @ D                                                     # proteins × groups: Σ w
    with np.errstate(all="ignore"):
        means = (np.where(np.isfinite(full), w * full, 0.0).T @ D) / W
    fitted = means @ D.T                                            # proteins × samples
    resid = np.where(obs.T, X.T - fitted, 0.0)
    groups_obs = (obs.astype(float).T @ D > 0).sum(axis=1)
    df = np.maximum(obs.sum(axis=0) - groups_obs, 0).astype(float)
    with np.errstate(all="ignore"):
        s2 = np.where(df > 0, (resid ** 2).sum(axis=1) / np.maximum(df, 1), np.nan)
    detected = obs.any(axis=0)
    fin = np.isfinite(full)
    amean = np.where(detected, np.where(fin, full, 0.0).sum(axis=0) / np.maximum(fin.sum(axis=0), 1), np.nan)
    ok = detected & (df > 0)
    sq = squeeze_var(np.where(ok, s2, 0.0)[ok], df[ok], covariate=amean[ok] if trend else None, robust=robust)
    G = ds.n_proteins
    s2_prior = np.full(G, np.nan)
    df_prior = np.full(G, np.nan)
    s2_post = np.full(G, np.nan)
    s2_prior[ok] = np.broadcast_to(np.asarray(sq["var_prior"], dtype=float), (int(ok.sum()),))
    df_prior[ok] = np.broadcast_to(np.asarray(sq["df_prior"], dtype=float), (int(ok.sum()),))
    s2_post[ok] = sq["var_post"]
    # detected proteins without residual df take the prior of the nearest intensity
    lone = detected & ~ok
    if lone.any() and ok.any():
        order = np.argsort(amean[ok])
        pos = np.clip(np.searchsorted(amean[ok][order], amean[lone]), 0, int(ok.sum()) - 1)
        s2_prior[lone] = s2_prior[ok][order][pos]
        df_prior[lone] = df_prior[ok][order][pos]
        s2_post[lone] = s2_prior[lone]
    df_total = df + df_prior
    mean_w = np.where(detected, w.mean(axis=0), np.nan)
    results = []
    for j, con in enumerate(cons):
        c = C[:, j]
        with np.errstate(all="ignore"):
            est = np.where(np.isfinite(means), means, 0.0) @ c
            unscaled = np.sqrt(((c ** 2)[None, :] / W).sum(axis=1, where=(c != 0)[None, :]))
            se = unscaled * np.sqrt(s2_post)
            t = est / se
        used = (W[:, c != 0] > 0).all(axis=1) & detected
        est = np.where(used, est, np.nan)
        t = np.where(used, t, np.nan)
        p = np.where(used, 2 * stats.t.sf(np.abs(t), df_total), np.nan)
        q = adjust(p, fdr)
        res = build_result(
            ds, design, con, c, log2fc=est, se=np.where(used, se, np.nan), t=t, p=p, q=q, df_total=df_total,
            ave_expr=amean,
            extra={"test": np.where(np.isfinite(p), "dpc", ""), "weight": mean_w, "df_residual": df,
                   "s2_post": s2_post, "s2_prior": s2_prior, "df_prior": df_prior},
            method="detection-aware moderated t (DPC)",
            params={"model": "dpc", "group": group, "trend": trend, "robust": robust, "fdr": fdr,
                    "detection_curve": curve,
                    "df_prior": float(np.nanmedian(df_prior)) if ok.any() else float("nan"),
                    "s2_prior": float(np.nanmedian(s2_prior)) if ok.any() else float("nan")})
        t_imp = (~obs).astype(int)
        table = res.table
        labels = ds.samples[group].astype(str).to_numpy()
        for lev in design.levels:
            table[f"n_obs_{lev}"] = obs[labels == lev].sum(axis=0)
            table[f"n_imputed_{lev}"] = t_imp[labels == lev].sum(axis=0)
        results.append(res)
    return results[0] if single else results

