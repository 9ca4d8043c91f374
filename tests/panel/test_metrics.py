"""Metrics against pROC fixtures, statsmodels, and closed-form cases."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from proteomics.panel import metrics as M
from tests.conftest import need_oracle


@pytest.mark.parametrize("fname", ["auc_delong.csv"])
def test_delong_matches_proc(fname):
    inp = pd.read_csv(need_oracle("examples", "inputs", "auc_scores.csv"))
    ref = pd.read_csv(need_oracle("examples", "outputs", fname)).set_index("score")
    y = (inp["group"] == "case").astype(int).to_numpy()
    for col in ("F01", "F02_ties"):
        d = M.delong(y, inp[col].to_numpy())
        r = ref.loc[col]
        assert r["direction"] == "<"
        assert d["auc"] == pytest.approx(r["auc"], abs=1e-14)
        assert d["se"] == pytest.approx(r["se_delong"], rel=1e-12)
        assert d["ci_low"] == pytest.approx(r["ci_lower"], abs=1e-12)
        assert d["ci_high"] == pytest.approx(r["ci_upper"], abs=1e-12)
        assert M.roc_auc(y, inp[col]) == pytest.approx(r["auc"], abs=1e-14)


def test_delong_auto_direction_fixture_is_the_flipped_auc():
    # pROC direction="auto" reports 1 - AUC for F02_ties; we never flip: our AUC + its AUC = 1, same SE
    inp = pd.read_csv(need_oracle("examples", "inputs", "auc_scores.csv"))
    ref = pd.read_csv(need_oracle("examples", "outputs", "auc_delong_auto.csv")).set_index("score")
    y = (inp["group"] == "case").astype(int).to_numpy()
    d = M.delong(y, inp["F02_ties"].to_numpy())
    assert d["auc"] + ref.loc["F02_ties", "auc"] == pytest.approx(1.0, abs=1e-14)
    assert d["se"] == pytest.approx(ref.loc["F02_ties", "se_delong"], rel=1e-12)


def test_bootstrap_ci_brackets_auc_and_is_seeded():
    inp = pd.read_csv(need_oracle("examples", "inputs", "auc_scores.csv"))
    y = (inp["group"] == "case").astype(int).to_numpy()
    a = M.bootstrap_auc_ci(y, inp["F01"], n_boot=500, seed=3)
    b = M.bootstrap_auc_ci(y, inp["F01"], n_boot=500, seed=3)
    assert a == b
    assert a["ci_low"] < a["auc"] < a["ci_high"]
    # the bootstrap and DeLong intervals describe the same sampling variability: widths within 35 %
    d = M.delong(y, inp["F01"])
    assert (a["ci_high"] - a["ci_low"]) == pytest.approx(d["ci_high"] - d["ci_low"], rel=0.35)


def test_closed_form_auc_and_operating_points():
    y = np.array([0, 0, 0, 1, 1, 1])
    s = np.array([0.1, 0.2, 0.6, 0.4, 0.8, 0.9])
    assert M.roc_auc(y, s) == pytest.approx(8 / 9)  # 8 of 9 pairs ordered
    ss = M.sensitivity_at_specificity(y, s, 1.0)  # no false positive → threshold above 0.6
    assert ss["sensitivity"] == pytest.approx(2 / 3) and ss["threshold"] == pytest.approx(0.8)
    sp = M.specificity_at_sensitivity(y, s, 1.0)  # all cases → threshold 0.4
    assert sp["specificity"] == pytest.approx(2 / 3) and sp["threshold"] == pytest.approx(0.4)
    c = M.confusion_at(y, s, 0.5)
    assert (c["tp"], c["fp"], c["tn"], c["fn"]) == (2, 1, 2, 1)


def test_predictive_values_bayes():
    pv = M.predictive_values(0.9, 0.8, 0.1)
    assert pv["ppv"] == pytest.approx(0.09 / (0.09 + 0.18))
    assert pv["npv"] == pytest.approx(0.72 / (0.72 + 0.01))


def test_calibration_matches_statsmodels_glm():
    sm = pytest.importorskip("statsmodels.api")
    rng = np.random.default_rng(0)
    p = rng.uniform(0.05, 0.95, 300)
    y = (rng.random(300) < p).astype(int)
    ours = M.calibration_slope_intercept(y, p)
    lp = np.log(p / (1 - p))
    slope = sm.GLM(y, sm.add_constant(lp), family=sm.families.Binomial()).fit().params[1]
    icpt = sm.GLM(y, np.ones((300, 1)), family=sm.families.Binomial(), offset=lp).fit().params[0]
    assert ours["calibration_slope"] == pytest.approx(slope, rel=1e-8)
    assert ours["calibration_intercept"] == pytest.approx(icpt, abs=1e-8)


def test_brier_net_benefit_closed_form():
    y = np.array([1, 0, 1, 0])
    p = np.array([0.8, 0.3, 0.4, 0.6])
    assert M.brier(y, p) == pytest.approx((0.04 + 0.09 + 0.36 + 0.36) / 4)
    # threshold 0.5: TP = 1, FP = 1 → 1/4 - 1/4 · 1 = 0
    assert M.net_benefit(y, p, 0.5) == pytest.approx(0.0)
    # threshold 0.2: TP = 2, FP = 2 → 2/4 - 2/4 · 0.25
    assert M.net_benefit(y, p, 0.2) == pytest.approx(0.5 - 0.5 * 0.25)
    dc = M.decision_curve(y, p, [0.2, 0.5])
    assert dc["model"].tolist() == pytest.approx([0.375, 0.0])
    assert dc["all"].tolist() == pytest.approx([0.5 - 0.5 * 0.25, 0.0])


def test_permutation_p_and_cramers_v():
    assert M.permutation_p(0.9, [0.5, 0.6, 0.95]) == pytest.approx(2 / 4)
    assert M.permutation_p(0.99, [0.5] * 19) == pytest.approx(1 / 20)
    a = ["x"] * 10 + ["y"] * 10
    assert M.cramers_v(a, a)["cramers_v"] == pytest.approx(1.0)
    assert M.cramers_v(a, ["u", "v"] * 10)["cramers_v"] == pytest.approx(0.0)


def test_design_warnings():
    w = M.design_warnings(["a"] * 30 + ["b"] * 6, 1000, batch=["p"] * 30 + ["q"] * 6, panel_size=5)
    text = " ".join(w)
    assert "events per protein" in text and "confounded" in text and "imbalance" in text
    assert M.design_warnings(["a"] * 100 + ["b"] * 100, 5, panel_size=5) == []


def test_design_warning_names_where_the_candidates_come_from():
    """The run's matrix has 339 proteins, the panel's top3 input 340: the warning must say which it counts."""
    w = M.design_warnings(["a"] * 30 + ["b"] * 30, 340, panel_size=5, source="top3 roll-up")
    assert any(s.startswith("340 proteins of the panel's input (top3 roll-up) enter selection") for s in w), w
    assert any(s.startswith("340 proteins with a value enter selection") for s in M.design_warnings(
        ["a"] * 30 + ["b"] * 30, 340, panel_size=5)), w
