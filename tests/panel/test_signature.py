"""Locked signatures: round trip, tamper detection, schema version, exact in-sample scoring, refusals."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from proteomics import Dataset
from proteomics.errors import InputError, ScoringRefused, SignatureError
from proteomics.panel import Signature, build_panel, score, validate, write_panel_outputs
from tests.panel.conftest import FAST, simulate


@pytest.fixture(scope="module")
def built():
    ds = simulate(n_per_class=15, n_proteins=80, seed=11, missing=0.02)
    return ds, build_panel(ds, "condition", "case", settings=FAST, seed=0)


@pytest.fixture
def sigfile(built, tmp_path):
    write_panel_outputs(built[1], tmp_path)
    return tmp_path / "signature.json"


def test_round_trip_and_checksum(built, sigfile):
    sig = Signature.load(sigfile)
    assert sig.schema == "proteomics.signature" and sig.kind == "panel"
    assert sig.sha256 == built[1].signature.sha256
    assert sig.to_bytes() == sigfile.read_bytes()
    info = Signature.verify(sigfile)
    assert info["sha256"] == sig.sha256 and info["specimen"] == "plasma"
    d = json.loads(sigfile.read_text())
    for key in ("schema", "schema_version", "kind", "proteins", "specimen", "steps", "model", "sha256",
                "thresholds", "qc", "training", "performance", "package_version", "intended_use"):
        assert key in d


def test_tamper_one_digit_fails(sigfile):
    text = sigfile.read_text()
    i = text.index('"intercept": [') + len('"intercept": [')
    while not text[i].isdigit():
        i += 1
    bad = text[:i] + ("1" if text[i] != "1" else "2") + text[i + 1:]
    sigfile.write_text(bad)
    with pytest.raises(SignatureError, match="checksum"):
        Signature.load(sigfile)


def test_schema_version_mismatch(sigfile):
    d = sigfile.read_bytes().replace(b'"schema_version": 1', b'"schema_version": 99')
    sigfile.write_bytes(d)
    with pytest.raises(SignatureError, match="version"):
        Signature.load(sigfile)
    sigfile.write_bytes(d.replace(b'"proteomics.signature"', b'"other"'))
    with pytest.raises(SignatureError, match="schema"):
        Signature.load(sigfile)


def test_scoring_training_samples_reproduces_pipeline_exactly(built, sigfile):
    ds, res = built
    sig = Signature.load(sigfile)
    table = score(sig, ds).table
    ok = (table["category"] != "refused").to_numpy()
    assert ok.sum() >= ds.n_samples - 2
    expected = res.pipeline.predict_proba(ds.to_frame())[:, 1]
    np.testing.assert_array_equal(table["probability"].to_numpy()[ok], expected[ok])
    assert list(table.columns[:11]) == ["sample", "score", "probability", "prob_low", "prob_high", "category",
                                        "qc_flags", "reasons", "signature_name", "signature_version",
                                        "signature_sha256"]
    assert (table.loc[ok, "prob_low"] <= table.loc[ok, "prob_high"]).all()


def test_one_sample_alone_scores_the_same(built, sigfile):
    ds, _ = built
    sig = Signature.load(sigfile)
    full = score(sig, ds).table.set_index("sample")
    one = score(sig, ds.subset(samples=[ds.sample_ids[3]])).table.set_index("sample")
    assert one.loc[ds.sample_ids[3], "probability"] == full.loc[ds.sample_ids[3], "probability"]


def test_refusals(built, sigfile):
    ds, _ = built
    sig = Signature.load(sigfile)
    s = ds.samples
    s["specimen"] = "BAL"
    with pytest.raises(ScoringRefused, match="specimen"):
        score(sig, ds.with_samples(s))
    allowed = int(sig.qc["max_missing"])
    gone = list(sig.proteins[: allowed + 1])
    with pytest.raises(ScoringRefused, match=gone[-1]):
        score(sig, ds.subset(proteins=[p for p in ds.protein_ids if p not in gone]))
    if allowed:
        # a protein absent from the whole input counts as missing in every sample, exactly as when its column
        # is present but empty (a single patient's file is scored as that patient is scored in a batch)
        p0 = sig.proteins[0]
        alone = score(sig, ds.subset(proteins=[p for p in ds.protein_ids if p != p0])).table
        X0 = ds.to_frame()
        X0[p0] = np.nan
        empty = score(sig, Dataset(X0.to_numpy(), ds.samples, ds.proteins)).table
        pd.testing.assert_frame_equal(alone, empty)
        assert alone["qc_flags"].str.contains(p0).any() or (alone["category"] == "refused").all()
    # per-sample refusal: one sample misses every panel protein, another is far out of range
    X = ds.to_frame()
    X.loc[ds.sample_ids[0], list(sig.proteins)] = np.nan
    X.loc[ds.sample_ids[1], sig.proteins[0]] = 60.0
    bad = Dataset(X.to_numpy(), ds.samples, ds.proteins)
    t = score(sig, bad).table.set_index("sample")
    assert t.loc[ds.sample_ids[0], "category"] == "refused"
    assert all(p in t.loc[ds.sample_ids[0], "reasons"] for p in sig.proteins)
    assert t.loc[ds.sample_ids[1], "category"] == "refused"
    assert "outside the training range" in t.loc[ds.sample_ids[1], "reasons"]
    assert (t["category"] != "refused").sum() >= ds.n_samples - 4


def test_unsafe_step_refused():
    ds = simulate(n_per_class=10, n_proteins=30)
    settings = {**FAST, "preprocess": [["batch_combat", {"batch_column": "batch"}]]}
    with pytest.raises(InputError):
        build_panel(ds, "condition", "case", settings=settings, seed=0)


def test_validate_on_independent_cohort(built, sigfile):
    sig = Signature.load(sigfile)
    other = simulate(n_per_class=15, n_proteins=80, seed=99, missing=0.02)
    m = validate(sig, other, "condition", "case", n_boot=200)
    assert m["auc"] > 0.8
    assert {"rule_in_sensitivity", "rule_out_sensitivity", "brier", "auc_ci_low"} <= set(m)


def test_validation_leaves_unlabelled_samples_out_and_names_a_close_class(built, sigfile):
    """An unlabelled sample is scored but not counted as a control; a misspelt class gets the close one."""
    from sklearn.metrics import roc_auc_score

    sig = Signature.load(sigfile)
    other = simulate(n_per_class=15, n_proteins=80, seed=99, missing=0.02)
    samples = other.samples.copy()
    cases = samples.index[samples["condition"] == "case"][:3]
    samples.loc[cases, "condition"] = np.nan  # three cases whose label is unknown
    blank = other.with_samples(samples)
    m = validate(sig, blank, "condition", "case", n_boot=50)
    assert (m["n_samples"], m["n_unlabelled"]) == (30, 3)
    t = score(sig, blank).table.set_index("sample")
    kept = [s for s in blank.sample_ids if s not in cases and t.loc[s, "category"] != "refused"]
    y = (samples.loc[kept, "condition"] == "case").astype(int)
    assert m["auc"] == pytest.approx(roc_auc_score(y, t.loc[kept, "probability"]), abs=1e-12)
    with pytest.raises(InputError, match="did you mean 'case'"):
        validate(sig, other, "condition", "cas", n_boot=50)


def test_bad_label_and_settings():
    ds = simulate(n_per_class=5, n_proteins=10)
    with pytest.raises(InputError, match="label"):
        build_panel(ds, "nope", "case", settings=FAST)
    with pytest.raises(InputError, match="positive"):
        build_panel(ds, "condition", "sick", settings=FAST)
    with pytest.raises(InputError, match="unknown panel setting"):
        build_panel(ds, "condition", "case", settings={"bogus": 1})


@pytest.mark.parametrize("model", ["svm", "random_forest"])
def test_other_models_lock_and_reproduce(model, tmp_path):
    ds = simulate(n_per_class=12, n_proteins=40, seed=4, missing=0.0)
    res = build_panel(ds, "condition", "case", settings={**FAST, "model": model, "interval_boot": 5,
                                                                 "model_options": {"n_estimators": 40} if model == "random_forest" else {}}, seed=0)
    res.signature.save(tmp_path / "s.json")
    sig = Signature.load(tmp_path / "s.json")
    t = score(sig, ds).table
    ok = (t["category"] != "refused").to_numpy()
    np.testing.assert_array_equal(t["probability"].to_numpy()[ok],
                                  res.pipeline.predict_proba(ds.to_frame())[:, 1][ok])


def test_multiclass_panel():
    ds = simulate(n_per_class=12, n_proteins=40, seed=4)
    s = ds.samples
    s["condition"] = np.where(np.arange(ds.n_samples) % 3 == 0, "copd", s["condition"])
    ds = ds.with_samples(s)
    res = build_panel(ds, "condition", "case", settings=FAST, seed=0)
    assert res.metrics["n_classes"] == 3
    t = score(res.signature, ds).table
    assert "predicted_class" in t.columns and set(t["predicted_class"]) - {""} <= {"case", "control", "copd"}
    assert isinstance(pd.DataFrame(t), pd.DataFrame)
