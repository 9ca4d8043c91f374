"""Intra-block correlation for blocked designs: limma ``duplicateCorrelation`` (block= form).

For every protein the two variance components of ``y = Xβ + Zu + ε`` (u: one random effect per block) are
estimated by REML as statmod's ``mixedModel2Fit`` does: project y on the residual space of X, rotate by the
SVD of the projected block indicator Z so the transformed residuals are independent with variances
``σ²_ε + d_j σ²_b``, and fit that gamma GLM with identity link (``glmgam.fit``: Levenberg-damped Fisher
scoring, ``maxit=20`` as limma calls it). The protein's correlation is ``σ²_b / (σ²_ε + σ²_b)``, clipped to
``[1/(1 − max block size) + 0.01, 0.99]``; the consensus is ``tanh(mean(atanh(ρ), trim=0.15))``.
Linear algebra is done once per missing-value pattern; the scoring iterations are vectorised over the
proteins of a pattern. Values are log2 intensities (samples × proteins).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np

from ._rmath import trimmed_mean
from .design import estimable_columns
from .linear import unique_patterns

log = logging.getLogger(__name__)


def _deviance(y, mu, mask):
    with np.errstate(divide="ignore", invalid="ignore"):
        o = ((y < 1e-15) & (mu < 1e-15)) | ~mask
        term = np.where(o, 0.0, (y - mu) / mu - np.log(y / mu))
    dev = 2 * np.sum(term, axis=1)
    return np.where(np.any((mu < 0) & mask, axis=1), np.inf, dev)


def glmgam_fit(D: np.ndarray, Y: np.ndarray, mask: np.ndarray, start: np.ndarray, tol: float = 1e-6,
               maxit: int = 20) -> np.ndarray:
    """statmod ``glmgam.fit`` (gamma GLM, identity link, Levenberg-damped scoring) for many responses at once.

    ``D``: P × m × 2 designs, ``Y``: P × m responses (>= 0), ``mask``: P × m (False = padding, ignored),
    ``start``: P × 2. Returns P × 2 coefficients. Each protein follows statmod's own iteration.
    """
    P = Y.shape[0]
    beta = start.astype(float).copy()
    Y = np.where(mask, Y, 1.0)

    def fitted(b, idx):
        return np.where(mask[idx], np.einsum("pmi,pi->pm", D[idx], b), 1.0)

    mu = fitted(beta, np.arange(P))
    dev = _deviance(Y, mu, mask)
    active = np.ones(P, dtype=bool)
    lam = np.zeros(P)
    maxinfo = np.zeros(P)
    it = 0
    eye = np.eye(2)
    while active.any():
        it += 1
        a = np.flatnonzero(active)
        v = mu[a] ** 2
        vmax = np.max(np.where(mask[a], v, 0.0), axis=1, keepdims=True)
        v = np.maximum(v, vmax / 1e3)
        wv = np.where(mask[a], 1 / v, 0.0)
        XVX = np.einsum("pmi,pm,pmj->pij", D[a], wv, D[a])
        diag = np.diagonal(XVX, axis1=1, axis2=2)
        maxinfo[a] = diag.max(axis=1)
        if it == 1:
            lam[a] = np.abs(diag.mean(axis=1)) / 2
        dl = np.einsum("pmi,pm->pi", D[a], (Y[a] - mu[a]) * wv)
        beta_old = beta[a].copy()
        dev_old = dev[a].copy()
        lev = np.zeros(a.size, dtype=int)
        pending = np.ones(a.size, dtype=bool)
        dbeta = np.zeros((a.size, 2))
        new_beta = beta_old.copy()
        new_mu = mu[a].copy()
        new_dev = dev_old.copy()
        too_much = np.zeros(a.size, dtype=bool)
        while pending.any():
            k = np.flatnonzero(pending)
            lev[k] += 1
            db = np.linalg.solve(XVX[k] + lam[a[k], None, None] * eye, dl[k][:, :, None])[:, :, 0]
            b = beta_old[k] + db
            m_ = fitted(b, a[k])
            d_ = _deviance(Y[a[k]], m_, mask[a[k]])
            dbeta[k], new_beta[k], new_mu[k], new_dev[k] = db, b, m_, d_
            mmax = np.max(np.where(mask[a[k]], m_, -np.inf), axis=1)
            with np.errstate(divide="ignore", invalid="ignore"):
                ok = (d_ <= dev_old[k]) | (d_ / mmax < 1e-15)
            damp = ~ok & (lam[a[k]] / maxinfo[a[k]] > 1e15)
            new_beta[k[damp]] = beta_old[k[damp]]
            too_much[k[damp]] = True
            pending[k[ok | damp]] = False
            lam[a[k[~ok & ~damp]]] *= 2
        beta[a], dev[a] = new_beta, new_dev
        mu[a] = fitted(new_beta, a)
        lam[a[lev == 1]] /= 10
        mmax = np.max(np.where(mask[a], mu[a], -np.inf), axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            conv = (np.sum(dl * dbeta, axis=1) < tol) | (new_dev / mmax < 1e-15)
        stop = too_much | (lam[a] / maxinfo[a] > 1e15) | conv | (it > maxit)
        active[a[stop]] = False
    return beta


def duplicate_correlation(Y: np.ndarray, design: np.ndarray, block: Sequence, trim: float = 0.15) -> float:
    """Consensus intra-block correlation of ``Y`` (samples × proteins, log2) given ``design`` and ``block``."""
    Y = np.asarray(Y, dtype=float)
    X = np.asarray(design, dtype=float)
    block = np.asarray([str(b) for b in block])
    n, G = Y.shape
    nbeta = X.shape[1]
    _, counts = np.unique(block, return_counts=True)
    max_block = int(counts.max())
    if max_block == 1:
        log.warning("Blocks all of size 1: setting intrablock correlation to zero.")
        return 0.0
    rho = np.full(G, np.nan)
    mask = ~np.isnan(Y)
    patterns, which = unique_patterns(mask)
    jobs_D, jobs_y, jobs_m, jobs_start, jobs_prot = [], [], [], [], []
    order = np.argsort(which, kind="stable")
    bounds = np.searchsorted(which[order], np.arange(patterns.shape[1] + 1))
    for k in range(patterns.shape[1]):
        prot = order[bounds[k]:bounds[k + 1]]
        obs = patterns[:, k]
        nobs = int(obs.sum())
        blocks = np.unique(block[obs])
        nb = blocks.size
        if not (nobs > nbeta + 2 and 1 < nb < nobs - 1):
            continue
        Xo = X[obs][:, estimable_columns(X[obs])]
        r = Xo.shape[1]
        mq = nobs - r
        if mq == 0:
            continue
        Z = (block[obs][:, None] == blocks[None, :]).astype(float)
        Q = np.linalg.qr(Xo, mode="complete")[0] if r else np.eye(nobs)
        Q2 = Q[:, r:]
        U, s, _ = np.linalg.svd(Q2.T @ Z, full_matrices=True)
        d = np.zeros(mq)
        d[: s.size] = s ** 2
        Dx = np.column_stack([np.ones(mq), d])
        dy = ((U.T @ Q2.T) @ Y[np.ix_(obs, prot)]) ** 2            # mq × P
        coef, _, rank, _ = np.linalg.lstsq(Dx, dy, rcond=None)
        if rank < 2:
            continue
        coef = coef.T                                               # P × 2
        if mq > 2 and np.sum(np.abs(d) > 1e-15) > 1 and np.var(d, ddof=1) > 1e-15:
            fitted = coef @ Dx.T
            start = np.where(np.all(fitted >= 0, axis=1)[:, None], coef,
                             np.column_stack([dy.mean(axis=0), np.zeros(prot.size)]))
            zero = dy.max(axis=0) == 0
            rho[prot[zero]] = np.nan                                # 0/0 in R
            jobs_D.append(np.broadcast_to(Dx, (int((~zero).sum()), mq, 2)))
            jobs_y.append(dy.T[~zero])
            jobs_start.append(start[~zero])
            jobs_prot.append(prot[~zero])
            jobs_m.append(mq)
        else:
            with np.errstate(invalid="ignore", divide="ignore"):
                rho[prot] = coef[:, 1] / coef.sum(axis=1)
    if jobs_prot:                                                   # one vectorised scoring for all proteins
        m_max = max(jobs_m)
        P = sum(p.size for p in jobs_prot)
        D = np.zeros((P, m_max, 2))
        Yd = np.zeros((P, m_max))
        M = np.zeros((P, m_max), dtype=bool)
        i = 0
        for Dk, yk in zip(jobs_D, jobs_y, strict=True):
            c, m = yk.shape
            D[i:i + c, :m] = Dk
            Yd[i:i + c, :m] = yk
            M[i:i + c, :m] = True
            i += c
        coef = glmgam_fit(D, Yd, M, np.vstack(jobs_start), maxit=20)
        with np.errstate(invalid="ignore", divide="ignore"):
            rho[np.concatenate(jobs_prot)] = coef[:, 1] / coef.sum(axis=1)
    rhomin = 1 / (1 - max_block) + 0.01
    rho = np.where(np.isnan(rho), rho, np.clip(rho, rhomin, 0.99))
    ok = ~np.isnan(rho)
    if not ok.any():
        log.warning("no protein could estimate the intra-block correlation: using 0")
        return 0.0
    return float(np.tanh(trimmed_mean(np.arctanh(rho[ok]), trim)))
