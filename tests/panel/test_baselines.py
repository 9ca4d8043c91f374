"""Baselines on the panel's own outer folds: same splits, learned on training samples only, written to baselines.json."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from proteomics.panel import build_panel, write_panel_outputs
from proteomics.panel.baselines import plain_prepare, run_baselines
from proteomics.panel.cv import derive_seed, outer_splits
from proteomics.panel.settings import coerce_settings
from tests.panel.conftest import FAST, simulate


def test_plain_preparation_is_learned_on_training_rows_only():
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(20, 1, (12, 5)), columns=list("abcde"))
    X.iloc[:, 4] = np.nan
    X.iloc[:9, 4] = 1.0  # observed in 9 of 10 training rows → kept
    X.iloc[2, 4] = np.nan
    tr, te = X.iloc[:10], X.iloc[10:]
    Ztr, Zte = plain_prepare(tr, te)
    Ztr2, _ = plain_prepare(tr, te * 3 + 7)  # anything in the test rows leaves the training result alone
    np.testing.assert_array_equal(Ztr, Ztr2)
    assert Ztr.shape == (10, 5)
    np.testing.assert_allclose(Ztr.mean(axis=0), 0, atol=1e-12)
    # by hand for column a: centre each row on its median over the kept columns, then standardise with training
    A = tr.to_numpy(float)
    centred = A - np.nanmedian(A, axis=1, keepdims=True)
    a = centred[:, 0]
    np.testing.assert_allclose(Ztr[:, 0], (a - a.mean()) / a.std())


def test_baselines_share_the_outer_folds_and_find_a_planted_signal(tmp_path):
    ds = simulate(n_per_class=20, n_proteins=80, n_true=4, effect=1.5, seed=2)
    s = coerce_settings({**FAST, "baseline": True})
    X, y = ds.to_frame(), ds.samples["condition"].to_numpy()
    b = run_baselines(X, y, positive="case", settings=s, seed=3)
    splits = outer_splits(y.astype(str), np.asarray(X.index).astype(str), s, derive_seed(3, 0))
    assert b["n_outer_folds"] == len(splits)
    m = b["methods"]
    assert set(m) == {"plain_l1", "plain_l1_max3", "plain_l1_max10", "random_forest"}
    assert m["plain_l1"]["auc"] > 0.85 and m["random_forest"]["auc"] > 0.85
    assert max(m["plain_l1_max3"]["size_per_fold"]) <= 3
    res = build_panel(ds, "condition", "case", settings={**FAST, "baseline": True}, seed=3)
    folds = {tuple(sorted(f.test_samples)) for f in res.cv.folds}
    assert folds == {tuple(sorted(X.index[te])) for _, _, _, te in splits}
    paths = write_panel_outputs(res, tmp_path)
    doc = json.loads(paths["baselines"].read_text())
    assert doc["schema"] == "proteomics.panel_baselines" and "cpu_seconds" not in doc
    assert doc["methods"]["plain_l1"]["auc"] == res.baselines["methods"]["plain_l1"]["auc"]
    assert doc["panel"]["auc"] == res.metrics["auc"]
    assert set(res.metrics["baselines"]) == set(doc["methods"])
