"""The panel says so, first in its warnings, when the nested CV does not show it to beat chance."""

from __future__ import annotations

from proteomics.panel import build_panel
from proteomics.panel.build import _chance_warnings

from .conftest import FAST, simulate


def test_chance_warning_rules():
    strong = {"auc": 0.9, "auc_ci_low": 0.8, "auc_ci_high": 1.0, "permutation_aucs": [0.45, 0.61, 0.52],
              "permutation_p": 0.25, "n_permutations": 3}
    assert _chance_warnings(strong) == []  # 3 permutations can give p ≥ 0.25 only: that alone is no warning
    reached = {**strong, "auc": 0.6, "auc_ci_low": 0.51, "permutation_aucs": [0.45, 0.61, 0.6]}
    (w,) = _chance_warnings(reached)
    assert "2 of 3 label permutations" in w
    wide = {**strong, "auc": 0.62, "auc_ci_low": 0.5, "auc_ci_high": 0.74, "permutation_aucs": []}
    (w,) = _chance_warnings(wide)
    assert "includes 0.5" in w and "0.500–0.740" in w
    assert _chance_warnings({"auc": float("nan"), "auc_ci_low": float("nan"), "auc_ci_high": float("nan")}) == []


def test_no_signal_panel_is_flagged_and_a_real_one_is_not():
    noise = simulate(n_per_class=15, n_true=0, effect=0.0, seed=5)  # the truth: no protein differs
    res = build_panel(noise, "condition", "case", settings=FAST, seed=0)
    assert res.metrics["auc_ci_low"] <= 0.5
    assert res.warnings[0].startswith("not shown to beat chance")
    real = simulate(n_per_class=15, n_true=4, effect=1.5, seed=5)
    res = build_panel(real, "condition", "case", settings=FAST, seed=0, n_permutations=3)
    assert not any(w.startswith("not shown to beat chance") for w in res.warnings)
