"""End to end: `proteomics run` on the bundled sample data, twice, and the results folder contract."""

import json
import re

import numpy as np
import pandas as pd
import pytest

from .cli_helpers import SAMPLE, fast_config, invoke

TABLES = ["protein_matrix.tsv", "protein_matrix.parquet", "de/cancer_vs_control.tsv", "de/de_long.tsv",
          "panel/signature.json", "panel/cv_metrics.json", "panel/selection.tsv", "qc/protein_matrix_unfiltered.tsv"]


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    base = tmp_path_factory.mktemp("run")
    cfg = fast_config(base)
    outs = []
    (base / "cfg2").mkdir()
    for name, config in (("a", cfg), ("b", cfg), ("jobs2", fast_config(base / "cfg2", n_jobs=2))):
        res = invoke("--quiet", "run", config, "--out", base / name)
        assert res.exit_code == 0, (res.stdout, res.stderr, res.exception)
        outs.append(base / name)
    return outs


def test_results_folder_layout(two_runs):
    out = two_runs[0]
    for rel in TABLES + ["report.html", "run.json", "run.log"]:
        assert (out / rel).is_file(), rel
    assert any((out / "figures").glob("*.png")) and any((out / "figures").glob("*.svg"))
    assert not [p for p in out.parent.iterdir() if p.name.startswith(".")]  # no staging leftovers


def test_reruns_are_byte_identical(two_runs):
    """Same inputs + config → identical tables and signature, also with another number of parallel jobs."""
    a, b, jobs2 = two_runs
    for rel in TABLES:
        assert (a / rel).read_bytes() == (jobs2 / rel).read_bytes(), f"{rel} differs with n_jobs=2"
    for rel in TABLES:
        assert (a / rel).read_bytes() == (b / rel).read_bytes(), rel
    ja, jb = (json.loads((x / "run.json").read_text()) for x in (a, b))
    for key in ("started", "finished", "durations_s"):
        ja.pop(key), jb.pop(key)
    ja["config"]["output"] = jb["config"]["output"]
    assert ja == jb


def test_run_json_audit_trail(two_runs):
    info = json.loads((two_runs[0] / "run.json").read_text())
    roles = {i["role"]: i for i in info["inputs"]}
    import hashlib
    assert roles["data"]["sha256"] == hashlib.sha256((SAMPLE / "plasma" / "report.tsv.gz").read_bytes()).hexdigest()
    assert {"numpy", "pandas", "scikit-learn", "python"} <= set(info["versions"])
    assert info["seed"] == info["config"]["seed"]
    assert [s["name"] for s in info["steps"]][:1]  # provenance recorded


def test_recovers_simulated_truth(two_runs):
    """The simulation's true changes are found and nothing unchanged is called at q < 0.05 beyond the FDR."""
    truth = pd.read_csv(SAMPLE / "truth.tsv", sep="\t")
    truth = truth[truth["specimen"] == "plasma"]
    de = pd.read_csv(two_runs[0] / "de" / "cancer_vs_control.tsv", sep="\t")
    m = truth.merge(de, on="protein_group", how="inner")
    sig = m["q_value"] < 0.05
    tested_changed = m["changed"].astype(bool)
    # of the truly changed proteins that survive filtering, most are found (|log2FC| 0.5-1.5 against a
    # between-patient SD near 0.6 with 30 vs 30 samples: power is high for most, low for the smallest effects)
    assert sig[tested_changed].mean() >= 0.6
    # false discoveries among the calls stay near the nominal 5% (allow sampling noise on ~15 calls)
    assert (sig & ~tested_changed).sum() <= max(2, int(0.15 * sig.sum()))
    # estimated fold changes track the truth
    ok = tested_changed & de.set_index("protein_group").reindex(m["protein_group"])["log2fc"].notna().to_numpy()
    r = np.corrcoef(m.loc[ok, "true_log2fc"], m.loc[ok, "log2fc"])[0, 1]
    assert r > 0.9


def test_existing_folder_is_refused_then_forced(two_runs, tmp_path):
    cfg = fast_config(tmp_path)
    res = invoke("run", cfg, "--out", two_runs[0])
    assert res.exit_code == 2 and "--force" in res.stderr


def test_no_arguments_lists_commands():
    res = invoke()
    for cmd in ("run", "inspect", "formats", "quantify", "de", "panel", "score", "verify-signature", "stratify",
                "validate"):
        assert cmd in res.stdout


def test_report_renders_in_headless_chromium(two_runs, tmp_path):
    """Open report.html as a person would (headless Chromium, file://, no network) and look at the pixels."""
    import subprocess

    import matplotlib.image as mpimg

    from .conftest import chromium

    browser = chromium()
    shot = tmp_path / "report.png"
    cmd = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           f"--user-data-dir={tmp_path / 'profile'}", "--window-size=1280,2000", f"--screenshot={shot}",
           (two_runs[0] / "report.html").as_uri()]
    subprocess.run(cmd, capture_output=True, timeout=120, check=False)
    assert shot.is_file()
    img = mpimg.imread(shot)
    assert img.shape[0] >= 1000 and img.shape[1] >= 1000
    # a rendered page, not a blank one: the dark header band and plenty of non-white content
    assert img[:40, :, :3].mean() < 0.4
    assert (img[..., :3].mean(axis=2) < 0.9).mean() > 0.05


def test_pseudonymised_run_shows_no_subject_or_sample_ids(tmp_path):
    cfg = fast_config(tmp_path, output={"pseudonymise": True}, panel={"enabled": False})
    res = invoke("--quiet", "run", cfg, "--out", tmp_path / "out")
    assert res.exit_code == 0, (res.stderr, res.exception)
    sheet = pd.read_csv(SAMPLE / "sheet.csv")
    ids = set(sheet.loc[sheet["specimen"] == "plasma", "subject"]) | set(sheet.loc[sheet["specimen"] == "plasma", "sample"])
    for path in (tmp_path / "out").rglob("*"):
        if path.suffix in (".tsv", ".html", ".log") or path.name == "run.json":
            text = path.read_text(errors="replace")
            leaked = [i for i in ids if re.search(rf"(?<![A-Za-z0-9]){re.escape(i)}(?![0-9])", text)]
            assert not leaked, (path.name, leaked[:3])


def test_run_with_stratification(tmp_path):
    cfg = fast_config(tmp_path, panel={"enabled": False}, de={"enabled": False},
                      stratify={"enabled": True, "k_max": 3, "repeats": 10, "null_permutations": 19})
    res = invoke("--quiet", "run", cfg, "--out", tmp_path / "out")
    assert res.exit_code == 0, (res.stderr, res.exception)
    out = tmp_path / "out"
    for name in ("assignments.tsv", "stratify_metrics.json", "stratifier.json"):
        assert (out / "stratify" / name).is_file()
    metrics = json.loads((out / "stratify" / "stratify_metrics.json").read_text())
    # the bundled cohort has no planted subgroups: the honest answer is "no stable clustering"
    assert metrics["k"] == 1 and not metrics["stable"]
    assert "Patient subgroups" in (out / "report.html").read_text()


def test_single_commands_find_what_run_finds(two_runs, tmp_path, monkeypatch, caplog):
    """#17: the README tour's `quantify` then `de` (no option beyond the tour's) give run's DE table: same
    proteins, same numbers; the matrix keeps DESIGN's layout with the gene annotation in a sidecar."""
    import logging

    monkeypatch.chdir(SAMPLE.parent)
    matrix, de = tmp_path / "plasma.tsv", tmp_path / "de.tsv"
    with caplog.at_level(logging.INFO, logger="proteomics"):
        res = invoke("quantify", "sample_data/plasma/report.tsv.gz", "--sheet", "sample_data/sheet.csv",
                     "--specimen", "plasma", "-o", matrix)
    assert res.exit_code == 0, (res.stderr, res.exception)
    dropped = [r.getMessage() for r in caplog.records if "no value in any sample" in r.getMessage()]
    assert dropped and int(dropped[0].split()[0]) > 0
    m = pd.read_csv(matrix, sep="\t")
    sheet = pd.read_csv(SAMPLE / "sheet.csv")
    assert m.columns.tolist() == ["protein_group", *sheet.loc[sheet["specimen"] == "plasma", "sample"]]
    assert m.iloc[:, 1:].notna().any(axis=1).all()  # proteins without any value are dropped
    side = pd.read_csv(tmp_path / "plasma.proteins.tsv", sep="\t")
    assert side["protein_group"].tolist() == m["protein_group"].tolist() and side["gene"].notna().all()

    res = invoke("--quiet", "de", matrix, "--sheet", "sample_data/sheet.csv", "--specimen", "plasma",
                 "--contrast", "cancer-control", "--covariate", "batch", "-o", de)
    assert res.exit_code == 0, (res.stderr, res.exception)
    ours = pd.read_csv(de, sep="\t", keep_default_na=False, na_values=[""])
    theirs = pd.read_csv(two_runs[0] / "de" / "cancer_vs_control.tsv", sep="\t", keep_default_na=False,
                         na_values=[""])
    assert ours.columns[:3].tolist() == ["protein_group", "gene", "description"]
    assert sorted(ours["protein_group"]) == sorted(theirs["protein_group"])
    p = ours["p_value"].to_numpy(float)
    assert (np.diff(p[~np.isnan(p)]) >= 0).all() and not np.isnan(p[: (~np.isnan(p)).sum()]).any()
    ours, theirs = ours.set_index("protein_group"), theirs.set_index("protein_group").loc[ours["protein_group"]]
    assert (ours["gene"] == theirs["gene"]).all()
    for col in ("log2fc", "t", "p_value", "q_value", "df_total"):
        np.testing.assert_allclose(ours[col].to_numpy(float), theirs[col].to_numpy(float), rtol=1e-12, err_msg=col)
    assert (ours["q_value"] < 0.05).sum() == (theirs["q_value"] < 0.05).sum() >= 20


def test_every_file_is_byte_identical_on_rerun(two_runs):
    """Every file of a rerun, figures (PNG/SVG metadata) and report included, equals the first run's; run.json
    (the one place for times) is compared above without its times."""
    a, b, _ = two_runs
    files = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    assert sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file()) == files
    differ = [str(rel) for rel in files if str(rel) != "run.json" and (a / rel).read_bytes() != (b / rel).read_bytes()]
    assert differ == []


def test_run_log_has_every_stage_and_warning_even_quiet(two_runs):
    """--quiet silences the console, not run.log: every stage the run went through and every warning it
    reported at the end (run.json) are there."""
    out = two_runs[0]
    log = (out / "run.log").read_text()
    for stage in ("quantifying proteins (maxlfq)", "filtering, normalising, imputing", "quality control",
                  "differential abundance: cancer-control", "panel nested CV", "writing figures and report"):
        assert f"INFO proteomics: {stage}\n" in log, stage
    warnings = json.loads((out / "run.json").read_text())["warnings"]
    assert warnings and all(f"WARNING proteomics: {w}\n" in log for w in warnings)


def test_run_from_python_writes_the_same_log(tmp_path):
    """From Python no logging is configured: run.log is still written, step by step, and the caller's logger
    level is left as it was."""
    import logging

    import proteomics as pt

    class Seen(logging.Handler):  # the caller's own handler, as logging.basicConfig() installs it (level NOTSET)
        def __init__(self):
            super().__init__()
            self.levels = []

        def emit(self, record):
            if record.name.startswith("proteomics"):
                self.levels.append(record.levelno)

    cfg = fast_config(tmp_path, panel={"enabled": False})
    pkg, root, seen = logging.getLogger("proteomics"), logging.getLogger(), Seen()
    before = (pkg.level, pkg.propagate, len(pkg.handlers))
    root_level = root.level
    root.setLevel(logging.WARNING)
    root.addHandler(seen)
    try:
        pt.run(pt.load_config(cfg), tmp_path / "out")
    finally:
        root.removeHandler(seen)
        root.setLevel(root_level)
    log = (tmp_path / "out" / "run.log").read_text()
    assert "INFO proteomics: quantifying proteins (maxlfq)\n" in log and "INFO proteomics: quality control\n" in log
    assert (pkg.level, pkg.propagate, len(pkg.handlers)) == before
    assert all(level >= logging.WARNING for level in seen.levels)  # the caller's console got no INFO lines
