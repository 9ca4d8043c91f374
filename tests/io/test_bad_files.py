"""Bad inputs give InputError with path, line and column where meaningful (small files written here)."""

from __future__ import annotations

import gzip

import numpy as np
import pytest

from proteomics.errors import InputError
from proteomics.io import read

HEADER = "Run\tProtein.Group\tPrecursor.Id\tQ.Value\tPG.Q.Value\tPrecursor.Normalised\n"
ROW = "A\tP1\tPEPK2\t0.001\t0.001\t{}\n"


def _report(tmp_path, values, name="report.tsv"):
    f = tmp_path / name
    f.write_text(HEADER + "".join(ROW.format(v) for v in values))
    return f


def test_header_without_rows(tmp_path):
    f = tmp_path / "report.tsv"
    f.write_text(HEADER)
    with pytest.raises(InputError, match="header without data rows") as err:
        read(f, format="diann_report")
    assert err.value.path == str(f) and err.value.line == 2


def test_non_numeric_intensity_line_and_column(tmp_path):
    f = _report(tmp_path, ["10", "20", "abc", "30"])
    with pytest.raises(InputError, match="non-numeric value 'abc'") as err:
        read(f, format="diann_report")
    assert err.value.line == 4 and err.value.column == "Precursor.Normalised"


def test_negative_intensity(tmp_path):
    f = _report(tmp_path, ["10", "-2"])
    with pytest.raises(InputError, match="negative") as err:
        read(f, format="diann_report")
    assert err.value.line == 3


def test_nan_strings_are_missing_and_inf_is_refused(tmp_path):
    q = read(_report(tmp_path, ["10", "NaN", "NA", "", "nan"]), format="diann_report")
    assert np.isnan(q.data["intensity"].to_numpy()[1:]).all()
    with pytest.raises(InputError, match="infinite") as err:
        read(_report(tmp_path, ["10", "inf"], name="r2.tsv"), format="diann_report")
    assert err.value.line == 3 and err.value.column == "Precursor.Normalised"


def test_mixed_decimal_marks_across_rows(tmp_path):
    f = _report(tmp_path, ["10.5", "20,5"])
    with pytest.raises(InputError, match="mixed decimal marks") as err:
        read(f, format="diann_report")
    assert err.value.line == 3


def test_consistent_decimal_commas_are_converted(tmp_path):
    f = tmp_path / "report.tsv"
    f.write_text(HEADER.replace("PEPK2\t", "PEPK2\t") + "A\tP1\tPEPK2\t0,001\t0,001\t10,5\n"
                 "A\tP2\tPEPR2\t0,002\t0,001\t1,25E+03\n")
    q = read(f, format="diann_report")
    np.testing.assert_array_equal(q.data["intensity"].to_numpy(), [10.5, 1250.0])


def test_truncated_row_in_the_middle(tmp_path):
    f = tmp_path / "report.tsv"
    f.write_text(HEADER + ROW.format("10") + "A\tP1\tPEPK2\n" + ROW.format("20"))
    with pytest.raises(InputError, match="fields") as err:
        read(f, format="diann_report")
    assert err.value.line == 3


def test_too_many_fields(tmp_path):
    f = tmp_path / "report.tsv"
    f.write_text(HEADER + ROW.format("10") + ROW.format("20").rstrip("\n") + "\textra\n")
    with pytest.raises(InputError, match="fields") as err:
        read(f, format="diann_report")
    assert err.value.line == 3


def test_missing_column_lists_close_matches(tmp_path):
    f = tmp_path / "report.tsv"
    f.write_text(HEADER.replace("Protein.Group", "Protein.Grp") + ROW.format("10"))
    with pytest.raises(InputError) as err:
        read(f, format="diann_report")
    assert "'Protein.Group'" in str(err.value) and "Protein.Grp" in str(err.value)


def test_encodings(tmp_path):
    text = HEADER + ROW.format("10.5")
    for enc, name in (("utf-8-sig", "bom.tsv"), ("utf-16", "u16.tsv")):
        f = tmp_path / name
        f.write_bytes(text.encode(enc))
        q = read(f, format="diann_report")
        assert q.data["intensity"].tolist() == [10.5]
    f = tmp_path / "latin1.tsv"
    f.write_bytes((HEADER + "A\tP\xe9\tPEPK2\t0.001\t0.001\t1\n").encode("latin-1"))
    with pytest.raises(InputError, match="UTF-8"):
        read(f, format="diann_report")


def test_nul_bytes_gzip_and_directory(tmp_path):
    f = tmp_path / "nul.tsv"
    f.write_bytes(HEADER.encode() + b"A\x00\tP1\n")
    with pytest.raises(InputError, match="NUL"):
        read(f, format="diann_report")
    g = tmp_path / "report.tsv.gz"
    g.write_text(HEADER + ROW.format("1"))
    with pytest.raises(InputError, match="not gzip"):
        read(g, format="diann_report")
    bad = tmp_path / "bad.tsv.gz"
    bad.write_bytes(gzip.compress((HEADER + ROW.format("1")).encode())[:30])
    with pytest.raises(InputError):
        read(bad, format="diann_report")
    with pytest.raises(InputError, match="directory"):
        read(tmp_path, format="diann_report")
    with pytest.raises(InputError, match="not found"):
        read(tmp_path / "nope.tsv")


def test_unknown_format_and_options(tmp_path):
    f = _report(tmp_path, ["1"])
    with pytest.raises(InputError, match="unknown format"):
        read(f, format="nope")
    with pytest.raises(InputError, match="unknown quantity"):
        read(f, quantity="x")
    with pytest.raises(InputError, match="fdr"):
        read(f, fdr=2)
    with pytest.raises(InputError, match="unknown reader option"):
        read(f, format="generic", zzz=1)


def test_generic_bad_scale_and_duplicate_runs(tmp_path):
    f = tmp_path / "m.tsv"
    f.write_text("protein\tr1\tr1\nA\t1000\t2000\n")
    with pytest.raises(InputError, match="r1") as err:
        read(f)
    assert err.value.line == 1
    g = tmp_path / "n.tsv"
    g.write_text("protein\tr1\tr2\nA\t1000\t2000\n")
    with pytest.raises(InputError, match="scale"):
        read(g, scale="ln")
    with pytest.raises(InputError, match="cannot be log2"):
        read(g, scale="log2")


def test_short_trailing_fields_are_read_as_missing_when_unused(tmp_path):
    """MaxQuant leaves out trailing empty fields; rows missing only unused columns are read."""
    header = "Protein IDs\tMajority protein IDs\tLFQ intensity A\tLFQ intensity B\tExtra1\tExtra2\n"
    f = tmp_path / "proteinGroups.txt"
    f.write_text(header + "P1\tP1\t10\t20\n" + "P2\tP2\t30\t40\tx\ty\n")
    q = read(f)
    assert q.data["intensity"].tolist() == [10, 30, 20, 40]
    g = tmp_path / "pg2.txt"
    g.write_text(header + "P1\tP1\t10\n" + "P2\tP2\t30\t40\tx\ty\n")  # lacks a used field
    with pytest.raises(InputError, match="truncated row") as err:
        read(g, format="maxquant_proteingroups")
    assert err.value.line == 2


def test_maxquant_rows_without_their_empty_trailing_flags_are_read(tmp_path):
    """Excel's tab-delimited save (and trimmed exports) drop a row's trailing empty fields: MaxQuant's flag
    columns come last and are empty unless "+", so a row lacking only them is read, a "+" still drops its row,
    and a row lacking an intensity is still refused. Only Protein IDs + a flag column + intensities: detected."""
    header = "Protein IDs\tLFQ intensity A\tLFQ intensity B\tOnly identified by site\tReverse\tPotential contaminant\n"
    f = tmp_path / "proteinGroups.txt"
    f.write_text(header + "P1\t10\t20\n" + "REV__P9\t5\t6\t\t+\n" + "P2\t30\t40\t\t\t\n")
    q = read(f)
    assert q.format == "maxquant_proteingroups"
    pairs = sorted(zip(q.data["protein_group"], q.data["intensity"], strict=True))
    assert pairs == [("P1", 10), ("P1", 20), ("P2", 30), ("P2", 40)]
    g = tmp_path / "pg2.txt"
    g.write_text(header + "P1\t10\n" + "P2\t30\t40\t\t\t\n")  # lacks an intensity
    with pytest.raises(InputError, match="truncated row") as err:
        read(g)
    assert err.value.line == 2


def test_common_options_accepted_by_every_tool_reader(tmp_path):
    """`fdr` and `scale` may be passed uniformly; scale=log2 makes no sense for a tool's linear export."""
    f = _report(tmp_path, ["10"])
    assert read(f, fdr=0.05, scale="auto", keep_contaminants=True).data["intensity"].tolist() == [10.0]
    with pytest.raises(InputError, match="linear intensities"):
        read(f, scale="log2")
    pg = tmp_path / "proteinGroups.txt"
    pg.write_text("Protein IDs\tMajority protein IDs\tLFQ intensity A\nP1\tP1\t5\n")
    assert read(pg, fdr=0.01, scale="linear").data["intensity"].tolist() == [5.0]
    with pytest.raises(InputError, match="fdr"):
        read(pg, fdr="x")


def test_quotes_in_tsv_text_fields_are_kept(tmp_path):
    """Tab-separated tool exports do not quote: a name starting with '"' is text, not a quoted field."""
    f = tmp_path / "proteinGroups.txt"
    f.write_text('Protein IDs\tMajority protein IDs\tProtein names\tLFQ intensity A\n'
                 'P1\tP1\t"odd name\t5\nP2\tP2\tok\t6\n')
    assert read(f).data["intensity"].tolist() == [5.0, 6.0]
    g = tmp_path / "m.tsv"  # R's write.table quotes strings and the header
    g.write_text('"protein"\t"s1"\t"s2"\n"P1"\t1000\t2000\n')
    q = read(g)
    assert list(q.data["protein_group"].astype(str)) == ["P1", "P1"] and q.runs == ["s1", "s2"]


def test_no_row_passing_the_filters_is_an_error(tmp_path):
    f = _report(tmp_path, ["10"])
    with pytest.raises(InputError, match="no rows pass the q-value filters"):
        read(f, fdr=0.0001)


def test_excel_style_csv_semicolons_crlf_decimal_commas(tmp_path):
    f = tmp_path / "matrix.csv"
    f.write_bytes(b"Protein;S1;S2\r\nP1;1234,5;2000\r\nP2;;300,25\r\n")
    q = read(f)
    assert q.format == "generic" and q.runs == ["S1", "S2"]
    np.testing.assert_array_equal(q.data["intensity"].to_numpy(), [1234.5, np.nan, 2000.0, 300.25])
