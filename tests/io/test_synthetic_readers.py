"""Closed-form checks of the tabular readers on tiny files written by the tests themselves."""

from __future__ import annotations

import gzip

import numpy as np
import pandas as pd
import pytest

from proteomics.errors import InputError
from proteomics.io import detect, read

DIANN_HEADER = ["File.Name", "Run", "Protein.Group", "Protein.Ids", "Genes", "PG.MaxLFQ", "Precursor.Id",
                "Stripped.Sequence", "Precursor.Charge", "Q.Value", "PG.Q.Value", "Lib.PG.Q.Value",
                "Precursor.Quantity", "Precursor.Normalised"]


def _diann_rows():
    return [
        # file, run, pg, ids, genes, maxlfq, prec, seq, z, q, pgq, libpgq, quant, norm
        ["C:\\r\\A.raw", "A", "P1", "P1", "G1", "100", "PEPA2", "PEPA", "2", "0.001", "0.002", "0.001", "10", "11"],
        ["C:\\r\\A.raw", "A", "P1", "P1", "G1", "100", "PEPB2", "PEPB", "2", "0.02", "0.002", "0.001", "20", "21"],
        ["C:\\r\\B.raw", "B", "P1", "P1", "G1", "200", "PEPA2", "PEPA", "2", "0.005", "0.002", "0.001", "30", "31"],
        ["C:\\r\\B.raw", "B", "P2;P3", "P2;P3", "", "50", "PEPC3", "PEPC", "3", "0.001", "0.5", "0.001", "40", "41"],
        ["C:\\r\\B.raw", "B", "P4", "P4", "G4", "70", "PEPD2", "PEPD", "2", "0.001", "0.001", "0.2", "50", "51"],
        ["C:\\r\\A.raw", "A", "CON__P5", "CON__P5", "", "70", "PEPE2", "PEPE", "2", "0.001", "0.001", "0.001",
         "60", "61"],
        ["C:\\r\\A.raw", "A", "P6", "P6", "G6", "80", "PEPF2", "PEPF", "2", "0.001", "0.001", "0.001", "0", "0"],
    ]


def write_tsv(path, header, rows, sep="\t"):
    text = sep.join(header) + "\n" + "".join(sep.join(r) + "\n" for r in rows)
    if str(path).endswith(".gz"):
        with gzip.open(path, "wt") as fh:
            fh.write(text)
    else:
        path.write_text(text)
    return path


def test_diann_report_filters_and_columns(tmp_path):
    f = write_tsv(tmp_path / "report.tsv", DIANN_HEADER, _diann_rows())
    assert detect(f) == "diann_report"
    q = read(f)
    d = q.data
    # passing: rows 0, 2 (q ok, pg ok, lib ok), row 6 (quantity 0 -> NaN); contaminant row 5 dropped
    assert list(d["entity_id"]) == ["PEPA2", "PEPA2", "PEPF2"]
    assert list(d["run"].astype(str)) == ["A", "B", "A"]
    np.testing.assert_array_equal(d["intensity"].to_numpy(), [11.0, 31.0, np.nan])
    assert q.level == "precursor"
    assert list(d["charge"]) == [2, 2, 2]
    assert list(d["gene"]) == ["G1", "G1", "G6"]


def test_diann_report_keep_contaminants_and_fdr(tmp_path):
    f = write_tsv(tmp_path / "report.tsv.gz", DIANN_HEADER, _diann_rows())
    q = read(f, keep_contaminants=True, fdr=0.05)
    d = q.data
    assert "PEPE2" in set(d["entity_id"])
    assert bool(d.loc[d["entity_id"] == "PEPE2", "contaminant"].iloc[0]) is True
    assert "PEPB2" in set(d["entity_id"])  # q = 0.02 passes at 5 %


def test_diann_pg_maxlfq_protein_level(tmp_path):
    f = write_tsv(tmp_path / "report.tsv", DIANN_HEADER, _diann_rows())
    q = read(f, quantity="pg_maxlfq")
    d = q.data.sort_values(["run", "protein_group"])
    assert q.level == "protein"
    got = {(str(r), str(p)): (v, n) for r, p, v, n in zip(d["run"], d["protein_group"], d["intensity"], d["n_psm"],
                                                         strict=True)}
    assert got[("A", "P1")] == (100.0, 1)
    assert got[("B", "P1")] == (200.0, 1)
    assert got[("A", "P6")] == (80.0, 1)


def test_diann_run_falls_back_to_file_name(tmp_path):
    header = [c for c in DIANN_HEADER if c != "Run"]
    rows = [[v for i, v in enumerate(r) if i != 1] for r in _diann_rows()]
    q = read(write_tsv(tmp_path / "report.tsv", header, rows))
    assert q.runs == ["C:\\r\\A.raw", "C:\\r\\B.raw"]


def test_diann_unknown_option(tmp_path):
    f = write_tsv(tmp_path / "report.tsv", DIANN_HEADER, _diann_rows())
    with pytest.raises(InputError, match="unknown reader option"):
        read(f, bogus=1)


def test_diann_parquet_matches_tsv(tmp_path):
    f = write_tsv(tmp_path / "report.tsv", DIANN_HEADER, _diann_rows())
    df = pd.read_csv(f, sep="\t", dtype={"Genes": str}, keep_default_na=False)
    for c in ("PG.MaxLFQ", "Q.Value", "PG.Q.Value", "Lib.PG.Q.Value", "Precursor.Quantity",
              "Precursor.Normalised"):
        df[c] = df[c].astype(float)
    pq = tmp_path / "report.parquet"
    df.to_parquet(pq)
    assert detect(pq) == "diann_report"
    a, b = read(f).data, read(pq).data
    assert list(a["entity_id"]) == list(b["entity_id"])
    np.testing.assert_array_equal(a["intensity"].to_numpy(), b["intensity"].to_numpy())


PG_HEADER = ["Protein IDs", "Majority protein IDs", "Gene names", "Peptides", "Razor + unique peptides", "Q-value",
             "Intensity S1", "Intensity S2", "LFQ intensity S1", "LFQ intensity S2", "iBAQ S1", "iBAQ S2",
             "MS/MS count S1", "MS/MS count S2", "Only identified by site", "Reverse", "Potential contaminant"]
PG_ROWS = [
    ["P1;P1-2", "P1", "G1", "3", "3", "0", "10", "20", "11", "21", "1", "2", "4", "5", "", "", ""],
    ["P2", "P2", "G2", "2", "2", "0", "30", "0", "31", "0", "3", "0", "1", "0", "", "", ""],
    ["CON__P3", "CON__P3", "", "1", "1", "0", "5", "5", "5", "5", "1", "1", "1", "1", "", "", "+"],
    ["REV__P4", "REV__P4", "", "1", "1", "0.5", "5", "5", "5", "5", "1", "1", "1", "1", "", "+", ""],
    ["P5", "P5", "G5", "1", "1", "0", "7", "8", "7", "8", "1", "1", "1", "1", "+", "", ""],
]


def test_maxquant_protein_groups(tmp_path):
    f = write_tsv(tmp_path / "proteinGroups.txt", PG_HEADER, PG_ROWS)
    assert detect(f) == "maxquant_proteingroups"
    q = read(f)
    d = q.data
    assert q.level == "protein" and q.meta["quantity"] == "lfq"
    assert list(d["protein_group"].astype(str)) == ["P1;P1-2", "P2", "P1;P1-2", "P2"]
    assert list(d["run"].astype(str)) == ["S1", "S1", "S2", "S2"]
    np.testing.assert_array_equal(d["intensity"].to_numpy(), [11, 31, 21, np.nan])
    assert list(d["n_psm"]) == [4, 1, 5, 0]
    q2 = read(f, quantity="ms_ms_count")
    np.testing.assert_array_equal(q2.data["intensity"].to_numpy(), [4, 1, 5, np.nan])
    q3 = read(f, quantity="intensity", keep_contaminants=True, fdr=1.0)
    d3 = q3.data
    assert len(d3) == 10
    assert d3["contaminant"].sum() == 2 and d3["decoy"].sum() == 2
    assert d3["src_only_identified_by_site"].sum() == 2


def test_maxquant_bad_quantity(tmp_path):
    f = write_tsv(tmp_path / "proteinGroups.txt", PG_HEADER, PG_ROWS)
    with pytest.raises(InputError, match="unknown quantity"):
        read(f, quantity="nope")


def test_generic_linear_and_log2(tmp_path):
    lin = write_tsv(tmp_path / "m.tsv", ["protein", "r1", "r2"], [["A", "1000", "0"], ["B", "250", "NA"]])
    assert detect(lin) == "generic"
    q = read(lin)
    np.testing.assert_array_equal(q.data["intensity"].to_numpy(), [1000, 250, np.nan, np.nan])
    lg = write_tsv(tmp_path / "l.csv", ["protein", "r1", "r2"], [["A", "10", "0"], ["B", "20.5", ""]], sep=",")
    q = read(lg)
    assert q.meta["scale"] == "log2"
    np.testing.assert_allclose(q.data["intensity"].to_numpy(), [2 ** 10, 2 ** 20.5, 1.0, np.nan])
    q = read(lg, scale="linear")
    np.testing.assert_array_equal(q.data["intensity"].to_numpy(), [10, 20.5, np.nan, np.nan])


def test_generic_peptide_matrix(tmp_path):
    f = write_tsv(tmp_path / "pep.tsv", ["Peptide", "Protein", "s1", "s2"],
                  [["PEPA", "P1", "100", "200"], ["PEPB", "P1", "300", "400"]])
    q = read(f)
    assert q.level == "peptide"
    assert list(q.data["entity_id"]) == ["PEPA", "PEPB", "PEPA", "PEPB"]
    assert list(q.data["protein_group"].astype(str)) == ["P1"] * 4


def test_fragpipe_combined_protein_column_families(tmp_path):
    """FragPipe 20+ writes several per-run families; each quantity picks exactly its own columns."""
    fam = ["Spectral Count", "Unique Spectral Count", "Total Spectral Count", "Intensity", "Unique Intensity",
           "Razor Intensity", "MaxLFQ Intensity"]
    header = ["Protein", "Protein ID", "Entry Name", "Gene", "Combined Spectral Count", "Combined Total Peptides"]
    header += [f"{s} {f}" for s in ("S1", "S2") for f in fam]
    row = ["sp|P1|A_HUMAN", "P1", "A_HUMAN", "GA", "9", "3"]
    row += [str(10 * (k + 1) + j) for j in range(2) for k in range(len(fam))]
    f = write_tsv(tmp_path / "combined_protein.tsv", header, [row])
    assert detect(f) == "fragpipe_combined_protein"
    q = read(f)
    assert q.meta["quantity"] == "maxlfq" and q.runs == ["S1", "S2"]
    assert q.data["intensity"].tolist() == [70.0, 71.0]
    assert read(f, quantity="spectral_count").data["intensity"].tolist() == [10.0, 11.0]
    assert read(f, quantity="intensity").data["intensity"].tolist() == [40.0, 41.0]
    assert read(f, quantity="unique_spectral_count").data["intensity"].tolist() == [20.0, 21.0]
    assert list(q.data["protein_group"].astype(str)) == ["sp|P1|A_HUMAN"] * 2


SN_HEADER = ["R.FileName", "PG.ProteinGroups", "PG.Genes", "PG.Qvalue", "PG.Quantity", "EG.PrecursorId",
             "EG.Qvalue", "EG.IsDecoy", "FG.Charge", "FG.Quantity", "F.FrgIon"]


def test_spectronaut_filters_decoys_and_fragment_rows(tmp_path):
    rows = [["r1", "P1", "G1", "0,001", "1000,5", "_PEPA_.2", "0,001", "False", "2", "100,25", "y3"],
            ["r1", "P1", "G1", "0,001", "1000,5", "_PEPA_.2", "0,001", "False", "2", "100,25", "y4"],
            ["r1", "P1", "G1", "0,001", "1000,5", "_PEPB_.3", "0,02", "False", "3", "50", "y3"],
            ["r1", "P2", "G2", "0,001", "20", "_PEPC_.2", "0,001", "True", "2", "7", "y3"],
            ["r2", "P1", "G1", "0,001", "900", "_PEPA_.2", "0,001", "False", "2", "Filtered", "y3"]]
    f = write_tsv(tmp_path / "Report.tsv", SN_HEADER, rows)
    assert detect(f) == "spectronaut"
    q = read(f)
    assert list(q.data["entity_id"]) == ["_PEPA_.2", "_PEPA_.2"]
    np.testing.assert_array_equal(q.data["intensity"].to_numpy(), [100.25, np.nan])
    p = read(f, quantity="pg")
    assert p.level == "protein"
    np.testing.assert_array_equal(p.data["intensity"].to_numpy(), [1000.5, 900.0])


EV_HEADER = ["Sequence", "Modified sequence", "Proteins", "Leading razor protein", "Raw file", "Charge", "Intensity",
             "Reverse", "Potential contaminant"]


def test_maxquant_evidence_one_row_per_precursor(tmp_path):
    rows = [["PEPA", "_PEPA_", "P1;P2", "P1", "run1", "2", "100", "", ""],
            ["PEPA", "_PEPA_", "P1;P2", "P1", "run1", "2", "300", "", ""],
            ["PEPA", "_PEPA_", "P1;P2", "P1", "run1", "3", "50", "", ""],
            ["PEPB", "_PEPB_", "", "P3", "run2", "2", "0", "", ""],
            ["PEPC", "_PEPC_", "REV__P9", "REV__P9", "run2", "2", "10", "+", ""]]
    f = write_tsv(tmp_path / "evidence.txt", EV_HEADER, rows)
    assert detect(f) == "maxquant_evidence"
    d = read(f).data
    assert list(d["entity_id"]) == ["_PEPA_2", "_PEPA_3", "_PEPB_2"]
    np.testing.assert_array_equal(d["intensity"].to_numpy(), [300.0, 50.0, np.nan])
    assert list(d["n_psm"]) == [2, 1, 1]
    assert list(d["protein_group"].astype(str)) == ["P1;P2", "P1;P2", "P3"]  # razor protein when Proteins empty


def test_wide_matrices_with_headers_longer_than_the_peek(tmp_path):
    """2,000 runs with long names: a header of ~200 kB (the format peek reads 64 KiB)."""
    runs = [f"D:\\\\data\\\\cohort\\\\plasma_batch{i // 100:02d}_sample_{i:05d}_replicate_1.raw" for i in range(2000)]
    vals = [str(1000 + i) for i in range(2000)]
    g = write_tsv(tmp_path / "matrix.tsv", ["protein", *runs], [["P1", *vals], ["P2", *vals]])
    assert detect(g) == "generic"
    q = read(g)
    assert q.n_runs == 2000 and q.runs[-1] == runs[-1]
    pg = write_tsv(tmp_path / "report.pg_matrix.tsv", ["Protein.Group", "Protein.Names", "Genes", *runs],
                   [["P1", "N1", "G1", *vals]])
    assert detect(pg) == "diann_pg_matrix"
    q = read(pg)
    assert q.n_runs == 2000 and q.data["intensity"].iloc[-1] == 2999.0


def test_maxquant_ibaq_peptides_column_is_not_a_run(tmp_path):
    header = ["Protein IDs", "Majority protein IDs", "iBAQ peptides", "iBAQ", "iBAQ S1", "iBAQ S2"]
    f = write_tsv(tmp_path / "proteinGroups.txt", header, [["P1", "P1", "12", "30", "10", "20"]])
    q = read(f, quantity="ibaq")
    assert q.runs == ["S1", "S2"] and q.data["intensity"].tolist() == [10.0, 20.0]
