"""SampleSheet: reading (CSV/TSV/SDRF, encodings), validation errors with positions, run matching, selections."""

from __future__ import annotations

import logging

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from proteomics.errors import InputError
from proteomics.samples import SPECIMENS, SampleSheet, normalise_specimen, run_basename, run_stem
from tests.conftest import SAMPLE_DATA, need_shared

HEADER = "run,sample,subject,specimen,condition,batch,age,sex"
ROWS = [
    "P001_plasma_b1.raw,P001_plasma,P001,Plasma,cancer,1,61,F",
    "P002_plasma_b1.raw,P002_plasma,P002,blood plasma,control,1,,M",
    r"C:\data\P003_plasma_b2.raw,P003_plasma,P003,plasma,control,2,70.5,M",
    "/data/P004_plasma_b2.d,P004_plasma,P004,plasma,cancer,2,55,F",
]


def _write(tmp_path, text: str, name: str = "sheet.csv", encoding: str = "utf-8") -> str:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return str(path)


def _sheet(tmp_path, rows=ROWS, header=HEADER, sep=",", **kw):
    text = "\n".join([header.replace(",", sep)] + [r.replace(",", sep) for r in rows]) + "\n"
    return SampleSheet.read(_write(tmp_path, text, **kw))


def _error(fn, *args, **kw) -> InputError:
    with pytest.raises(InputError) as info:
        fn(*args, **kw)
    return info.value


# ------------------------------------------------------------------------------------------ reading

def test_read_csv_table_layout_and_types(tmp_path):
    s = _sheet(tmp_path)
    t = s.table
    assert t.index.name == "sample"
    assert s.samples == ["P001_plasma", "P002_plasma", "P003_plasma", "P004_plasma"]  # file order
    assert list(t.columns) == ["run", "subject", "specimen", "condition", "batch", "age", "sex"]
    assert t["specimen"].tolist() == ["plasma"] * 4  # "Plasma", "blood plasma" normalised
    assert t["batch"].tolist() == ["1", "1", "2", "2"]  # batch is a label, not a number
    assert t["age"].dtype.kind == "f" and pd.isna(t.loc["P002_plasma", "age"]) and t["age"].iloc[2] == 70.5
    assert t["sex"].tolist() == ["F", "M", "M", "F"]
    assert s.runs[2] == r"C:\data\P003_plasma_b2.raw"


def test_integer_covariate_stays_integer_and_table_is_a_copy(tmp_path):
    rows = [r.replace(",,M", ",60,M").replace("70.5", "70") for r in ROWS]
    s = _sheet(tmp_path, rows)
    assert s.table["age"].dtype == "int64"
    t = s.table
    t.loc["P001_plasma", "condition"] = "changed"
    assert s.table.loc["P001_plasma", "condition"] == "cancer"


def test_empty_text_covariate_cell_is_missing_not_a_class_named_nan(tmp_path):
    rows = [r + ("," if i == 1 else ",yes" if i % 2 == 0 else ",no") for i, r in enumerate(ROWS)]
    s = _sheet(tmp_path, rows, header=HEADER + ",smoker")
    smoker = s.table["smoker"]
    assert pd.isna(smoker.loc["P002_plasma"]) and "nan" not in smoker.astype(object).dropna().tolist()
    assert sorted(smoker.dropna().unique()) == ["no", "yes"]
    # a design that uses it says which sample has no value, instead of fitting a third class "nan"
    from proteomics.stats.design import make_design

    with pytest.raises(InputError, match="P002_plasma"):
        make_design(s.table, "condition", ["smoker"])


def _expected_rows() -> dict[str, list]:
    """ROWS as a person reads them (independent of the reader): specimens normalised, batch a label, age a number."""
    return {"run": ["P001_plasma_b1.raw", "P002_plasma_b1.raw", r"C:\data\P003_plasma_b2.raw",
                    "/data/P004_plasma_b2.d"],
            "sample": ["P001_plasma", "P002_plasma", "P003_plasma", "P004_plasma"],
            "subject": ["P001", "P002", "P003", "P004"], "specimen": ["plasma"] * 4,
            "condition": ["cancer", "control", "control", "cancer"], "batch": ["1", "1", "2", "2"],
            "age": [61.0, None, 70.5, 55.0], "sex": ["F", "M", "M", "F"]}


def _as_rows(sheet: SampleSheet) -> dict[str, list]:
    t = sheet.table.reset_index()
    return {c: [None if pd.isna(v) else v for v in t[c].tolist()] for c in t.columns}


@pytest.mark.parametrize("sep", [",", "\t", ";"])
def test_delimiter_is_sniffed(tmp_path, sep):
    assert _as_rows(_sheet(tmp_path, sep=sep)) == _expected_rows()


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16", "utf-16-le", "utf-16-be"])
def test_encodings_decoded(tmp_path, encoding):
    assert _as_rows(_sheet(tmp_path, encoding=encoding)) == _expected_rows()


def test_undecodable_bytes_refused_with_line(tmp_path):
    rows = ROWS[:2] + ["P005_plasma_b1.raw,P005_plasma,Pé05,plasma,cancer,1,60,F"]
    err = _error(_sheet, tmp_path, rows, encoding="latin-1")
    assert err.line == 4 and "UTF-8" in str(err) and err.hint


def test_header_names_case_insensitive(tmp_path):
    s = _sheet(tmp_path, header="Run,Sample,Subject,Specimen,Condition,Batch,age,sex")
    assert list(s.table.columns)[:5] == ["run", "subject", "specimen", "condition", "batch"]


def test_blank_lines_skipped_but_counted(tmp_path):
    text = HEADER + "\n\n" + ROWS[0] + "\n\n" + ROWS[0].replace("P001", "P009").replace("Plasma", "serum!") + "\n"
    err = _error(SampleSheet.read, _write(tmp_path, text))
    assert err.line == 5 and err.column == "specimen"


# ------------------------------------------------------------------------------------------ validation

def test_missing_required_column_lists_close_matches(tmp_path):
    err = _error(_sheet, tmp_path, [r for r in ROWS], header=HEADER.replace("condition", "conditon"))
    assert err.line == 1 and err.column == "condition"
    assert "'condition'" in str(err) and "conditon" in str(err)


def test_duplicate_run_names_both_lines(tmp_path):
    rows = ROWS + ["P001_plasma_b1.raw,P009_plasma,P009,plasma,cancer,1,60,F"]
    err = _error(_sheet, tmp_path, rows)
    assert (err.line, err.column) == (6, "run") and "line 2" in str(err) and err.hint


def test_duplicate_sample(tmp_path):
    rows = ROWS + ["P009_plasma_b1.raw,P003_plasma,P009,plasma,cancer,1,60,F"]
    err = _error(_sheet, tmp_path, rows)
    assert (err.line, err.column) == (6, "sample") and "line 4" in str(err)


def test_empty_required_cell(tmp_path):
    rows = ROWS[:2] + ["P003_plasma_b2.raw,P003_plasma,,plasma,control,2,70,M"]
    err = _error(_sheet, tmp_path, rows)
    assert (err.line, err.column) == (4, "subject")


def test_unknown_specimen(tmp_path):
    rows = ROWS[:1] + ["P002_b1.raw,P002,P002,urine,control,1,60,M"]
    err = _error(_sheet, tmp_path, rows)
    assert (err.line, err.column) == (3, "specimen") and "urine" in str(err)
    assert all(v in err.hint for v in SPECIMENS)


@pytest.mark.parametrize("value, expected", [("bal", "BAL"), ("BAL", "BAL"), ("Bronchoalveolar lavage", "BAL"),
                                             ("bronchoalveolar lavage fluid", "BAL"), ("Plasma", "plasma"),
                                             ("SERUM", "serum"), ("induced sputum", "sputum"), ("Tissue", "tissue"),
                                             ("other", "other"), ("urine", None)])
def test_specimen_aliases(value, expected):
    assert normalise_specimen(value) == expected


@pytest.mark.parametrize("text", ["", "\n\n  \n", HEADER + "\n", HEADER + "\n\n\n"])
def test_empty_sheet(tmp_path, text):
    err = _error(SampleSheet.read, _write(tmp_path, text))
    assert err.line == 1


def test_row_with_extra_fields(tmp_path):
    err = _error(_sheet, tmp_path, ROWS[:1] + [ROWS[1] + ",extra"])
    assert err.line == 3


def test_missing_file(tmp_path):
    err = _error(SampleSheet.read, tmp_path / "nope.csv")
    assert "not found" in str(err)


def test_from_frame_matches_read(tmp_path):
    s = _sheet(tmp_path)
    df = pd.read_csv(tmp_path / "sheet.csv", dtype={"batch": str})
    assert SampleSheet.from_frame(df).table.equals(s.table)
    assert SampleSheet.from_frame(s.table).table.equals(s.table)  # sample as index
    bad = df.copy()
    bad.loc[2, "sample"] = "P001_plasma"
    err = _error(SampleSheet.from_frame, bad, path="frame.csv")
    assert err.line == 4 and err.column == "sample"


# ------------------------------------------------------------------------------------------ run matching

def test_match_runs_full_basename_and_stem(tmp_path):
    s = _sheet(tmp_path)
    data = ["P001_plasma_b1.raw",                 # full string
            "/mnt/x/P002_plasma_b1.raw",          # basename (POSIX)
            "P003_plasma_b2",                     # stem of a Windows path in the sheet
            r"D:\runs\P004_plasma_b2.mzML"]       # stem of a .d folder name
    assert s.match_runs(data) == dict(zip(data, s.samples, strict=True))


def test_run_name_helpers():
    assert run_basename(r"C:\a\b\x.raw") == "x.raw" and run_basename("/a/b/x.d/") == "x.d"
    assert run_stem("x.wiff.gz") == "x" and run_stem("pre_qc_1.wiff.dia") == "pre_qc_1"
    assert run_stem(r"D:\Raw\KL_Try_001_a.mzML.dia") == "KL_Try_001_a"
    assert run_stem("sample_1.5ug") == "sample_1.5ug"  # unknown extension kept


def test_match_runs_lists_missing_on_both_sides(tmp_path):
    s = _sheet(tmp_path)
    err = _error(s.match_runs, ["P001_plasma_b1", "P002_plasma_b1", "ghost_run"])
    text = str(err)
    assert "ghost_run" in text and "P003_plasma_b2.raw" in text and "P004_plasma_b2.d" in text and err.hint
    partial = s.match_runs(["P001_plasma_b1", "P002_plasma_b1"], allow_unused_sheet_rows=True)
    assert partial == {"P001_plasma_b1": "P001_plasma", "P002_plasma_b1": "P002_plasma"}


def test_match_runs_ambiguous(tmp_path):
    rows = ["a.raw,A1,A,plasma,x,1,1,F", "a.mzML,A2,A,plasma,x,1,1,F"]
    s = _sheet(tmp_path, rows)
    assert "several" in str(_error(s.match_runs, ["a"]))
    assert s.match_runs(["a.raw", "a.mzML"]) == {"a.raw": "A1", "a.mzML": "A2"}  # full names are not ambiguous
    s2 = _sheet(tmp_path, ["a.raw,A1,A,plasma,x,1,1,F"], name="two.csv")
    assert "both match" in str(_error(s2.match_runs, ["a.raw", "/x/a.mzML"]))


# ------------------------------------------------------------------------------------------ selections

def test_subset_and_check_groups(tmp_path):
    s = _sheet(tmp_path)
    assert s.subset(condition="cancer").samples == ["P001_plasma", "P004_plasma"]
    assert s.subset(specimen="PLASMA", batch=["2"]).samples == ["P003_plasma", "P004_plasma"]
    assert s.subset(batch=2).samples == ["P003_plasma", "P004_plasma"]  # labels compared as text
    assert "no column" in str(_error(s.subset, colour="red"))
    assert "no sample" in str(_error(s.subset, condition="nothing"))
    assert s.check_groups("condition", ["cancer", "control"]) == {"cancer": 2, "control": 2}
    err = _error(s.check_groups, "condition", ["cancer", "copd"])
    assert "'copd'" in str(err) and "'cancer' (n=2)" in err.hint
    err = _error(s.check_groups, "condition", ["cancer", "control"], min_per_group=3)
    assert "too few" in str(err)
    assert "condition" in str(_error(s.check_groups, "conditon", ["a"]))


def test_subset_error_keeps_file_lines(tmp_path):
    rows = ROWS + ["P005_b1.raw,P005,P005,serum,cancer,1,50,F"]
    sub = _sheet(tmp_path, rows).subset(sample=["P003_plasma", "P005"])
    assert sub.samples == ["P003_plasma", "P005"]
    err = _error(sub.match_runs, ["nothing"])
    assert err.path.endswith("sheet.csv")


def test_pseudonymised(tmp_path):
    s = _sheet(tmp_path)
    a, b, c = s.pseudonymised("salt-1"), s.pseudonymised("salt-1"), s.pseudonymised("salt-2")
    assert a.table.equals(b.table)
    subjects = a.table["subject"].tolist()
    assert len(set(subjects)) == 4 and not set(subjects) & set(s.table["subject"])
    assert all(x.startswith("S") and len(x) == 13 for x in subjects)
    assert subjects != c.table["subject"].tolist()
    assert a.table.drop(columns="subject").equals(s.table.drop(columns="subject"))
    _error(s.pseudonymised, "")


# ------------------------------------------------------------------------------------------ SDRF

def test_sdrf_label_free_technical_replicates():
    s = SampleSheet.read(need_shared("quantms_testdata_sdrf_fasta", "PXD001819.sdrf.tsv"))
    t = s.table
    assert len(t) == 27 and t["run"].is_unique and t["run"].iloc[0] == "UPS1_12500amol_R1.raw"
    # condition: the first factor value that varies (factor value[concentration of]; the first one is constant UPS1)
    assert t["condition"].nunique() == 9 and set(t["condition"].value_counts()) == {3}
    assert t.index[:3].tolist() == ["Sample 1_rep1", "Sample 1_rep2", "Sample 1_rep3"]
    assert (t["subject"].iloc[:3] == "Sample 1").all()
    assert (t["specimen"] == "other").all()  # "whole plant"
    assert t["technical replicate"].tolist()[:3] == [1, 2, 3]


def test_sdrf_tissue_and_individual_fallback(caplog):
    s = SampleSheet.read(need_shared("quantms_testdata_sdrf_fasta", "PXD004684.sdrf.tsv"))
    t = s.table
    assert (t["specimen"] == "tissue").all()
    assert t["subject"].tolist() == ["PXD004684-Sample-1"] * 2 + ["PXD004684-Sample-2"] * 2  # individual n/a
    assert t["condition"].tolist()[::2] == ["lung tumor-adjacent tissues", "lung squamous cell carcinoma tissue"]
    assert t["disease"].tolist()[::2] == ["control", "squamous cell carcinoma"]
    assert "individual" not in t.columns and "age" not in t.columns  # all "not available"
    assert s.match_runs(["N294-1", "N294-2", "T298-1", "T298-2"])["T298-2"] == "PXD004684-Sample-2_rep2"


def test_sdrf_multiplexed_tmt(caplog):
    with caplog.at_level(logging.WARNING, logger="proteomics.samples"):
        s = SampleSheet.read(need_shared("quantms_testdata_sdrf_fasta", "PXD000001.sdrf.tsv"))
    t = s.table
    assert len(t) == 6 and t["data file"].nunique() == 1
    assert t["label"].tolist() == ["TMT126", "TMT127", "TMT128", "TMT129", "TMT130", "TMT131"]
    assert t["run"].iloc[0] == "TMT_Erwinia_1uLSike_Top10HCD_isol2_45stepped_60min_01_TMT126"
    assert "whole plant" in caplog.text


@pytest.mark.parametrize("folder", ["quantms_testdata_sdrf_fasta", "quantms_testdata_sdrf_fasta_dia_ci"])
def test_sdrf_pxd026600(folder):
    s = SampleSheet.read(need_shared(folder, "PXD026600.sdrf.tsv"))
    t = s.table
    assert t["run"].str.endswith(".raw").all() and t.index.is_unique
    assert t["condition"].str.startswith("CT=Mixture;CN=UPS1;QY=").all()


def test_sdrf_errors_have_positions(tmp_path):
    text = need_shared("quantms_testdata_sdrf_fasta", "PXD004684.sdrf.tsv").read_text()
    lines = text.splitlines()
    lines[3] = lines[3].replace("T298-1.raw", "N294-1.raw")
    err = _error(SampleSheet.read, _write(tmp_path, "\n".join(lines) + "\n", "x.sdrf.tsv"))
    assert (err.line, err.column) == (4, "comment[data file]")
    no_file = "\n".join(ln.replace("comment[data file]", "comment[datafile]") for ln in lines) + "\n"
    err = _error(SampleSheet.read, _write(tmp_path, no_file, "z.sdrf.tsv"))
    assert (err.line, err.column) == (1, "comment[data file]") and "comment[datafile]" in str(err)
    no_factor = "\n".join("\t".join(c for c in ln.split("\t")[:-1]) for ln in lines) + "\n"
    err = _error(SampleSheet.read, _write(tmp_path, no_factor, "y.sdrf.tsv"))
    assert "factor value" in str(err)


def test_bundled_sheet_and_sdrf_agree():
    a = SampleSheet.read(SAMPLE_DATA / "sheet.csv")
    b = SampleSheet.read(SAMPLE_DATA / "sheet.sdrf.tsv")
    common = [c for c in a.table.columns if c in b.table.columns]
    assert common == ["run", "subject", "specimen", "condition", "batch", "age", "sex", "smoking", "time", "event"]
    assert a.table[common].equals(b.table[common])
    assert a.table["specimen"].value_counts().to_dict() == {"plasma": 60, "BAL": 24, "sputum": 24}


# ------------------------------------------------------------------------------------------ properties

_cell = st.one_of(st.text(alphabet=list("ab1 ,;\t\"'\r\n.-é"), max_size=8),
                  st.sampled_from(["plasma", "BAL", "serum", "", "NA", "x.raw", "1"]))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(header=st.lists(st.sampled_from(["run", "sample", "subject", "specimen", "condition", "batch", "x",
                                        "Run", "", "source name", "comment[data file]"]), min_size=0, max_size=7),
       rows=st.lists(st.lists(_cell, max_size=8), max_size=6),
       sep=st.sampled_from([",", "\t", ";"]), encoding=st.sampled_from(["utf-8", "utf-16", "latin-1"]))
def test_random_sheets_load_or_raise_input_error(tmp_path, header, rows, sep, encoding):
    text = "\n".join(sep.join(r) for r in [header, *rows])
    path = tmp_path / "h.csv"
    try:
        path.write_bytes(text.encode(encoding))
    except UnicodeEncodeError:
        return
    try:
        s = SampleSheet.read(path)
    except InputError:
        return
    assert len(s.samples) == len(set(s.samples)) and set(s.table["specimen"]) <= set(SPECIMENS)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255), st.booleans()), min_size=1, max_size=6))
def test_mutated_sheets_load_or_raise_input_error(tmp_path, ops):
    data = bytearray(("\n".join([HEADER, *ROWS]) + "\n").encode())
    for pos, byte, insert in ops:
        pos %= len(data) + 1
        if insert:
            data[pos:pos] = bytes([byte])
        elif data:
            del data[min(pos, len(data) - 1)]
    path = tmp_path / "m.csv"
    path.write_bytes(bytes(data))
    try:
        SampleSheet.read(path)
    except InputError:
        pass


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.tuples(st.sampled_from(["r1.raw", "r2.d", "/x/r3.raw", "r1", ""]),
                               st.sampled_from(["s1", "s2", "s3", "", "NA"]), st.sampled_from(["p1", "p2", ""]),
                               st.sampled_from(["plasma", "Plasma", "bal", "sputum", "urine", ""]),
                               st.sampled_from(["a", "b", ""]), st.sampled_from(["1", "2", "", "x"]),
                               st.one_of(st.floats(allow_nan=True, allow_infinity=True).map(str),
                                         st.sampled_from(["", "NA", "abc"]))),
                     min_size=0, max_size=5))
def test_structured_random_sheets(tmp_path, rows):
    text = "run,sample,subject,specimen,condition,batch,cov\n" + "\n".join(",".join(r) for r in rows) + "\n"
    path = tmp_path / "s.csv"
    path.write_text(text)
    try:
        s = SampleSheet.read(path)
    except InputError as err:
        assert err.path == str(path) and err.line is not None
        return
    assert s.table.index.is_unique and s.table["run"].is_unique and len(s) == len(rows)
    assert s.match_runs(s.runs) == dict(zip(s.runs, s.samples, strict=True))


def test_to_csv_round_trip(tmp_path):
    s = SampleSheet.read(SAMPLE_DATA / "sheet.csv").pseudonymised("k")
    s.to_csv(tmp_path / "out.csv")
    back = SampleSheet.read(tmp_path / "out.csv")
    assert back.table.equals(s.table)
    sdrf = SampleSheet.read(need_shared("quantms_testdata_sdrf_fasta", "PXD004684.sdrf.tsv"))
    sdrf.to_csv(tmp_path / "sdrf.csv")
    assert SampleSheet.read(tmp_path / "sdrf.csv").table.equals(sdrf.table)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=st.lists(st.tuples(st.integers(0, 100_000), st.sampled_from(list(b"\t\n\r\"[],; aZ\x00\xff")),
                              st.booleans()), min_size=1, max_size=8))
def test_mutated_sdrf_load_or_raise_input_error(tmp_path, ops):
    lines = (SAMPLE_DATA / "sheet.sdrf.tsv").read_bytes().splitlines(keepends=True)[:6]
    data = bytearray(b"".join(lines))
    for pos, byte, insert in ops:
        pos %= len(data) + 1
        if insert:
            data[pos:pos] = bytes([byte])
        elif data:
            del data[min(pos, len(data) - 1)]
    path = tmp_path / "m.sdrf.tsv"
    path.write_bytes(bytes(data))
    try:
        s = SampleSheet.read(path)
    except InputError:
        return
    assert s.table.index.is_unique and s.table["run"].is_unique


def test_excel_style_export(tmp_path):
    """CRLF line ends, BOM, quoted fields with commas, trailing empty columns."""
    text = ("\ufeff" + HEADER + ",,\r\n" + "\r\n".join(r + ",," for r in ROWS[:2])
            + '\r\n"P005_b1.raw","P005","P005","serum","control, smoker","1","60","M",,\r\n')
    s = SampleSheet.read(_write(tmp_path, text))
    assert s.samples == ["P001_plasma", "P002_plasma", "P005"]
    assert s.table.loc["P005", "condition"] == "control, smoker"
    assert list(s.table.columns) == ["run", "subject", "specimen", "condition", "batch", "age", "sex"]
