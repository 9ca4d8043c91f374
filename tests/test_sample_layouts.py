"""Sample sheets as labs have them (proteomics.samples.layouts): MSstats annotation.csv, FragPipe
experiment_annotation.tsv, DIA-NN run lists, AlphaPeptStats .xlsx metadata — real files where ../shared/data has
them, with the same validation and line numbers as our own sheets."""

from __future__ import annotations

import openpyxl
import pandas as pd
import pytest

from proteomics.errors import InputError
from proteomics.io import read
from proteomics.samples import SampleSheet
from tests.conftest import need_shared


def test_msstats_annotation_raw_file_condition_bioreplicate():
    """MSstatsConvert's MaxQuant annotation.csv: Raw.file → run, Condition, BioReplicate → subject."""
    path = need_shared("msstatsconvert_dda_mix_maxquant", "annotation.csv")
    raw = pd.read_csv(path, dtype=str)
    s = SampleSheet.read(path, specimen="plasma")
    t = s.table
    assert s.runs == raw["Raw.file"].tolist() and s.samples == raw["Raw.file"].tolist()   # sample defaults to run
    assert t["condition"].tolist() == raw["Condition"].tolist() and t["condition"].dtype == t["run"].dtype
    assert t["subject"].tolist() == raw["BioReplicate"].tolist()
    assert set(t["specimen"]) == {"plasma"} and t["Experiment"].tolist() == raw["Experiment"].tolist()
    assert s.check_groups("condition", ["1", "2"]) == {"1": 3, "2": 3}


def test_msstats_annotation_run_column_and_tsv():
    path = need_shared("msstatsconvert_diann", "annotation.csv")
    raw = pd.read_csv(path, dtype=str)
    s = SampleSheet.read(path, specimen="BAL")
    assert s.runs == raw["Run"].tolist() and set(s.table["specimen"]) == {"BAL"}
    tsv = SampleSheet.read(need_shared("msstatsconvert_metamorpheus", "Annotation.tsv"), specimen="tissue")
    assert tsv.table["condition"].tolist() == ["neg", "neg", "pos", "pos"] and "Fraction" in tsv.table


def test_without_specimen_the_error_names_both_ways(tmp_path):
    path = need_shared("msstatsconvert_diann", "annotation.csv")
    with pytest.raises(InputError) as exc:
        SampleSheet.read(path)
    assert exc.value.column == "specimen" and "--specimen" in exc.value.hint and "config" in exc.value.hint


def test_no_wrong_close_hint_for_msstats_columns(tmp_path):
    """A sheet without any run column: the hint names the run aliases present, never 'Experiment' for a run."""
    f = tmp_path / "annotation.csv"
    f.write_text("Condition,BioReplicate,Experiment\nA,1,1_1\nB,2,2_1\n")
    with pytest.raises(InputError) as exc:
        SampleSheet.read(f, specimen="plasma")
    assert exc.value.column == "run" and exc.value.line == 1 and "Experiment" not in str(exc.value).split("Fix")[0]
    f.write_text("Raw.file,Conditon\nr1,A\nr2,B\n")
    with pytest.raises(InputError) as exc:
        SampleSheet.read(f, specimen="plasma")
    assert exc.value.column == "condition" and "'Conditon'" in str(exc.value)


def test_fragpipe_experiment_annotation(tmp_path):
    """FragPipe 20+ experiment_annotation.tsv (layout as FragPipe writes it: file, sample, sample_name, condition,
    replicate): the combined tables name their columns by ``sample``, so that is the run; matched against the
    real combined_protein.tsv of AlphaPeptStats (samples S1…S20)."""
    data = need_shared("alphapeptstats_fragpipe", "combined_proteins.tsv")
    runs = read(data).runs
    lines = ["file\tsample\tsample_name\tcondition\treplicate"]
    lines += [f"D:\\raw\\{r}.raw\t{r}\tpatient_{r}\t{'Healthy' if i < 10 else 'Disease'}\t{i % 10 + 1}"
              for i, r in enumerate(runs)]
    f = tmp_path / "experiment_annotation.tsv"
    f.write_text("\n".join(lines) + "\n")
    s = SampleSheet.read(f, specimen="plasma")
    assert s.runs == list(runs) and s.samples == [f"patient_{r}" for r in runs]
    assert s.match_runs(runs) == {r: f"patient_{r}" for r in runs}
    assert s.table["file"].iloc[0] == f"D:\\raw\\{runs[0]}.raw" and s.table["replicate"].iloc[0] == 1
    bad = tmp_path / "bad.tsv"
    bad.write_text("\n".join(lines[:3] + [lines[3].replace("\tHealthy\t", "\t\t")]) + "\n")
    with pytest.raises(InputError) as exc:
        SampleSheet.read(bad, specimen="plasma")
    assert (exc.value.line, exc.value.column) == (4, "condition")


def test_diann_run_list(tmp_path):
    """A DIA-NN-style run list: File.Name (full raw paths, as DIA-NN reports them) plus the group; runs match the
    real DIA-NN report by stem."""
    data = need_shared("diann_rpackage_report", "diann_report.tsv")
    runs = read(data).runs
    f = tmp_path / "runs.tsv"
    f.write_text("File.Name\tgroup\n" + "".join(f"C:\\dia\\{r}.raw\tg{i % 2}\n" for i, r in enumerate(runs)))
    s = SampleSheet.read(f, group="group", specimen="sputum")
    assert s.match_runs(runs) == {r: f"C:\\dia\\{r}.raw" for r in runs}
    assert "condition" not in s.table and s.check_groups("group", ["g0", "g1"], min_per_group=1)
    with pytest.raises(InputError) as exc:   # the grouping column is the required one
        SampleSheet.read(f, specimen="sputum")
    assert exc.value.column == "condition"


def test_alphapeptstats_xlsx_metadata():
    """AlphaPeptStats' liver-plasma metadata.xlsx: 'sample' names the MaxQuant runs, 'disease' the groups."""
    path = need_shared("alphastats_liver_plasma_maxquant", "metadata.xlsx")
    ws = openpyxl.load_workbook(path, read_only=True, data_only=True).worksheets[0]
    rows = [r for r in ws.iter_rows(values_only=True) if any(v is not None for v in r)]
    header = list(rows[0])
    want = {str(r[header.index("sample")]): str(r[header.index("disease")]) for r in rows[1:]}
    s = SampleSheet.read(path, group="disease", specimen="plasma")
    assert dict(zip(s.runs, s.table["disease"], strict=True)) == want and len(s) == len(want)
    pg = pd.read_csv(need_shared("alphastats_liver_plasma_maxquant", "proteinGroups.txt"), sep="\t", nrows=0)
    runs = [c[len("LFQ intensity "):] for c in pg.columns if c.startswith("LFQ intensity ")]
    assert set(s.match_runs(runs, allow_unused_sheet_rows=True)) == set(runs) & set(want)


def test_xlsx_errors_name_the_excel_row(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["run", "condition", "specimen"])
    ws.append(["r1", "A", "plasma"])
    ws.append([None, None, None])           # an empty row is skipped but counted
    ws.append(["r2", "B", "urine"])
    f = tmp_path / "sheet.xlsx"
    wb.save(f)
    with pytest.raises(InputError) as exc:
        SampleSheet.read(f)
    assert (exc.value.line, exc.value.column) == (4, "specimen") and "urine" in str(exc.value)
    junk = tmp_path / "junk.xlsx"
    junk.write_bytes(b"not a workbook")
    with pytest.raises(InputError, match="workbook"):
        SampleSheet.read(junk)


def test_de_command_with_an_alphapeptstats_xlsx_sheet(tmp_path):
    """`proteomics de` on AlphaPeptStats' DIA-NN pg_matrix with its metadata.xlsx as the sheet: no sample,
    subject or specimen column (specimen from --specimen), groups in 'grouping1'."""
    from tests.cli_helpers import invoke

    data = need_shared("alphapeptstats_diann", "report_final.pg_matrix.tsv")
    sheet = need_shared("alphapeptstats_diann", "metadata.xlsx")
    out = tmp_path / "de.tsv"
    res = invoke("de", str(data), "--sheet", str(sheet), "--specimen", "plasma", "--group", "grouping1",
                 "--contrast", "Disease-Healthy", "-o", str(out))
    assert res.exit_code == 0, res.output
    de = pd.read_csv(out, sep="\t")
    assert len(de) >= 1 and {"protein_group", "log2fc", "p_value", "q_value"} <= set(de.columns)
    res = invoke("de", str(data), "--sheet", str(sheet), "--group", "grouping1", "--contrast", "Disease-Healthy",
                 "-o", str(tmp_path / "x.tsv"))
    assert res.exit_code == 2 and "--specimen" in res.output


@pytest.mark.parametrize("header, typo, meant", [
    ("Rnu,sample,condition", "Rnu", "run"),          # would have let 'sample' name the runs
    ("run,condition,Specimem", "Specimem", "specimen"),  # would have let --specimen override the sheet
    ("run,condition,subjetc", "subjetc", "subject"),   # would have made every run its own subject
    ("run,Sampel,condition", "Sampel", "sample"),
])
def test_misspelt_column_is_named_not_defaulted(tmp_path, header, typo, meant):
    path = tmp_path / "sheet.csv"
    path.write_text(header + "\n" + "\n".join(",".join(f"{c.lower()}{i}" if c.lower() != "condition" else "a"
                                                       for c in header.split(",")) for i in range(2)) + "\n")
    with pytest.raises(InputError) as err:
        SampleSheet.read(path, specimen="plasma")
    e = err.value
    assert (e.path, e.line, e.column) == (str(path), 1, typo) and f"misspelt {meant!r}" in str(e)
    assert f"rename the column to {meant!r}" in str(e)


def test_columns_a_letter_away_from_nothing_are_kept(tmp_path):
    """Covariates that are not one edit from a sheet column stay covariates (no false alarm)."""
    path = tmp_path / "sheet.csv"
    path.write_text("run,condition,batch,rna_conc,runtime\nr1,a,b1,3.1,60\nr2,b,b2,2.9,60\n")
    s = SampleSheet.read(path, specimen="plasma")
    assert s.runs == ["r1", "r2"] and {"batch", "rna_conc", "runtime"} <= set(s.table.columns)
