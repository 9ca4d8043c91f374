"""Selectors: L1 coefficients against glmnet, ranking contract."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from proteomics.panel.selection import (
    L1Selector,
    ModeratedTSelector,
    RFESelector,
    StabilitySelector,
)
from tests.conftest import need_oracle


@pytest.mark.parametrize("alpha,fname", [(1.0, "glmnet_lasso"), (0.5, "glmnet_enet05")])
def test_l1_logistic_matches_glmnet_at_lambda_min(alpha, fname):
    m = pd.read_csv(need_oracle("examples", "inputs", "glmnet_matrix.csv"), index_col=0)
    s = pd.read_csv(need_oracle("examples", "inputs", "glmnet_samples.csv")).set_index("sample").loc[m.columns]
    ref = pd.read_csv(need_oracle("examples", "outputs", f"{fname}.csv")).set_index("term")
    path = pd.read_csv(need_oracle("examples", "outputs", f"{fname}.path.csv"))
    lam = float(path.loc[path["is_min"], "lambda"].iloc[0])
    X = m.T.to_numpy(float)
    y = (s["group"] == "case").astype(int).to_numpy()
    n = X.shape[0]
    mu, sd = X.mean(axis=0), X.std(axis=0)  # glmnet standardises with the population SD
    Z = (X - mu) / sd
    # glmnet: -loglik/N + λ[(1-α)/2‖β‖² + α‖β‖₁]  ==  sklearn with C = 1/(N·λ), l1_ratio = α
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = LogisticRegression(C=1 / (n * lam), l1_ratio=alpha, solver="saga", tol=1e-12, max_iter=200000,
                                 random_state=0).fit(Z, y)
    beta = fit.coef_[0] / sd
    ref_beta = ref.loc[m.index, "coef_lambda.min"].to_numpy()
    # glmnet stops at thresh=1e-7 on the deviance; coefficients agree to ~1e-3 in practice
    np.testing.assert_allclose(beta, ref_beta, atol=2e-3)
    assert set(np.flatnonzero(np.abs(beta) > 1e-3)) == set(np.flatnonzero(ref_beta != 0))
    # our selector at the same penalty picks the same proteins (it uses the same standardisation)
    sel = L1Selector(k=100, C=1 / (n * lam), l1_ratio=alpha, max_iter=200000, tol=1e-10).fit(
        pd.DataFrame(X, columns=m.index), y)
    big = set(m.index[np.abs(ref_beta) > 0.01])
    assert big <= set(sel.ranking_)


@pytest.mark.parametrize("cls,kw", [(ModeratedTSelector, {}), (L1Selector, {"C": 0.5}),
                                    (StabilitySelector, {"n_subsamples": 20, "q": 5}),
                                    (RFESelector, {"n_estimators": 50})])
def test_selectors_find_planted_proteins_and_prefix_contract(cohort, cls, kw):
    X = cohort.to_frame()
    y = cohort.samples["condition"].to_numpy()
    big = cls(k=4, **kw).fit(X, y)
    small = cls(k=2, **kw).fit(X, y)
    assert small.selected_ == big.selected_[:2]  # ranking does not depend on k
    truth = {"P000", "P001", "P002", "P003"}
    assert len(truth & set(big.selected_)) >= 3
    assert list(big.transform(X).columns) == big.selected_


def test_stability_bound():
    from tests.panel.conftest import simulate

    ds = simulate(n_proteins=100)
    s = StabilitySelector(k=5, q=8, threshold=0.75, n_subsamples=20).fit(ds.to_frame(), ds.samples["condition"])
    assert s.expected_false_ == pytest.approx(8 * 8 / ((2 * 0.75 - 1) * 100))
