"""Survival and association helpers: hand-computed Kaplan-Meier, Cox hazard ratio recovery, confounding flags."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from proteomics.errors import InputError
from proteomics.stratify.associations import (
    association_table,
    confounding_warnings,
    cox_model,
    kaplan_meier,
    logrank_test,
    survival_summary,
)


def test_kaplan_meier_by_hand():
    # times 1, 2, 2+, 3, 4+, 5 (+ = censored): S = 5/6, 5/6·4/5, ·2/3, unchanged, 0
    t = np.array([1, 2, 2, 3, 4, 5], float)
    e = np.array([1, 1, 0, 1, 0, 1], float)
    km = kaplan_meier(t, e, ["A"] * 6)
    assert km["time"].tolist() == [0, 1, 2, 3, 4, 5]
    assert km["n_risk"].tolist() == [6, 6, 5, 3, 2, 1]
    assert km["n_event"].tolist() == [0, 1, 1, 1, 0, 1]
    assert km["n_censor"].tolist() == [0, 0, 1, 0, 1, 0]
    assert km["survival"].to_numpy() == pytest.approx([1, 5 / 6, 4 / 6, 4 / 9, 4 / 9, 0])


def test_kaplan_meier_groups_and_missing_values():
    km = kaplan_meier([1, 2, np.nan, 3], [1, 0, 1, 1], ["B", "A", "A", "B"])
    assert sorted(set(km["group"])) == ["A", "B"]
    assert km[km["group"] == "A"]["survival"].tolist() == [1.0, 1.0]  # one censored subject, the NaN dropped
    assert km[km["group"] == "B"]["survival"].tolist() == [1.0, 0.5, 0.0]


def test_cox_recovers_a_known_hazard_ratio():
    # exponential survival, hazard 0.1 (group A) and 0.2 (group B): true HR(B vs A) = 2; 20 % random censoring
    rng = np.random.default_rng(0)
    n = 4000
    g = np.where(np.arange(n) % 2 == 0, "A", "B")
    t = rng.exponential(np.where(g == "A", 10.0, 5.0))
    e = (rng.random(n) > 0.2).astype(float)
    cox = cox_model(t, e, g)
    row = cox.iloc[0]
    assert row["cluster"] == "B" and row["reference"] == "A"
    assert row["ci_low"] < 2.0 < row["ci_high"]
    assert abs(np.log(row["hazard_ratio"]) - np.log(2.0)) < 0.1  # SE of log HR ≈ sqrt(4/3200) ≈ 0.035
    lr = logrank_test(t, e, g)
    assert lr["df"] == 1 and lr["p_value"] < 1e-10


def test_no_difference_gives_hr_near_one_and_large_logrank_p():
    rng = np.random.default_rng(1)
    n = 2000
    g = np.where(np.arange(n) % 2 == 0, "A", "B")
    t = rng.exponential(5.0, n)
    e = np.ones(n)
    cox = cox_model(t, e, g)
    assert cox.loc[0, "ci_low"] < 1.0 < cox.loc[0, "ci_high"]


def test_survival_inputs_are_checked():
    s = pd.DataFrame({"time": [1.0, 2.0, 3.0], "event": [0, 2, 1]})
    with pytest.raises(InputError, match="event"):
        survival_summary(["A", "B", "A"], s)
    s = pd.DataFrame({"time": [1.0, -2.0, 3.0], "event": [0, 1, 1]})
    with pytest.raises(InputError, match="negative"):
        survival_summary(["A", "B", "A"], s)


def test_association_tests_and_confounding_flags():
    labels = np.array(["C1"] * 10 + ["C2"] * 10)
    s = pd.DataFrame({"batch": ["b1"] * 10 + ["b2"] * 10,                  # coincides with the clusters
                      "site": ["x", "y"] * 10,                              # independent of them
                      "order": np.arange(20.0),                             # run order follows the clusters
                      "group3": ["a", "b", "c", "a"] * 5},
                     index=[f"s{i}" for i in range(20)])
    table = association_table(labels, s, ["batch", "site", "order", "group3"]).set_index("variable")
    assert table.loc["batch", "test"] == "fisher" and table.loc["batch", "p_value"] < 1e-4
    assert table.loc["batch", "effect"] == pytest.approx(1.0)  # Cramér's V of a perfect association
    assert table.loc["site", "p_value"] == pytest.approx(1.0)
    assert table.loc["order", "test"] == "kruskal" and table.loc["order", "p_value"] < 1e-3
    assert table.loc["group3", "test"] == "chi-square"
    warns = " | ".join(confounding_warnings(labels, s, association_table(labels, s, ["batch", "site", "order"])))
    assert "associated with batch" in warns and "coincides with batch = b1" in warns
    assert "associated with order" in warns
    assert "site" not in warns
