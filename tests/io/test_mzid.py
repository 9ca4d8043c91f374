"""mzIdentML reader: the pyteomics example file (counts re-derived with lxml here) and a small hand-written
mzIdentML 1.2 file with decoys whose expected spectral counts are worked out by hand below."""

from __future__ import annotations

import gzip
from collections import Counter

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from proteomics.errors import InputError
from proteomics.io import read
from proteomics.io.mzid import read_mzid, sniff_mzid
from proteomics.io.registry import peek
from proteomics.io.table import QuantTable
from tests.conftest import need_shared

MZID = ("pyteomics_tests", "test.mzid")


def _lxml_counts(path):
    """Rank-1 items, one per (spectrum, peptide), passThreshold true, not decoy → count per accession."""
    t = etree.parse(str(path))
    ns = {"m": t.getroot().nsmap[None]}
    pep = {p.get("id"): p.findtext("m:PeptideSequence", namespaces=ns) for p in t.iterfind(".//m:Peptide", ns)}
    dbs = {d.get("id"): d.get("accession") for d in t.iterfind(".//m:DBSequence", ns)}
    ev = {e.get("id"): (dbs[e.get("dBSequence_ref")], e.get("isDecoy") == "true")
          for e in t.iterfind(".//m:PeptideEvidence", ns)}
    seen, counts = set(), Counter()
    for sir in t.iterfind(".//m:SpectrumIdentificationResult", ns):
        for sii in sir.iterfind("m:SpectrumIdentificationItem", ns):
            key = (sir.get("spectrumID"), pep[sii.get("peptide_ref")])
            if sii.get("rank") != "1" or key in seen:
                continue
            seen.add(key)
            refs = [ev[r.get("peptideEvidence_ref")] for r in sii.iterfind("m:PeptideEvidenceRef", ns)]
            if sii.get("passThreshold") == "true" and not all(d for _, d in refs):
                for acc, _ in refs:
                    counts[acc] += 1
    return counts, len(seen)


def test_pyteomics_example_uses_pass_threshold():
    path = need_shared(*MZID)
    qt = read_mzid(path)
    expected, n_rank1 = _lxml_counts(path)
    assert qt.level == "protein" and qt.runs == ["Fraction_X"]
    # every accepted peptide here maps to one protein, so groups are single accessions
    assert qt.data.set_index("protein_group")["n_psm"].to_dict() == dict(expected)
    assert qt.meta["n_psms_total"] == n_rank1
    # decoys are present but scores are not on every PSM: the engine threshold is used, and said so
    assert qt.meta["psm_filter"] == "passThreshold"
    assert any("passThreshold" in w for w in qt.meta["warnings"])


def test_detect(tmp_path):
    path = need_shared(*MZID)
    assert read(path).format == "mzid"
    assert sniff_mzid(peek(path)) == 1.0
    assert sniff_mzid(peek(need_shared("pyteomics_tests", "test.pep.xml"))) == 0.0
    assert sniff_mzid(peek(need_shared("alphapeptstats_mzTab", "test.mztab"))) == 0.0


# --- a hand-written mzIdentML 1.2 file -------------------------------------------------------------------
PROTEINS = ["P1", "P2", "P3", "DECOY_P1", "DECOY_P3", "DECOY_P9"]
PEPTIDES = {"AAAAK": ["P1"], "CCCCK": ["P1"], "DDDDK": ["P1", "P2"], "EEEEK": ["P2"], "FFFFK": ["P3"],
            "KAAAA": ["DECOY_P1"], "KFFFF": ["DECOY_P3"], "KGGGG": ["DECOY_P9"]}
# (spectraData, spectrum, [(peptide, rank, e-value, passThreshold)])
PSMS = [
    ("sdA", "scan=1", [("AAAAK", 1, 1e-10, "true"), ("FFFFK", 2, 1e-1, "false")]),
    ("sdA", "scan=2", [("CCCCK", 1, 1e-9, "true")]),
    ("sdA", "scan=3", [("DDDDK", 1, 1e-8, "true")]),
    ("sdA", "scan=4", [("EEEEK", 1, 1e-7, "true")]),
    ("sdA", "scan=5", [("KAAAA", 1, 1e-3, "false")]),
    ("sdA", "scan=6", [("FFFFK", 1, 1e-2, "false")]),
    ("sdB", "scan=1", [("AAAAK", 1, 2e-10, "true")]),
    ("sdB", "scan=2", [("DDDDK", 1, 3e-9, "true")]),
    ("sdB", "scan=3", [("EEEEK", 1, 5e-8, "true")]),
    ("sdB", "scan=4", [("KGGGG", 1, 5e-2, "false")]),
    ("sdB", "scan=5", [("KFFFF", 1, 1e-1, "false")]),
]


def make_mzid(psms=PSMS, peptides=PEPTIDES, score_name="MS-GF:SpecEValue", score_acc="MS:1002052") -> str:
    dbs = "".join(f'<DBSequence id="db_{p}" accession="{p}" searchDatabase_ref="DB"/>' for p in PROTEINS)
    peps = "".join(f'<Peptide id="pep_{s}"><PeptideSequence>{s}</PeptideSequence></Peptide>' for s in peptides)
    evs = "".join(f'<PeptideEvidence id="ev_{s}_{p}" peptide_ref="pep_{s}" dBSequence_ref="db_{p}" '
                  f'isDecoy="{"true" if p == "DECOY_P9" else "false"}"/>'
                  for s, ps in peptides.items() for p in ps)
    sirs = []
    for k, (sd, spec, items) in enumerate(psms):
        siis = []
        for j, (seq, rank, ev, ok) in enumerate(items):
            refs = "".join(f'<PeptideEvidenceRef peptideEvidence_ref="ev_{seq}_{p}"/>' for p in peptides[seq])
            score = (f'<cvParam cvRef="PSI-MS" accession="{score_acc}" name="{score_name}" value="{ev}"/>'
                     if score_name else "")
            siis.append(f'<SpectrumIdentificationItem id="sii_{k}_{j}" rank="{rank}" chargeState="2" '
                        f'experimentalMassToCharge="500.0" passThreshold="{ok}" peptide_ref="pep_{seq}">'
                        f'{refs}{score}</SpectrumIdentificationItem>')
        sirs.append(f'<SpectrumIdentificationResult id="sir_{k}" spectrumID="{spec}" spectraData_ref="{sd}">'
                    + "".join(siis) + "</SpectrumIdentificationResult>")
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<MzIdentML xmlns="http://psidev.info/psi/pi/mzIdentML/1.2" id="t" version="1.2.0">
<cvList><cv id="PSI-MS" uri="https://psidev.info" fullName="PSI-MS"/></cvList>
<SequenceCollection>{dbs}{peps}{evs}</SequenceCollection>
<AnalysisCollection><SpectrumIdentification id="si" spectrumIdentificationProtocol_ref="sip"
 spectrumIdentificationList_ref="sil"><InputSpectra spectraData_ref="sdA"/>
<SearchDatabaseRef searchDatabase_ref="DB"/></SpectrumIdentification></AnalysisCollection>
<DataCollection><Inputs>
<SearchDatabase id="DB" location="/db/target_decoy.fasta"><DatabaseName><userParam name="td"/></DatabaseName></SearchDatabase>
<SpectraData id="sdA" location="C:\\data\\runA.mzML"><SpectrumIDFormat><cvParam cvRef="PSI-MS" accession="MS:1000774" name="multiple peak list nativeID format"/></SpectrumIDFormat></SpectraData>
<SpectraData id="sdB" location="/data/runB.mzML.gz"><SpectrumIDFormat><cvParam cvRef="PSI-MS" accession="MS:1000774" name="multiple peak list nativeID format"/></SpectrumIDFormat></SpectraData>
</Inputs><AnalysisData><SpectrumIdentificationList id="sil">
{"".join(sirs)}
</SpectrumIdentificationList></AnalysisData></DataCollection></MzIdentML>
"""


@pytest.fixture
def small(tmp_path):
    p = tmp_path / "small.mzid"
    p.write_text(make_mzid())
    return p


def _counts(qt):
    return {(r, g): n for r, g, n in qt.data[["run", "protein_group", "n_psm"]].itertuples(index=False)}


def test_target_decoy_counts_worked_by_hand(small):
    # E-values sorted: seven targets (1e-10 … 1e-7), then decoy 1e-3, target FFFFK 1e-2 (q = 1/8),
    # decoys 5e-2, 1e-1. At 1 % FDR the seven targets pass. DDDDK (P1 and P2) is razor to P1 (3 peptides
    # against 2). Both groups are essential (P1 has AAAAK/CCCCK, P2 has EEEEK).
    qt = read_mzid(small)
    assert qt.runs == ["runA", "runB"]
    assert _counts(qt) == {("runA", "P1"): 3, ("runA", "P2"): 1, ("runB", "P1"): 2, ("runB", "P2"): 1}
    assert qt.meta["score"] == "MS-GF:SpecEValue" and qt.meta["score_higher_is_better"] is False
    assert qt.meta["n_psms_total"] == 11 and qt.meta["n_decoy_psms"] == 3
    assert qt.meta["psm_filter"].startswith("target-decoy")
    assert (qt.data["q_value"] == 0).all()
    assert qt.data.set_index(["run", "protein_group"])["src_n_peptides"][("runA", "P1")] == 3


def test_looser_fdr_admits_the_target_behind_the_first_decoy(small):
    qt = read_mzid(small, fdr=0.2)
    assert _counts(qt)[("runA", "P3")] == 1
    assert read_mzid(small, fdr=0.12).data["protein_group"].isin(["P3"]).sum() == 0


def test_psm_level(small):
    qt = read_mzid(small, level="psm")
    assert qt.level == "psm" and len(qt.data) == 7
    assert sorted(qt.data["sequence"]) == sorted(["AAAAK", "CCCCK", "DDDDK", "EEEEK", "AAAAK", "DDDDK", "EEEEK"])
    assert set(qt.data.loc[qt.data["sequence"] == "DDDDK", "protein_group"]) == {"P1"}


def test_no_decoys_uses_pass_threshold(tmp_path):
    targets = [row for row in PSMS if not row[2][0][0].startswith("K")]
    p = tmp_path / "nodecoy.mzid"
    p.write_text(make_mzid(targets))
    qt = read_mzid(p)
    assert qt.meta["psm_filter"] == "passThreshold"
    assert ("runA", "P3") not in _counts(qt)  # FFFFK has passThreshold false


def test_gzip_gives_the_counts_worked_by_hand(small, tmp_path):
    gz = tmp_path / "small.mzid.gz"
    gz.write_bytes(gzip.compress(small.read_bytes()))
    qt = read_mzid(gz)
    assert qt.runs == ["runA", "runB"]  # run names from the locations, .mzML(.gz) dropped
    assert _counts(qt) == {("runA", "P1"): 3, ("runA", "P2"): 1, ("runB", "P1"): 2, ("runB", "P2"): 1}


def test_deterministic_and_independent_of_psm_order(small, tmp_path):
    """Reading twice gives the same table, and so does the same file with its PSMs in reverse order: the
    output order is defined (runs first seen, then protein group), not the file's."""
    a, b = read_mzid(small), read_mzid(small)
    assert a.data.equals(b.data) and a.meta == b.meta
    rev = tmp_path / "reversed.mzid"
    rev.write_text(make_mzid(psms=[PSMS[k] for k in (5, 4, 3, 2, 1, 0, 10, 9, 8, 7, 6)]))
    assert _counts(read_mzid(rev)) == _counts(a)
    assert a.data[["run", "protein_group"]].astype(str).values.tolist() == [
        ["runA", "P1"], ["runA", "P2"], ["runB", "P1"], ["runB", "P2"]]


def test_unknown_score_option(small):
    with pytest.raises(InputError, match="not found"):
        read_mzid(small, score="Mascot:score")


@pytest.mark.parametrize("mutate, what", [
    (lambda t: t.replace("</SpectrumIdentificationList>", ""), "well-formed"),
    (lambda t: t[: len(t) // 2], "well-formed"),
    (lambda t: t.replace("MzIdentML", "MzIdentMLX"), "root element"),
    (lambda t: t.replace('<SpectrumIdentificationResult', '<Other').replace('</SpectrumIdentificationResult>',
                                                                         '</Other>'), "no SpectrumIdentificationItem"),
    (lambda t: "", "empty"),
])
def test_bad_files(tmp_path, mutate, what):
    p = tmp_path / "bad.mzid"
    p.write_text(mutate(make_mzid()))
    with pytest.raises(InputError, match=what) as exc:
        read_mzid(p)
    assert str(p) in str(exc.value)


def test_not_well_formed_names_line(tmp_path):
    lines = make_mzid().splitlines()
    lines[3] = lines[3].replace("<SequenceCollection>", "<SequenceCollection <")
    p = tmp_path / "bad.mzid"
    p.write_text("\n".join(lines))
    with pytest.raises(InputError) as exc:
        read_mzid(p)
    assert exc.value.line == 4


def test_fake_gzip(tmp_path):
    p = tmp_path / "x.mzid.gz"
    p.write_text(make_mzid())
    with pytest.raises(InputError, match="not gzip"):
        read_mzid(p)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.data())
def test_mutated_real_file_gives_table_or_input_error(tmp_path, data):
    raw = bytearray(need_shared(*MZID).read_bytes())
    op = data.draw(st.sampled_from(["truncate", "delete", "flip", "insert"]))
    i = data.draw(st.integers(0, len(raw) - 1))
    if op == "truncate":
        raw = raw[:i]
    elif op == "delete":
        del raw[i: i + data.draw(st.integers(1, 400))]
    elif op == "flip":
        raw[i] = data.draw(st.sampled_from(list(b"<>\"=/ x0")))
    else:
        raw[i:i] = data.draw(st.sampled_from([b"<x>", b"</SpectrumIdentificationItem>", b'rank="2" ', b"&bad;"]))
    p = tmp_path / "mut.mzid"
    p.write_bytes(bytes(raw))
    try:
        qt = read_mzid(p)
    except InputError:
        return
    assert isinstance(qt, QuantTable)


def test_options_are_checked(small):
    with pytest.raises(InputError, match="unknown reader option"):
        read_mzid(small, colour="blue")
    with pytest.raises(InputError, match="fdr"):
        read_mzid(small, fdr="lots")
    with pytest.raises(InputError, match="fdr"):
        read_mzid(small, fdr=0)
    assert read_mzid(small, scale="auto").data.equals(read_mzid(small).data)
