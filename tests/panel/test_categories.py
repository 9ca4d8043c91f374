"""Risk categories that mean something: rule-in ≠ rule-out, both meeting the configured targets; design warnings
that name the panel actually locked."""

from __future__ import annotations

import numpy as np
import pytest

from proteomics.panel import build_panel
from proteomics.panel.lockmodel import categories_and_thresholds
from proteomics.panel.settings import PanelSettings

from .conftest import FAST, simulate


def _sens_spec(y, p, t):
    y, p = np.asarray(y), np.asarray(p)
    return float((p[y == 1] >= t).mean()), float((p[y == 0] < t).mean())


@pytest.mark.parametrize("targets", [(0.9, 0.9), (0.95, 0.8)])
def test_separable_classes_keep_three_categories_and_meet_targets(targets):
    """Perfectly separated out-of-fold probabilities: any threshold in the gap meets both targets, so the
    categories must not collapse into one cut (that made "indeterminate"/"intermediate" impossible)."""
    sens_target, spec_target = targets
    y = np.array([0] * 10 + [1] * 10)
    p = np.r_[np.linspace(0.02, 0.3, 10), np.linspace(0.7, 0.98, 10)]
    s = PanelSettings(fixed_sensitivity=sens_target, fixed_specificity=spec_target)
    th, cats = categories_and_thresholds(y, p, s)
    ro, ri = th["rule_out"]["probability"], th["rule_in"]["probability"]
    assert ro < ri
    assert [c["name"] for c in cats] == ["low", "intermediate", "high"]
    assert _sens_spec(y, p, ro)[0] >= sens_target  # below rule-out: few positives missed
    assert _sens_spec(y, p, ri)[1] >= spec_target  # at or above rule-in: few negatives included


def test_overlapping_classes_thresholds_follow_targets():
    rng = np.random.default_rng(3)
    y = np.r_[np.zeros(200, int), np.ones(200, int)]
    p = np.clip(np.r_[rng.normal(0.35, 0.15, 200), rng.normal(0.65, 0.15, 200)], 0.001, 0.999)
    loose = categories_and_thresholds(y, p, PanelSettings(fixed_sensitivity=0.8, fixed_specificity=0.8))[0]
    strict = categories_and_thresholds(y, p, PanelSettings(fixed_sensitivity=0.95, fixed_specificity=0.95))[0]
    # stricter targets widen the intermediate band on both sides
    assert strict["rule_out"]["probability"] < loose["rule_out"]["probability"]
    assert strict["rule_in"]["probability"] > loose["rule_in"]["probability"]
    for th, target in ((strict, 0.95), (loose, 0.8)):
        assert _sens_spec(y, p, th["rule_out"]["probability"])[0] >= target
        assert _sens_spec(y, p, th["rule_in"]["probability"])[1] >= target


def test_config_targets_reach_the_signature():
    from proteomics.config import PanelConfig

    cfg = PanelConfig(fixed_sensitivity=0.95, fixed_specificity=0.85)
    d = cfg.model_dump()
    assert d["fixed_sensitivity"] == 0.95 and d["fixed_specificity"] == 0.85
    assert PanelSettings(**{k: d[k] for k in ("fixed_sensitivity", "fixed_specificity")}).fixed_specificity == 0.85


def test_design_warning_counts_the_locked_panel():
    """Only 3 proteins exist, max_proteins 5: the warning must speak of the panel actually locked."""
    ds = simulate(n_per_class=12, n_proteins=3, n_true=3, seed=4)
    res = build_panel(ds, "condition", "case", settings={**FAST, "max_proteins": 5, "fixed_size": True,
                                                                  "selector": "moderated_t"}, seed=1)
    k = len(res.signature.proteins)
    assert k < 5
    epv = [w for w in res.warnings if "events per protein" in w]
    assert epv and f"for {k} model protein" in epv[0] and "5 model" not in " ".join(res.warnings)
