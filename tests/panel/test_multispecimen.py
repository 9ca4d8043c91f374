"""Multi-specimen panels: join by subject (hand-built cases), signatures that require each specimen, refusals,
and the CLI end to end on the bundled plasma + BAL cohort (ground truth: sample_data/truth.tsv)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from proteomics import Dataset
from proteomics.errors import InputError, ScoringRefused
from proteomics.panel import Signature, build_panel, join_specimens, score, score_multi, write_panel_outputs
from proteomics.panel.multispecimen import split_feature
from tests.cli_helpers import SAMPLE, assert_input_error, invoke
from tests.panel.conftest import FAST, simulate

nan = np.nan


def _plasma() -> Dataset:
    X = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, nan]])
    s = pd.DataFrame({"subject": ["A", "B", "C"], "specimen": "plasma", "condition": ["case", "ctrl", "ctrl"],
                      "batch": ["1", "1", "2"], "age": [nan, 40.0, 60.0]}, index=["a_p", "b_p", "c_p"])
    p = pd.DataFrame({"gene": ["G1", "G2"]}, index=["P1", "P2"])
    return Dataset(X, s, p, layers={"n_peptides": np.array([[1, 2], [3, 4], [5, 6]])})


def _bal() -> Dataset:
    X = np.array([[10.0, 11.0], [12.0, 13.0], [14.0, 15.0]])
    s = pd.DataFrame({"subject": ["C", "A", "D"], "specimen": "BAL", "condition": ["ctrl", "case", "case"],
                      "batch": ["7", "8", "9"], "age": [60.0, 50.0, 30.0]}, index=["c_b", "a_b", "d_b"])
    p = pd.DataFrame({"gene": ["G2", "G3"]}, index=["P2", "P3"])
    return Dataset(X, s, p, layers={"n_peptides": np.array([[7, 8], [9, 10], [11, 12]]),
                                    "imputed": np.zeros((3, 2), bool)})


def test_join_by_subject_hand_built():
    j = join_specimens({"plasma": _plasma(), "BAL": _bal()})
    assert j.sample_ids == ["A", "C"]  # B has no BAL, D no plasma; first specimen's order
    assert j.protein_ids == ["plasma:P1", "plasma:P2", "BAL:P2", "BAL:P3"]
    expected = np.array([[1.0, 2.0, 12.0, 13.0],
                         [5.0, nan, 10.0, 11.0]])
    np.testing.assert_array_equal(j.X, expected)
    np.testing.assert_array_equal(j.layers["n_peptides"], [[1, 2, 9, 10], [5, 6, 7, 8]])
    assert set(j.layers) == {"n_peptides"}  # 'imputed' is not in every specimen
    s = j.samples
    assert list(s["specimen"]) == ["BAL+plasma", "BAL+plasma"]
    assert list(s["condition"]) == ["case", "ctrl"]
    assert list(s["plasma:sample"]) == ["a_p", "c_p"] and list(s["BAL:sample"]) == ["a_b", "c_b"]
    assert list(s["batch"]) == ["1", "2"]  # the first specimen's run-level columns
    assert list(s["age"]) == [50.0, 60.0]  # A's missing plasma age filled from BAL
    p = j.proteins
    assert list(p["specimen"]) == ["plasma", "plasma", "BAL", "BAL"]
    assert list(p["protein"]) == ["P1", "P2", "P2", "P3"] and list(p["gene"]) == ["G1", "G2", "G2", "G3"]
    step = j.history[-1]
    assert step.name == "join_specimens"
    assert step.params["n_subjects"] == 2 and step.params["n_subjects_dropped"] == 2
    assert step.params["joined"] == "BAL+plasma"
    assert join_specimens({"plasma": _plasma(), "BAL": _bal()}).checksum() == j.checksum()  # deterministic
    assert split_feature("BAL:P2") == ("BAL", "P2")
    # the mapping order decides rows and columns, not the joined name
    k = join_specimens({"BAL": _bal(), "plasma": _plasma()})
    assert k.sample_ids == ["C", "A"] and k.protein_ids[0] == "BAL:P2"
    assert k.samples["specimen"].iloc[0] == "BAL+plasma"


def test_join_refusals():
    bal = _bal()
    s = bal.samples
    s.loc["a_b", "condition"] = "ctrl"
    with pytest.raises(InputError, match=r"'A'.*conflicting 'condition'"):
        join_specimens({"plasma": _plasma(), "BAL": bal.with_samples(s)})
    # only the named columns are checked when ``check`` is given
    assert join_specimens({"plasma": _plasma(), "BAL": bal.with_samples(s)}, check=["age"]).n_samples == 2
    s = _bal().samples
    s["subject"] = ["X", "Y", "Z"]
    with pytest.raises(InputError, match="no subject has every specimen"):
        join_specimens({"plasma": _plasma(), "BAL": _bal().with_samples(s)})
    s = _bal().samples
    s["subject"] = ["A", "A", "D"]
    with pytest.raises(InputError, match="several BAL samples"):
        join_specimens({"plasma": _plasma(), "BAL": _bal().with_samples(s)})
    with pytest.raises(InputError, match="no 'subject' column"):
        join_specimens({"plasma": _plasma(), "BAL": _bal().with_samples(_bal().samples.drop(columns="subject"))})
    with pytest.raises(InputError, match="more than once"):
        join_specimens({"plasma": _plasma(), "Plasma": _plasma()})
    with pytest.raises(InputError, match="invalid specimen name"):
        join_specimens({"pl:asma": _plasma(), "BAL": _bal()})


def _two_specimens(seed: int = 3) -> dict[str, Dataset]:
    """Same 30 subjects and labels in both specimens; P000..P003 planted (effect 1.5 log2) in each."""
    out = {}
    for k, spec in enumerate(("plasma", "BAL")):
        ds = simulate(n_per_class=15, n_proteins=60, seed=seed + k, missing=0.02)
        s = ds.samples
        s["specimen"] = spec
        s.index = [f"{sid}_{spec}" for sid in s.index]
        out[spec] = Dataset(ds.X, s, ds.proteins)
    return out


@pytest.fixture(scope="module")
def multi():
    dss = _two_specimens()
    joined = join_specimens(dss)
    res = build_panel(joined, "condition", "case", settings={**FAST, "specimen": None}, seed=0)
    return dss, joined, res


def test_multispecimen_signature_round_trip(multi, tmp_path):
    dss, joined, res = multi
    sig = res.signature
    assert sig.specimen == "BAL+plasma" and sig.specimens == ("BAL", "plasma")
    parts = [p.split(":", 1) for p in sig.proteins]
    assert all(len(x) == 2 and x[0] in ("plasma", "BAL") for x in parts)
    assert sum(x[1] in {"P000", "P001", "P002", "P003"} for x in parts) >= len(parts) - 1  # planted effects
    write_panel_outputs(res, tmp_path)
    loaded = Signature.load(tmp_path / "signature.json")
    assert loaded.sha256 == sig.sha256 and loaded.to_bytes() == (tmp_path / "signature.json").read_bytes()
    assert loaded.specimens == sig.specimens and loaded.proteins == sig.proteins
    d = json.loads((tmp_path / "signature.json").read_text())
    assert d["specimens"] == ["BAL", "plasma"] and d["specimen"] == "BAL+plasma"
    assert Signature.verify(tmp_path / "signature.json")["specimens"] == "BAL, plasma"


def test_single_specimen_signature_has_no_specimens_key(tmp_path):
    ds = simulate(n_per_class=10, n_proteins=30, seed=5)
    res = build_panel(ds, "condition", "case", settings=FAST, seed=0)
    assert res.signature.specimens == ()
    assert "specimens" not in json.loads(res.signature.to_bytes())


def test_specimen_setting_must_match_the_join(multi):
    _, joined, _ = multi
    with pytest.raises(InputError, match="differs from the joined specimens"):
        build_panel(joined, "condition", "case", settings=FAST, seed=0)  # FAST says plasma


def test_scoring_joined_reproduces_pipeline_and_refuses_missing_specimen(multi):
    dss, joined, res = multi
    sig = res.signature
    table = score(sig, joined).table
    ok = (table["category"] != "refused").to_numpy()
    assert ok.sum() >= joined.n_samples - 2
    expected = res.pipeline.predict_proba(joined.to_frame())[:, 1]
    np.testing.assert_array_equal(table["probability"].to_numpy()[ok], expected[ok])
    multi_t = score_multi(sig, {"bal": dss["BAL"], "plasma": dss["plasma"], "sputum": dss["plasma"]}).table
    pd.testing.assert_frame_equal(multi_t, table)
    assert list(multi_t["sample"]) == joined.sample_ids  # one row per subject
    with pytest.raises(ScoringRefused) as exc:
        score_multi(sig, {"plasma": dss["plasma"]})
    assert len(exc.value.reasons) == 1 and "'BAL' is absent" in exc.value.reasons[0]
    with pytest.raises(ScoringRefused, match="'plasma' is absent"):
        score(sig, dss["BAL"])
    with pytest.raises(ScoringRefused) as exc:
        score_multi(sig, {})
    assert ["'BAL' is absent" in r for r in exc.value.reasons] == [True, False]
    assert ["'plasma' is absent" in r for r in exc.value.reasons] == [False, True]
    # one new subject alone scores the same as in the cohort
    one = score_multi(sig, {k: v.subset(samples=[v.sample_ids[4]]) for k, v in dss.items()}).table
    pd.testing.assert_frame_equal(one.reset_index(drop=True), table.iloc[[4]].reset_index(drop=True))


# -- CLI end to end on the bundled cohort -------------------------------------------------------------------------
SHEET = SAMPLE / "sheet.csv"
PLASMA = SAMPLE / "plasma" / "report.tsv.gz"
BAL = SAMPLE / "bal" / "report.tsv.gz"


@pytest.fixture(scope="module")
def cli_panel(tmp_path_factory):
    d = tmp_path_factory.mktemp("multi")
    (d / "panel.yaml").write_text("panel:\n  outer_folds: 3\n  outer_repeats: 1\n  inner_folds: 2\n"
                                  "  max_proteins: 4\n")
    res = invoke("--quiet", "panel", PLASMA, "--specimen", "plasma", "--also", f"BAL={BAL}", "--sheet", SHEET,
                 "--label", "condition", "--positive", "cancer", "--config", d / "panel.yaml", "-o", d / "panel")
    assert res.exit_code == 0, (res.stderr, res.exception)
    return d


def _subjects_with(*specimens: str) -> list[str]:
    sheet = pd.read_csv(SHEET)
    sets = [set(sheet.loc[sheet["specimen"] == s, "subject"]) for s in specimens]
    return sorted(set.intersection(*sets))


def test_cli_panel_plasma_plus_bal(cli_panel):
    d = json.loads((cli_panel / "panel" / "signature.json").read_text())
    both = _subjects_with("plasma", "BAL")
    assert len(both) == 24
    assert d["specimen"] == "BAL+plasma" and d["specimens"] == ["BAL", "plasma"]
    assert d["training"]["n_samples"] == len(both)
    truth = pd.read_csv(SAMPLE / "truth.tsv", sep="\t")
    changed = {f"{s}:{p}" for s, p in truth.loc[truth["changed"], ["specimen", "protein_group"]].to_numpy()}
    known = {f"{s}:{p}" for s, p in truth[["specimen", "protein_group"]].to_numpy()}
    assert set(d["proteins"]) <= known
    assert sum(p in changed for p in d["proteins"]) >= len(d["proteins"]) - 1


def test_cli_score_needs_every_specimen(cli_panel, tmp_path):
    sig = cli_panel / "panel" / "signature.json"
    out = tmp_path / "scores.tsv"
    res = invoke("--quiet", "score", PLASMA, "--specimen", "plasma", "--also", f"BAL={BAL}", "--sheet", SHEET,
                 "--signature", sig, "-o", out)
    assert res.exit_code == 0, (res.stderr, res.exception)
    t = pd.read_csv(out, sep="\t")
    assert sorted(t["sample"]) == _subjects_with("plasma", "BAL")
    assert (t["category"] != "refused").sum() >= 22
    bad = tmp_path / "bad.tsv"
    res = invoke("--quiet", "score", PLASMA, "--specimen", "plasma", "--sheet", SHEET, "--signature", sig, "-o", bad)
    assert_input_error(res, "'BAL' is absent")
    assert not bad.exists() and not bad.with_suffix(".html").exists()
    res = invoke("--quiet", "score", PLASMA, "--specimen", "plasma", "--also", str(BAL), "--sheet", SHEET,
                 "--signature", sig, "-o", bad)
    assert_input_error(res, "SPECIMEN=PATH")
    assert not bad.exists()


def test_cli_validate_joins_specimens(cli_panel, tmp_path):
    sig = cli_panel / "panel" / "signature.json"
    res = invoke("--quiet", "validate", PLASMA, "--also", f"BAL={BAL}", "--sheet", SHEET, "--signature", sig,
                 "--label", "condition", "--positive", "cancer", "-o", tmp_path / "val")
    assert res.exit_code == 0, (res.stderr, res.exception)
    m = json.loads((tmp_path / "val" / "validation_metrics.json").read_text())
    assert m["n_samples"] == len(_subjects_with("plasma", "BAL"))
    assert m["auc"] > 0.8  # in-sample on planted effects (truth.tsv), only a sanity floor
    res = invoke("--quiet", "validate", PLASMA, "--sheet", SHEET, "--signature", sig, "--label", "condition",
                 "--positive", "cancer", "-o", tmp_path / "val2")
    assert_input_error(res, "'BAL' is absent")
    assert not (tmp_path / "val2").exists()
