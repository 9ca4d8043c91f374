"""Bagged panels (``bags`` > 0): the subsamples, the averaged model against separately fitted scikit-learn
models, the planted proteins, the locked signature's exactness and interval, the leakage alarm, and refusals."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import expit, logit
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

from proteomics.config.panel import DEFAULT_BAGS
from proteomics.errors import InputError
from proteomics.panel import build_panel, nested_cv
from proteomics.panel.bagging import SUBSAMPLE_FRACTION, bag_rankings, bagged_back_end, subsample_rows
from proteomics.panel.score import score
from proteomics.panel.settings import coerce_settings
from proteomics.signature import Signature
from tests.panel.conftest import FAST, simulate

BAGGED = {**FAST, "max_proteins": None, "bags": 8}


def test_subsamples_are_stratified_distinct_and_seeded():
    y = np.array([0] * 13 + [1] * 7)
    a = subsample_rows(y, 5, seed=3)
    assert len(a) == 5
    for rows in a:
        assert len(set(rows)) == rows.size                          # without replacement
        assert (y[rows] == 0).sum() == round(SUBSAMPLE_FRACTION * 13) == 8
        assert (y[rows] == 1).sum() == round(SUBSAMPLE_FRACTION * 7) == 4
    assert all(np.array_equal(u, v) for u, v in zip(a, subsample_rows(y, 5, seed=3), strict=True))
    assert len({tuple(r) for r in a}) == 5                          # different subsamples
    small = subsample_rows(np.array([0, 0, 1, 1, 1]), 1, seed=0)[0]  # round(0.632·2) = 1 → at least 2
    assert small[:2].tolist() == [0, 1] and small.size == 4


@pytest.mark.parametrize("anchor", [(), ("P010", "P000")])
def test_averaged_model_equals_the_mean_log_odds_of_separately_fitted_models(anchor):
    """Each subsample's model refitted here with scikit-learn on the training-standardised values of the anchor
    plus its own top-k proteins; the mean of their log-odds must be the bagged pipeline's, and the union their
    proteins."""
    ds = simulate(n_per_class=15, n_proteins=60, n_true=4, effect=1.2, seed=2)
    X = ds.to_frame()
    y = (ds.samples["condition"] == "case").astype(int).to_numpy()
    s = coerce_settings({**BAGGED, "bags": 6, "preprocess": []})
    bags = bag_rankings(s, X, y, seed=4)
    cols, pipe = bagged_back_end(s, X, y, bags, 3, 0.5, seed=4, anchor=anchor)
    panels = [list(anchor) + [p for p in r[:3] if p not in anchor] for _, r in bags]
    assert set(cols) == {p for panel in panels for p in panel}
    A = X[cols].to_numpy(float)
    A = np.where(np.isnan(A), np.nanmin(A, axis=0)[None, :], A)
    sc = StandardScaler().fit(A)
    Z = sc.transform(A)
    eta = np.zeros(len(y))
    for (rows, _), panel in zip(bags, panels, strict=True):
        idx = [cols.index(p) for p in panel]
        m = LogisticRegression(C=0.5, solver="lbfgs", tol=1e-10, max_iter=1000).fit(Z[np.ix_(rows, idx)], y[rows])
        eta += m.decision_function(Z[:, idx]) / len(bags)
    got = pipe.predict_proba(X[cols])[:, 1]
    np.testing.assert_allclose(logit(got), eta, atol=1e-5)


def test_bagging_is_the_default_only_without_a_cap():
    assert coerce_settings({}).bag_count() == DEFAULT_BAGS == 25
    assert coerce_settings({"max_proteins": 5}).bag_count() == 0          # a hard cap keeps the panel exact
    assert coerce_settings({"model": "random_forest"}).bag_count() == 0
    assert coerce_settings({"bags": 0}).bag_count() == 0


def test_planted_proteins_are_chosen_by_every_subsample_and_lead_the_union():
    ds = simulate(n_per_class=20, n_proteins=150, n_true=3, effect=2.5, seed=6)
    X = ds.to_frame()
    y = (ds.samples["condition"] == "case").astype(int).to_numpy()
    s = coerce_settings({**BAGGED, "bags": 10, "preprocess": []})
    bags = bag_rankings(s, X, y, seed=0)
    # an L1 fit on separable data may leave one of three equally strong proteins out: most subsamples keep it
    for p in ("P000", "P001", "P002"):
        assert sum(p in r[:3] for _, r in bags) >= 7
    cols, _ = bagged_back_end(s, X, y, bags, 5, 1.0, seed=0)
    assert set(cols[:3]) == {"P000", "P001", "P002"}


def test_bagged_signature_scores_as_the_pipeline_with_an_interval_from_the_subsample_models(tmp_path):
    ds = simulate(n_per_class=15, n_proteins=80, n_true=4, effect=1.5, seed=3)
    res = build_panel(ds, "condition", "case", settings=BAGGED, seed=0)
    res.signature.save(tmp_path / "signature.json")
    sig = Signature.load(tmp_path / "signature.json")                 # passes the content checks
    assert sig.model["interval"]["method"] == "bag_models" and len(sig.model["interval"]["coef"]) == 8
    assert sig.training["settings"]["bags"] == 8
    assert list(sig.proteins) == list(res.pipeline.named_steps["select"].selected_)
    sc = score(sig, ds)
    X = ds.to_frame()
    direct = res.pipeline.predict_proba(X)[:, 1]
    np.testing.assert_allclose(sc.table.set_index("sample").loc[X.index, "probability"].to_numpy(), direct,
                               rtol=0, atol=1e-12)
    # the interval: percentiles of the subsample models' probabilities, computed here from the stored models
    Z = res.pipeline[-3:-1].transform(res.pipeline[:-3].transform(X))
    bag = res.pipeline.named_steps["model"]
    pb = expit(np.einsum("np,bp->nb", Z, bag.bag_coef_[:, 0, :]) + bag.bag_intercept_[:, 0][None, :])
    lo, hi = np.percentile(pb, [2.5, 97.5], axis=1)
    t = sc.table.set_index("sample").loc[X.index]
    np.testing.assert_allclose(t["prob_low"].to_numpy(), lo, atol=1e-12)
    np.testing.assert_allclose(t["prob_high"].to_numpy(), hi, atol=1e-12)


def test_bagged_panel_keeps_the_leakage_alarm_at_chance():
    """Labels unrelated to X: the bagged nested CV must stay near 0.5 (mean of 6 permutations, SD ≈ 0.06)."""
    ds = simulate(n_per_class=15, n_proteins=120, n_true=0, seed=5)
    y = np.random.default_rng(1).permutation(ds.samples["condition"].to_numpy())
    res = nested_cv(ds.to_frame(), y, positive="case", settings=coerce_settings({**BAGGED, "bags": 5}), seed=0,
                    n_permutations=6)
    assert abs(np.mean(res.permutation_aucs) - 0.5) < 0.15


@pytest.mark.parametrize("bad", [{"max_proteins": 3}, {"model": "random_forest"}, {"bags": -1}])
def test_bags_refuse_a_hard_cap_and_other_models(bad):
    with pytest.raises(InputError, match="bags"):
        coerce_settings({**BAGGED, **bad})
