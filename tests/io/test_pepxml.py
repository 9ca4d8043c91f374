"""pepXML reader: the pyteomics example (counts re-derived with lxml here) and small hand-written pepXML files
whose expected spectral counts are worked out by hand below."""

from __future__ import annotations

import gzip
from collections import Counter

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from proteomics.errors import InputError
from proteomics.io import read
from proteomics.io.pepxml import read_pepxml, sniff_pepxml
from proteomics.io.registry import peek
from proteomics.io.table import QuantTable
from tests.conftest import need_shared

PEPXML = ("pyteomics_tests", "test.pep.xml")
NS = {"p": "http://regis-web.systemsbiology.net/pepXML"}


def _lxml_counts(path, min_prob):
    t = etree.parse(str(path))
    counts, total = Counter(), 0
    for hit in t.iterfind(".//p:search_hit", NS):
        if hit.get("hit_rank") != "1":
            continue
        total += 1
        pp = hit.find(".//p:peptideprophet_result", NS)
        if pp is not None and float(pp.get("probability")) >= min_prob:
            counts[hit.get("protein")] += 1
    return counts, total


@pytest.mark.parametrize("min_prob", [0.9, 0.5])
def test_pyteomics_example_peptideprophet_threshold(min_prob):
    path = need_shared(*PEPXML)
    qt = read_pepxml(path, min_probability=min_prob)
    expected, total = _lxml_counts(path, min_prob)
    assert qt.data.set_index("protein_group")["n_psm"].to_dict() == dict(expected)
    assert qt.meta["n_psms_total"] == total
    assert qt.runs == ["pps_sl20060731_18mix_25ul_r1_1154456409"]
    assert qt.meta["psm_filter"].startswith("(i/Peptide)Prophet probability")


def test_detect():
    path = need_shared(*PEPXML)
    assert read(path).format == "pepxml"
    assert sniff_pepxml(peek(path)) == 1.0
    assert sniff_pepxml(peek(need_shared("pyteomics_tests", "test.mzid"))) == 0.0


def make_pepxml(runs) -> str:
    """runs: [(base_name, raw_data, [(peptide, [proteins], {score: value}, pp_prob, ip_prob)])]."""
    out = ['<?xml version="1.0" encoding="UTF-8"?>',
           '<msms_pipeline_analysis xmlns="http://regis-web.systemsbiology.net/pepXML" date="2024-01-01">']
    idx = 0
    for base, raw, queries in runs:
        out.append(f'<msms_run_summary base_name="{base}" raw_data_type="raw" raw_data="{raw}">')
        for pep, prots, scores, pp, ip in queries:
            idx += 1
            alts = "".join(f'<alternative_protein protein="{p}"/>' for p in prots[1:])
            sc = "".join(f'<search_score name="{k}" value="{v}"/>' for k, v in scores.items())
            ar = ""
            if pp is not None:
                ar += (f'<analysis_result analysis="peptideprophet"><peptideprophet_result probability="{pp}" '
                       'all_ntt_prob="(0,0,0)"/></analysis_result>')
            if ip is not None:
                ar += (f'<analysis_result analysis="interprophet"><interprophet_result probability="{ip}" '
                       'all_ntt_prob="(0,0,0)"/></analysis_result>')
            out.append(f'<spectrum_query spectrum="s.{idx}.{idx}.2" start_scan="{idx}" end_scan="{idx}" '
                       f'precursor_neutral_mass="1000" assumed_charge="2" index="{idx}"><search_result>'
                       f'<search_hit hit_rank="1" peptide="{pep}" protein="{prots[0]}" num_tot_proteins='
                       f'"{len(prots)}" calc_neutral_pep_mass="1000" massdiff="0">{alts}{sc}{ar}</search_hit>'
                       f'<search_hit hit_rank="2" peptide="WRONGK" protein="Z9" num_tot_proteins="1" '
                       f'calc_neutral_pep_mass="1000" massdiff="0"><search_score name="expect" value="1e-20"/>'
                       f'</search_hit></search_result></spectrum_query>')
        out.append("</msms_run_summary>")
    out.append("</msms_pipeline_analysis>")
    return "\n".join(out)


TD_RUNS = [
    ("/data/run1", ".mzML", [("PEPTIDEA", ["X1"], {"expect": 1e-6}, None, None),
                             ("PEPTIDEB", ["X1", "X2"], {"expect": 1e-5}, None, None),
                             ("PEPTIDEC", ["X2"], {"expect": 1e-4}, None, None),
                             ("KEDITPEP", ["DECOY_X9"], {"expect": 0.5}, None, None)]),
    ("C:\\data\\run2.mzML", ".mzML", [("PEPTIDEA", ["X1"], {"expect": 2e-6}, None, None),
                                      ("PEPTIDEC", ["X2"], {"expect": 3e-4}, None, None),
                                      ("PEPTIDED", ["X3"], {"expect": 0.9}, None, None),
                                      ("KEDITPEPX", ["DECOY_X8"], {"expect": 0.05}, None, None)]),
]


def _counts(qt):
    return {(r, g): n for r, g, n in qt.data[["run", "protein_group", "n_psm"]].itertuples(index=False)}


def test_target_decoy_by_hand(tmp_path):
    # expect sorted: five targets 1e-6 … 3e-4, decoys 0.05 and 0.5, target PEPTIDED 0.9 (q = 2/6): five pass.
    # PEPTIDEB is shared by X1 {A, B} and X2 {B, C}: equal sizes, so razor goes to the first name, X1.
    # The rank-2 hits (expect 1e-20) are ignored.
    p = tmp_path / "td.pep.xml"
    p.write_text(make_pepxml(TD_RUNS))
    qt = read_pepxml(p)
    assert qt.runs == ["run1", "run2"]
    assert _counts(qt) == {("run1", "X1"): 2, ("run1", "X2"): 1, ("run2", "X1"): 1, ("run2", "X2"): 1}
    assert qt.meta["score"] == "expect" and qt.meta["n_decoy_psms"] == 2
    assert qt.meta["protein_filter"].startswith("picked")
    # PEPTIDED: PSM q = 2/6; X3's picked protein q = 2/3 (list X1, X2, DECOY_X8, DECOY_X9, X3)
    assert read_pepxml(p, fdr=0.5).data["protein_group"].eq("X3").sum() == 0  # PSM passes, protein fails
    assert read_pepxml(p, fdr=0.7).data["protein_group"].eq("X3").sum() == 1


def test_prophet_threshold_prefers_iprophet(tmp_path):
    runs = [("/d/r1", ".mzML", [("PEPTIDEA", ["X1"], {"expect": 1e-6}, 0.99, None),
                                ("PEPTIDEB", ["X2"], {"expect": 1e-6}, 0.95, 0.5),
                                ("PEPTIDEC", ["X3"], {"expect": 1e-6}, 0.5, 0.95),
                                ("PEPTIDED", ["X4"], {"expect": 1e-6}, None, None)])]
    p = tmp_path / "pp.pep.xml"
    p.write_text(make_pepxml(runs))
    qt = read_pepxml(p)
    assert set(qt.data["protein_group"]) == {"X1", "X3"}


def test_no_decoys_no_probability_is_unfiltered_with_warning(tmp_path):
    runs = [("/d/r1", ".mzML", [("PEPTIDEA", ["X1"], {"expect": 5.0}, None, None),
                                ("PEPTIDEB", ["X2"], {"expect": 1e-6}, None, None)])]
    p = tmp_path / "raw.pep.xml"
    p.write_text(make_pepxml(runs))
    qt = read_pepxml(p)
    assert set(qt.data["protein_group"]) == {"X1", "X2"}
    assert qt.meta["psm_filter"] == "none" and qt.meta["warnings"]


def test_gzip_same(tmp_path):
    p = tmp_path / "td.pep.xml"
    p.write_text(make_pepxml(TD_RUNS))
    gz = tmp_path / "td.pep.xml.gz"
    gz.write_bytes(gzip.compress(p.read_bytes()))
    assert read_pepxml(gz).data.equals(read_pepxml(p).data)


@pytest.mark.parametrize("mutate, what", [
    (lambda t: t[: len(t) // 2], "well-formed"),
    (lambda t: t.replace("msms_pipeline_analysis", "something_else"), "root element"),
    (lambda t: t.replace("<search_hit", "<other_hit").replace("</search_hit>", "</other_hit>"), "no search_hit"),
    (lambda t: "   \n", "empty"),
])
def test_bad_files(tmp_path, mutate, what):
    p = tmp_path / "bad.pep.xml"
    p.write_text(mutate(make_pepxml(TD_RUNS)))
    with pytest.raises(InputError, match=what) as exc:
        read_pepxml(p)
    assert str(p) in str(exc.value)


def test_not_well_formed_names_line(tmp_path):
    lines = make_pepxml(TD_RUNS).splitlines()
    lines[4] = lines[4].replace("<spectrum_query", "<spectrum_query <")
    p = tmp_path / "bad.pep.xml"
    p.write_text("\n".join(lines))
    with pytest.raises(InputError) as exc:
        read_pepxml(p)
    assert exc.value.line == 5


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.data())
def test_mutated_real_file_gives_table_or_input_error(tmp_path, data):
    raw = bytearray(need_shared(*PEPXML).read_bytes())
    op = data.draw(st.sampled_from(["truncate", "delete", "flip", "insert"]))
    i = data.draw(st.integers(0, len(raw) - 1))
    if op == "truncate":
        raw = raw[:i]
    elif op == "delete":
        del raw[i: i + data.draw(st.integers(1, 400))]
    elif op == "flip":
        raw[i] = data.draw(st.sampled_from(list(b"<>\"=/ x0")))
    else:
        raw[i:i] = data.draw(st.sampled_from([b"<x>", b"</search_hit>", b'hit_rank="x" ', b"&bad;",
                                              b'<search_score name="expect" value="abc"/>']))
    p = tmp_path / "mut.pep.xml"
    p.write_bytes(bytes(raw))
    try:
        qt = read_pepxml(p)
    except InputError:
        return
    assert isinstance(qt, QuantTable)


def test_contaminants_dropped_unless_kept(tmp_path):
    runs = [("/d/r1", ".mzML", [("PEPTIDEA", ["X1"], {"expect": 1e-6}, 0.99, None),
                                ("PEPTIDEK", ["CON__P00761"], {"expect": 1e-6}, 0.99, None)])]
    p = tmp_path / "c.pep.xml"
    p.write_text(make_pepxml(runs))
    assert set(read_pepxml(p).data["protein_group"]) == {"X1"}
    kept = read_pepxml(p, keep_contaminants=True).data.set_index("protein_group")["contaminant"].to_dict()
    assert kept == {"CON__P00761": True, "X1": False}
