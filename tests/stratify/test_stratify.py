"""End-to-end stratification on planted and structureless cohorts (ground truth known by construction)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import adjusted_rand_score

from proteomics.errors import InputError, ScoringRefused
from proteomics.signature import Signature
from proteomics.stratify import assign, stratify, write_stratify_outputs

from .conftest import FAST, planted


def test_planted_subgroups_recovered_with_correct_k(planted3):
    ds, truth, res = planted3
    m = res.metrics
    assert m["k"] == 3 and m["stable"] is True
    # Each subgroup differs from the others by +2 log2 (2 SD of the noise) on 30 own proteins: the distance
    # between subgroup means is ~11 noise SDs, so an oracle nearest-mean rule misassigns none of 40 samples.
    # ARI ≥ 0.9 allows one misassigned sample (ARI ≈ 0.92) for resampling noise and still fails a wrong k.
    ari = adjusted_rand_score(truth, res.assignments["cluster"])
    assert ari >= 0.9
    assert m["null"]["p_value"] <= 0.05
    assert m["pac"]["3"] < m["null"]["null_mean_pac"]["3"] - 0.5
    assert set(res.assignments.columns) >= {"sample", "cluster", "confidence"}
    assert res.assignments["sample"].tolist() == ds.sample_ids
    assert (res.assignments["confidence"] > 0.9).all()
    assert res.clusters["n"].sum() == ds.n_samples
    assert sorted(res.consensus) == [2, 3, 4, 5, 6] and res.consensus[3].shape == (40, 40)
    assert list(res.pca.columns) == ["sample", "PC1", "PC2", "cluster"]


def test_cluster_vs_rest_finds_the_planted_programmes(planted3):
    ds, truth, res = planted3
    top = res.top_proteins
    names = np.asarray(res.assignments["cluster"])
    for c in sorted(set(names)):
        planted_c = int(np.bincount(truth[names == c]).argmax())  # which planted subgroup this cluster is
        programme = {f"P{j:04d}" for j in range(planted_c * 30, (planted_c + 1) * 30)}
        up = top[(top["cluster"] == c) & (top["direction"] == "up")]["protein_group"]
        assert len(up) >= 8 and set(up) <= programme


def test_structureless_data_gives_no_stable_clustering(structureless):
    ds, res = structureless
    m = res.metrics
    assert m["stable"] is False and m["k"] == 1
    assert m["conclusion"] == "no stable clustering"
    assert (res.assignments["cluster"] == "C1").all()
    (why,) = [w for w in m["warnings"] if w.startswith("no stable clustering")]
    assert "null p =" in why or "PAC" in why or "smaller than" in why


def test_outputs_are_byte_identical_across_reruns_and_n_jobs(tmp_path):
    ds, truth = planted(2, n=24, p=300, seed=3)
    settings = {"repeats": 12, "null_permutations": 3, "null_repeats": 6, "n_features": 100}
    outs = []
    for i, n_jobs in enumerate((1, 2, 1)):
        d = tmp_path / f"o{i}"
        d.mkdir()
        write_stratify_outputs(stratify(ds, settings=settings, seed=5, n_jobs=n_jobs), d)
        outs.append({p.name: p.read_bytes() for p in sorted(d.iterdir())})
    assert outs[0] == outs[1] == outs[2]
    assert {"assignments.tsv", "stratify_metrics.json", "stratifier.json"} <= set(outs[0])
    # the file holds one row per sample of the input, in input order (what a reader of assignments.tsv relies on)
    written = (tmp_path / "o0" / "assignments.tsv").read_text().splitlines()
    assert written[0].split("\t")[:3] == ["sample", "cluster", "confidence"]
    assert [line.split("\t")[0] for line in written[1:]] == [f"S{i:02d}" for i in range(len(truth))]
    d = tmp_path / "other_seed"
    d.mkdir()
    write_stratify_outputs(stratify(ds, settings=settings, seed=6), d)
    assert (d / "stratify_metrics.json").read_bytes() != outs[0]["stratify_metrics.json"]


def test_locked_stratifier_reproduces_training_assignments(planted3, tmp_path):
    ds, truth, res = planted3
    write_stratify_outputs(res, tmp_path)
    sig = Signature.load(tmp_path / "stratifier.json")  # checksum + schema verified
    assert sig.kind == "stratifier" and sig.specimen == "plasma"
    table = pd.read_csv(tmp_path / "assignments.tsv", sep="\t")
    got = assign(sig, ds)
    assert got["cluster"].tolist() == table["cluster"].tolist()
    assert adjusted_rand_score(truth, got["cluster"]) >= 0.9  # and the planted subgroups (as in the first test)
    assert (got["category"] == "assigned").all()
    # one new patient alone gets the same answer (single-sample safe preprocessing)
    one = assign(sig, ds.subset(samples=[ds.sample_ids[5]]))
    assert one["cluster"].iloc[0] == table["cluster"].iloc[5]
    assert one["confidence"].iloc[0] == pytest.approx(got["confidence"].iloc[5], abs=1e-12)
    metrics = json.loads((tmp_path / "stratify_metrics.json").read_text())
    assert metrics["stratifier_training_agreement"] == 1.0


def test_assign_refuses_like_panel_scoring(planted3):
    ds, _, res = planted3
    sig = res.stratifier
    gone = set(res.features[: int(0.6 * len(res.features))])  # 60 % of the stratifier proteins not in the input
    with pytest.raises(ScoringRefused, match=res.features[0]):
        assign(sig, ds.subset(proteins=[p for p in ds.protein_ids if p not in gone]))
    one_gone = assign(sig, ds.subset(proteins=[p for p in ds.protein_ids if p != res.features[0]]))
    assert (one_gone["category"] == "assigned").all() and res.features[0] in one_gone.loc[0, "qc_flags"]
    s = ds.samples
    s["specimen"] = "BAL"
    with pytest.raises(ScoringRefused, match="specimen"):
        assign(sig, ds.with_samples(s))
    X = np.array(ds.X)
    cols = [ds.protein_ids.index(p) for p in res.features[: int(0.8 * len(res.features))]]
    X[0, cols] = np.nan  # sample 0 lost 80 % of the stratifier proteins
    out = assign(sig, ds.with_values(X))
    assert out.loc[0, "category"] == "refused" and "missing" in out.loc[0, "reasons"]
    assert out.loc[0, "cluster"] == "" and np.isnan(out.loc[0, "confidence"])
    assert (out["category"].iloc[1:] == "assigned").all()


def test_clusters_explained_by_batch_are_flagged():
    ds, truth = planted(2, n=30, p=400, seed=4)
    s = ds.samples
    s["batch"] = np.where(truth == 0, "b1", "b2")  # batch coincides with the planted groups
    res = stratify(ds.with_samples(s), settings={**FAST, "null_permutations": 0}, seed=0)
    assert res.metrics["k"] == 2
    text = " ".join(res.metrics["warnings"])
    assert "associated with batch" in text and "coincides with batch" in text
    row = res.technical.set_index("variable").loc["batch"]
    assert row["test"] == "fisher" and row["p_value"] < 1e-6


def test_survival_and_clinical_tables_when_columns_exist():
    ds, truth = planted(2, n=30, p=400, seed=4)
    rng = np.random.default_rng(0)
    s = ds.samples
    s["time"] = rng.exponential(np.where(truth == 0, 10.0, 3.0)).round(2)
    s["event"] = (rng.random(30) < 0.8).astype(int)
    s["smoker"] = np.where(truth == 0, "yes", "no")
    res = stratify(ds.with_samples(s), settings={**FAST, "null_permutations": 0}, seed=0)
    assert set(res.km_curves["group"]) == {"C1", "C2"}
    assert len(res.cox) == 1 and res.cox.loc[0, "reference"] == "C1"
    assert res.cox.loc[0, "ci_low"] < res.cox.loc[0, "hazard_ratio"] < res.cox.loc[0, "ci_high"]
    clin = res.clinical.set_index("variable")
    assert "time" not in clin.index and clin.loc["smoker", "p_value"] < 1e-6
    assert clin.loc["age", "test"] == "kruskal"


def test_bad_settings_are_input_errors():
    ds, _ = planted(2, n=12, p=100)
    with pytest.raises(InputError, match="repeats"):
        stratify(ds, settings={"repeat": 10})
    with pytest.raises(InputError, match="algorithm"):
        stratify(ds, settings={"algorithms": ["dbscan"]})
    with pytest.raises(InputError, match="absent"):
        stratify(ds, settings={"proteins": ["P0001", "nope"]})
    with pytest.raises(InputError, match="clinical_columns not in the sample sheet: smoking"):
        stratify(ds, settings={"clinical_columns": ["age", "smoking"]})
    s = ds.samples
    s["time"], s["event"] = 5.0, 2
    with pytest.raises(InputError, match="0 \\(censored\\) or 1"):
        stratify(ds.with_samples(s))
    with pytest.raises(InputError, match="k_max"):
        stratify(ds, k_max=1)
    with pytest.raises(InputError, match="too few"):
        stratify(ds.subset(samples=ds.sample_ids[:4]))


def test_sample_unlike_any_training_member_is_uncertain(planted3):
    ds, _, res = planted3
    X = np.array(ds.X)
    cols = [ds.protein_ids.index(p) for p in res.features]
    X[0, cols[::2]] += 6.0  # half of the stratifier proteins 6 log2 higher than ever seen in training
    X[0, cols[1::2]] -= 6.0
    out = assign(res.stratifier, ds.with_values(X))
    assert out.loc[0, "category"] == "uncertain" and "atypical" in out.loc[0, "qc_flags"]
    assert (out["category"].iloc[1:] == "assigned").all()


def test_a_continuum_is_not_called_clusters():
    # one continuous latent factor on 100 proteins: real structure (the permutation null is rejected) but no groups;
    # k-means would split it anywhere, so the consensus stays ambiguous (PAC > max_pac) and nothing is called stable
    rng = np.random.default_rng(0)
    ds, _ = planted(1, seed=9)
    X = np.array(ds.X)
    X[:, :100] += np.outer(rng.normal(size=ds.n_samples), rng.uniform(0.5, 1.5, 100))
    res = stratify(ds.with_values(X), settings=FAST, seed=0)
    m = res.metrics
    assert m["null"]["p_value"] <= 0.05
    assert m["pac"][str(m["k_best_candidate"])] > m["null"]["max_pac"]
    assert m["k"] == 1 and m["conclusion"] == "no stable clustering"
    (why,) = [w for w in m["warnings"] if w.startswith("no stable clustering")]
    assert f"> {m['null']['max_pac']:g}" in why and "null p" not in why  # the condition that failed, only it
