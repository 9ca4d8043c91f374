"""Nested CV: leakage alarm, planted-signal recovery, grouped folds, determinism."""

from __future__ import annotations

import numpy as np
import pytest

from proteomics.panel import build_panel, nested_cv, write_panel_outputs
from proteomics.panel.cv import outer_splits
from proteomics.panel.selection import ModeratedTSelector
from proteomics.panel.settings import coerce_settings
from tests.panel.conftest import FAST, simulate


def test_leakage_alarm_shuffled_labels_give_chance_auc():
    """Strong signal in X; labels that have nothing to do with X must give nested-CV AUC ≈ 0.5.

    Null AUCs of 30 samples have SD ≈ 0.11–0.15; averaging 8 permutations (or 6 label shuffles) gives SD ≈
    0.05, so |mean − 0.5| < 0.15 (~3 SD) only fails when the pipeline leaks. The same data with selection done
    before the split (the classic leak) is shown to give a high AUC, so this test can fail.
    """
    ds = simulate(n_per_class=15, n_proteins=150, n_true=0, seed=5)
    rng = np.random.default_rng(1)
    X = ds.to_frame()
    y = rng.permutation(ds.samples["condition"].to_numpy())  # labels unrelated to X
    s = coerce_settings(FAST)
    res = nested_cv(X, y, positive="case", settings=s, seed=0, n_permutations=8)
    null = np.asarray(res.permutation_aucs)
    assert abs(null.mean() - 0.5) < 0.15
    # the nested-CV AUC itself, over independent label shuffles (one draw alone has SD ≈ 0.15 here: 0.43-0.80
    # seen, so the mean of six is checked, SD ≈ 0.06)
    draws = [res.auc] + [nested_cv(X, np.random.default_rng(r).permutation(y), positive="case", settings=s,
                                   seed=0).auc for r in range(2, 7)]
    assert abs(np.mean(draws) - 0.5) < 0.15, draws
    # the leak: choose proteins on all samples, then cross-validate only the model → optimistic
    top = ModeratedTSelector(k=3).fit(X, y).selected_
    leaky = nested_cv(X[top], y, positive="case", settings=coerce_settings({**FAST, "preprocess": []}), seed=0)
    assert leaky.auc > 0.7


def test_planted_signal_recovered():
    ds = simulate(n_per_class=20, n_proteins=300, n_true=4, effect=1.5, seed=2)
    res = build_panel(ds, "condition", "case", settings=FAST, seed=0)
    freq = res.selection.set_index("protein_group")["frequency"]
    top = list(freq.index[:3])
    assert set(top) <= {"P000", "P001", "P002", "P003"}
    assert res.metrics["auc"] > 0.85
    assert res.metrics["auc_ci_low"] < res.metrics["auc"] < res.metrics["auc_ci_high"]
    truth = {"P000", "P001", "P002", "P003"}
    # the default size rule (best inner AUC) may add a noise protein in a tiny inner CV (2 folds, 1 repeat
    # here: it locks P000, P001 and P081); most of the panel is true, and the parsimonious one-SE rule locks
    # true proteins only
    assert len(set(res.signature.proteins) & truth) >= 2 and len(set(res.signature.proteins) - truth) <= 1
    parsimonious = build_panel(ds, "condition", "case", settings={**FAST, "size_rule": "one_se"}, seed=0)
    assert set(parsimonious.signature.proteins) <= truth


def test_grouped_folds_never_split_a_subject():
    ds = simulate(n_per_class=8, n_proteins=20, specimens_per_subject=3)
    y = ds.samples["condition"].to_numpy()
    g = ds.samples["subject"].to_numpy()
    s = coerce_settings({"outer_folds": 4, "outer_repeats": 3})
    for _, _, tr, te in outer_splits(y, g, s, seed=4):
        assert not set(g[tr]) & set(g[te])
    res = nested_cv(ds.to_frame(), y, positive="case", groups=g, settings=coerce_settings(FAST), seed=1)
    for f in res.folds:
        test_subjects = set(ds.samples.loc[list(f.test_samples), "subject"])
        train = set(ds.sample_ids) - set(f.test_samples)
        assert not test_subjects & set(ds.samples.loc[list(train), "subject"])


def test_leave_one_batch_out():
    ds = simulate(n_per_class=10, n_proteins=30)
    res = nested_cv(ds.to_frame(), ds.samples["condition"], positive="case",
                    settings=coerce_settings({**FAST, "leave_one_batch_out": "batch"}),
                    batches=ds.samples["batch"], seed=0)
    for f in res.folds:
        assert ds.samples.loc[list(f.test_samples), "batch"].nunique() == 1


@pytest.mark.parametrize("bagged", [False, True])
def test_deterministic_bytes_and_n_jobs(tmp_path, bagged):
    ds = simulate(n_per_class=10, n_proteins=40, seed=3)
    settings = {**FAST, "max_proteins": None, "bags": 5} if bagged else FAST
    a = build_panel(ds, "condition", "case", settings=settings, seed=7, n_permutations=1, n_jobs=1)
    b = build_panel(ds, "condition", "case", settings=settings, seed=7, n_permutations=1, n_jobs=2)
    assert (a.signature.model["interval"]["method"] == "bag_models") == bagged
    pa = write_panel_outputs(a, tmp_path / "a")
    pb = write_panel_outputs(b, tmp_path / "b")
    for key in pa:
        assert pa[key].read_bytes() == pb[key].read_bytes(), key
    calls = []
    nested_cv(ds.to_frame(), ds.samples["condition"], positive="case", settings=coerce_settings(FAST), seed=7,
              progress=lambda d, t: calls.append((d, t)))
    assert calls[-1][0] == calls[-1][1] and [c[0] for c in calls] == list(range(1, len(calls) + 1))


def test_planted_signal_on_project_simulator():
    """proteomics.simulate plants changed proteins (ground truth ``changed``); they must dominate selection."""
    sim = pytest.importorskip("proteomics.simulate")
    cohort = sim.simulate_cohort(n_patients=40, n_bal=0, n_sputum=0, specimens=("plasma",))
    ds = sim.to_dataset(cohort, "plasma", complete=True)
    res = build_panel(ds, "condition", "cancer", settings=FAST, seed=0)
    changed = set(ds.proteins.index[ds.proteins["changed"].astype(bool)])
    top = res.selection["protein_group"].head(3)
    assert set(top) <= changed
    assert set(res.signature.proteins) <= changed
    assert res.metrics["auc"] > 0.8
