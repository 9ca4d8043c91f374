"""Classical per-protein tests for users who ask for them: Welch t, Wilcoxon/Mann-Whitney, one-way ANOVA.

Input is a Dataset (samples × proteins, log2, NaN = missing); every test uses each protein's observed
values only. Welch and Wilcoxon take a two-level contrast ``"B-A"`` (log2fc = mean(B) − mean(A), log2);
ANOVA tests all levels of ``group`` at once. Results are :class:`~proteomics.stats.results.DEResult` with the
same columns as the moderated t (``t`` is NaN for rank and F tests; their statistic is in ``U``/``F``).
Proteins with too few observations get NaN statistics (and are not counted in the FDR's m).
"""

from __future__ import annotations

import numpy as np
from scipy import stats

from ..dataset import Dataset
from ..errors import InputError
from .design import contrast_matrix, make_design
from .fdr import adjust
from .results import DEResult, build_result

__all__ = ["welch_t", "wilcoxon", "anova"]


def _two_levels(ds: Dataset, contrast: str, group: str):
    design = make_design(ds.samples, group=group)
    w = contrast_matrix(contrast, design)[:, 0]
    nz = np.flatnonzero(w)
    if nz.size != 2 or sorted(w[nz].tolist()) != [-1.0, 1.0]:
        raise InputError(f"contrast {contrast!r} is not a difference of two groups",
                         hint="Welch and Wilcoxon tests compare two levels, e.g. \"B-A\"; use the moderated t "
                              "for other contrasts")
    hi = design.levels[nz[w[nz] > 0][0]]
    lo = design.levels[nz[w[nz] < 0][0]]
    g = ds.samples[group].astype(str).to_numpy()
    X = np.asarray(ds.X, dtype=float)
    return design, w, X[g == hi], X[g == lo]


def _moments(A: np.ndarray):
    n = (~np.isnan(A)).sum(axis=0).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.nansum(A, axis=0) / n
        var = np.nansum((A - mean) ** 2, axis=0) / (n - 1)
    mean = np.where(n > 0, mean, np.nan)
    var = np.where(n > 1, var, np.nan)
    return n, mean, var


def welch_t(ds: Dataset, contrast: str, *, group: str = "condition", fdr: str = "bh") -> DEResult:
    """Welch two-sample t-test per protein (unequal variances, Welch-Satterthwaite df)."""
    design, w, B, A = _two_levels(ds, contrast, group)
    nb, mb, vb = _moments(B)
    na, ma, va = _moments(A)
    with np.errstate(invalid="ignore", divide="ignore"):
        se2 = vb / nb + va / na
        se = np.sqrt(se2)
        t = (mb - ma) / se
        df = se2 ** 2 / ((vb / nb) ** 2 / (nb - 1) + (va / na) ** 2 / (na - 1))
        p = 2 * stats.t.sf(np.abs(t), df)
    bad = ~np.isfinite(t)
    t, p, df = np.where(bad, np.nan, t), np.where(bad, np.nan, p), np.where(bad, np.nan, df)
    return build_result(ds, design, contrast, w, log2fc=mb - ma, se=se, t=t, p=p, q=adjust(p, fdr), df_total=df,
                        method="Welch t-test", params={"group": group, "fdr": fdr})


def wilcoxon(ds: Dataset, contrast: str, *, group: str = "condition", fdr: str = "bh") -> DEResult:
    """Wilcoxon rank-sum / Mann-Whitney U per protein (scipy, two-sided, exact or normal approximation as
    scipy chooses; ties handled by scipy). ``U`` is the statistic of the first level of the contrast."""
    design, w, B, A = _two_levels(ds, contrast, group)
    G = B.shape[1]
    U = np.full(G, np.nan)
    p = np.full(G, np.nan)
    nb = (~np.isnan(B)).sum(axis=0)
    na = (~np.isnan(A)).sum(axis=0)
    ok = (nb > 0) & (na > 0)
    complete = ok & (nb == B.shape[0]) & (na == A.shape[0])
    if complete.any():
        # scipy's "auto" rule per protein: exact when a group has <= 8 values and there are no ties
        both = np.vstack([B, A])
        srt = np.sort(both, axis=0)
        ties = np.any(srt[1:] == srt[:-1], axis=0)
        small = min(B.shape[0], A.shape[0]) <= 8
        sel = complete & ~ties
        if sel.any():
            r = stats.mannwhitneyu(B[:, sel], A[:, sel], alternative="two-sided", axis=0,
                                   method="exact" if small else "asymptotic")
            U[sel], p[sel] = r.statistic, r.pvalue
        complete = sel
    for j in np.flatnonzero(ok & ~complete):  # NaN patterns or ties: scipy per protein
        r = stats.mannwhitneyu(B[~np.isnan(B[:, j]), j], A[~np.isnan(A[:, j]), j], alternative="two-sided")
        U[j], p[j] = r.statistic, r.pvalue
    _, mb, _ = _moments(B)
    _, ma, _ = _moments(A)
    res = build_result(ds, design, contrast, w, log2fc=mb - ma, se=np.full(G, np.nan), t=np.full(G, np.nan), p=p,
                       q=adjust(p, fdr), df_total=np.full(G, np.nan), extra={"U": U},
                       method="Wilcoxon rank-sum (Mann-Whitney U)", params={"group": group, "fdr": fdr})
    return res


def anova(ds: Dataset, *, group: str = "condition", fdr: str = "bh") -> DEResult:
    """One-way ANOVA over all levels of ``group`` per protein (observed values; vectorised sums of squares).

    ``log2fc`` is max − min of the group means (log2); ``F`` and its ``df_between``/``df_total`` (within) are
    extra columns.
    """
    design = make_design(ds.samples, group=group)
    g = ds.samples[group].astype(str).to_numpy()
    X = np.asarray(ds.X, dtype=float)
    obs = ~np.isnan(X)
    N = obs.sum(axis=0).astype(float)
    grand = np.where(N > 0, np.nansum(X, axis=0) / np.maximum(N, 1), np.nan)
    ssb = np.zeros(X.shape[1])
    ssw = np.zeros(X.shape[1])
    k = np.zeros(X.shape[1])
    means = []
    for lev in design.levels:  # loop over groups (few), vectorised over proteins
        A = X[g == lev]
        n, m, _ = _moments(A)
        has = n > 0
        k += has
        ssb += np.where(has, n * (m - grand) ** 2, 0.0)
        ssw += np.where(has, np.nansum((A - m) ** 2, axis=0), 0.0)
        means.append(m)
    dfb = k - 1
    dfw = N - k
    with np.errstate(invalid="ignore", divide="ignore"):
        F = (ssb / dfb) / (ssw / dfw)
        p = stats.f.sf(F, dfb, dfw)
    bad = (dfb < 1) | (dfw < 1) | ~np.isfinite(F)
    F, p = np.where(bad, np.nan, F), np.where(bad, np.nan, p)
    M = np.vstack(means)
    anyobs = (~np.isnan(M)).any(axis=0)
    Mf = np.where(np.isnan(M), np.inf, M)
    spread = np.where(anyobs, np.where(np.isnan(M), -np.inf, M).max(axis=0) - Mf.min(axis=0), np.nan)
    G = X.shape[1]
    name = "anova(" + ",".join(design.levels) + ")"
    return build_result(ds, design, name, np.zeros(len(design.columns)), log2fc=spread, se=np.full(G, np.nan),
                        t=np.full(G, np.nan), p=p, q=adjust(p, fdr), df_total=np.where(bad, np.nan, dfw),
                        extra={"F": F, "df_between": np.where(bad, np.nan, dfb)},
                        method="one-way ANOVA", params={"group": group, "fdr": fdr})
