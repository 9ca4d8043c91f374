"""Planted endotypes of the package simulator (``simulate_cohort(n_subgroups=3)``) are found again."""

from __future__ import annotations

import pytest
from sklearn.metrics import adjusted_rand_score

from proteomics.errors import ScoringRefused
from proteomics.stratify import assign, stratify

from .conftest import FAST


def test_simulated_endotypes_recovered_after_batch_correction():
    sim = pytest.importorskip("proteomics.simulate")
    cohort = sim.simulate_cohort(0, n_subgroups=3, n_hemolysed=0)
    # what a reader + quantifier sees (MNAR missingness, precursor noise, 1 % FDR): 60 plasma samples × 340
    # proteins with cancer/control effects, covariates, contamination levels, two batches and three planted
    # programmes of ±1–2 log2 on 17 proteins each
    ds = sim.to_dataset(cohort, "plasma", complete=False)
    truth = ds.samples["subgroup"].to_numpy()
    pre = [["filter_min_valid", {"min_fraction": 0.7, "per_group": False}], ["normalize_median", {}],
           ["batch_combat", {"batch_column": "batch", "covariates": []}]]
    res = stratify(ds, settings={**FAST, "preprocess": pre, "clinical_columns": ["condition", "age", "subgroup"]},
                   seed=0)
    assert res.metrics["k"] == 3 and res.metrics["stable"]
    # the programmes are large next to the residual noise: measured ARI 1.0 (also with default settings and on the
    # complete abundances); ≥ 0.9 tolerates one or two boundary samples, while a wrong k, a batch split or a
    # cancer/control split scores < 0.6
    assert adjusted_rand_score(truth, res.assignments["cluster"]) >= 0.9
    clin = res.clinical.set_index("variable")
    assert clin.loc["subgroup", "p_value"] < 1e-6
    assert not any("batch" in w for w in res.metrics["warnings"])
    # ComBat needs the new sample's batch, so this stratifier cannot be applied to new patients: it refuses
    with pytest.raises(ScoringRefused, match="ComBat"):
        assign(res.stratifier, ds)


def test_hemolysed_outliers_are_named_not_called_a_subgroup():
    sim = pytest.importorskip("proteomics.simulate")
    cohort = sim.simulate_cohort(0)  # no endotypes; 3 hemolysed plasma samples (+4.5 log2 erythrocyte panel)
    ds = sim.to_dataset(cohort, "plasma")
    hemolysed = {f"{s}_plasma" for s in cohort.subjects.index[cohort.subjects["hemolysed"].astype(bool)]}
    hemolysed &= set(ds.sample_ids)  # (the unfit new patient N003 is hemolysed too, but not in training)
    assert len(hemolysed) == 3
    res = stratify(ds, settings={**FAST, "null_permutations": 0}, seed=0)
    assert res.metrics["k"] == 1
    warning = next(w for w in res.metrics["warnings"] if "outliers rather than subgroups" in w)
    named = set(warning.split("holds ")[1].split(", "))
    assert named == hemolysed
