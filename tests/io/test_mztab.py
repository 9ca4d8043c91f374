"""mzTab reader: real MaxQuant mzTab exports (PSM section) and small hand-written abundance files.

Expected numbers come from a plain ``csv`` pass over the file written here (not from the reader), or by hand.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import re
from collections import Counter

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from proteomics.errors import InputError
from proteomics.io import read
from proteomics.io.mztab import read_mztab, sniff_mztab
from proteomics.io.registry import peek
from proteomics.io.table import QuantTable
from tests.conftest import need_shared

ALPHA = ("alphapeptstats_mzTab", "test.mztab")
PYTEO = ("pyteomics_tests", "test.mztab")


def _plain_psms(path):
    """PSM rows as dicts and the ms_run locations, read with the csv module."""
    header, rows, loc = None, [], {}
    with open(path, newline="") as fh:
        for rec in csv.reader(fh, delimiter="\t"):
            if not rec:
                continue
            if rec[0] == "MTD" and (m := re.fullmatch(r"ms_run\[(\d+)\]-location", rec[1])):
                loc[m.group(1)] = rec[2]
            elif rec[0] == "PSH":
                header = rec[1:]
            elif rec[0] == "PSM":
                rows.append(dict(zip(header, rec[1:], strict=True)))
    return rows, loc


def _expected_counts(path, fdr=0.01, col="search_engine_score[1]", sign=1.0):
    """Accepted target PSMs per run: q = running min of #decoy/#target down the list sorted by
    ``sign * score`` (descending; Andromeda score: higher is better, so sign = 1; PEP: sign = -1)."""
    rows, loc = _plain_psms(path)
    psm = {}
    for r in rows:
        k = re.match(r"ms_run\[(\d+)\]", r["spectra_ref"]).group(1)
        run = re.split(r"[\\/]", loc[k])[-1].rsplit(".", 1)[0]
        d = psm.setdefault(r["PSM_ID"], {"run": run, "score": sign * float(r[col]), "decoy": True})
        d["decoy"] &= r["opt_global_cv_MS:1002217_decoy_peptide"] == "1"
    ids = list(psm)
    score = np.array([psm[i]["score"] for i in ids])
    decoy = np.array([psm[i]["decoy"] for i in ids])
    order = np.argsort(-score, kind="stable")
    fdr_curve = np.cumsum(decoy[order]) / np.maximum(np.cumsum(~decoy[order]), 1)
    q = np.empty(len(ids))
    q[order] = np.minimum.accumulate(fdr_curve[::-1])[::-1]
    ok = (q <= fdr) & ~decoy
    return Counter(psm[i]["run"] for i, good in zip(ids, ok, strict=True) if good), len(ids), int(decoy.sum())


def test_real_mztab_psm_section_gives_spectral_counts():
    path = need_shared(*ALPHA)
    qt = read_mztab(path)
    assert isinstance(qt, QuantTable) and qt.level == "protein" and qt.format == "mztab"
    expected, n_psm, n_decoy = _expected_counts(path)
    got = qt.data.groupby("run")["n_psm"].sum().to_dict()
    assert got == dict(expected)
    assert qt.meta["n_psms_total"] == n_psm and qt.meta["n_decoy_psms"] == n_decoy == 2
    assert (qt.data["intensity"] == qt.data["n_psm"]).all()
    assert not qt.data["protein_group"].str.contains("REV__").any()
    # a PSM row flagged unique=1 maps to one protein: its accession must name a group it was counted in
    rows, _ = _plain_psms(path)
    unique_accs = {r["accession"] for r in rows if r["unique"] == "1" and r["opt_global_cv_MS:1002217_decoy_peptide"] == "0"}
    members = {a for g in qt.data["protein_group"] for a in g.split(";")}
    assert unique_accs <= members


def test_second_score_is_pep_lower_is_better():
    path = need_shared(*ALPHA)
    qt = read_mztab(path, score=2, fdr=0.05)
    assert qt.meta["psm_filter"].endswith("(score Andromeda:PEP)")
    expected, _, _ = _expected_counts(path, fdr=0.05, col="search_engine_score[2]", sign=-1.0)
    assert qt.data.groupby("run")["n_psm"].sum().to_dict() == dict(expected)


def test_copy_with_comment_lines_reads_identically():
    a = read_mztab(need_shared(*ALPHA)).data
    b = read_mztab(need_shared(*PYTEO)).data
    assert a.equals(b)


def test_detect_and_read_auto():
    path = need_shared(*ALPHA)
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    assert read(path).summary()["format"] == "mztab"
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before


def test_protein_section_without_abundances_is_an_input_error():
    path = need_shared(*ALPHA)
    with pytest.raises(InputError, match="protein section") as exc:
        read_mztab(path, section="protein")
    assert str(path) in str(exc.value)


def test_psm_level_rows_are_accepted_psms():
    path = need_shared(*ALPHA)
    qt = read_mztab(path, level="psm")
    expected, _, _ = _expected_counts(path)
    assert len(qt.data) == sum(expected.values())
    assert qt.data["q_value"].max() <= 0.01


SMALL = """MTD\tmzTab-version\t1.0.0
MTD\tmzTab-mode\tSummary
MTD\tmzTab-type\tQuantification
MTD\tms_run[1]-location\tfile:///data/Sample_A.raw
MTD\tms_run[2]-location\tC:\\raw\\Sample_B.mzML
MTD\tassay[1]-ms_run_ref\tms_run[1]
MTD\tassay[2]-ms_run_ref\tms_run[2]
MTD\tstudy_variable[1]-description\tcontrol
MTD\tstudy_variable[2]-description\tcase
PRH\taccession\tdescription\tprotein_abundance_assay[1]\tprotein_abundance_assay[2]\tprotein_abundance_study_variable[1]\tprotein_abundance_study_variable[2]
PRT\tP02768\tAlbumin\t1000.5\tnull\t1000.5\t2000
PRT\tP01023\tA2M\t30\t40\t30\t40
PEH\tsequence\taccession\tcharge\tmodifications\tpeptide_abundance_assay[1]\tpeptide_abundance_assay[2]
PEP\tLVNEVTEFAK\tP02768\t2\tnull\t10\t20
PEP\tAAQVPTKK\tP01023\t3\t4-UNIMOD:35\t0\t7
"""


def _write(tmp_path, text, name="x.mztab"):
    p = tmp_path / name
    p.write_text(text)
    return p


def test_protein_abundances_by_assay(tmp_path):
    qt = read_mztab(_write(tmp_path, SMALL))
    assert qt.level == "protein" and qt.runs == ["Sample_A", "Sample_B"]
    d = qt.data.set_index(["run", "protein_group"])["intensity"]
    assert d[("Sample_A", "P02768")] == 1000.5 and np.isnan(d[("Sample_B", "P02768")])
    assert d[("Sample_B", "P01023")] == 40.0


def test_protein_abundances_by_study_variable(tmp_path):
    qt = read_mztab(_write(tmp_path, SMALL), abundance="study_variable")
    assert qt.runs == ["control", "case"]
    assert qt.data.set_index(["run", "protein_group"])["intensity"][("case", "P02768")] == 2000.0


def test_peptide_section(tmp_path):
    qt = read_mztab(_write(tmp_path, SMALL), section="peptide")
    assert qt.level == "peptide" and len(qt.data) == 4
    d = qt.data.set_index(["run", "sequence"])
    assert d.loc[("Sample_B", "LVNEVTEFAK"), "intensity"] == 20.0
    assert np.isnan(d.loc[("Sample_A", "AAQVPTKK"), "intensity"])  # zero = not quantified
    assert d.loc[("Sample_A", "AAQVPTKK"), "charge"] == 3


def test_gzipped_reads_the_same(tmp_path):
    plain = _write(tmp_path, SMALL)
    gz = tmp_path / "x.mztab.gz"
    gz.write_bytes(gzip.compress(SMALL.encode()))
    assert read_mztab(gz).data.equals(read_mztab(plain).data)


@pytest.mark.parametrize("text, line, what", [
    (SMALL.replace("PRT\tP01023\tA2M\t30\t40\t30\t40", "PRT\tP01023\tA2M\t30"), 12, "fields"),
    (SMALL.replace("PRH\t", "XXX\t"), 10, "prefix"),
    ("\n".join(ln for ln in SMALL.splitlines() if not ln.startswith("PRH")), 10, "header"),
    ("PRH\taccession\nPRT\tP1\n", None, "MTD"),
    (SMALL.replace("protein_abundance_assay[2]", "protein_abundance_assay[1]", 1), 10, "duplicated column"),
])
def test_line_errors(tmp_path, text, line, what):
    with pytest.raises(InputError, match=what) as exc:
        read_mztab(_write(tmp_path, text))
    assert exc.value.path is not None
    if line:
        assert exc.value.line == line


def test_non_numeric_abundance(tmp_path):
    with pytest.raises(InputError, match="non-numeric"):
        read_mztab(_write(tmp_path, SMALL.replace("1000.5\tnull", "12,5\tnull")))


def test_empty_and_fake_gzip(tmp_path):
    with pytest.raises(InputError, match="empty"):
        read_mztab(_write(tmp_path, ""))
    with pytest.raises(InputError, match="not gzip"):
        read_mztab(_write(tmp_path, SMALL, "x.mztab.gz"))


def test_sniff(tmp_path):
    assert sniff_mztab(peek(_write(tmp_path, SMALL))) == 1.0
    assert sniff_mztab(peek(need_shared("pyteomics_tests", "test.mzid"))) == 0.0
    assert sniff_mztab(peek(need_shared("pyteomics_tests", "test.pep.xml"))) == 0.0
    assert sniff_mztab(peek(need_shared("pyteomics_tests", "test.fasta"))) == 0.0


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.data())
def test_mutated_real_file_gives_table_or_input_error(tmp_path, data):
    lines = need_shared(*ALPHA).read_text().splitlines(keepends=True)
    op = data.draw(st.sampled_from(["drop", "dup", "cut", "garble", "truncate"]))
    i = data.draw(st.integers(0, len(lines) - 1))
    if op == "drop":
        del lines[i]
    elif op == "dup":
        lines.insert(i, lines[i])
    elif op == "cut":
        lines[i] = lines[i][: data.draw(st.integers(0, len(lines[i])))]
    elif op == "garble":
        fields = lines[i].split("\t")
        j = data.draw(st.integers(0, len(fields) - 1))
        fields[j] = data.draw(st.sampled_from(["", "null", "abc", "-1", "inf", "1e999", "NaN", "ms_run[99]:x"]))
        lines[i] = "\t".join(fields)
    else:
        lines = lines[:i]
    p = tmp_path / "mut.mztab"
    p.write_text("".join(lines))
    try:
        qt = read_mztab(p)
    except InputError:
        return
    assert isinstance(qt, QuantTable)


def test_decoy_and_contaminant_rows(tmp_path):
    text = SMALL.replace("PEH\t", "PRT\tCON__P00761\tTrypsin\t5\t6\t5\t6\nPRT\tREV__P02768\tdecoy\t7\t8\t7\t8\nPEH\t")
    p = _write(tmp_path, text)
    assert set(read_mztab(p).data["protein_group"]) == {"P02768", "P01023"}
    kept = read_mztab(p, keep_contaminants=True).data
    assert set(kept["protein_group"]) == {"P02768", "P01023", "CON__P00761"}
    assert kept.groupby("protein_group")["contaminant"].first().to_dict() == {
        "CON__P00761": True, "P01023": False, "P02768": False}


def test_crlf_and_bom_read_the_same(tmp_path):
    src = need_shared(*ALPHA)
    p = tmp_path / "crlf.mztab"
    p.write_bytes(("\ufeff" + src.read_text().replace("\n", "\r\n")).encode("utf-8"))
    assert read_mztab(p).data.equals(read_mztab(src).data)
    assert read(p).format == "mztab"
