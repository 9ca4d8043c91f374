"""The bad-input catalogue: every kind of bad input a user can give exits 2 with one line naming the problem and
the fix, prints no traceback, leaves no partial output, and leaves the inputs byte-identical."""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path

import pytest
import yaml

from .cli_helpers import SAMPLE, assert_input_error, fast_config, invoke, sha

SHEET = SAMPLE / "sheet.csv"
REPORT = SAMPLE / "plasma" / "report.tsv.gz"


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    """A protein matrix, a plasma-only sheet, a locked signature and plain-text copies of the inputs."""
    d = tmp_path_factory.mktemp("bad")
    res = invoke("--quiet", "quantify", REPORT, "--sheet", SHEET, "--specimen", "plasma", "-o", d / "matrix.tsv")
    assert res.exit_code == 0, res.stderr
    panel_cfg = d / "panel.yaml"
    panel_cfg.write_text(yaml.safe_dump({"outer_folds": 3, "outer_repeats": 1, "inner_folds": 2,
                                         "max_proteins": 3}))
    res = invoke("--quiet", "panel", d / "matrix.tsv", "--sheet", SHEET, "--specimen", "plasma", "--label",
                 "condition", "--positive", "cancer", "--config", panel_cfg, "-o", d / "panel")
    assert res.exit_code == 0, (res.stderr, res.exception)
    with gzip.open(REPORT, "rt") as fh:
        (d / "report.tsv").write_text(fh.read())
    return d


def _case(tmp_path, work, name):
    """Build the inputs of case ``name``; returns (args, inputs to check unchanged, output path, needles)."""
    t = tmp_path
    m = work / "matrix.tsv"
    sig = work / "panel" / "signature.json"
    lines = m.read_text().splitlines()
    header = lines[0].split("\t")

    def write(fname, text, mode="w"):
        p = t / fname
        (p.write_bytes if mode == "wb" else p.write_text)(text)
        return p

    def de(matrix, *extra, sheet=SHEET):
        return ["de", matrix, "--sheet", sheet, "--specimen", "plasma", "--contrast", "cancer-control", "-o",
                t / "de.tsv", *extra]

    if name == "config_missing":
        return ["run", t / "nope.yaml"], [], t / "out", ["nope.yaml", "not found"]
    if name == "config_is_directory":
        return ["run", t], [], t / "out", ["directory"]
    if name == "config_empty":
        return ["run", write("c.yaml", "")], [t / "c.yaml"], t / "out", ["empty"]
    if name == "config_bad_yaml":
        return ["run", write("c.yaml", "inputs: [a\n")], [t / "c.yaml"], t / "out", ["yaml"]
    if name == "config_unknown_key":
        c = fast_config(t, panel__max_protein=3)
        return ["run", c, "--out", t / "out"], [c], t / "out", ["panel.max_protein", "max_proteins"]
    if name == "config_wrong_type":
        c = fast_config(t, seed="abc")
        return ["run", c, "--out", t / "out"], [c], t / "out", ["seed"]
    if name == "config_missing_data_file":
        c = fast_config(t)
        y = yaml.safe_load(c.read_text())
        y["inputs"]["data"] = "../missing/report.tsv"
        c.write_text(yaml.safe_dump(y))
        return ["run", c, "--out", t / "out"], [c], t / "out", ["inputs.data", "not found"]
    if name == "sheet_unknown_run":
        s = SHEET.read_text().replace("P001_plasma_b1.raw", "P999_plasma_b1.raw")
        c = fast_config(t)
        y = yaml.safe_load(c.read_text())
        y["inputs"]["sheet"] = str(write("sheet.csv", s))
        c.write_text(yaml.safe_dump(y))
        return ["run", c, "--out", t / "out"], [c, t / "sheet.csv"], t / "out", ["P001_plasma_b1"]
    if name == "sheet_duplicate_sample":
        s = SHEET.read_text().replace("P002_plasma_b1.raw,P002_plasma,", "P002_plasma_b1.raw,P001_plasma,")
        return de(m, sheet=write("sheet.csv", s)), [t / "sheet.csv", m], t / "de.tsv", ["duplicate", "P001_plasma"]
    if name == "sheet_duplicate_run":
        s = SHEET.read_text().replace("P002_plasma_b1.raw", "P001_plasma_b1.raw")
        return de(m, sheet=write("sheet.csv", s)), [t / "sheet.csv"], t / "de.tsv", ["duplicate", "P001_plasma_b1"]
    if name == "sheet_unknown_specimen":
        s = SHEET.read_text().replace(",P001,plasma,", ",P001,blood,", 1)
        return de(m, sheet=write("sheet.csv", s)), [t / "sheet.csv"], t / "de.tsv", ["specimen", "blood"]
    if name == "sheet_missing_column":
        s = SHEET.read_text().replace("condition", "conditon", 1)
        return de(m, sheet=write("sheet.csv", s)), [t / "sheet.csv"], t / "de.tsv", ["condition"]
    if name == "sheet_empty":
        return de(m, sheet=write("sheet.csv", "")), [t / "sheet.csv"], t / "de.tsv", ["empty"]
    if name == "contrast_missing_group":
        a = de(m)
        a[a.index("cancer-control")] = "cancer-healthy"
        return a, [m], t / "de.tsv", ["healthy"]
    if name == "group_with_one_sample":
        rows = SHEET.read_text().splitlines()
        keep = [rows[0]] + [r for r in rows[1:] if ",plasma,control," in r or ",plasma,cancer," in r]
        first_cancer = next(i for i, r in enumerate(keep) if ",cancer," in r)
        keep = [r for i, r in enumerate(keep) if ",cancer," not in r or i == first_cancer]
        sh = write("sheet.csv", "\n".join(keep) + "\n")
        cols = ["protein_group"] + [r.split(",")[1] for r in keep[1:]]
        idx = [header.index(c) for c in cols]
        mm = write("m1.tsv", "\n".join("\t".join(ln.split("\t")[i] for i in idx) for ln in lines) + "\n")
        return de(mm, sheet=sh), [sh, mm], t / "de.tsv", ["cancer"]
    if name == "all_missing_matrix":
        mm = write("m.tsv", "\n".join([lines[0]] + [ln.split("\t")[0] + "\t" * (len(header) - 1)
                                                    for ln in lines[1:]]) + "\n")
        return de(mm), [mm], t / "de.tsv", ["m.tsv"]
    if name == "zero_variance_matrix":
        mm = write("m.tsv", "\n".join([lines[0]] + [ln.split("\t")[0] + "\t1000" * (len(header) - 1)
                                                    for ln in lines[1:]]) + "\n")
        return de(mm), [mm], t / "de.tsv", ["variance"]
    if name == "nonnumeric_intensity":
        bad = lines[:]  # a bad cell deep in the file, past what format detection looks at
        bad[-1] = "\t".join(bad[-1].split("\t")[:2] + ["high"] + bad[-1].split("\t")[3:])
        mm = write("m.tsv", "\n".join(bad) + "\n")
        return de(mm), [mm], t / "de.tsv", ["m.tsv", "high"]
    if name == "negative_intensity":
        mm = write("m.tsv", "protein_group\ta\tb\nP1\t-5\t100000\nP2\t200000\t300000\n")
        return ["inspect", mm, "--format", "generic", "--json"], [mm], None, ["negative"]
    if name == "inf_strings":
        mm = write("m.tsv", "protein_group\ta\tb\nP1\tInf\t100000\nP2\t200000\t300000\n")
        return ["inspect", mm, "--json"], [mm], None, ["m.tsv"]
    if name == "mixed_decimal_marks":
        mm = write("m.tsv", "protein_group\ta\tb\nP1\t1,5e5\t100000.5\nP2\t200000,25\t300000.5\n")
        return ["inspect", mm, "--json"], [mm], None, ["decimal"]
    if name == "duplicate_run_columns":
        mm = write("m.tsv", "protein_group\ta\ta\nP1\t100000\t100000\nP2\t200000\t300000\n")
        return ["inspect", mm, "--json"], [mm], None, ["duplicate", "a"]
    if name == "truncated_file":
        txt = (work / "report.tsv").read_text()
        cut = txt[: len(txt) // 3]
        cut = cut[: cut.rfind("\t")]
        p = write("report.tsv", cut)
        return ["inspect", p, "--json"], [p], None, ["report.tsv", "truncated"]
    if name == "empty_file":
        return ["inspect", write("e.tsv", ""), "--json"], [t / "e.tsv"], None, ["empty"]
    if name == "header_only":
        p = write("report.tsv", (work / "report.tsv").read_text().splitlines()[0] + "\n")
        return ["inspect", p, "--json"], [p], None, ["data rows"]
    if name == "nul_bytes":
        p = write("n.tsv", b"protein_group\ta\nP1\x00\x00\x00\t1\n", mode="wb")
        return ["inspect", p], [p], None, ["NUL"]
    if name == "directory_as_file":
        (t / "d").mkdir()
        return ["inspect", t / "d"], [], None, ["directory"]
    if name == "gzip_not_gzip":
        p = write("report.tsv.gz", "Run\tProtein.Group\n")
        return ["inspect", p], [p], None, ["gzip"]
    if name == "corrupt_gzip":
        raw = REPORT.read_bytes()
        p = write("report.tsv.gz", raw[: len(raw) // 2], mode="wb")
        return ["inspect", p, "--json"], [p], None, ["report.tsv.gz"]
    if name == "unknown_format":
        p = write("x.txt", "hello world\nthis is not proteomics\n")
        return ["inspect", p], [p], None, ["format"]
    if name == "forced_wrong_format":
        return ["inspect", m, "--format", "diann_report"], [m], None, ["matrix.tsv"]
    if name == "unknown_format_name":
        return ["inspect", m, "--format", "excel"], [m], None, ["excel"]
    if name == "very_long_line":
        p = write("long.tsv", "protein_group\ta\n" + "P" * 3_000_000 + "\tx\n")
        return ["inspect", p], [p], None, ["long.tsv"]
    if name == "latin1_garbage":
        p = write("g.tsv", bytes(range(128, 256)) * 50, mode="wb")
        return ["inspect", p], [p], None, ["g.tsv"]
    if name == "disk_full":
        return (["quantify", REPORT, "--sheet", SHEET, "--specimen", "plasma", "-o", "/dev/full"], [], None,
                ["/dev/full"])
    if name == "output_folder_missing":
        return (["quantify", m, "--sheet", SHEET, "--specimen", "plasma", "-o", t / "no" / "where.tsv"], [m],
                t / "no", ["no"])
    if name == "signature_changed_digit":
        s = sig.read_text()
        i = next(i for i, ch in enumerate(s) if ch.isdigit() and s[i - 1] in ".0123456789" and i > 200)
        p = write("sig.json", s[:i] + str((int(s[i]) + 1) % 10) + s[i + 1:])
        return ["verify-signature", p], [p], None, ["checksum"]
    if name == "signature_other_schema_version":
        d = json.loads(sig.read_text())
        d["schema_version"] = 999
        p = write("sig.json", json.dumps(d))
        return ["verify-signature", p], [p], None, ["version"]
    if name == "signature_not_json":
        p = write("sig.json", "{not json")
        return ["verify-signature", p], [p], None, ["sig.json"]
    if name == "patient_missing_panel_proteins":
        d = json.loads(sig.read_text())
        drop = set(d["proteins"])
        mm = write("m.tsv", "\n".join(ln for ln in lines if ln.split("\t")[0] not in drop) + "\n")
        return (["score", mm, "--signature", sig, "--sheet", SHEET, "-o", t / "scores.tsv"], [mm, sig],
                t / "scores.tsv", [sorted(drop)[0]])
    if name == "patient_wrong_specimen":
        return (["score", m, "--signature", sig, "--specimen", "BAL", "-o", t / "scores.tsv"], [m, sig],
                t / "scores.tsv", ["specimen"])
    if name == "score_without_specimen":
        return (["score", m, "--signature", sig, "-o", t / "scores.tsv"], [m, sig], t / "scores.tsv",
                ["specimen"])
    if name == "panel_label_missing":
        return (["panel", m, "--sheet", SHEET, "--specimen", "plasma", "--label", "diagnosis", "--positive", "x",
                 "-o", t / "p"], [m], t / "p", ["diagnosis"])
    if name == "panel_positive_missing":
        return (["panel", m, "--sheet", SHEET, "--specimen", "plasma", "--label", "condition", "--positive",
                 "COPD", "-o", t / "p"], [m], t / "p", ["COPD"])
    if name == "de_group_column_missing":
        a = de(m, "--group", "diagnosis")
        return a, [m], t / "de.tsv", ["diagnosis"]
    if name == "utf16_sheet_is_decoded":  # decoded, then the usual validation applies (here: a bad specimen)
        s = SHEET.read_text().replace(",P001,plasma,", ",P001,blood,", 1)
        p = write("sheet.csv", s.encode("utf-16"), mode="wb")
        return de(m, sheet=p), [p], t / "de.tsv", ["blood"]
    raise KeyError(name)


CASES = ["config_missing", "config_is_directory", "config_empty", "config_bad_yaml", "config_unknown_key",
         "config_wrong_type", "config_missing_data_file", "sheet_unknown_run", "sheet_duplicate_sample",
         "sheet_duplicate_run", "sheet_unknown_specimen", "sheet_missing_column", "sheet_empty",
         "contrast_missing_group", "group_with_one_sample", "all_missing_matrix", "zero_variance_matrix",
         "nonnumeric_intensity", "negative_intensity", "inf_strings", "mixed_decimal_marks",
         "duplicate_run_columns", "truncated_file", "empty_file", "header_only", "nul_bytes", "directory_as_file",
         "gzip_not_gzip", "corrupt_gzip", "unknown_format", "forced_wrong_format", "unknown_format_name",
         "very_long_line", "latin1_garbage", "disk_full", "output_folder_missing", "signature_changed_digit",
         "signature_other_schema_version", "signature_not_json", "patient_missing_panel_proteins",
         "patient_wrong_specimen", "score_without_specimen", "panel_label_missing", "panel_positive_missing",
         "de_group_column_missing", "utf16_sheet_is_decoded"]


@pytest.mark.parametrize("name", CASES)
def test_bad_input(name, tmp_path, work):
    args, inputs, output, needles = _case(tmp_path, work, name)
    before = {p: sha(p) for p in inputs}
    listing = sorted(p.name for p in tmp_path.iterdir())
    res = invoke(*args)
    assert_input_error(res, *needles)
    for p, h in before.items():
        assert sha(p) == h, f"{p} was modified"
    if output is not None:
        assert not Path(output).exists(), "partial output left behind"
    assert sorted(p.name for p in tmp_path.iterdir()) == listing, "stray files written"


def test_catalogue_is_large_enough():
    assert len(CASES) >= 40


def test_run_interrupted_leaves_nothing(tmp_path):
    """A run killed mid-way (SIGTERM) leaves no results folder and no staging folder."""
    import os
    import signal
    import subprocess
    import sys
    import time

    cfg = fast_config(tmp_path)
    out = tmp_path / "res"
    proc = subprocess.Popen([sys.executable, "-m", "proteomics.cli", "--quiet", "run", str(cfg), "--out", str(out)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.time() + 120
    while time.time() < deadline and not any(p.name.startswith(".res.partial") for p in tmp_path.iterdir()):
        time.sleep(0.1)
    time.sleep(1.0)
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=60)
    assert proc.returncode != 0
    assert not out.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".res")]
    shutil.rmtree(tmp_path / "x", ignore_errors=True)
    del os


def test_a_misspelt_path_gets_the_close_name_and_a_missing_folder_is_named(tmp_path):
    (tmp_path / "report.tsv.gz").write_bytes(REPORT.read_bytes())
    (tmp_path / "sheet.csv").write_text("run\n")
    res = invoke("inspect", tmp_path / "reprot.tsv.gz")
    assert_input_error(res, "file not found", f"did you mean '{tmp_path / 'report.tsv.gz'}'")
    res = invoke("inspect", tmp_path / "nowhere" / "report.tsv.gz")
    assert_input_error(res, f"the folder '{tmp_path / 'nowhere'}' does not exist")
    res = invoke("inspect", tmp_path / "unrelated.raw")  # nothing close: no suggestion
    assert_input_error(res, "file not found")
    assert "did you mean" not in res.stderr
    res = invoke("run", tmp_path / "cnofig.yaml")
    assert_input_error(res, "config file not found")
    assert "did you mean" not in res.stderr  # config.yaml is not there; sheet.csv is not close
