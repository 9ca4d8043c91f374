"""The single commands end to end: inspect, formats, quantify, de, panel, score, validate, verify-signature."""

from __future__ import annotations

import json
import re
from html import escape as html_escape

import pandas as pd
import pytest
import yaml

from proteomics import simulate
from proteomics.refusals import LOW_COVERAGE
from proteomics.report.patient import PLAIN_REASONS
from proteomics.signature import Signature

from .cli_helpers import SAMPLE, invoke, sha

SHEET = SAMPLE / "sheet.csv"
REPORT = SAMPLE / "plasma" / "report.tsv.gz"


@pytest.fixture(scope="module")
def flow(tmp_path_factory):
    d = tmp_path_factory.mktemp("cmds")
    res = invoke("--quiet", "quantify", REPORT, "--sheet", SHEET, "--specimen", "plasma", "-o", d / "m.tsv")
    assert res.exit_code == 0, res.stderr
    (d / "panel.yaml").write_text(yaml.safe_dump({"panel": {"outer_folds": 3, "outer_repeats": 1,
                                                            "inner_folds": 2, "max_proteins": 4,
                                                            "size_grid": [1, 2, 8, "unrestricted"],
                                                            # validate below draws a cohort with another simulator
                                                            # seed: only the planted proteins keep their levels
                                                            # there (the range check refuses the others)
                                                            "selector": "moderated_t"}}))
    # the panel is built from the precursor report, so new patients' runs are quantified the same way (top3)
    res = invoke("--quiet", "panel", REPORT, "--sheet", SHEET, "--specimen", "plasma", "--label", "condition",
                 "--positive", "cancer", "--config", d / "panel.yaml", "--permutations", "2", "--baseline",
                 "-o", d / "panel")
    assert res.exit_code == 0, (res.stderr, res.exception)
    return d


def test_inspect_json_contract():
    before = sha(REPORT)
    res = invoke("inspect", REPORT, "--json")
    assert res.exit_code == 0, res.stderr
    info = json.loads(res.stdout)
    assert {"format", "level", "n_runs", "n_proteins", "runs"} <= set(info)
    assert info["format"] == "diann_report" and info["level"] == "precursor"
    sheet = pd.read_csv(SHEET)
    assert info["n_runs"] == (sheet["specimen"] == "plasma").sum() == len(info["runs"])
    assert sha(REPORT) == before


def test_formats_lists_every_reader():
    from proteomics.io import FALLBACK, READERS

    res = invoke("formats")
    for name in list(READERS) + list(FALLBACK):
        assert name in res.stdout
    # one table: the level column starts at the same place on every line, however long the reader's name
    lines = [ln for ln in res.stdout.splitlines() if ln.strip()]
    starts = {ln.index(ln.split()[1], len(ln.split()[0])) for ln in lines}
    assert len(lines) == len(READERS) + len(FALLBACK) and len(starts) == 1


def test_quantify_matrix_contract(flow):
    m = pd.read_csv(flow / "m.tsv", sep="\t")
    assert m.columns[0] == "protein_group"
    sheet = pd.read_csv(SHEET)
    assert list(m.columns[1:]) == sheet.loc[sheet["specimen"] == "plasma", "sample"].tolist()
    vals = m.iloc[:, 1:].to_numpy(float)
    assert pd.isna(vals).any() and (vals[~pd.isna(vals)] < 45).all()  # log2, empty = missing


def test_de_several_contrasts_writes_long_table(flow, tmp_path):
    out = tmp_path / "de.tsv"
    res = invoke("--quiet", "de", flow / "m.tsv", "--sheet", SHEET, "--specimen", "plasma", "--contrast",
                 "cancer-control", "--contrast", "control-cancer", "-o", out)
    assert res.exit_code == 0, res.stderr
    long = pd.read_csv(out, sep="\t")
    assert set(long["contrast"]) == {"cancer-control", "control-cancer"}
    a = long[long.contrast == "cancer-control"].set_index("protein_group")
    b = long[long.contrast == "control-cancer"].set_index("protein_group")
    pd.testing.assert_series_equal(a["log2fc"], -b["log2fc"], check_names=False)
    pd.testing.assert_series_equal(a["p_value"], b["p_value"], check_names=False)
    for col in ("protein_group", "log2fc", "ave_expr", "t", "p_value", "q_value", "df_total"):
        assert col in long.columns


def test_panel_outputs(flow):
    p = flow / "panel"
    metrics = json.loads((p / "cv_metrics.json").read_text())
    for key in ("auc", "auc_ci_low", "auc_ci_high", "permutation_p", "permutation_auc_mean"):
        assert key in metrics
    assert metrics["auc_ci_low"] <= metrics["auc"] <= metrics["auc_ci_high"]
    assert (p / "selection.tsv").is_file() and (p / "roc.png").is_file()
    # the size–AUC curve (cap 4 added to the grid; sizes above the cap still reported) and the size rule
    assert [c["size"] for c in metrics["size_curve"]] == [1, 2, 4, 8, "unrestricted"]
    assert all({"size", "auc", "auc_ci_low", "auc_ci_high"} <= set(c) for c in metrics["size_curve"])
    assert metrics["size_rule"] == "best" and metrics["panel_size"] <= 4 and "cap_cost" in metrics
    assert (p / "size_curve.png").is_file() and (p / "size_curve.tsv").is_file()
    base = json.loads((p / "baselines.json").read_text())
    assert {"plain_l1", "plain_l1_max4", "plain_l1_max10", "random_forest"} == set(base["methods"])
    sig = json.loads((p / "signature.json").read_text())
    for key in ("schema", "schema_version", "kind", "proteins", "specimen", "steps", "model", "sha256"):
        assert key in sig
    assert sig["specimen"] == "plasma" and sig["kind"] == "panel"


def test_verify_signature(flow):
    res = invoke("verify-signature", flow / "panel" / "signature.json")
    assert res.exit_code == 0 and "OK" in res.stdout and "intended_use" in res.stdout
    assert not re.search(r"\d\.\d{6,}", res.stdout)  # a person reads it: 4 significant digits, not 16


def test_brief_console_values():
    from proteomics.cli_signatures import brief

    assert brief(0.3212574411) == "0.3213" and brief({"p": 0.698123456, "n": 3}) == "{p: 0.6981, n: 3}"
    many = [f"P{i}" for i in range(202)]
    assert brief(many) == ", ".join(many[:10]) + ", … (202 in all)" and brief(many[:3]) == "P0, P1, P2"


def test_score_new_patients_refuses_the_unfit_one(flow, tmp_path):
    new = SAMPLE / "new_patients"
    out = tmp_path / "scores.tsv"
    res = invoke("--quiet", "score", new / "report.tsv.gz", "--signature", flow / "panel" / "signature.json",
                 "--sheet", new / "sheet.csv", "-o", out)
    assert res.exit_code == 0, res.stderr
    scores = pd.read_csv(out, sep="\t").set_index("sample")
    truth = pd.read_csv(new / "truth.tsv", sep="\t").set_index("sample")
    for s, row in truth.iterrows():
        if row["expected"].startswith("refused"):
            assert scores.loc[s, "category"] == "refused" and isinstance(scores.loc[s, "reasons"], str)
        else:
            assert scores.loc[s, "category"] != "refused"
    # the simulated cancer patient scores above the simulated control
    assert scores.loc["N001_plasma", "probability"] > scores.loc["N002_plasma", "probability"]
    html = out.with_suffix(".html").read_text()
    assert "N003_plasma" in html and "Refused" in html
    pages = {re.search(r"Sample <b>([^<]+)</b>", pg).group(1): pg for pg in html.split('<div class="page">')[1:]}
    # every page shows the signature's own thresholds (as probabilities are shown: 3 decimals)
    sig = Signature.load(flow / "panel" / "signature.json")
    shown = [f"{sig.thresholds[k]['probability']:.3f}" for k in ("rule_out", "rule_in")]
    assert all(f"rule-out <b>{shown[0]}</b>, rule-in <b>{shown[1]}</b>" in pg for pg in pages.values())
    # the unfit patient: plain words and what to do, with the technical reason (from the table) kept
    code = scores.loc["N003_plasma", "reason_codes"]
    assert code == LOW_COVERAGE
    refused = pages["N003_plasma"]
    assert PLAIN_REASONS[code][0] in refused and PLAIN_REASONS[code][1] in refused
    assert html_escape(scores.loc["N003_plasma", "reasons"], quote=True) in refused
    # three plasma samples are too few to judge haemolysis against, and signatures store no training reference
    assert scores["haemolysis"].str.startswith("not checked: 3 plasma/serum samples").all()
    assert "possible haemolysis" not in html


def test_score_flags_the_planted_haemolysed_samples_of_a_batch(flow, tmp_path):
    """Eight training runs scored together (same batch as the cohort): the erythrocyte index flags the ones the
    simulator made haemolysed, and only those, in the table and on their pages."""
    import gzip

    with gzip.open(REPORT, "rt") as fh:
        lines = fh.read().splitlines()
    run_col = lines[0].split("\t").index("Run")
    runs = {f"P{i:03d}_plasma" for i in range(1, 9)}
    keep = [ln for ln in lines[1:] if ln.split("\t")[run_col].rsplit("_", 1)[0] in runs]
    (tmp_path / "batch.tsv").write_text("\n".join([lines[0], *keep]) + "\n")
    out = tmp_path / "scores.tsv"
    res = invoke("--quiet", "score", tmp_path / "batch.tsv", "--signature", flow / "panel" / "signature.json",
                 "--sheet", SHEET, "-o", out)
    assert res.exit_code == 0, res.stderr
    scores = pd.read_csv(out, sep="\t").set_index("sample")
    assert set(scores.index) == runs
    subjects = simulate.simulate_cohort().subjects
    planted = {f"{s}_plasma" for s in subjects.index[subjects["hemolysed"]]} & runs
    assert planted  # P003 and P004 with the bundled seed
    flagged = set(scores.index[scores["haemolysis"].str.startswith("possible haemolysis")])
    assert flagged == planted
    assert scores.drop(index=sorted(planted))["haemolysis"].str.startswith("not flagged").all()
    pages = {re.search(r"Sample <b>([^<]+)</b>", pg).group(1): pg
             for pg in out.with_suffix(".html").read_text().split('<div class="page">')[1:]}
    assert {s for s, pg in pages.items() if "Warning: possible haemolysis" in pg} == planted


def test_validate_on_an_independent_cohort(flow, tmp_path):
    """A second cohort drawn with another seed (same biology, new patients) validates the locked panel."""
    cohort = simulate.simulate_cohort(seed=7, n_patients=40, n_bal=0, n_sputum=0, specimens=("plasma",))
    plasma = cohort.sheet[cohort.sheet["specimen"] == "plasma"]
    simulate.write_diann_report(cohort, "plasma", tmp_path / "report.tsv.gz", samples=plasma["sample"].tolist())
    simulate.write_sheet_csv(plasma, tmp_path / "sheet.csv")
    res = invoke("--quiet", "validate", tmp_path / "report.tsv.gz", "--signature", flow / "panel" / "signature.json",
                 "--sheet", tmp_path / "sheet.csv", "--label", "condition", "--positive", "cancer", "-o",
                 tmp_path / "val")
    assert res.exit_code == 0, (res.stderr, res.exception)
    m = json.loads((tmp_path / "val" / "validation_metrics.json").read_text())
    assert m["n_samples"] == len(plasma)
    assert m["auc"] > 0.7  # the planted biology is shared between the two seeds


def test_single_patient_scored_alone_equals_batch(flow, tmp_path):
    """Scoring needs no cohort: one new patient's run alone gets exactly the probability it gets in a batch."""
    import gzip

    new = SAMPLE / "new_patients"
    with gzip.open(new / "report.tsv.gz", "rt") as fh:
        lines = fh.read().splitlines()
    run_col = lines[0].split("\t").index("Run")
    one = [lines[0]] + [ln for ln in lines[1:] if ln.split("\t")[run_col] == "N001_plasma_b3"]
    (tmp_path / "one.tsv").write_text("\n".join(one) + "\n")
    sig = flow / "panel" / "signature.json"
    for name, src in (("batch", new / "report.tsv.gz"), ("alone", tmp_path / "one.tsv")):
        res = invoke("--quiet", "score", src, "--signature", sig, "--sheet", new / "sheet.csv", "-o",
                     tmp_path / f"{name}.tsv")
        assert res.exit_code == 0, res.stderr
    batch = pd.read_csv(tmp_path / "batch.tsv", sep="\t").set_index("sample")
    alone = pd.read_csv(tmp_path / "alone.tsv", sep="\t").set_index("sample")
    assert alone.loc["N001_plasma", "probability"] == batch.loc["N001_plasma", "probability"]


def test_file_outputs_are_not_replaced_without_force(flow, tmp_path):
    before = (flow / "m.tsv").read_bytes()
    again = ("--quiet", "quantify", REPORT, "--sheet", SHEET, "--specimen", "plasma", "-o", flow / "m.tsv")
    res = invoke(*again)
    assert res.exit_code == 2 and "output file already exists" in res.stderr and "--force" in res.stderr
    assert (flow / "m.tsv").read_bytes() == before
    assert invoke(*again, "--force").exit_code == 0
    assert (flow / "m.tsv").read_bytes() == before  # replaced by the same deterministic result
    new = SAMPLE / "new_patients"
    (tmp_path / "scores.html").write_text("an earlier patient report")  # only the side file exists
    res = invoke("--quiet", "score", new / "report.tsv.gz", "--signature", flow / "panel" / "signature.json",
                 "--sheet", new / "sheet.csv", "-o", tmp_path / "scores.tsv")
    assert res.exit_code == 2 and "scores.html" in res.stderr and not (tmp_path / "scores.tsv").exists()
    assert (tmp_path / "scores.html").read_text() == "an earlier patient report"


def test_precursor_signature_refuses_a_protein_matrix(flow, tmp_path):
    """The panel was trained on a top-3 roll-up of precursors; a protein matrix made by MaxLFQ (``quantify``'s
    default) is on another scale, so scoring it is refused rather than giving shifted categories."""
    sig = json.loads((flow / "panel" / "signature.json").read_text())
    assert sig["training"]["quant_method"] == "top3"
    out = invoke("score", flow / "m.tsv", "--signature", flow / "panel" / "signature.json", "--specimen", "plasma",
                 "-o", tmp_path / "s.tsv")
    assert out.exit_code == 2 and "Traceback" not in out.stderr
    assert "already a protein matrix" in out.stderr and "report.tsv" in out.stderr
    assert not (tmp_path / "s.tsv").exists() and not (tmp_path / "s.html").exists()


def test_maxlfq_signature_refuses_precursor_input(flow, tmp_path):
    """A panel trained on MaxLFQ quantities cannot quantify one new run the same way: refused, not guessed."""
    (tmp_path / "p.yaml").write_text(yaml.safe_dump({"outer_folds": 3, "outer_repeats": 1, "inner_folds": 2,
                                                     "max_proteins": 3}))
    from proteomics import SampleSheet, build_panel, quantify, read, write_panel_outputs

    sheet = SampleSheet.read(SHEET).subset(specimen="plasma")
    ds = quantify(read(REPORT), sheet, method="maxlfq")
    res = build_panel(ds, "condition", "cancer", settings={"outer_folds": 3, "outer_repeats": 1,
                                                           "inner_folds": 2, "specimen": "plasma"})
    from dataclasses import replace

    from proteomics.signing import sign_signature

    write_panel_outputs(replace(res, signature=sign_signature(res.signature)), tmp_path / "p")
    out = invoke("score", SAMPLE / "new_patients" / "report.tsv.gz", "--signature", tmp_path / "p" / "signature.json",
                 "--sheet", SAMPLE / "new_patients" / "sheet.csv", "-o", tmp_path / "s.tsv")
    assert out.exit_code == 2 and "depend on the other runs" in out.stderr and "Fix: rebuild the panel" in out.stderr
    assert not (tmp_path / "s.tsv").exists()


def test_de_names_a_misspelt_covariate_with_the_sheet(flow, tmp_path):
    res = invoke("de", flow / "m.tsv", "--sheet", SHEET, "--specimen", "plasma", "--contrast", "cancer-control",
                 "--covariate", "bacth", "-o", tmp_path / "de.tsv")
    assert res.exit_code == 2 and "Traceback" not in res.stderr
    assert str(SHEET) in res.stderr and "--covariate names column 'bacth'" in res.stderr
    assert "did you mean 'batch'" in res.stderr and not (tmp_path / "de.tsv").exists()


def test_panel_names_a_misspelt_label_with_the_sheet(tmp_path):
    res = invoke("panel", REPORT, "--sheet", SHEET, "--specimen", "plasma", "--label", "conditon", "--positive",
                 "cancer", "-o", tmp_path / "p")
    assert res.exit_code == 2 and "Traceback" not in res.stderr and str(SHEET) in res.stderr
    assert "--label names column 'conditon'" in res.stderr and "did you mean 'condition'" in res.stderr
    assert not (tmp_path / "p").exists()
