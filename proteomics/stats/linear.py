"""The linear-model core shared by every moderated statistic (limma, DEqMS, duplicate correlation, panel ranking).

Proteins are the columns of ``Y`` (samples × proteins, log2 abundances, NaN = missing); every array in a fit has
one row per protein (G) and one column per coefficient or contrast.

* :class:`LinearFit` and :class:`EBayesResult`, the frozen results;
* :func:`lm_fit` (limma ``lmFit``): least squares per protein on its observed samples, vectorised by grouping
  proteins with the same missing-value pattern (:func:`unique_patterns`; one QR per pattern, never a loop per
  protein); GLS with an intra-block correlation (limma ``gls.series``);
* :func:`cell_means_fit`: the same fit in closed form for a one-hot design (panel ranking inside nested CV);
* :func:`contrasts_fit` (limma ``contrasts.fit``), with limma's approximation of the contrast standard errors
  through the correlation matrix of the full design (ALGORITHMS.md §1.1, §10.2);
* t and F helpers: :func:`p_two_sided`, :func:`f_stat`, :func:`pt_upper`, :func:`qt_upper`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
from scipy import stats

from ..errors import InputError
from .design import estimable_columns

__all__ = ["LinearFit", "EBayesResult", "unique_patterns", "block_corr_matrix", "lm_fit", "cell_means_fit",
           "contrasts_fit", "cov2cor", "pt_upper", "qt_upper", "qt_upper_log", "p_two_sided", "f_stat"]


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
    """Output of :func:`proteomics.stats.limma.ebayes` (G proteins × C contrasts where 2-D)."""

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
def unique_patterns(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Unique observed-sample patterns (columns of ``mask``) and the pattern index of every protein."""
    packed = np.packbits(mask, axis=0)
    view = np.ascontiguousarray(packed.T).view(np.dtype((np.void, packed.shape[0])))[:, 0]
    _, first, inverse = np.unique(view, return_index=True, return_inverse=True)
    return mask[:, first], inverse.ravel()


def block_corr_matrix(block: np.ndarray, rho: float) -> np.ndarray:
    """samples × samples correlation matrix: 1 on the diagonal, ``rho`` within a block, 0 between blocks."""
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
        V = block_corr_matrix(np.asarray(block), float(correlation))
    coef = np.full((G, p), np.nan)
    stdev = np.full((G, p), np.nan)
    sigma = np.full(G, np.nan)
    dfres = np.zeros(G)
    mask = ~np.isnan(Y)
    patterns, which = unique_patterns(mask)
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


def cell_means_fit(Y: np.ndarray, design: np.ndarray):
    """:func:`lm_fit` for a one-hot (cell-means) design in closed form, vectorised over proteins.

    lm_fit groups proteins by missing-value pattern and runs one QR per pattern, which costs seconds when
    almost every protein has its own pattern (thousands of fits per nested CV). For a one-hot design the
    least-squares solution is the per-class mean of the observed values, with stdev_unscaled 1/sqrt(n_class),
    residual df = n_observed − n_classes_observed and the pooled residual variance; the result is the same
    ``LinearFit`` (tested against lm_fit).
    """
    Y = np.asarray(Y, dtype=float)
    D = np.asarray(design, dtype=float)
    obs = ~np.isnan(Y)
    Yz = np.where(obs, Y, 0.0)
    n = D.T @ obs.astype(float)  # p × G observed counts per class
    with np.errstate(all="ignore"):
        mean = (D.T @ Yz) / n
        resid = np.where(obs, Y - D @ np.nan_to_num(mean), 0.0)
        df = obs.sum(axis=0) - (n > 0).sum(axis=0)
        sigma = np.sqrt((resid * resid).sum(axis=0) / df)
        su = 1.0 / np.sqrt(n)
    mean = np.where(n > 0, mean, np.nan)
    su = np.where(n > 0, su, np.nan)
    sigma = np.where(df > 0, sigma, np.nan)
    with np.errstate(all="ignore"):
        amean = Yz.sum(axis=0) / obs.sum(axis=0)
    return LinearFit(coefficients=mean.T, stdev_unscaled=su.T, sigma=sigma, df_residual=df.astype(float),
                     amean=amean, cov_coefficients=np.linalg.inv(D.T @ D),
                     names=tuple(f"c{j}" for j in range(D.shape[1])), design=D)


# -- contrasts.fit ----------------------------------------------------------------------------------------
def cov2cor(c: np.ndarray) -> np.ndarray:
    """Correlation matrix of a covariance matrix (p × p)."""
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
    cor = cov2cor(fit.cov_coefficients)
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


# -- t and F -------------------------------------------------------------------------------------------------
def pt_upper(t, df):
    """Upper tail P(T > t) of Student's t with ``df`` degrees of freedom (normal when df is infinite)."""
    return stats.norm.sf(t) if np.isinf(df) else stats.t.sf(t, df)


def qt_upper(p, df):
    """Quantile with upper tail ``p`` of Student's t with ``df`` degrees of freedom (normal when df is infinite)."""
    return stats.norm.isf(p) if np.isinf(df) else stats.t.isf(p, df)


def qt_upper_log(logp, df):
    """:func:`qt_upper` of ``exp(logp)``."""
    p = np.exp(logp)
    return qt_upper(p, df)


def p_two_sided(t: np.ndarray, df: np.ndarray) -> np.ndarray:
    """Two-sided p-values of t statistics (proteins × contrasts) with per-protein ``df`` (normal where df is
    infinite)."""
    df = np.broadcast_to(df, t.shape)
    with np.errstate(invalid="ignore"):
        out = 2 * stats.t.sf(np.abs(t), df)
        inf = np.isinf(df)
        if inf.any():
            out = np.where(inf, 2 * stats.norm.sf(np.abs(t)), out)
    return out


def f_stat(t: np.ndarray, cov: np.ndarray) -> tuple[np.ndarray, int]:
    """limma ``classifyTestsF(fstat.only=TRUE)``: F from moderated t's and the contrasts' correlation."""
    ntests = t.shape[1]
    if ntests == 1:
        return t[:, 0] ** 2, 1
    cor = cov2cor(cov)
    vals, vecs = np.linalg.eigh(cor)
    idx = np.argsort(-vals)
    vals, vecs = vals[idx], vecs[:, idx]
    r = int(np.sum(vals / vals[0] > 1e-8))
    Q = vecs[:, :r] / np.sqrt(vals[:r])
    F = np.sum((t @ Q) ** 2, axis=1) / r
    return F, r
