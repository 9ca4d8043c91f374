"""Every command works on the bundled data under an address-space limit of 4 GiB (``RLIMIT_AS``), each in a
subprocess with a time limit (the limits the README states)."""

from __future__ import annotations

import os
import resource
import subprocess
import sys

import yaml

from .cli_helpers import REPO, SAMPLE, fast_config

AS_LIMIT = 4 * 1024**3
SHEET = SAMPLE / "sheet.csv"
REPORT = SAMPLE / "plasma" / "report.tsv.gz"


def _limits():
    resource.setrlimit(resource.RLIMIT_AS, (AS_LIMIT, AS_LIMIT))


def _cli(*args, timeout=900):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    return subprocess.run([sys.executable, "-m", "proteomics.cli", "--quiet", *map(str, args)], env=env,
                          capture_output=True, text=True, timeout=timeout, preexec_fn=_limits,
                          stdin=subprocess.DEVNULL)


def test_every_command_under_4_gib_address_space(tmp_path):
    t = tmp_path
    (t / "panel.yaml").write_text(yaml.safe_dump({"outer_folds": 3, "outer_repeats": 1, "inner_folds": 2,
                                                  "max_proteins": 3}))
    (t / "stratify.yaml").write_text(yaml.safe_dump({"repeats": 10, "null_permutations": 2, "n_features": 50}))
    matrix, sig = t / "matrix.tsv", t / "panel" / "signature.json"
    steps = [
        ("formats",),
        ("inspect", REPORT),
        ("quantify", REPORT, "--sheet", SHEET, "--specimen", "plasma", "-o", matrix),
        ("de", matrix, "--sheet", SHEET, "--specimen", "plasma", "--contrast", "cancer-control", "-o", t / "de.tsv"),
        ("panel", matrix, "--sheet", SHEET, "--specimen", "plasma", "--label", "condition", "--positive", "cancer",
         "--config", t / "panel.yaml", "-o", t / "panel"),
        ("verify-signature", sig),
        ("score", matrix, "--signature", sig, "--sheet", SHEET, "-o", t / "scores.tsv"),
        ("validate", matrix, "--signature", sig, "--sheet", SHEET, "--label", "condition", "--positive", "cancer",
         "-o", t / "validation"),
        ("stratify", matrix, "--sheet", SHEET, "--specimen", "plasma", "--k-max", "3", "--config",
         t / "stratify.yaml", "-o", t / "strata"),
        ("keys", "list"),
        ("run", fast_config(t), "--out", t / "run"),
    ]
    for args in steps:
        res = _cli(*args)
        assert res.returncode == 0, (args[0], res.returncode, res.stderr[-2000:])
    assert (t / "run" / "panel" / "signature.json").is_file() and (t / "strata" / "stratifier.json").is_file()
