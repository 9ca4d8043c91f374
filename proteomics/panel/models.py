"""The back end of a panel after selection, as scikit-learn estimators: the fill of missing panel values and
the classifier.

``PanelFill`` replaces missing values of the panel proteins by a per-protein value learned on the training
samples (training minimum: missing values in proteomics are mostly below the detection limit), so one
new sample can be completed without a cohort. ``make_model`` builds the classifier by name (``MODELS``).
Inputs are samples × panel proteins DataFrames of log2 values.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.calibration import CalibratedClassifierCV
from sklearn.ensemble import RandomForestClassifier
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.svm import LinearSVC

from ..errors import InputError
from ..preprocess.base import as_frame, store_params

__all__ = ["PanelFill", "PanelLogistic", "MODELS", "make_model", "row_space"]


class PanelFill(TransformerMixin, BaseEstimator):
    """Fill missing values of each protein with a value learned on the training samples (log2).

    ``method="min"``: the protein's training minimum (missing ≈ below detection); ``"median"``: its training
    median. Single-sample safe: the learned values are stored (``fill_values_``) and applied to any sample.
    """

    single_sample_safe: ClassVar[bool] = True

    def __init__(self, method: str = "min"):
        store_params(self, locals())

    def fit(self, X, y=None):
        frame = as_frame(X)
        A = frame.to_numpy(dtype=float)
        if self.method not in ("min", "median"):
            raise InputError(f"unknown fill method {self.method!r}", hint="use min or median")
        with np.errstate(all="ignore"):
            allnan = np.isnan(A).all(axis=0)
            if self.method == "min":
                v = np.nanmin(np.where(allnan[None, :], 0.0, A), axis=0)
            else:
                v = np.nanmedian(np.where(allnan[None, :], 0.0, A), axis=0)
        self.proteins_in_ = [str(c) for c in frame.columns]
        self.fill_values_ = np.where(allnan, 0.0, v)
        return self

    def transform(self, X):
        if not hasattr(self, "fill_values_"):
            raise NotFittedError("PanelFill is not fitted yet")
        frame = as_frame(X).loc[:, self.proteins_in_]
        A = frame.to_numpy(dtype=float)
        A = np.where(np.isnan(A), self.fill_values_[None, :], A)
        return pd.DataFrame(A, index=frame.index, columns=frame.columns)

    def get_feature_names_out(self, input_features=None):
        return np.asarray(self.proteins_in_, dtype=object)


MODELS = ("logistic", "random_forest", "svm")


def row_space(Z: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """(F, Vt) with Z = F·Vt when Z (samples × columns) has more columns than samples: F = U·S (samples × samples)
    and Vt (samples × columns) has orthonormal rows, from the thin SVD. Otherwise (Z, None).

    An L2-penalised linear model's optimum w lies in the row space of Z (the gradient of its loss is Zᵀr), so
    w = Vtᵀβ; and Z·w = F·β, ‖w‖ = ‖β‖: fitting β on F is the same problem, solved in the samples' dimension
    (O(n²·p + n³) instead of O(p³) per Newton step)."""
    Z = np.asarray(Z, dtype=float)
    if Z.shape[1] <= Z.shape[0]:
        return Z, None
    U, S, Vt = np.linalg.svd(Z, full_matrices=False)
    return U * S, Vt


class PanelLogistic(LogisticRegression):
    """scikit-learn's L2 logistic regression (Newton–Cholesky), fitted through :func:`row_space` when the panel
    has more proteins than training samples: the same optimum (to ~1e-15 on standardised proteins), at a
    fraction of the cost for large panels. ``coef_`` is always over the input columns."""

    def fit(self, X, y, sample_weight=None):  # noqa: D102 - LogisticRegression.fit, through the row space
        names = getattr(X, "columns", None)
        F, Vt = row_space(X)
        if Vt is None:
            return super().fit(X, y, sample_weight)
        super().fit(F, y, sample_weight)
        self.coef_ = self.coef_ @ Vt
        self.n_features_in_ = Vt.shape[1]
        if names is not None:
            self.feature_names_in_ = np.asarray(names, dtype=object)
        return self


def make_model(name: str, *, C: float = 1.0, seed: int = 0, n_estimators: int = 300, **options):
    """A fresh classifier: ``logistic`` (L2-penalised, default), ``random_forest`` or ``svm`` (linear SVM
    with Platt/sigmoid probability calibration on 3 internal folds, ``ensemble=False``). Multi-class labels
    give a multinomial logistic model / one-vs-rest SVM."""
    if options:
        raise InputError(f"unknown model option(s) {', '.join(sorted(options))}", hint="allowed: n_estimators")
    if name == "logistic":
        return PanelLogistic(C=C, l1_ratio=0.0, solver="newton-cholesky", max_iter=200, tol=1e-8)
    if name == "random_forest":
        return RandomForestClassifier(n_estimators=n_estimators, random_state=seed, n_jobs=1,
                                      min_samples_leaf=2)
    if name == "svm":
        return CalibratedClassifierCV(LinearSVC(C=C, max_iter=20000, tol=1e-5, random_state=seed),
                                      method="sigmoid", cv=3, ensemble=False)
    raise InputError(f"unknown model {name!r}", hint=f"use one of {', '.join(MODELS)}")
