"""Multivariate selection against independent truth: glmnet's penalty path, a planted jointly-separating pair that
a univariate ranking misses, correlated decoys for the redundancy option, and the tuning's closed-form parts."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from proteomics import Dataset
from proteomics.panel import build_panel
from proteomics.panel.models import make_model
from proteomics.panel.redundancy import ClusterRepresentatives, MRMRSelector
from proteomics.panel.selection import L1PathSelector, ModeratedTSelector
from proteomics.panel.settings import coerce_settings
from proteomics.panel.sparse import L1ShareSelector, c_min, l1_path, path_shares
from proteomics.panel.tuning import Choice, apply_size_rule, logistic_l2
from tests.conftest import need_oracle

QUICK = {"outer_folds": 3, "outer_repeats": 1, "inner_folds": 3, "inner_repeats": 1, "n_boot": 200,
         "interval_boot": 20, "specimen": "plasma", "size_grid": [1, 2, 3, 5]}


def _glmnet(fname):
    m = pd.read_csv(need_oracle("examples", "inputs", "glmnet_matrix.csv"), index_col=0)
    s = pd.read_csv(need_oracle("examples", "inputs", "glmnet_samples.csv")).set_index("sample").loc[m.columns]
    path = pd.read_csv(need_oracle("examples", "outputs", f"{fname}.path.csv"))
    ref = pd.read_csv(need_oracle("examples", "outputs", f"{fname}.csv")).set_index("term")
    X = m.T.to_numpy(float)
    y = (s["group"] == "case").astype(int).to_numpy()
    return m, X, y, path, ref


@pytest.mark.parametrize("alpha,fname", [(1.0, "glmnet_lasso"), (0.5, "glmnet_enet05")])
def test_penalty_path_matches_glmnet(alpha, fname):
    """c_min is glmnet's λ_max (C = 1/(n·λ)); along glmnet's λ sequence our path keeps the same number of
    proteins (glmnet stops at thresh 1e-7, so a coefficient at the edge of zero may differ: at most 1)."""
    m, X, y, path, ref = _glmnet(fname)
    n = len(y)
    Z = (X - X.mean(axis=0)) / X.std(axis=0)
    every = 1 if alpha == 1.0 else 4  # saga is slow at tight tolerance: every 4th λ for the elastic net
    lam = path["lambda"].to_numpy()
    assert c_min(Z, y, alpha) == pytest.approx(1 / (n * lam[0]), rel=1e-10)
    coefs = l1_path(Z, y, (1 / (n * lam[::every])) / c_min(Z, y, alpha), l1_ratio=alpha, tol=1e-8, max_iter=100000)
    nz = (np.abs(coefs[:, 0, :]) > 0).sum(axis=1)
    diff = np.abs(nz - path["nzero"].to_numpy()[::every])
    assert diff.max() <= 1
    assert (diff == 0).mean() >= 0.9
    # at lambda.min, the path selector keeps glmnet's proteins with a clearly non-zero coefficient
    lmin = float(path.loc[path["is_min"], "lambda"].iloc[0])
    sel = L1PathSelector(k=None, C=1 / (n * lmin), l1_ratio=alpha, tol=1e-8, max_iter=100000).fit(
        pd.DataFrame(X, columns=m.index), y)
    ref_beta = ref.loc[m.index, "coef_lambda.min"]
    assert set(ref_beta.index[ref_beta.abs() > 0.01]) <= set(sel.ranking_) <= set(ref_beta.index[ref_beta != 0])


def test_path_shares_closed_form():
    """Shares by hand: penalty 1 has A alone (A: 1); penalty 2 has A 1, B 3 (A: 1/4, B: 3/4); an all-zero penalty
    adds nothing; with two targets the larger |coefficient| counts."""
    coefs = np.array([[[0.0, 0.0, 0.0]], [[2.0, 0.0, 0.0]], [[-1.0, 3.0, 0.0]]])
    assert path_shares(coefs) == pytest.approx([1.25, 0.75, 0.0])
    two = np.array([[[0.5, -2.0], [1.0, 1.0]]])  # one penalty, two targets: max |coef| = (1, 2)
    assert path_shares(two) == pytest.approx([1 / 3, 2 / 3])


def test_share_selector_on_one_penalty_is_the_path_selector():
    """With a one-point path the share ranking is the |coefficient| ranking of L1PathSelector at that penalty, and
    the settings' penalty grid reaches the selector."""
    from tests.panel.conftest import simulate

    ds = simulate(n_per_class=25, n_proteins=80, n_true=5, effect=1.0, seed=3)
    X, y = ds.to_frame(), ds.samples["condition"].to_numpy()
    one = L1ShareSelector(k=None, penalty_path=(20.0,)).fit(X, y)
    ref = L1PathSelector(k=None, penalty=20.0).fit(X, y)
    assert one.ranking_ == ref.ranking_ and len(one.ranking_) > 5
    from proteomics.panel.selection import selector_for

    assert selector_for(coerce_settings({"penalty_grid": [2.0, 20.0]}), 3).penalty_path == (2.0, 20.0)


def _paired(n_per_class=50, n_noise=100, seed=0) -> Dataset:
    """P000 = u + e, P001 = u + 1.2·y + e with Var(u) = 9: neither separates alone (P000 has no effect, P001's
        shift is 0.4 SD), P001 − P000 separates almost perfectly. The rest is noise."""
    rng = np.random.default_rng(seed)
    y = np.repeat([1, 0], n_per_class)
    u = rng.normal(0, 2.0, y.size)
    X = rng.normal(20, 1.0, (y.size, n_noise + 2))
    X[:, 0] = 20 + u + rng.normal(0, 0.25, y.size)
    X[:, 1] = 20 + u + 2.0 * y + rng.normal(0, 0.25, y.size)
    ids = [f"S{i:03d}" for i in range(y.size)]
    samples = pd.DataFrame({"condition": np.where(y == 1, "case", "control"), "subject": ids,
                            "specimen": "plasma"}, index=ids)
    return Dataset(X, samples, pd.DataFrame(index=[f"P{j:03d}" for j in range(X.shape[1])]))


def test_jointly_separating_pair_found_by_default_missed_by_univariate():
    ds = _paired()
    X, y = ds.to_frame(), ds.samples["condition"].to_numpy()
    uni = ModeratedTSelector(k=None).fit(X, y)
    # the premise: a univariate panel of up to 5 proteins does not hold the pair (P000 has no effect of its own)
    assert not {"P000", "P001"} <= set(uni.ranking_[:5])
    quick = {**QUICK, "preprocess": []}
    default = build_panel(ds, "condition", "case", settings=quick, seed=0)
    assert {"P000", "P001"} <= set(default.signature.proteins)
    assert default.metrics["auc"] > 0.9
    univariate = build_panel(ds, "condition", "case", settings={**quick, "selector": "moderated_t"}, seed=0)
    assert default.metrics["auc"] > univariate.metrics["auc"] + 0.15


def _decoys(seed=1) -> tuple[pd.DataFrame, np.ndarray]:
    """A cluster of 5 near-copies (r ≈ 0.97) of one strongly shifted protein, a second independent shifted
    protein (weaker), and noise."""
    rng = np.random.default_rng(seed)
    y = np.repeat(["case", "control"], 30)
    shift = (y == "case").astype(float)
    core = rng.normal(0, 1, y.size) + 2.0 * shift
    X = rng.normal(0, 1, (y.size, 60))
    for j in range(5):
        X[:, j] = core + rng.normal(0, 0.25, y.size)
    X[:, 5] = rng.normal(0, 1, y.size) + 1.2 * shift
    return pd.DataFrame(X, columns=[f"C{j}" if j < 5 else f"N{j}" for j in range(60)]), y


def test_redundancy_option_keeps_one_protein_per_cluster():
    X, y = _decoys()
    plain = ModeratedTSelector(k=3).fit(X, y)
    assert all(p.startswith("C") for p in plain.selected_)  # the univariate panel repeats the cluster
    rep = ClusterRepresentatives(ModeratedTSelector(), k=2, threshold=0.8).fit(X, y)
    assert sum(p.startswith("C") for p in rep.selected_) == 1
    assert "N5" in rep.selected_
    mrmr = MRMRSelector(k=2).fit(X, y)
    assert sum(p.startswith("C") for p in mrmr.selected_) == 1 and "N5" in mrmr.selected_
    # the same wrapper around the path selector (its tuning path included)
    l1 = ClusterRepresentatives(L1PathSelector(penalty=1000.0), k=None, threshold=0.8)
    assert sum(p.startswith("C") for p in l1.fit(X, y).selected_) == 1
    for order in l1.rank_path(X.to_numpy(), (y == "case").astype(int), (2.0, 1000.0)):
        assert sum(X.columns[i].startswith("C") for i in order) <= 1


def test_path_selector_fit_reproduces_its_path_point():
    X, y = _decoys(seed=3)
    y01 = (y == "case").astype(int)
    pens = (1.5, 5.0, 30.0)
    for l1_ratio in (1.0, 0.5):
        path = L1PathSelector(l1_ratio=l1_ratio, penalty_path=pens).rank_path(X.to_numpy(), y01, pens)
        for p, order in zip(pens, path, strict=True):
            one = L1PathSelector(k=None, penalty=p, l1_ratio=l1_ratio, penalty_path=pens).fit(X, y01)
            assert one.ranking_ == [X.columns[i] for i in order]


def test_newton_logistic_equals_sklearn():
    rng = np.random.default_rng(0)
    Z = rng.normal(size=(50, 6))
    y = (Z[:, 0] + rng.normal(size=50) > 0).astype(float)
    for C in (0.1, 1.0, 10.0):
        ref = LogisticRegression(C=C, solver="newton-cholesky", tol=1e-12, max_iter=500).fit(Z, y)
        b = logistic_l2(Z, y, C)
        np.testing.assert_allclose(b[:-1], ref.coef_[0], rtol=1e-6, atol=1e-8)
        assert b[-1] == pytest.approx(ref.intercept_[0], abs=1e-7)


def _stationarity(Z, Y, W, b, C):
    """Largest entry of the gradient of ½‖W‖² + C·(multinomial or binary log-loss) at (W, b): 0 at the optimum."""
    S = Z @ W.T + b
    if W.shape[0] == 1:
        P = 1.0 / (1.0 + np.exp(-S))
        R = P - Y[:, None]
    else:
        P = np.exp(S - S.max(axis=1, keepdims=True))
        P /= P.sum(axis=1, keepdims=True)
        R = P - (Y[:, None] == np.arange(W.shape[0])[None, :])
    return max(np.abs(W + C * R.T @ Z).max(), np.abs(C * R.sum(axis=0)).max())


@pytest.mark.parametrize("n_classes", [2, 3])
def test_wide_logistic_is_the_full_optimum(n_classes):
    """More proteins than samples: the fit through the row space is the optimum over all proteins (zero gradient
    of scikit-learn's objective, independent of any solver) and equals sklearn's direct fit."""
    rng = np.random.default_rng(4)
    Z = rng.normal(size=(36, 150))
    y = rng.integers(0, n_classes, 36) if n_classes > 2 else (Z[:, 0] + rng.normal(size=36) > 0).astype(int)
    for C in (0.05, 0.5):
        m = make_model("logistic", C=C).fit(pd.DataFrame(Z, columns=[f"P{j}" for j in range(150)]), y)
        assert m.coef_.shape == (1 if n_classes == 2 else n_classes, 150)
        assert list(m.feature_names_in_) == [f"P{j}" for j in range(150)]
        assert _stationarity(Z, y, m.coef_, m.intercept_, C) < 1e-6
        ref = LogisticRegression(C=C, solver="newton-cholesky", tol=1e-12, max_iter=500).fit(Z, y)
        np.testing.assert_allclose(m.coef_, ref.coef_, atol=1e-7)
        if n_classes == 2:
            b = logistic_l2(Z, y.astype(float), C)
            assert _stationarity(Z, y, b[None, :-1], b[-1:], C) < 1e-8
            np.testing.assert_allclose(b[:-1], ref.coef_[0], atol=1e-7)


def test_size_rule_closed_form():
    per = {k: Choice(k, None, 1.0, a, 0.02, float(k or 99)) for k, a in
           [(1, 0.70), (2, 0.85), (5, 0.905), (10, 0.92), (None, 0.915)]}
    assert apply_size_rule(per, [1, 2, 5, 10, None], "one_se").k == 5   # 0.905 ≥ 0.92 − 0.02; 0.85 is not
    assert apply_size_rule(per, [1, 2, 5, 10, None], "best").k == 10
    assert apply_size_rule(per, [1, 2], "one_se").k == 2                # the cap: only sizes ≤ 2 allowed
    # a plateau (inner AUC saturated at 1.0 from size 5 on): best takes its largest size, one_se its smallest
    flat = {k: Choice(k, None, 1.0, a, 0.0, float(k or 99)) for k, a in
            [(1, 0.9), (5, 1.0), (10, 1.0), (20, 1.0), (None, 0.99)]}
    assert apply_size_rule(flat, [1, 5, 10, 20, None], "best").k == 20
    assert apply_size_rule(flat, [1, 5, 10], "best").k == 10            # within the cap
    assert apply_size_rule(flat, [1, 5, 10, 20, None], "one_se").k == 5


def test_size_settings_and_cap():
    s = coerce_settings({"size_grid": [1, 3, "unrestricted"], "max_proteins": 2})
    assert s.curve_sizes() == (1, 2, 3, None) and s.sizes() == (1, 2)
    assert coerce_settings({}).sizes()[-1] is None and coerce_settings({}).max_proteins is None
    with pytest.warns(DeprecationWarning):
        assert coerce_settings({"panel_sizes": [4, 2]}).size_grid == (4, 2)  # the old key still works
    from proteomics.errors import InputError

    for bad in ({"size_grid": [0]}, {"size_grid": ["ten"]}, {"size_rule": "widest"}, {"penalty_grid": [5, 2]},
                {"max_proteins": 0}, {"redundancy": "pca"}):
        with pytest.raises(InputError):
            coerce_settings(bad)


def test_size_curve_cap_cost_and_signature_record():
    from tests.panel.conftest import simulate

    ds = simulate(n_per_class=20, n_proteins=120, n_true=6, effect=1.0, seed=4)
    res = build_panel(ds, "condition", "case", settings={**QUICK, "max_proteins": 2}, seed=0)
    curve = res.metrics["size_curve"]
    assert [c["size"] for c in curve] == [1, 2, 3, 5]
    for c in curve:
        assert c["auc_ci_low"] <= c["auc"] <= c["auc_ci_high"]
    assert len(res.signature.proteins) <= 2                        # the cap is hard
    cost = res.metrics["cap_cost"]
    assert cost["auc_cost"] == pytest.approx(max(c["auc"] for c in curve)
                                             - max(c["auc"] for c in curve if c["size"] <= 2))
    sel = res.signature.training["selection"]
    assert sel["selection_method"] == "l1_share" and sel["size_rule"] == "best" and sel["size_curve"] == curve


def test_multiclass_with_path_selector():
    from tests.panel.conftest import simulate

    ds = simulate(n_per_class=18, n_proteins=60, n_true=4, effect=2.0, seed=6)
    lab = ds.samples["condition"].to_numpy().copy()
    lab[::3] = "other"
    ds = ds.with_samples(ds.samples.assign(group3=lab))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = build_panel(ds, "group3", "case", settings={**QUICK, "size_grid": [2, 4]}, seed=0)
    assert res.metrics["n_classes"] == 3 and len(res.metrics["size_curve"]) == 2
    assert 0.0 <= res.metrics["auc"] <= 1.0
