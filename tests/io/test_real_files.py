"""Every tabular format on real files written by the tools (../shared/data). Expected numbers are computed
in the test with plain pandas (or stated in data/SOURCES.md), never taken from our readers' output."""

from __future__ import annotations

import gzip

import numpy as np
import pandas as pd
import pytest

from proteomics.io import detect, read
from tests.conftest import need_shared


def _tsv(path, sep="\t", **kw):
    return pd.read_csv(path, sep=sep, dtype=str, keep_default_na=False, low_memory=False, **kw)


def _num(s):
    return pd.to_numeric(s.replace({"": np.nan, "NA": np.nan}), errors="raise").astype(float)


def _lin(v):
    v = np.asarray(v, dtype=float)
    return np.where(v == 0, np.nan, v)


def _all_prefixed(groups, prefixes):
    return groups.map(lambda g: all(x.strip().startswith(prefixes) for x in g.split(";")))


# ---------------------------------------------------------------- DIA-NN
def test_diann_rpackage_report():
    path = need_shared("diann_rpackage_report", "diann_report.tsv")
    d = _tsv(path)
    assert len(d) == 2992  # SOURCES.md
    ok = (_num(d["Q.Value"]) <= 0.01) & (_num(d["PG.Q.Value"]) <= 0.01)
    ok &= ~_all_prefixed(d["Protein.Group"], ("CON__", "contam_", "cRAP"))
    exp = d[ok]
    q = read(path)
    assert q.format == "diann_report" and q.level == "precursor"
    assert len(q.data) == len(exp)
    assert sorted(q.runs) == sorted(exp["File.Name"].unique())  # 1.7-style report: no Run column
    np.testing.assert_array_equal(q.data["intensity"].to_numpy(), _lin(_num(exp["Precursor.Normalised"])))
    assert list(q.data["entity_id"]) == list(exp["Precursor.Id"])
    assert list(q.data["protein_group"].astype(str)) == list(exp["Protein.Group"])


def test_diann_19_report_and_pg_maxlfq():
    path = need_shared("proteobench_hye", "DIANN_1.9_beta_sample_report.tsv")
    d = _tsv(path)
    ok = (_num(d["Q.Value"]) <= 0.01) & (_num(d["PG.Q.Value"]) <= 0.01)
    if "Lib.PG.Q.Value" in d:
        ok &= _num(d["Lib.PG.Q.Value"]) <= 0.01
    exp = d[ok]
    q = read(path)
    assert len(q.data) == len(exp)
    assert set(q.runs) == {f"LFQ_Orbitrap_AIF_Condition_{c}_Sample_Alpha_0{i}" for c in "AB" for i in (1, 2, 3)}
    p = read(path, quantity="pg_maxlfq")
    assert p.level == "protein"
    want = exp.drop_duplicates(["Run", "Protein.Group"])
    got = p.data.assign(run=p.data["run"].astype(str), pg=p.data["protein_group"].astype(str))
    m = want.merge(got, left_on=["Run", "Protein.Group"], right_on=["run", "pg"], how="outer", indicator=True)
    assert (m["_merge"] == "both").all()
    np.testing.assert_array_equal(m["intensity"].to_numpy(), _lin(_num(m["PG.MaxLFQ"])))
    n = exp.groupby(["Run", "Protein.Group"]).size()
    assert list(m["n_psm"]) == [n[(r, g)] for r, g in zip(m["Run"], m["Protein.Group"], strict=True)]


def test_diann_csv_with_bom():
    """MSstatsConvert's DIA-NN subset: comma separated with a UTF-8 BOM, no Precursor.Id column."""
    path = need_shared("msstatsconvert_diann", "diann_input.tsv")
    assert detect(path) == "diann_report"
    d = pd.read_csv(path, sep=",", encoding="utf-8-sig", dtype=str, keep_default_na=False)
    ok = (_num(d["Q.Value"]) <= 0.01)
    q = read(path)
    assert len(q.data) == int(ok.sum())
    assert set(q.runs) == set(d.loc[ok, "Run"])


def test_diann_2x_parquet():
    path = need_shared("proteobench_hye", "entrapment_test_subset.parquet")
    assert detect(path) == "diann_report"
    d = pd.read_parquet(path)
    ok = (d["Q.Value"] <= 0.01) & (d["PG.Q.Value"] <= 0.01) & (d["Lib.PG.Q.Value"] <= 0.01)
    ok &= ~(d["Decoy"] > 0)
    q = read(path)
    assert len(q.data) == int(ok.sum())
    np.testing.assert_array_equal(q.data["intensity"].to_numpy(), _lin(d.loc[ok, "Precursor.Normalised"]))
    assert q.n_runs == 3  # SOURCES.md: 3 Astral runs


def test_diann_pg_matrix():
    path = need_shared("alphapeptstats_diann", "report_final.pg_matrix.tsv")
    q = read(path)
    assert q.format == "diann_pg_matrix" and q.level == "protein"
    assert q.runs == [f"S{i}" for i in range(1, 21)]
    assert q.n_proteins == 10  # SOURCES.md
    # S3 of the SERPINA1 group (third line of the file, fields written by the tool)
    line = path.read_text().splitlines()[2].split("\t")
    row = q.data[(q.data["run"] == "S3") & (q.data["protein_group"] == line[0])]
    assert row["intensity"].iloc[0] == float(line[7])


# ---------------------------------------------------------------- MaxQuant
@pytest.mark.parametrize("parts, n_groups", [(("alphapeptstats_maxquant_go", "proteinGroups.txt"), 882),
                                             (("proteuslabelfree_maxquant", "proteinGroups.txt.gz"), 3883)])
def test_maxquant_protein_groups(parts, n_groups):
    path = need_shared(*parts)
    d = _tsv(path, compression="gzip" if path.name.endswith(".gz") else None)
    assert len(d) == n_groups  # SOURCES.md
    # one contaminant rule (proteomics.contaminants): every member CON__; MaxQuant's own column is not used
    flag = (d["Reverse"] == "+") | (d["Only identified by site"] == "+")
    flag |= _all_prefixed(d["Protein IDs"], ("CON__",)) | _all_prefixed(d["Protein IDs"], ("REV__",))
    flag |= _num(d["Q-value"]) > 0.01
    exp = d[~flag]
    lfq = [c for c in d.columns if c.startswith("LFQ intensity ")]
    q = read(path)
    assert q.meta["quantity"] == "lfq"
    assert q.n_proteins == len(exp)
    assert q.runs == [c[len("LFQ intensity "):] for c in lfq]
    wide = q.data.pivot(index="protein_group", columns="run", values="intensity")
    wide.index = wide.index.astype(str)
    wide.columns = wide.columns.astype(str)
    want = exp.set_index("Protein IDs")[lfq].apply(_num).replace(0, np.nan)
    want.columns = [c[len("LFQ intensity "):] for c in lfq]
    np.testing.assert_array_equal(wide.loc[want.index, want.columns].to_numpy(), want.to_numpy())
    kept = read(path, keep_contaminants=True, fdr=1.0)
    assert kept.n_proteins == n_groups
    assert int(kept.data.groupby("protein_group", observed=True)["contaminant"].first().sum()) == int(
        _all_prefixed(d["Protein IDs"], ("CON__",)).sum())


def test_maxquant_protein_groups_spectral_counts():
    path = need_shared("alphapeptstats_maxquant_go", "proteinGroups.txt")
    d = _tsv(path)
    q = read(path, quantity="ms_ms_count", keep_contaminants=True, fdr=1.0)
    got = q.data.groupby("run", observed=True)["intensity"].sum()
    for c in [c for c in d.columns if c.startswith("MS/MS count ")]:
        assert got[c[len("MS/MS count "):]] == _num(d[c]).sum()


def test_maxquant_peptides():
    path = need_shared("directlfq_maxquant_peptides", "mq_peptides.txt")
    d = _tsv(path)
    assert len(d) == 999  # SOURCES.md: first 999 peptides
    flag = d["Reverse"] == "+"
    flag |= _all_prefixed(d["Proteins"], ("CON__",)) | _all_prefixed(d["Proteins"], ("REV__",))
    exp = d[~flag & (d["Proteins"].str.strip() != "")]
    q = read(path)
    assert q.level == "peptide" and q.n_runs == 12
    assert len(q.data) == len(exp) * 12
    col = "Intensity Shotgun_12-01_3"
    got = q.data[q.data["run"] == "Shotgun_12-01_3"]["intensity"].to_numpy()
    np.testing.assert_array_equal(got, _lin(_num(exp[col])))


def test_maxquant_evidence():
    path = need_shared("proteobench_hye", "MaxQuant_2_5_1_evidence_sample.txt")
    d = _tsv(path)
    assert len(d) == 918  # SOURCES.md
    flag = d["Reverse"] == "+"
    flag |= _all_prefixed(d["Proteins"], ("CON__",)) | _all_prefixed(d["Proteins"], ("REV__",))
    exp = d[~flag].assign(I=lambda x: _num(x["Intensity"]))
    grp = exp.groupby(["Raw file", "Modified sequence", "Charge"])
    q = read(path)
    assert len(q.data) == grp.ngroups
    assert q.n_runs == 6
    best = grp["I"].max()
    got = q.data.set_index(["run", "entity_id"])["intensity"]
    for (run, mod, z), v in best.items():
        assert got[(run, mod + z)] == v or (np.isnan(got[(run, mod + z)]) and (np.isnan(v) or v == 0))
    assert int(q.data["n_psm"].sum()) == len(exp)


# ---------------------------------------------------------------- FragPipe
def test_fragpipe_combined_ion():
    path = need_shared("proteobench_hye", "FragPipe_MSFragger_combined_ion.tsv")
    d = _tsv(path)
    assert len(d) == 500  # SOURCES.md
    exp = d[~_all_prefixed(d["Protein"], ("contam_", "contaminant_", "CON__", "rev_"))]
    runs = [c[: -len(" Intensity")] for c in d.columns if c.endswith(" Intensity")
            and not c.endswith(("MaxLFQ Intensity",))]
    q = read(path)
    assert q.runs == runs and q.level == "precursor"
    assert len(q.data) == len(exp) * len(runs)
    first = q.data[q.data["run"] == runs[0]]
    assert list(first["protein_group"].astype(str)) == list(exp["Protein"])  # `Protein`, not `Protein ID`
    np.testing.assert_array_equal(first["intensity"].to_numpy(), _lin(_num(exp[runs[0] + " Intensity"])))
    sc = read(path, quantity="spectral_count")
    assert sc.data["intensity"].sum() == sum(_num(exp[r + " Spectral Count"]).sum() for r in runs)


def test_fragpipe_combined_protein():
    path = need_shared("alphapeptstats_fragpipe", "combined_proteins.tsv")
    d = _tsv(path)
    q = read(path)
    assert q.meta["quantity"] == "razor_intensity"
    assert q.runs == [f"S{i}" for i in range(1, 21)]
    assert sorted(set(q.data["protein_group"].astype(str))) == sorted(d["Protein"])
    got = q.data[q.data["run"] == "S7"]["intensity"].to_numpy()
    np.testing.assert_array_equal(got, _lin(_num(d["S7 Razor Intensity"])))


def test_fragpipe_psm():
    path = need_shared("fragpipe_psm_fpics", "psm.tsv")
    d = _tsv(path)
    assert len(d) == 4127  # SOURCES.md
    exp = d[~_all_prefixed(d["Protein"], ("contam_", "contaminant_", "CON__", "rev_"))]
    q = read(path)
    assert q.level == "psm" and len(q.data) == len(exp)
    assert q.runs == sorted({s.rsplit(".", 3)[0] for s in exp["Spectrum"]})
    per_protein = exp.groupby("Protein").size()
    got = q.data.groupby("protein_group", observed=True)["n_psm"].sum()
    assert got.to_dict() == per_protein.to_dict()


def test_msstats_csv():
    path = need_shared("msstatsconvert_fragpipe", "fragpipe_input.csv")
    d = pd.read_csv(path, dtype=str, keep_default_na=False)
    assert len(d) == 192  # SOURCES.md
    exp = d[(d["IsotopeLabelType"] == "L") & ~_all_prefixed(d["ProteinName"], ("contam_", "contaminant_", "CON__", "rev_"))]
    q = read(path)
    assert q.format == "msstats"
    assert len(q.data) == exp.groupby(["Run", "PeptideSequence", "PrecursorCharge"]).ngroups
    assert set(q.runs) == set(exp["Run"])
    want = exp.assign(I=_num(exp["Intensity"])).groupby("Run")["I"].sum()
    got = q.data.groupby("run", observed=True)["intensity"].sum()
    for r, v in want.items():
        assert got[r] == pytest.approx(v, rel=1e-12)


# ---------------------------------------------------------------- Spectronaut
def test_spectronaut_demo_report():
    path = need_shared("spectropiper_hye_demo_spectronaut", "HYE_demo_data_Report_SpectroPipeR.tsv")
    d = _tsv(path)
    ok = (_num(d["EG.Qvalue"]) <= 0.01) & (_num(d["PG.Qvalue"]) <= 0.01)
    exp = d[ok]
    q = read(path)
    assert q.format == "spectronaut"
    assert len(q.data) == exp.groupby(["R.FileName", "EG.PrecursorId"]).ngroups
    assert q.n_runs == 8 and q.n_proteins == 2  # SOURCES.md
    np.testing.assert_array_equal(q.data["intensity"].to_numpy(), _lin(_num(exp["FG.Quantity"])))
    pg = read(path, quantity="pg")
    assert pg.level == "protein"
    assert len(pg.data) == exp.groupby(["R.FileName", "PG.ProteinGroups"]).ngroups


def test_spectronaut_decimal_comma_export(tmp_path):
    """The same report written with decimal commas (as a German-locale Spectronaut does) reads to the same
    numbers; the conversion here is done on the text with a plain regex."""
    import re

    path = need_shared("spectropiper_hye_demo_spectronaut", "HYE_demo_data_Report_SpectroPipeR.tsv")
    text = path.read_text(encoding="utf-8")
    lines = text.split("\n")
    body = [re.sub(r"(?<=\t)(-?\d+)\.(\d+(?:[eE][-+]?\d+)?)(?=\t|$)", r"\1,\2", ln) for ln in lines[1:]]
    assert any("," in ln for ln in body)
    f = tmp_path / "Report_comma.tsv"
    f.write_text("\n".join([lines[0], *body]), encoding="utf-8")
    a, b = read(path), read(f)
    np.testing.assert_array_equal(a.data["intensity"].to_numpy(), b.data["intensity"].to_numpy())
    np.testing.assert_array_equal(a.data["q_value"].to_numpy(), b.data["q_value"].to_numpy())


def test_spectronaut_fragment_level_csv():
    path = need_shared("msstatsconvert_hye124_swath", "spectronaut_input.csv")
    d = pd.read_csv(path, dtype=str, keep_default_na=False)
    ok = (_num(d["EG.Qvalue"]) <= 0.01) & (_num(d["PG.Qvalue"]) <= 0.01)
    q = read(path)
    assert len(q.data) == d[ok].groupby(["R.FileName", "EG.PrecursorId"]).ngroups
    assert q.n_runs == 6 and q.n_proteins == 1  # SOURCES.md


def test_spectronaut_alphapeptstats_subset():
    path = need_shared("alphapeptstats_spectronaut", "results_non_european_comma.tsv")
    d = _tsv(path)
    ok = (_num(d["EG.Qvalue"]) <= 0.01) & (_num(d["PG.Qvalue"]) <= 0.01)
    ok &= ~d["EG.IsDecoy"].str.lower().isin(["true", "1"])
    q = read(path)
    # this export has no EG.PrecursorId: precursor = modified sequence + charge
    assert len(q.data) == d[ok].groupby(["R.FileName", "EG.ModifiedSequence", "FG.Charge"]).ngroups
    assert q.n_runs == 1  # SOURCES.md


# ---------------------------------------------------------------- generic
def test_generic_protein_matrix():
    path = need_shared("baldur_ups1_chlamy_progenesis", "derived", "yeast.derived.tsv")
    d = _tsv(path)
    q = read(path)
    assert q.format == "generic" and q.level == "protein"
    assert q.meta["scale"] == "linear"  # values up to ~3e5 > 100
    assert q.runs == list(d.columns[1:])
    np.testing.assert_array_equal(q.data[q.data["run"] == "ng100_2"]["intensity"].to_numpy(),
                                  _lin(_num(d["ng100_2"])))


def test_generic_gzip_and_log2(tmp_path):
    path = need_shared("baldur_ups1_chlamy_progenesis", "derived", "yeast.derived.tsv")
    d = _tsv(path)
    runs = list(d.columns[1:])
    logged = d.copy()
    for r in runs:
        v = _num(d[r]).replace(0, np.nan)
        logged[r] = np.log2(v).map(lambda x: "" if np.isnan(x) else repr(float(x)))
    f = tmp_path / "log2_matrix.tsv.gz"
    with gzip.open(f, "wt") as fh:
        logged.to_csv(fh, sep="\t", index=False)
    q = read(f)
    assert q.meta["scale"] == "log2"
    got = q.data[q.data["run"] == runs[0]]["intensity"].to_numpy()
    np.testing.assert_allclose(got, _lin(_num(d[runs[0]])), rtol=1e-12)


@pytest.mark.parametrize("parts", [("msstatsconvert_diann", "annotation.csv"),
                                   ("proteuslabelfree_maxquant", "metadata.txt"),
                                   ("pecora_covid_iprg", "derived", "input.dda.iprg.pg.derived.tsv")])
def test_generic_fallback_does_not_take_sample_sheets_or_long_tables(parts):
    """Sample sheets and long tables are not wide matrices: detection refuses them (listing the formats)."""
    from proteomics.errors import InputError

    path = need_shared(*parts)
    with pytest.raises(InputError, match="unknown file format"):
        detect(path)
