"""The adversarial part of the bad-input catalogue (issue #18): outputs that would destroy inputs, names that
are paths, forged or insane signatures, inputs that exhaust the machine, silently wrong data and misleading
refusals. Every case: exit 2, one error line, no traceback, nothing written or replaced anywhere in the test
folder, every input byte-identical. Heavy cases run in a subprocess under ``RLIMIT_AS`` (4 GiB) with a time
limit."""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import os
import resource
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
import yaml
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from proteomics.signature import Signature
from proteomics.signing import sign_signature, trust_key

from .cli_helpers import REPO, SAMPLE, fast_config, invoke

SHEET = SAMPLE / "sheet.csv"
REPORT = SAMPLE / "plasma" / "report.tsv.gz"
AS_LIMIT = 4 * 1024**3
TIME_LIMIT = 60


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    """A protein matrix, a signed signature (the session's key), and an attacker's key pair."""
    d = tmp_path_factory.mktemp("safety")
    res = invoke("--quiet", "quantify", REPORT, "--sheet", SHEET, "--specimen", "plasma", "-o", d / "matrix.tsv")
    assert res.exit_code == 0, res.stderr
    (d / "panel.yaml").write_text(yaml.safe_dump({"outer_folds": 3, "outer_repeats": 1, "inner_folds": 2,
                                                  "max_proteins": 3}))
    res = invoke("--quiet", "panel", d / "matrix.tsv", "--sheet", SHEET, "--specimen", "plasma", "--label",
                 "condition", "--positive", "cancer", "--config", d / "panel.yaml", "-o", d / "panel")
    assert res.exit_code == 0, (res.stderr, res.exception)
    attacker = ed25519.Ed25519PrivateKey.generate()
    (d / "attacker.pem").write_bytes(attacker.private_bytes(serialization.Encoding.PEM,
                                                            serialization.PrivateFormat.PKCS8,
                                                            serialization.NoEncryption()))
    return d


def _reseal(d: dict, raw: tuple[bytes, bytes] | None = None) -> bytes:
    """Serialise like the package and recompute the checksum by the public rule (what a forger does)."""
    d = dict(d, sha256="")
    text = json.dumps(d, sort_keys=True, indent=2, ensure_ascii=False).encode() + b"\n"
    if raw:
        assert raw[0] in text
        text = text.replace(raw[0], raw[1], 1)
    digest = hashlib.sha256(text).hexdigest().encode()
    return text.replace(b'\n  "sha256": ""', b'\n  "sha256": "' + digest + b'"', 1)


def _case(t: Path, work: Path, name: str):
    """(args, inputs that must stay byte-identical, needles in the error, cwd or None, heavy)."""
    m = t / "matrix.tsv"
    m.write_bytes((work / "matrix.tsv").read_bytes())
    sig = t / "signature.json"
    sig.write_bytes((work / "panel" / "signature.json").read_bytes())
    sigd = json.loads(sig.read_bytes())
    lines = m.read_text().splitlines()

    def write(fname, data):
        p = t / fname
        p.parent.mkdir(parents=True, exist_ok=True)
        (p.write_bytes if isinstance(data, bytes) else p.write_text)(data)
        return p

    def score(signature=sig, out=None, *extra):
        return ["score", m, "--signature", signature, "--sheet", SHEET, "-o", out or t / "scores.tsv", *extra]

    def de(matrix=m, out=None, *extra):
        return ["de", matrix, "--sheet", SHEET, "--specimen", "plasma", "--contrast", "cancer-control", "-o",
                out or t / "de.tsv", *extra]

    def panel(matrix=m, out=None, *extra, sheet=SHEET):
        return ["panel", matrix, "--sheet", sheet, "--specimen", "plasma", "--label", "condition", "--positive",
                "cancer", "--config", work / "panel.yaml", "-o", out or t / "p", *extra]

    def config(**over):
        return fast_config(t, **over)

    def sig_with(edit=None, raw=None):
        d = json.loads(json.dumps(sigd))
        if edit:
            edit(d)
        return write("forged.json", _reseal(d, raw))

    # -- 1. outputs never destroy inputs ---------------------------------------------------------------------------
    if name == "quantify_output_is_its_input":
        return ["quantify", m, "--sheet", SHEET, "-o", m], [m], ["overwrite the input"], None, False
    if name == "de_output_is_its_input":
        return de(out=m), [m], ["overwrite the input"], None, False
    if name == "score_output_is_the_signature":
        return score(out=sig), [sig, m], ["overwrite the input"], None, False
    if name == "score_output_is_the_matrix":
        return score(out=m), [sig, m], ["overwrite the input"], None, False
    if name == "score_side_file_is_the_sheet":
        sheet_html = write("scores.html", SHEET.read_text())
        return (["score", m, "--signature", sig, "--sheet", sheet_html, "-o", t / "scores.tsv"],
                [sig, m, sheet_html], ["scores.html"], None, False)
    if name == "score_output_symlink_to_input":
        os.symlink(m, t / "link.tsv")
        return score(out=t / "link.tsv"), [m, sig], ["overwrite the input"], None, False
    if name == "score_output_hardlink_to_input":
        os.link(m, t / "hard.tsv")
        return score(out=t / "hard.tsv"), [m, sig], ["overwrite the input"], None, False
    if name == "score_report_collides_with_output":
        return score(out=t / "scores.html"), [m, sig], ["same file"], None, False
    if name == "de_contrast_file_is_an_input":
        victim = write("de.cancer_vs_control.tsv", m.read_text())
        return (de(victim, t / "de.tsv", "--contrast", "control-cancer"), [victim],
                ["overwrite the input"], None, False)
    if name == "run_force_onto_folder_holding_inputs":
        data = write("inputs/report.tsv.gz", REPORT.read_bytes())
        sh = write("inputs/sheet.csv", SHEET.read_text())
        c = fast_config(t / "inputs")
        y = yaml.safe_load(c.read_text())
        y["inputs"].update(data=str(data), sheet=str(sh))
        c.write_text(yaml.safe_dump(y))
        return ["run", c, "--out", t / "inputs", "--force"], [data, sh, c], ["holds the input"], None, False
    if name == "run_force_onto_dot":
        (t / "here").mkdir()
        return ["run", config(), "--out", ".", "--force"], [t / "fast.yaml"], ["current folder"], t / "here", False
    if name == "panel_force_onto_dot":
        (t / "here").mkdir()
        return panel(m, Path("."), "--force"), [m], ["current folder"], t / "here", False
    if name == "panel_force_onto_parent_of_input":
        return panel(m, t, "--force"), [m], ["holds the input"], None, False
    if name == "stratify_force_onto_folder_holding_input":
        return (["stratify", m, "--sheet", SHEET, "--specimen", "plasma", "-o", t, "--force"], [m],
                ["holds the input"], None, False)
    if name == "validate_force_onto_signature_folder":
        return (["validate", m, "--signature", sig, "--sheet", SHEET, "--label", "condition", "--positive",
                 "cancer", "-o", t, "--force"], [m, sig], ["holds the input"], None, False)
    if name == "panel_force_onto_plain_file":
        f = write("p", "precious")
        return panel(m, f, "--force"), [m, f], ["not a folder"], None, False
    if name == "panel_force_onto_foreign_folder":
        f = write("p/notes.txt", "my notes")
        return panel(m, t / "p", "--force"), [m, f], ["not written by proteomics"], None, False
    if name == "panel_output_exists_without_force":
        f = write("p/signature.json", "old")
        return panel(m, t / "p"), [m, f], ["already exists"], None, False
    # -- 2. names from a config are names, not paths --------------------------------------------------------------
    if name == "config_name_escapes_results":
        c = config(name="../../../escaped")
        return ["run", c], [c], ["name", "plain name"], None, False
    if name == "config_name_absolute_path":
        c = config(name="/tmp/escaped")
        return ["run", c], [c], ["plain name"], None, False
    # -- 3. signatures: authentic and sane ------------------------------------------------------------------------
    if name == "signature_forged_checksum_recomputed":
        f = sig_with(lambda d: d["model"]["coef"][0].__setitem__(0, d["model"]["coef"][0][0] + 1.0))
        return ["verify-signature", f], [f], ["does not match"], None, False
    if name == "score_forged_signature":
        f = sig_with(lambda d: d["model"].__setitem__("intercept", [d["model"]["intercept"][0] + 3.0]))
        return score(f), [f, m], ["does not match"], None, False
    if name == "signature_unsigned":
        f = sig_with(lambda d: d.pop("signing"))
        return ["verify-signature", f], [f], ["unsigned"], None, False
    if name == "score_unsigned_without_allow":
        f = sig_with(lambda d: d.pop("signing"))
        return score(f), [f, m], ["unsigned", "--allow-unsigned"], None, False
    if name == "signature_untrusted_key":
        s = sign_signature(replace(Signature.from_bytes(sig.read_bytes()), signing={}), key=work / "attacker.pem")
        f = write("other.json", s.to_bytes())
        return score(f), [f, m], ["not in your trusted keys"], None, False
    if name == "signature_revoked_key":
        k = ed25519.Ed25519PrivateKey.generate()
        pem = write("k.pem", k.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                             serialization.NoEncryption()))
        raw = k.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        trust_key(base64.b64encode(raw))
        s = sign_signature(replace(Signature.from_bytes(sig.read_bytes()), signing={}), key=pem)
        f = write("revoked.json", s.to_bytes())
        res = invoke("keys", "revoke", s.signing["key_id"])
        assert res.exit_code == 0, res.stderr
        return ["verify-signature", f], [f], ["revoked"], None, False
    if name == "signature_swapped_public_key":
        other = ed25519.Ed25519PrivateKey.generate().public_key().public_bytes(serialization.Encoding.Raw,
                                                                              serialization.PublicFormat.Raw)
        f = sig_with(lambda d: d["signing"].__setitem__("public_key", base64.b64encode(other).decode()))
        return ["verify-signature", f], [f], ["signing block"], None, False
    if name == "signature_nan_coefficient":
        f = sig_with(raw=(json.dumps(sigd["model"]["coef"][0][0]).encode(), b"NaN"))
        return score(f), [f, m], ["NaN"], None, False
    if name == "signature_infinite_threshold":
        thr = json.dumps(sigd["thresholds"]["rule_in"]["probability"]).encode()
        f = sig_with(raw=(b'"probability": ' + thr, b'"probability": 1e999'))
        return ["verify-signature", f], [f], ["non-finite"], None, False
    if name == "signature_absurd_scaler":
        f = sig_with(lambda d: d["model"]["scale"]["mean"].__setitem__(0, 5e7))
        return ["verify-signature", f], [f], ["model.scale.mean", "absurd"], None, False
    if name == "signature_coef_longer_than_proteins":
        f = sig_with(lambda d: d["model"]["coef"][0].append(0.5))
        return ["verify-signature", f], [f], ["model.coef", "proteins"], None, False
    if name == "signature_model_missing":
        f = sig_with(lambda d: d.pop("model"))
        return ["verify-signature", f], [f], ["model"], None, False
    if name == "signature_steps_wrong_type":
        f = sig_with(lambda d: d.__setitem__("steps", "MedianNormalizer"))
        return ["verify-signature", f], [f], ["steps"], None, False
    if name == "signature_proteins_as_string":
        f = sig_with(lambda d: d.__setitem__("proteins", ",".join(d["proteins"])))
        return ["verify-signature", f], [f], ["proteins"], None, False
    if name == "signature_deep_nesting":
        f = sig_with(lambda d: d["training"].__setitem__("x", None),
                     raw=(b'"x": null', b'"x": ' + b"[" * 100_000 + b"]" * 100_000))
        return ["verify-signature", f], [f], ["nested"], None, False
    if name == "signature_too_large":
        f = t / "huge.json"
        with open(f, "wb") as fh:
            fh.truncate(40 * 1024**2)
        return ["verify-signature", f], [f], ["larger than"], None, False
    if name == "signature_is_dev_zero":
        return score("/dev/zero"), [m], ["character device"], None, True
    if name == "signature_is_fifo":
        os.mkfifo(t / "sig.fifo")
        return score(t / "sig.fifo"), [m], ["FIFO"], None, True
    # -- 4. resources ------------------------------------------------------------------------------------------------
    if name == "yaml_alias_bomb":
        levels = ["a: &a [" + ",".join(['"lol"'] * 10) + "]"]
        for i in range(1, 9):
            levels.append(f"{chr(97 + i)}: &{chr(97 + i)} [" + ",".join([f"*{chr(96 + i)}"] * 10) + "]")
        c = write("bomb.yaml", "\n".join(levels) + "\n")
        return ["run", c], [c], ["alias"], None, True
    if name == "panel_config_alias_bomb":
        levels = ["x0: &x0 [" + ",".join(["1"] * 10) + "]"]
        levels += [f"x{i}: &x{i} [" + ",".join([f"*x{i - 1}"] * 10) + "]" for i in range(1, 8)]
        c = write("pbomb.yaml", "\n".join(levels) + "\n")
        return ["panel", m, "--sheet", SHEET, "--specimen", "plasma", "--label", "condition", "--positive",
                "cancer", "--config", c, "-o", t / "p"], [c, m], ["alias"], None, True
    if name == "data_is_fifo":
        os.mkfifo(t / "data.tsv")
        return ["inspect", t / "data.tsv"], [], ["FIFO"], None, True
    if name == "sheet_is_fifo":
        os.mkfifo(t / "sheet.csv")
        a = de(m)
        a[3] = t / "sheet.csv"
        return a, [m], ["FIFO"], None, True
    if name == "config_is_fifo":
        os.mkfifo(t / "c.yaml")
        return ["run", t / "c.yaml"], [], ["FIFO"], None, True
    if name == "gzip_bomb_without_line_breaks":
        p = t / "bomb.tsv.gz"
        with gzip.open(p, "wb", compresslevel=9) as fh:
            block = b"A" * (1 << 20)
            for _ in range(300):
                fh.write(block)
        return ["inspect", p], [p], ["header line"], None, True
    if name == "xml_gzip_bomb":
        p = t / "bomb.mzid.gz"
        with gzip.open(p, "wb", compresslevel=9) as fh:
            fh.write(b'<?xml version="1.0"?>\n<MzIdentML xmlns="http://psidev.info/psi/pi/mzIdentML/1.1">\n')
            for _ in range(300):
                fh.write(b"<!-- " + b"x" * (1 << 20) + b" -->\n")
        return ["inspect", p], [p], ["gzip bomb"], None, True
    if name == "sheet_too_large":
        sh = t / "sheet.csv"
        with open(sh, "wb") as fh:
            fh.truncate(65 * 1024**2)
        a = de(m)
        a[3] = sh
        return a, [m, sh], ["larger than"], None, False
    if name == "xlsx_zip_bomb":
        import zipfile

        sh = t / "sheet.xlsx"
        with zipfile.ZipFile(sh, "w", compression=zipfile.ZIP_DEFLATED) as z:
            z.writestr("[Content_Types].xml", "<Types/>")
            z.writestr("xl/worksheets/sheet1.xml", b"\0" * (100 * 1024**2))
        a = de(m)
        a[3] = sh
        return a, [m, sh], ["unzips"], None, True
    if name == "duplicate_id_early_in_huge_file":
        p = t / "huge_dup.tsv.gz"
        with gzip.open(p, "wt", compresslevel=1) as fh:
            fh.write(lines[0] + "\n" + lines[3] + "\n" + lines[3] + "\n")
            body = "\n".join(lines[4:]) + "\n"
            for _ in range(400):
                fh.write(body)
        return ["inspect", p], [p], ["repeats line 2", ":3:"], None, True
    # -- 6. silently wrong data --------------------------------------------------------------------------------------
    if name == "mixed_linear_and_log2_columns":
        out = [lines[0]]
        for ln in lines[1:]:
            c = ln.split("\t")
            c[1:31] = [repr(2 ** float(v)) if v else v for v in c[1:31]]
            out.append("\t".join(c))
        p = write("mixed.tsv", "\n".join(out) + "\n")
        return de(p), [p], ["mix scales"], None, False
    if name == "duplicate_protein_id":
        p = write("dup.tsv", "\n".join(lines[:6] + [lines[2]] + lines[6:]) + "\n")
        return de(p), [p], ["dup.tsv:7", "repeats line 3"], None, False
    if name == "duplicate_yaml_key":
        c = config()
        c.write_text(c.read_text() + "seed: 7\nseed: 8\n")
        return ["run", c], [c], ["seed", "twice"], None, False
    if name == "duplicate_key_in_panel_config":
        c = write("pc.yaml", "outer_folds: 3\nmax_proteins: 3\nouter_folds: 4\n")
        return (["panel", m, "--sheet", SHEET, "--specimen", "plasma", "--label", "condition", "--positive", "cancer",
                 "--config", c, "-o", t / "p"], [c, m], ["outer_folds", "twice"], None, False)
    if name == "negative_permutations":
        return panel(m, None, "--permutations", "-5"), [m], ["permutations"], None, False
    if name == "negative_seed":
        return panel(m, None, "--seed", "-1"), [m], ["seed"], None, False
    if name == "negative_min_valid":
        return de(m, None, "--min-valid", "-3"), [m], ["--min-valid"], None, False
    if name == "config_latin1":
        c = config()
        c.write_bytes(c.read_bytes() + "# patient Müller\n".encode("latin-1"))
        return ["run", c], [c], ["not UTF-8"], None, False
    if name == "config_utf16":
        c = config()
        c.write_bytes(c.read_text().encode("utf-16"))
        return ["run", c], [c], ["UTF-16"], None, False
    if name == "config_too_large":
        c = config()
        c.write_text(c.read_text() + "#" + "x" * (2 * 1024**2) + "\n")
        return ["run", c], [c], ["larger than"], None, False
    if name == "gzip_trailing_garbage":
        p = write("report.tsv.gz", REPORT.read_bytes() + b"this is not gzip")
        return ["inspect", p], [p], ["report.tsv.gz"], None, False
    if name == "minus_inf_in_data":
        c = lines[5].split("\t")
        c[4] = "-inf"
        p = write("m.tsv", "\n".join(lines[:5] + ["\t".join(c)] + lines[6:]) + "\n")
        return de(p), [p], ["m.tsv:6"], None, False
    if name == "overflowing_number_in_data":
        c = lines[5].split("\t")
        c[4] = "1e400"
        p = write("m.tsv", "\n".join(lines[:5] + ["\t".join(c)] + lines[6:]) + "\n")
        return de(p), [p], ["m.tsv:6", "1e400"], None, False
    # -- 7. refusals that say what is wrong ---------------------------------------------------------------------
    if name == "one_row_matrix":
        row = max(lines[1:], key=lambda ln: sum(bool(v) for v in ln.split("\t")))
        p = write("one.tsv", lines[0] + "\n" + row + "\n")
        return de(p), [p], ["1 protein"], None, False
    if name == "all_missing_matrix_named":
        p = write("nan.tsv", "\n".join([lines[0]] + [ln.split("\t")[0] + "\t" * (len(lines[0].split("\t")) - 1)
                                                     for ln in lines[1:]]) + "\n")
        return ["inspect", p], [p], ["every value", "missing"], None, False
    if name == "class_with_two_samples":
        rows = SHEET.read_text().splitlines()
        keep = [rows[0]] + [r for r in rows[1:] if ",plasma,control," in r]
        keep += [r for r in rows[1:] if ",plasma,cancer," in r][:2]
        sh = write("sheet2.csv", "\n".join(keep) + "\n")
        header = lines[0].split("\t")
        idx = [0] + [header.index(r.split(",")[1]) for r in keep[1:]]
        mm = write("m2.tsv", "\n".join("\t".join(ln.split("\t")[i] for i in idx) for ln in lines) + "\n")
        return panel(mm, None, sheet=sh), [mm, sh], ["sheet2.csv", "'cancer'", "2 subject"], None, False
    raise KeyError(name)


CASES = [
    "quantify_output_is_its_input", "de_output_is_its_input", "score_output_is_the_signature",
    "score_output_is_the_matrix", "score_side_file_is_the_sheet", "score_output_symlink_to_input",
    "score_output_hardlink_to_input", "score_report_collides_with_output", "de_contrast_file_is_an_input",
    "run_force_onto_folder_holding_inputs", "run_force_onto_dot", "panel_force_onto_dot",
    "panel_force_onto_parent_of_input", "stratify_force_onto_folder_holding_input",
    "validate_force_onto_signature_folder", "panel_force_onto_plain_file", "panel_force_onto_foreign_folder",
    "panel_output_exists_without_force",
    "config_name_escapes_results", "config_name_absolute_path",
    "signature_forged_checksum_recomputed", "score_forged_signature", "signature_unsigned",
    "score_unsigned_without_allow", "signature_untrusted_key", "signature_revoked_key",
    "signature_swapped_public_key", "signature_nan_coefficient", "signature_infinite_threshold",
    "signature_absurd_scaler", "signature_coef_longer_than_proteins", "signature_model_missing",
    "signature_steps_wrong_type", "signature_proteins_as_string", "signature_deep_nesting", "signature_too_large",
    "signature_is_dev_zero", "signature_is_fifo",
    "yaml_alias_bomb", "panel_config_alias_bomb", "data_is_fifo", "sheet_is_fifo", "config_is_fifo",
    "gzip_bomb_without_line_breaks", "xml_gzip_bomb", "sheet_too_large", "xlsx_zip_bomb", "duplicate_id_early_in_huge_file",
    "mixed_linear_and_log2_columns", "duplicate_protein_id", "duplicate_yaml_key", "duplicate_key_in_panel_config",
    "negative_permutations", "negative_seed", "negative_min_valid", "config_latin1", "config_utf16", "config_too_large", "gzip_trailing_garbage",
    "minus_inf_in_data", "overflowing_number_in_data",
    "one_row_matrix", "all_missing_matrix_named", "class_with_two_samples",
]


def _snapshot(folder: Path) -> dict[str, str]:
    """Every entry under ``folder`` (hidden ones included) with the sha256 of regular files."""
    out = {}
    for root, dirs, files in os.walk(folder):
        for name in dirs + files:
            p = Path(root, name)
            rel = str(p.relative_to(folder))
            if p.is_symlink() or not p.is_file():
                out[rel] = "special" if not p.is_dir() or p.is_symlink() else "dir"
            else:
                out[rel] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def _limits():
    resource.setrlimit(resource.RLIMIT_AS, (AS_LIMIT, AS_LIMIT))


def _run_heavy(args, cwd):
    """The CLI in a subprocess under RLIMIT_AS and a time limit; returns (exit code, stderr)."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
           "COLUMNS": "200", "PYTHONWARNINGS": "ignore::UserWarning"}  # third-party import notices
    proc = subprocess.run([sys.executable, "-m", "proteomics.cli", *map(str, args)], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=TIME_LIMIT, preexec_fn=_limits,
                          stdin=subprocess.DEVNULL)
    return proc.returncode, proc.stderr


@pytest.mark.parametrize("name", CASES)
def test_adversarial_input(name, tmp_path, work, monkeypatch):
    args, inputs, needles, cwd, heavy = _case(tmp_path, work, name)
    before = {p: hashlib.sha256(Path(p).read_bytes()).hexdigest() for p in inputs}
    snap = _snapshot(tmp_path)
    if heavy:
        code, err = _run_heavy(args, cwd or tmp_path)
    else:
        if cwd is not None:
            monkeypatch.chdir(cwd)
        res = invoke(*args)
        code, err = res.exit_code, res.stderr
        assert res.exception is None or isinstance(res.exception, SystemExit), res.exception
    assert code == 2, (code, err)
    assert "Traceback" not in err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:"), err
    for n in needles:
        assert n.lower() in err.lower(), (n, err)
    for p, h in before.items():
        assert hashlib.sha256(Path(p).read_bytes()).hexdigest() == h, f"{p} was modified"
    assert _snapshot(tmp_path) == snap, "something was written, replaced or deleted"


def test_catalogue_has_forty_new_cases():
    assert len(CASES) >= 40 and len(set(CASES)) == len(CASES)


def test_allow_unsigned_marks_every_output(tmp_path, work):
    d = json.loads((work / "panel" / "signature.json").read_bytes())
    d.pop("signing")
    sig = tmp_path / "old.json"
    sig.write_bytes(_reseal(d))
    res = invoke("score", work / "matrix.tsv", "--signature", sig, "--sheet", SHEET, "-o", tmp_path / "s.tsv",
                 "--allow-unsigned")
    assert res.exit_code == 0, res.stderr
    tsv = (tmp_path / "s.tsv").read_text().splitlines()
    col = tsv[0].split("\t").index("warning")
    assert all("UNSIGNED" in row.split("\t")[col] for row in tsv[1:])
    assert "UNSIGNED" in (tmp_path / "s.html").read_text() and "UNSIGNED" in res.stdout


def test_two_panels_into_one_folder_at_once(tmp_path, work):
    """Two `panel -o p` started together: one wins, the other exits 2 and leaves the winner's folder."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    cmd = [sys.executable, "-m", "proteomics.cli", "--quiet", "panel", str(work / "matrix.tsv"), "--sheet",
           str(SHEET), "--specimen", "plasma", "--label", "condition", "--positive", "cancer", "--config",
           str(work / "panel.yaml"), "-o", str(tmp_path / "p")]
    procs = [subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    results = [(p.wait(timeout=600), p.stderr.read()) for p in procs]
    codes = sorted(c for c, _ in results)
    assert codes == [0, 2], results
    assert "another process" in next(e for c, e in results if c == 2) or "already exists" in \
        next(e for c, e in results if c == 2)
    assert (tmp_path / "p" / "signature.json").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p"]  # no staging or .old left


def test_panel_rerun_writes_identical_files(tmp_path, work):
    """Every file `panel` writes (signature, metrics, tables, PNG and SVG plots) is byte-identical on a rerun."""
    res = invoke("--quiet", "panel", work / "matrix.tsv", "--sheet", SHEET, "--specimen", "plasma", "--label",
                 "condition", "--positive", "cancer", "--config", work / "panel.yaml", "-o", tmp_path / "p")
    assert res.exit_code == 0, res.stderr
    first, again = work / "panel", tmp_path / "p"
    names = sorted(p.name for p in first.iterdir())
    assert sorted(p.name for p in again.iterdir()) == names and any(n.endswith(".png") for n in names)
    assert [n for n in names if (first / n).read_bytes() != (again / n).read_bytes()] == []


def test_patient_with_constant_panel_values_is_refused(tmp_path, work):
    """A sample whose panel proteins all carry one value (a placeholder fill) gets no category."""
    proteins = json.loads((work / "panel" / "signature.json").read_bytes())["proteins"]
    assert len(proteins) >= 2
    lines = (work / "matrix.tsv").read_text().splitlines()
    col = lines[0].split("\t").index("P001_plasma")
    out = [lines[0]]
    for ln in lines[1:]:
        c = ln.split("\t")
        if c[0] in proteins:
            c[col] = "25.5"
        out.append("\t".join(c))
    m = tmp_path / "m.tsv"
    m.write_text("\n".join(out) + "\n")
    res = invoke("score", m, "--signature", work / "panel" / "signature.json", "--sheet", SHEET, "-o",
                 tmp_path / "s.tsv")
    assert res.exit_code == 0, res.stderr
    rows = {r.split("\t")[0]: r for r in (tmp_path / "s.tsv").read_text().splitlines()[1:]}
    assert "\trefused\t" in rows["P001_plasma"] and "same value" in rows["P001_plasma"]
    assert "\trefused\t" not in rows["P002_plasma"] or "same value" not in rows["P002_plasma"]


def test_three_class_label_says_multinomial():
    from proteomics.panel import build_panel
    from tests.panel.conftest import FAST, simulate

    ds = simulate(n_per_class=9, n_proteins=30, seed=3)
    s = ds.samples.copy()
    s.loc[s.index[::3], "condition"] = "copd"
    res = build_panel(ds.with_samples(s), "condition", "case", settings=FAST, seed=0)
    assert res.warnings and "multinomial" in res.warnings[0] and "3 classes" in res.warnings[0]
