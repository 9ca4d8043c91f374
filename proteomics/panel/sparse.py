"""Multivariate selection along the L1 / elastic-net logistic path: ``L1ShareSelector`` (the panel's default)
ranks the proteins by their share of the model along the whole path; ``L1PathSelector`` ranks them at one
penalty, which the tuning chooses together with the size.

The penalty is given relative to the data: ``C = penalty × c_min`` where ``c_min`` is the smallest C at which a
coefficient leaves zero (closed form below), so the same grid of ``penalty`` values means the same place on
the path in every training fold (glmnet's λ_max / λ ratio, with λ = 1 / (n·C)). On standardised proteins
(missing values filled with the training minimum) the fit ranks the proteins with a non-zero coefficient by
decreasing |coefficient|; a panel of size k keeps the first k. Proteins that only work together (one cancels
a shared nuisance of the other) get large joint coefficients here, whereas a univariate ranking never sees them.

Path share (the default): one path over the whole ``penalty_path`` grid; at every penalty each protein holds a
share |coef| / Σ|coef| of the model, and proteins are ranked by the sum of their shares over the path. A protein
that carries much of the model over a long stretch of the path ranks first, whether it entered first or only
once a partner had entered (a pair that separates only jointly: the second one enters late but at once takes a
large share); one that enters early with a tiny coefficient, or only at the unpenalised end where every
protein gets a little, ranks low. A panel of size k keeps the first k, so the inner CV tunes one dimension
(the size) instead of size × penalty; with a few dozen samples that choice is less noisy (bench/README.md, #19),
and every size's panel is nested in the next one's.

Solvers: pure L1 uses liblinear (coordinate descent; every point of the path is an independent, deterministic
fit, so no warm start is needed and fitting one penalty reproduces that point of the path exactly). Elastic net
(``l1_ratio`` < 1) uses saga along the path from the sparsest end with warm starts; fitting one penalty runs
the same warm-started sequence up to it, so it reproduces the path point too.

glmnet correspondence: glmnet minimises −loglik/n + λ[(1−α)/2‖β‖² + α‖β‖₁] on standardised columns (population
SD); scikit-learn minimises C·Σloss + l1_ratio‖w‖₁ + (1−l1_ratio)/2‖w‖². They agree for C = 1/(n·λ),
l1_ratio = α (tested against glmnet fixtures in ``../shared/oracles``). liblinear also penalises the intercept;
``intercept_scaling`` = 100 makes that penalty negligible (the intercept is 100·w₀ with penalty |w₀|).
"""

from __future__ import annotations

import logging
import warnings
from typing import ClassVar

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression

from ..config.panel import DEFAULT_PENALTIES
from ..preprocess.base import store_params
from .selectors import _Selector, fill_min, order_desc, rank_statistic, standardise

log = logging.getLogger(__name__)

__all__ = ["L1PathSelector", "L1ShareSelector", "L1Selector", "path_shares", "c_min", "l1_path", "DEFAULT_PENALTIES"]



def _targets(y: np.ndarray) -> np.ndarray:
    """One-vs-rest 0/1 targets, shape (n, n_targets): one column for two classes, one per class otherwise."""
    classes = np.unique(y)
    if classes.size == 2:
        return (y == classes[1]).astype(float)[:, None]
    return (y[:, None] == classes[None, :]).astype(float)


def c_min(Z: np.ndarray, y: np.ndarray, l1_ratio: float = 1.0) -> float:
    """Smallest C at which the L1 / elastic-net logistic fit with a free intercept has a non-zero coefficient.

    At β = 0 the intercept is logit(ȳ) and the loss gradient is Zᵀ(y − ȳ); the zero solution is optimal while
    C·max|Zᵀ(y − ȳ)| ≤ l1_ratio, so c_min = l1_ratio / max_j |z_jᵀ(y − ȳ)| (= 1/(n·λ_max) of glmnet). Several
    classes (one-vs-rest): the smallest over classes. ``Z`` is samples × proteins (standardised).
    """
    T = _targets(np.asarray(y))
    g = np.abs(Z.T @ (T - T.mean(axis=0))).max()
    if not np.isfinite(g) or g <= 0:
        return 1.0
    return float(l1_ratio / g)


def _model(C: float, l1_ratio: float, tol: float, max_iter: int) -> LogisticRegression:
    if l1_ratio >= 1.0:
        return LogisticRegression(C=C, l1_ratio=1.0, solver="liblinear", intercept_scaling=100.0, tol=tol,
                                  max_iter=max_iter, random_state=0)
    return LogisticRegression(C=C, l1_ratio=l1_ratio, solver="saga", tol=tol, max_iter=max_iter, random_state=0,
                              warm_start=True)


def l1_path(Z: np.ndarray, y: np.ndarray, penalties, *, l1_ratio: float = 1.0, tol: float = 1e-4,
            max_iter: int = 2000) -> np.ndarray:
    """Coefficients along the path, shape (len(penalties), n_targets, n_proteins), ``C = penalty·c_min(Z, y)``.

    ``penalties`` must increase (sparsest first); elastic net warm-starts each point from the previous one.
    """
    pens = np.asarray(penalties, dtype=float)
    if np.any(np.diff(pens) <= 0):
        raise ValueError("penalties must increase (sparsest first)")
    c0 = c_min(Z, y, l1_ratio)
    out = []
    model = None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        T = _targets(np.asarray(y))
        for p in pens:
            if l1_ratio >= 1.0 and T.shape[1] > 1:  # liblinear is binary: one-vs-rest by hand
                out.append(np.vstack([_model(c0 * p, l1_ratio, tol, max_iter).fit(Z, t).coef_ for t in T.T]))
                continue
            if model is None or l1_ratio >= 1.0:
                model = _model(c0 * p, l1_ratio, tol, max_iter)
            else:
                model.set_params(C=c0 * p)
            model.fit(Z, y)
            out.append(np.array(model.coef_, dtype=float, copy=True))
    return np.stack(out)


def _ranking(coef: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(indices of non-zero proteins by decreasing max |coef| over targets, magnitudes)."""
    mag = np.abs(coef).max(axis=0)
    order = order_desc(mag)
    return order[mag[order] > 0], mag


class L1PathSelector(_Selector):
    """Proteins with a non-zero L1 (``l1_ratio`` = 1) or elastic-net logistic coefficient at
    ``C = penalty·c_min``, ranked by decreasing |coefficient| (largest over classes when multi-class).

    Parameters
    ----------
    k : panel size (None = every non-zero protein, "unrestricted").
    penalty : position on the path as a multiple of c_min (> 1; larger = weaker penalty, more proteins).
    l1_ratio : 1 = lasso; < 1 = elastic net (saga with warm starts along ``penalty_path``).
    penalty_path : the grid the tuning walks (elastic net re-runs it up to ``penalty``, so a single fit equals
        the tuning's path point); ``penalty`` must be one of its values for elastic net.
    C : absolute inverse penalty; overrides ``penalty`` when given (e.g. to reproduce a glmnet λ).

    Missing values are filled with the protein's training minimum and proteins standardised before the fit.
    When nothing is non-zero the protein with the largest |moderated t| is kept (logged).
    """

    ranks_all: ClassVar[bool] = False
    #: the selector has a penalty path that the tuning shares across panel sizes
    has_path: ClassVar[bool] = True

    def __init__(self, k: int | None = 5, penalty: float = 10.0, l1_ratio: float = 1.0,
                 penalty_path: tuple[float, ...] | None = None, C: float | None = None, tol: float = 1e-4,
                 max_iter: int = 2000):
        store_params(self, locals())

    def _prefix_path(self) -> tuple[float, ...]:
        if self.l1_ratio >= 1.0:
            return (float(self.penalty),)
        grid = tuple(float(p) for p in (self.penalty_path or DEFAULT_PENALTIES))
        if float(self.penalty) not in grid:
            return (float(self.penalty),)
        return grid[: grid.index(float(self.penalty)) + 1]

    def rank_path(self, X: np.ndarray, y: np.ndarray, penalties) -> list[np.ndarray]:
        """Ranking (column indices, best first) at every penalty of ``penalties`` (increasing), from one path."""
        y = np.asarray(y)
        Z = standardise(fill_min(np.asarray(X, dtype=float)))
        coefs = l1_path(Z, y, penalties, l1_ratio=self.l1_ratio, tol=self.tol, max_iter=self.max_iter)
        out = []
        fallback = None
        for coef in coefs:
            order, _ = _ranking(coef)
            if order.size == 0:
                if fallback is None:
                    fallback = order_desc(rank_statistic(X, y))[:1]
                order = fallback
            out.append(order)
        return out

    def _rank(self, X, y):
        Z = standardise(fill_min(X))
        if self.C is not None:
            T = _targets(np.asarray(y)) if self.l1_ratio >= 1.0 else np.asarray(y)[:, None]
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                coefs = [np.vstack([_model(float(self.C), self.l1_ratio, self.tol, self.max_iter).fit(Z, t).coef_
                                    for t in T.T])]
        else:
            coefs = l1_path(Z, y, self._prefix_path(), l1_ratio=self.l1_ratio, tol=self.tol,
                            max_iter=self.max_iter)
        order, mag = _ranking(np.asarray(coefs[-1], dtype=float))
        if order.size == 0:
            where = f"C={self.C:g}" if self.C is not None else f"penalty {self.penalty:g}"
            log.info("%s: no non-zero coefficient at %s; keeping the top moderated-t protein",
                     type(self).__name__, where)
            order = order_desc(rank_statistic(X, y))[:1]
        return order, mag


def path_shares(coefs: np.ndarray) -> np.ndarray:
    """Each protein's share of the model along a path: Σ over penalties of |coef| / Σ|coef| at that penalty.

    ``coefs`` has shape (n_penalties, n_targets, n_proteins) (see :func:`l1_path`; several targets: the largest
    |coefficient| over targets). Penalties where every coefficient is zero add nothing. Returns (n_proteins,).
    """
    mag = np.abs(np.asarray(coefs, dtype=float)).max(axis=1)  # (n_penalties, n_proteins)
    total = mag.sum(axis=1, keepdims=True)
    return (mag / np.where(total > 0, total, 1.0)).sum(axis=0)


class L1ShareSelector(L1PathSelector):
    """Proteins ranked by their share of the L1 (or elastic-net) logistic model along the whole ``penalty_path``
    (multiples of c_min, default :data:`DEFAULT_PENALTIES`); see the module docstring. The panel's default.

    Parameters: ``k`` (panel size, None = every protein non-zero somewhere on the path), ``penalty_path``,
    ``l1_ratio``, ``tol``, ``max_iter`` as in :class:`L1PathSelector`. Missing values are filled with the
    protein's training minimum and proteins standardised before the fits. When no protein leaves zero, the one
    with the largest |moderated t| is kept. ``scores_`` holds the shares (:func:`path_shares`).
    """

    has_path: ClassVar[bool] = False  # the whole path makes one ranking: the tuning only chooses the size

    def __init__(self, k: int | None = 5, penalty_path: tuple[float, ...] | None = None, l1_ratio: float = 1.0,
                 tol: float = 1e-4, max_iter: int = 2000):
        super().__init__(k=k, penalty_path=penalty_path, l1_ratio=l1_ratio, tol=tol, max_iter=max_iter)

    def _rank(self, X, y):
        grid = tuple(float(p) for p in (self.penalty_path or DEFAULT_PENALTIES))
        coefs = l1_path(standardise(fill_min(X)), np.asarray(y), grid, l1_ratio=self.l1_ratio, tol=self.tol,
                        max_iter=self.max_iter)
        share = path_shares(coefs)
        order = order_desc(share)
        order = order[share[order] > 0]
        if order.size == 0:
            log.info("L1ShareSelector: no coefficient leaves zero on the path; keeping the top moderated-t protein")
            order = order_desc(rank_statistic(X, y))[:1]
        return order, share


class L1Selector(L1PathSelector):
    """The L1 (``l1_ratio`` = 1) or elastic-net logistic ranking at one fixed, absolute ``C`` (default 0.5):
    :class:`L1PathSelector` with ``C`` given. ``C`` is sklearn's inverse penalty on the mean-loss scale,
    C = 1/(n·λ) with glmnet's λ, on standardised proteins (missing values filled with the training minimum)."""

    def __init__(self, k: int | None = 5, C: float = 0.5, l1_ratio: float = 1.0, tol: float = 1e-6,
                 max_iter: int = 5000):
        super().__init__(k=k, C=C, l1_ratio=l1_ratio, tol=tol, max_iter=max_iter)
