"""Linear models with empirical-Bayes moderated statistics, as R limma computes them.

Array API (proteins are the columns of ``Y``: samples × proteins, log2 abundances, NaN = missing):

* :func:`lm_fit` (limma ``lmFit``): least squares per protein on its observed samples, vectorised by
  grouping proteins with the same missing-value pattern (one QR per pattern, never a loop per protein).
  Coefficients not estimable on a protein's observed samples are NaN (limma's "Partial NA coefficients").
  With ``correlation``/``block`` it is a generalised least-squares fit with the intra-block correlation
  (limma ``gls.series``).
* :func:`contrasts_fit` (limma ``contrasts.fit``), including limma's approximation of the contrast standard
  errors through the correlation matrix of the full design when the design is not orthogonal
  (ALGORITHMS.md §1.1, §10.2: it is what limma reports, so we reproduce it).
* :func:`ebayes` (limma ``eBayes``): moderated t, p-values, B statistic, moderated F for several contrasts.
  ``legacy=None`` is current limma (≥ 3.62): the profile-likelihood estimator ``fitFDistUnequalDF1`` when
  the residual df differ, the method of moments when they are all equal; ``legacy=True`` is limma 3.54.
* :func:`squeeze_var` (limma ``squeezeVar``).

Dataset API: :func:`moderated_t` builds the design from ``Dataset.samples`` and returns a
:class:`~proteomics.stats.results.DEResult` per contrast.
"""

from __future__ import annotations

import logging
import math
import warnings
from collections.abc import Sequence

import numpy as np
from scipy import stats

from ..dataset import Dataset
from ..errors import InputError
from ._dupcor import duplicate_correlation
from ._squeeze import squeeze_var
from .deqms import count_ebayes
from .design import Design, contrast_matrix, make_design
from .fdr import adjust
from .linear import (
    EBayesResult,
    LinearFit,
    cell_means_fit,
    contrasts_fit,
    f_stat,
    lm_fit,
    p_two_sided,
    pt_upper,
    qt_upper,
    qt_upper_log,
)
from .results import build_result

__all__ = ["LinearFit", "EBayesResult", "lm_fit", "contrasts_fit", "ebayes", "squeeze_var", "moderated_t",
           "duplicate_correlation", "class_statistic"]

log = logging.getLogger(__name__)


# -- eBayes ---------------------------------------------------------------------------------------------
def _tmixture_vector(t, su, df, proportion, v0_lim):
    ok = ~np.isnan(t)
    t, su, df = t[ok], su[ok], df[ok]
    ng = t.size
    ntarget = math.ceil(proportion / 2 * ng)
    if ntarget < 1:
        return np.nan
    p = max(ntarget / ng, proportion)
    t = np.abs(t)
    maxdf = np.max(df)
    i = df < maxdf
    if i.any():
        tailp = stats.t.logsf(t[i], df[i])
        t = t.copy()
        t[i] = qt_upper_log(tailp, maxdf)
    o = np.argsort(-t, kind="stable")[:ntarget]
    t = t[o]
    v1 = su[o] ** 2
    r = np.arange(1, ntarget + 1)
    p0 = 2 * pt_upper(t, maxdf)
    ptarget = ((r - 0.5) / ng - (1 - p) * p0) / p
    v0 = np.zeros(ntarget)
    pos = ptarget > p0
    if pos.any():
        qtarget = qt_upper(ptarget[pos] / 2, maxdf)
        v0[pos] = v1[pos] * ((t[pos] / qtarget) ** 2 - 1)
    if v0_lim is not None:
        v0 = np.minimum(np.maximum(v0, v0_lim[0]), v0_lim[1])
    return float(np.mean(v0))


def ebayes(fit: LinearFit, *, proportion: float = 0.01, stdev_coef_lim=(0.1, 4.0), trend: bool = False,
           robust: bool = False, winsor_tail_p=(0.05, 0.1), legacy: bool | None = None) -> EBayesResult:
    """limma ``eBayes`` on a (contrast) fit. Proteins with NaN Amean are left out of the prior when
    ``trend=True`` (limma stops on them; this equals limma with those rows filtered out)."""
    coef = fit.coefficients
    su = fit.stdev_unscaled
    dfres = fit.df_residual.astype(float)
    sigma = fit.sigma
    G = coef.shape[0]
    if G == 0 or np.max(dfres) == 0:
        raise InputError("no residual degrees of freedom in the linear model fits",
                         hint="each group needs replicates (more samples than design columns)")
    if not np.any(np.isfinite(sigma)):
        raise InputError("no finite residual standard deviations")
    use = np.ones(G, dtype=bool)
    covariate = None
    if trend:
        use = ~np.isnan(fit.amean)
        covariate = fit.amean[use]
    sq = squeeze_var(sigma[use] ** 2, dfres[use], covariate=covariate, robust=robust,
                     winsor_tail_p=winsor_tail_p, legacy=legacy)

    def expand(v):
        v = np.asarray(v, dtype=float)
        if v.ndim == 0:
            return float(v) if use.all() else np.where(use, float(v), np.nan)
        out = np.full(G, np.nan)
        out[use] = v
        return out

    s2_post = expand(sq["var_post"])
    s2_prior = expand(sq["var_prior"])
    df_prior = expand(sq["df_prior"])
    s2p = np.broadcast_to(np.asarray(s2_post, dtype=float), (G,))
    with np.errstate(invalid="ignore", divide="ignore"):
        t = coef / su / np.sqrt(s2p)[:, None]
    df_pooled = float(np.nansum(dfres[use]))
    df_total = np.minimum(dfres + np.broadcast_to(df_prior, (G,)), df_pooled)
    df_total = np.where(use, df_total, np.nan)
    p = p_two_sided(t, df_total[:, None])
    # B statistic
    var_prior_lim = np.asarray(stdev_coef_lim, dtype=float) ** 2 / np.nanmedian(np.broadcast_to(s2_prior, (G,)))
    C = t.shape[1]
    var_prior = np.array([_tmixture_vector(t[:, j], su[:, j], df_total, proportion, var_prior_lim)
                          for j in range(C)])
    if np.isnan(var_prior).any():
        var_prior[np.isnan(var_prior)] = 1 / np.nanmedian(np.broadcast_to(s2_prior, (G,)))
        log.warning("Estimation of var.prior failed - set to default value")
    with np.errstate(invalid="ignore", divide="ignore"):
        r = (su ** 2 + var_prior[None, :]) / su ** 2
        t2 = t ** 2
        dft = df_total[:, None]
        infdf = np.broadcast_to(df_prior, (G,)) > 1e6
        kernel = (1 + dft) / 2 * np.log((t2 + dft) / (t2 / r + dft))
        if infdf.any():
            kernel = np.where(infdf[:, None], t2 * (1 - 1 / r) / 2, kernel)
        lods = math.log(proportion / (1 - proportion)) - np.log(r) / 2 + kernel
    F, df1 = f_stat(t, fit.cov_coefficients)
    with np.errstate(invalid="ignore"):
        Fp = stats.f.sf(F, df1, df_total)
        Fp = np.where(np.isinf(df_total), stats.chi2.sf(F * df1, df1), Fp)
    return EBayesResult(fit, t, p, lods, s2_post, s2_prior, df_prior, df_total, var_prior, F, Fp,
                        df_pooled, bool(sq["legacy"]))


# -- Dataset API -----------------------------------------------------------------------------------------
def moderated_t(ds: Dataset, contrasts: str | Sequence[str], *, group: str = "condition",
                covariates: Sequence[str] = (), block: str | None = None, trend: bool = False,
                robust: bool = False, legacy: bool | None = None, fdr: str = "bh",
                weights_counts: np.ndarray | None = None, proportion: float = 0.01):
    """Moderated t-tests (limma) for each contrast on a Dataset (samples × proteins, log2, NaN = missing).

    ``contrasts``: one string (returns one :class:`DEResult`) or several (returns a list, in order; each
    result also carries the moderated F over all contrasts in ``params``). ``group`` names the
    sample-table column whose levels become ``~0 + group`` columns; ``covariates`` are added (numeric or
    categorical; a subject column gives a paired design). ``block`` names a column of a random block effect
    (limma ``duplicateCorrelation`` then GLS). ``legacy=None`` matches limma ≥ 3.62, ``True`` limma 3.54.
    ``weights_counts`` (one count per protein, e.g. the minimum number of PSMs) switches to DEqMS's
    count-dependent prior (:mod:`proteomics.stats.deqms`). ``fdr``: ``bh``, ``by`` or ``storey``.
    """
    single = isinstance(contrasts, str)
    cons = [contrasts] if single else list(contrasts)
    if weights_counts is not None and (trend or robust):
        raise InputError("the count-aware prior (weights_counts) replaces trend/robust",
                         hint="use either weights_counts or trend/robust")
    if len(set(cons)) != len(cons):
        raise InputError("the same contrast is given twice", hint="list each contrast once")
    samples = ds.samples
    design = make_design(samples, group=group, covariates=covariates)
    C = contrast_matrix(cons, design)
    Y = np.asarray(ds.X, dtype=float)
    rho = None
    blk = None
    if block is not None:
        if block not in samples.columns:
            raise InputError(f"sample table has no column {block!r}", column=block,
                             hint=f"use one of: {', '.join(map(str, samples.columns))}")
        blk = samples[block].astype(str).to_numpy()
        rho = duplicate_correlation(Y, design.matrix, blk)
    fit = lm_fit(Y, design.matrix, design.columns, block=blk, correlation=rho)
    cfit = contrasts_fit(fit, C, cons)
    if weights_counts is not None:
        eb = count_ebayes(cfit, weights_counts, proportion=proportion)
        method = "DEqMS count-aware moderated t"
    else:
        eb = ebayes(cfit, proportion=proportion, trend=trend, robust=robust, legacy=legacy)
        method = "limma moderated t" + (" (legacy estimator)" if eb.legacy else "")
    params = {"trend": trend, "robust": robust, "legacy": legacy, "legacy_used": eb.legacy,
              "group": group, "covariates": list(covariates), "block": block, "block_correlation": rho,
              "df_pooled": eb.df_pooled, "fdr": fdr, "proportion": proportion}
    if len(cons) > 1:
        params["F"] = eb.F
        params["F_p_value"] = eb.F_p_value
    results = []
    for j, con in enumerate(cons):
        s2_post = np.broadcast_to(np.asarray(eb.s2_post, dtype=float), (ds.n_proteins,))
        se = cfit.stdev_unscaled[:, j] * np.sqrt(s2_post)
        q = adjust(eb.p_value[:, j], fdr)
        results.append(build_result(
            ds, design, con, C[:, j], log2fc=cfit.coefficients[:, j], se=se, t=eb.t[:, j],
            p=eb.p_value[:, j], q=q, df_total=eb.df_total, B=eb.lods[:, j], ave_expr=fit.amean,
            extra={"sigma": cfit.sigma, "df_residual": cfit.df_residual, "s2_post": s2_post,
                   "s2_prior": np.broadcast_to(np.asarray(eb.s2_prior, dtype=float), (ds.n_proteins,)),
                   "df_prior": np.broadcast_to(np.asarray(eb.df_prior, dtype=float), (ds.n_proteins,))},
            method=method, params=params | _prior_summary(eb)))
    return results[0] if single else results


def _prior_summary(eb: EBayesResult) -> dict:
    def summ(v):
        a = np.asarray(v, dtype=float)
        return float(a) if a.ndim == 0 else float(np.nanmedian(a))
    return {"df_prior": summ(eb.df_prior), "s2_prior": summ(eb.s2_prior),
            "per_protein_prior": bool(np.ndim(eb.df_prior) or np.ndim(eb.s2_prior))}


def fit_design(ds: Dataset, design: Design) -> LinearFit:
    """:func:`lm_fit` of a Dataset on a prepared :class:`Design`."""
    return lm_fit(np.asarray(ds.X, dtype=float), design.matrix, design.columns)


# -- ranking statistic (panel selection) -------------------------------------------------------------------
def class_statistic(X: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Per-protein |moderated t| (two classes) or moderated F (more classes) of the model ``~0 + class``
    (limma lmFit → contrasts.fit → eBayes, current limma estimator), as used to rank panel proteins.

    ``X``: samples × proteins (log2, NaN = missing); ``y``: one class label per sample. Returns one value per
    protein (larger = stronger); proteins with at most one observed value per class, or all proteins when fewer
    than 3 can be tested, get −inf.
    """
    classes = np.unique(y)
    design = (y[:, None] == classes[None, :]).astype(float)
    C = np.zeros((classes.size, classes.size - 1))
    C[0, :] = -1.0
    C[np.arange(1, classes.size), np.arange(classes.size - 1)] = 1.0
    keep = (~np.isnan(X)).sum(axis=0) > classes.size
    out = np.full(X.shape[1], -np.inf)
    if keep.sum() < 3:
        return out
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        eb = ebayes(contrasts_fit(cell_means_fit(X[:, keep], design), C))
    stat = np.abs(eb.t[:, 0]) if classes.size == 2 else eb.F
    out[keep] = np.where(np.isfinite(stat), stat, -np.inf)
    return out
