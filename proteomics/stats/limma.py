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
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
from scipy import stats

from ..dataset import Dataset
from ..errors import InputError
from ._squeeze import squeeze_var
from .design import Design, contrast_matrix, estimable_columns, make_design

__all__ = ["LinearFit", "EBayesResult", "lm_fit", "contrasts_fit", "ebayes", "squeeze_var", "moderated_t",
           "duplicate_correlation"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LinearFit:
    """Per-protein linear model fit. Arrays have one row per protein (G) and one column per coefficient.

    ``coefficients`` (log2 units), ``stdev_unscaled`` (G × p), ``sigma`` (residual SD, log2; NaN when
    ``df_residual`` is 0), ``df_residual`` (G,), ``amean`` (mean observed log2 value, NaN when none),
    ``cov_coefficients`` (p × p, unscaled covariance of the full design, as limma keeps it),
    ``names`` (coefficient or contrast names).
    """

    coefficients: np.ndarray
    stdev_unscaled: np.ndarray
    sigma: np.ndarray
    df_residual: np.ndarray
    amean: np.ndarray
    cov_coefficients: np.ndarray
    names: tuple[str, ...]
    design: np.ndarray
    contrasts: np.ndarray | None = None
    correlation: float | None = None


@dataclass(frozen=True)
class EBayesResult:
    """Output of :func:`ebayes` (G proteins × C contrasts where 2-D)."""

    fit: LinearFit
    t: np.ndarray
    p_value: np.ndarray
    lods: np.ndarray
    s2_post: np.ndarray
    s2_prior: np.ndarray | float
    df_prior: np.ndarray | float
    df_total: np.ndarray
    var_prior: np.ndarray
    F: np.ndarray
    F_p_value: np.ndarray
    df_pooled: float
    legacy: bool


# -- lmFit ---------------------------------------------------------------------------------------------
def _unique_patterns(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Unique observed-sample patterns (columns of ``mask``) and the pattern index of every protein."""
    packed = np.packbits(mask, axis=0)
    view = np.ascontiguousarray(packed.T).view(np.dtype((np.void, packed.shape[0])))[:, 0]
    _, first, inverse = np.unique(view, return_index=True, return_inverse=True)
    return mask[:, first], inverse.ravel()


def _block_corr_matrix(block: np.ndarray, rho: float) -> np.ndarray:
    same = block[:, None] == block[None, :]
    V = np.where(same, rho, 0.0)
    np.fill_diagonal(V, 1.0)
    return V


def lm_fit(Y: np.ndarray, design: np.ndarray, names: Sequence[str] | None = None, *,
           block: Sequence | None = None, correlation: float | None = None) -> LinearFit:
    """Fit ``Y[:, g] ~ design`` for every protein g by (generalised) least squares on its observed samples.

    ``Y``: samples × proteins, log2 (NaN = missing). ``design``: samples × p. With ``block`` (one label per
    sample) and ``correlation`` (intra-block correlation, e.g. from :func:`duplicate_correlation`) the fit
    is GLS with ``cor(y_i, y_j) = correlation`` for samples of the same block (limma ``gls.series``).
    """
    Y = np.asarray(Y, dtype=float)
    X = np.asarray(design, dtype=float)
    if Y.ndim != 2 or X.ndim != 2 or X.shape[0] != Y.shape[0]:
        raise InputError(f"design has {X.shape[0]} rows but the data have {Y.shape[0]} samples")
    n, G = Y.shape
    p = X.shape[1]
    names = tuple(names) if names is not None else tuple(f"x{j}" for j in range(p))
    V = None
    if block is not None and correlation is not None:
        V = _block_corr_matrix(np.asarray(block), float(correlation))
    coef = np.full((G, p), np.nan)
    stdev = np.full((G, p), np.nan)
    sigma = np.full(G, np.nan)
    dfres = np.zeros(G)
    mask = ~np.isnan(Y)
    patterns, which = _unique_patterns(mask)
    order = np.argsort(which, kind="stable")
    bounds = np.searchsorted(which[order], np.arange(patterns.shape[1] + 1))
    sizes = np.diff(bounds)
    out = (coef, stdev, sigma, dfres)
    single = np.flatnonzero(sizes == 1) if V is None else np.array([], dtype=int)
    fallback = _fit_batched(Y, X, order[bounds[single]], out) if single.size else np.array([], dtype=int)
    for k in np.flatnonzero(sizes > 1) if V is None else range(patterns.shape[1]):
        _fit_pattern(Y, X, V, patterns[:, k], order[bounds[k]:bounds[k + 1]], out)
    for g in fallback:
        _fit_pattern(Y, X, V, mask[:, g], np.array([g]), out)
    with np.errstate(invalid="ignore"):
        counts = mask.sum(axis=0)
        amean = np.where(counts > 0, np.nansum(np.where(mask, Y, 0.0), axis=0) / np.maximum(counts, 1), np.nan)
    Xc = X if V is None else np.linalg.solve(np.linalg.cholesky(V), X)
    est = estimable_columns(Xc)
    cov = np.full((p, p), np.nan)
    R = np.linalg.qr(Xc[:, est])[1]
    ri = np.linalg.inv(R)
    cov[np.ix_(est, est)] = ri @ ri.T
    return LinearFit(coef, stdev, sigma, dfres, amean, cov, names, X,
                     correlation=None if V is None else float(correlation))


def _fit_pattern(Y, X, V, obs, prot, out) -> None:
    """QR fit of the proteins ``prot`` that share the observed-sample mask ``obs`` (writes into ``out``)."""
    coef, stdev, sigma, dfres = out
    nobs = int(obs.sum())
    if nobs == 0:
        return
    Xo = X[obs]
    Yo = Y[np.ix_(obs, prot)]
    if V is not None:
        L = np.linalg.cholesky(V[np.ix_(obs, obs)])
        Xo = np.linalg.solve(L, Xo)
        Yo = np.linalg.solve(L, Yo)
    est = estimable_columns(Xo)
    rank = int(est.sum())
    if rank == 0:
        dfres[prot] = nobs
        sigma[prot] = np.sqrt(np.sum(Yo ** 2, axis=0) / nobs)
        return
    Q, R = np.linalg.qr(Xo[:, est])
    b = np.linalg.solve(R, Q.T @ Yo)
    Rinv = np.linalg.inv(R)
    su = np.sqrt(np.sum(Rinv ** 2, axis=1))
    cols = np.flatnonzero(est)
    coef[np.ix_(prot, cols)] = b.T
    stdev[np.ix_(prot, cols)] = su[None, :]
    df = nobs - rank
    dfres[prot] = df
    if df > 0:
        resid = Yo - Q @ (Q.T @ Yo)
        sigma[prot] = np.sqrt(np.sum(resid ** 2, axis=0) / df)


def _fit_batched(Y, X, prot, out, chunk: int = 2048) -> np.ndarray:
    """Least-squares fits for proteins with a missing-value pattern of their own, vectorised with matrix
    products: ``X'MX`` and ``X'My`` (M = observed mask) for all proteins at once, a stacked Cholesky of the
    column-equilibrated ``X'MX`` and residuals computed directly as ``y − Xb``. A Cholesky pivot of the
    equilibrated matrix is the relative residual norm of that column given the previous ones (the quantity
    dqrdc2 tests) and is at least the square root of the smallest eigenvalue, so proteins whose smallest
    eigenvalue is below 1e-12 (pivot possibly below 1e-6, near the 1e-7 rank rule) go back to the exact
    per-pattern QR path; their indices are returned."""
    coef, stdev, sigma, dfres = out
    n, p = X.shape
    XX = (X[:, :, None] * X[:, None, :]).reshape(n, p * p)
    bad: list[np.ndarray] = []
    for start in range(0, prot.size, chunk):
        g = prot[start:start + chunk]
        Yg = Y[:, g].T                                         # P × n
        m = ~np.isnan(Yg)
        mf = m.astype(float)
        y = np.where(m, Yg, 0.0)
        A = (mf @ XX).reshape(-1, p, p)                        # X'MX
        d = np.sqrt(np.diagonal(A, axis1=1, axis2=2))          # column norms on observed samples
        ok = np.all(d > 0, axis=1)
        ds = np.where(d > 0, d, 1.0)
        S = A / (ds[:, :, None] * ds[:, None, :])
        S[~ok] = np.eye(p)
        full = ok & (np.linalg.eigvalsh(S)[:, 0] > 1e-12)      # smallest pivot² >= smallest eigenvalue
        bad.append(g[~full])
        if not full.any():
            continue
        gg, S, ds, y, mf = g[full], S[full], ds[full], y[full], mf[full]
        rhs = (y @ X) / ds                                     # scaled X'My
        z = np.linalg.solve(S, rhs[:, :, None])[:, :, 0]
        b = z / ds
        Sinv = np.linalg.inv(S)
        coef[gg] = b
        stdev[gg] = np.sqrt(np.diagonal(Sinv, axis1=1, axis2=2)) / ds
        df = mf.sum(axis=1) - p
        dfres[gg] = df
        resid = (y - b @ X.T) * mf
        with np.errstate(invalid="ignore", divide="ignore"):
            sigma[gg] = np.where(df > 0, np.sqrt(np.sum(resid ** 2, axis=1) / np.maximum(df, 1)), np.nan)
    return np.concatenate(bad) if bad else np.array([], dtype=int)

# -- contrasts.fit ----------------------------------------------------------------------------------------
def _cov2cor(c: np.ndarray) -> np.ndarray:
    d = np.sqrt(np.diag(c))
    return c / np.outer(d, d)


def contrasts_fit(fit: LinearFit, contrasts: np.ndarray, names: Sequence[str] | None = None) -> LinearFit:
    """limma ``contrasts.fit``: coefficients → contrasts (``contrasts``: p × C weights).

    Standard errors use limma's rule: exact for an orthogonal design, otherwise the correlation matrix of the
    full design (an approximation when proteins have missing values; ALGORITHMS.md §10.2).
    """
    C = np.asarray(contrasts, dtype=float)
    if C.ndim == 1:
        C = C[:, None]
    p = fit.coefficients.shape[1]
    if C.shape[0] != p:
        raise InputError(f"contrast matrix has {C.shape[0]} rows, the design has {p} coefficients")
    coef = fit.coefficients.copy()
    su = fit.stdev_unscaled.copy()
    na = np.isnan(coef)
    if na.any():
        coef[na] = 0.0
        su[na] = 1e30
    cor = _cov2cor(fit.cov_coefficients)
    orthog = np.sum(np.abs(np.tril(cor, -1))) < 1e-12
    new_coef = coef @ C
    if orthog:
        new_su = np.sqrt((su ** 2) @ (C ** 2))
    else:
        R = np.linalg.cholesky(cor).T
        A = su[:, :, None] * C[None, :, :]                      # G × p × C
        B = np.einsum("kp,gpc->gkc", R, A)
        new_su = np.sqrt(np.sum(B ** 2, axis=1))
    if na.any():
        big = new_su > 1e20
        new_coef[big] = np.nan
        new_su[big] = np.nan
    cov = C.T @ fit.cov_coefficients @ C
    nm = tuple(names) if names is not None else tuple(f"c{j}" for j in range(C.shape[1]))
    return replace(fit, coefficients=new_coef, stdev_unscaled=new_su, cov_coefficients=cov, names=nm,
                   contrasts=C)


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
        t[i] = _qt_upper_log(tailp, maxdf)
    o = np.argsort(-t, kind="stable")[:ntarget]
    t = t[o]
    v1 = su[o] ** 2
    r = np.arange(1, ntarget + 1)
    p0 = 2 * _pt_upper(t, maxdf)
    ptarget = ((r - 0.5) / ng - (1 - p) * p0) / p
    v0 = np.zeros(ntarget)
    pos = ptarget > p0
    if pos.any():
        qtarget = _qt_upper(ptarget[pos] / 2, maxdf)
        v0[pos] = v1[pos] * ((t[pos] / qtarget) ** 2 - 1)
    if v0_lim is not None:
        v0 = np.minimum(np.maximum(v0, v0_lim[0]), v0_lim[1])
    return float(np.mean(v0))


def _pt_upper(t, df):
    return stats.norm.sf(t) if np.isinf(df) else stats.t.sf(t, df)


def _qt_upper(p, df):
    return stats.norm.isf(p) if np.isinf(df) else stats.t.isf(p, df)


def _qt_upper_log(logp, df):
    p = np.exp(logp)
    return _qt_upper(p, df)


def _p_two_sided(t: np.ndarray, df: np.ndarray) -> np.ndarray:
    df = np.broadcast_to(df, t.shape)
    with np.errstate(invalid="ignore"):
        out = 2 * stats.t.sf(np.abs(t), df)
        inf = np.isinf(df)
        if inf.any():
            out = np.where(inf, 2 * stats.norm.sf(np.abs(t)), out)
    return out


def _f_stat(t: np.ndarray, cov: np.ndarray) -> tuple[np.ndarray, int]:
    """limma ``classifyTestsF(fstat.only=TRUE)``: F from moderated t's and the contrasts' correlation."""
    ntests = t.shape[1]
    if ntests == 1:
        return t[:, 0] ** 2, 1
    cor = _cov2cor(cov)
    vals, vecs = np.linalg.eigh(cor)
    idx = np.argsort(-vals)
    vals, vecs = vals[idx], vecs[:, idx]
    r = int(np.sum(vals / vals[0] > 1e-8))
    Q = vecs[:, :r] / np.sqrt(vals[:r])
    F = np.sum((t @ Q) ** 2, axis=1) / r
    return F, r


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
    p = _p_two_sided(t, df_total[:, None])
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
    F, df1 = _f_stat(t, fit.cov_coefficients)
    with np.errstate(invalid="ignore"):
        Fp = stats.f.sf(F, df1, df_total)
        Fp = np.where(np.isinf(df_total), stats.chi2.sf(F * df1, df1), Fp)
    return EBayesResult(fit, t, p, lods, s2_post, s2_prior, df_prior, df_total, var_prior, F, Fp,
                        df_pooled, bool(sq["legacy"]))


# -- duplicateCorrelation -----------------------------------------------------------------------------------
def duplicate_correlation(Y: np.ndarray, design: np.ndarray, block: Sequence, trim: float = 0.15) -> float:
    """Consensus intra-block correlation (limma ``duplicateCorrelation``), see :mod:`._dupcor`."""
    from ._dupcor import duplicate_correlation as _dc
    return _dc(Y, design, block, trim=trim)


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
    from .fdr import adjust
    from .results import build_result

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
        from .deqms import count_ebayes
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
