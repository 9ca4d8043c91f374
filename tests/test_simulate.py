"""The simulated cohort: determinism, truth consistency, missingness model, file formats, bundled files."""

from __future__ import annotations

import gzip
import hashlib
import re
import runpy

import numpy as np
import pandas as pd
import pytest

from proteomics.samples import SampleSheet
from proteomics.simulate import (
    DEFAULT_SEED,
    catalogue,
    diann_report_frame,
    maxquant_protein_groups_frame,
    simulate_cohort,
    write_diann_report,
    write_large_diann_report,
)
from tests.conftest import SAMPLE_DATA, need_shared

BUNDLED = ["sheet.csv", "sheet.sdrf.tsv", "truth.tsv", "plasma/report.tsv.gz", "plasma/proteinGroups.txt",
           "bal/report.tsv.gz", "sputum/report.tsv.gz", "new_patients/report.tsv.gz", "new_patients/sheet.csv",
           "new_patients/truth.tsv"]


@pytest.fixture(scope="module")
def cohort():
    return simulate_cohort(DEFAULT_SEED)


def _content(path) -> bytes:
    data = path.read_bytes()
    return gzip.decompress(data) if path.suffix == ".gz" else data


def test_seeded_determinism(cohort, tmp_path):
    again = simulate_cohort(DEFAULT_SEED)
    for spec in cohort.precursors:
        pd.testing.assert_frame_equal(cohort.precursors[spec], again.precursors[spec])
        pd.testing.assert_frame_equal(cohort.abundance[spec], again.abundance[spec])
    small = [simulate_cohort(5, n_patients=12, n_bal=6, n_sputum=6) for _ in range(2)]
    for i, c in enumerate(small):
        write_diann_report(c, "BAL", tmp_path / f"{i}.tsv.gz")
    assert (tmp_path / "0.tsv.gz").read_bytes() == (tmp_path / "1.tsv.gz").read_bytes()
    other = simulate_cohort(DEFAULT_SEED + 1)
    assert not other.abundance["BAL"].equals(cohort.abundance["BAL"])


def test_design(cohort):
    s = cohort.sheet
    plasma = s[s["specimen"] == "plasma"]
    assert len(plasma) == 60 and plasma["condition"].value_counts().to_dict() == {"cancer": 30, "control": 30}
    for spec in ("BAL", "sputum"):
        sub = s[s["specimen"] == spec]
        assert len(sub) == 24 and sub["condition"].value_counts().to_dict() == {"cancer": 12, "control": 12}
        assert set(sub["subject"]) <= set(plasma["subject"])
    assert set(s["batch"]) == {"1", "2"}
    assert cohort.subjects["hemolysed"].sum() == 4  # 3 in the cohort + the unfit new patient
    assert list(cohort.new_sheet["sample"]) == ["N001_plasma", "N002_plasma", "N003_plasma"]
    for spec in ("plasma", "BAL", "sputum"):
        assert 300 <= len(cohort.proteins[spec]) <= 400  # several hundred proteins per specimen


def test_changed_fraction_and_fold_change_range(cohort):
    t = cohort.truth
    for spec, g in t.groupby("specimen"):
        frac = g["changed"].mean()
        assert 0.07 <= frac <= 0.09, spec
        fc = g.loc[g["changed"], "true_log2fc"].abs()
        assert fc.between(0.5, 1.5).all()
        assert not (g["reference"] & g["changed"]).any()
        assert not (g["changed"] & (g["contamination_panel"] != "")).any()
        assert (g.loc[g["reference"], "sd_bio"] == 0.1).all() and g["reference"].sum() >= 8


def test_complete_data_recovers_true_fold_changes(cohort):
    """On complete (no missingness) plasma data, cancer − control means estimate true_log2fc without bias."""
    A = cohort.abundance["plasma"]
    sheet = cohort.sheet[cohort.sheet["specimen"] == "plasma"].set_index("sample")
    A = A.loc[sheet.index]
    cancer = (sheet["condition"] == "cancer").to_numpy()
    diff = A[cancer].mean() - A[~cancer].mean()
    se = np.sqrt(A[cancer].var() / cancer.sum() + A[~cancer].var() / (~cancer).sum())
    t = cohort.truth[cohort.truth["specimen"] == "plasma"].set_index("protein_group")
    # proteins without covariate effects (smoking/age are associated with condition by design)
    direct = (t[["age_effect_per_decade", "sex_effect_female", "smoking_effect_per_10py"]] == 0).all(axis=1)
    z = ((diff - t["true_log2fc"]) / se)[direct]
    assert (z.abs() < 4.5).all()
    assert abs(z.mean()) < 0.35  # ~N(0, 1/sqrt(n)) if unbiased; batch imbalance adds a little
    changed = t.index[t["changed"]]
    slope = np.polyfit(t.loc[changed, "true_log2fc"], diff[changed], 1)[0]
    assert 0.9 < slope < 1.1


def test_missingness_depends_on_intensity(cohort):
    for spec, prec in cohort.precursors.items():
        missing = (prec["status"] != "detected").to_numpy()
        bins = pd.qcut(prec["log2_expected"], 5, labels=False)
        rate = pd.Series(missing).groupby(bins.to_numpy()).mean().to_numpy()
        # lower intensity → more missing (the top bins are all at the MCAR floor, equal up to noise)
        assert np.all(np.diff(rate) < 0.01) and rate[0] > rate[1] > rate[2], (spec, rate)
        assert rate[0] > 0.4 and 0.01 < rate[-1] < 0.08, (spec, rate)  # MNAR at the bottom, MCAR everywhere


def test_report_has_rows_a_reader_must_filter(cohort):
    rep = diann_report_frame(cohort, "plasma", cohort.sheet.loc[cohort.sheet["specimen"] == "plasma", "sample"].tolist())
    high = (rep["Q.Value"] > 0.01) | (rep["PG.Q.Value"] > 0.01)
    assert 0.01 < high.mean() < 0.15
    prec = cohort.precursors["plasma"]
    written = prec[prec["status"] != "missing"]
    keyed = written.set_index(["run", "precursor_id"])["status"]
    status = keyed.reindex(pd.MultiIndex.from_arrays([rep["Run"], rep["Precursor.Id"]])).to_numpy()
    assert ((status == "low_confidence") == high.to_numpy()).all()
    ok = rep[~high]
    ratio = ok["Precursor.Quantity"] / (2.0 ** written.set_index(["run", "precursor_id"])["log2_intensity"]).reindex(
        pd.MultiIndex.from_arrays([ok["Run"], ok["Precursor.Id"]])).to_numpy()
    assert np.allclose(ratio, 1.0)
    assert (rep.groupby(["Run", "Precursor.Id"]).size() == 1).all()


def test_hemolysed_and_unfit_samples_stand_out(cohort):
    A = cohort.abundance["plasma"]
    ery = cohort.truth.query("specimen == 'plasma' and contamination_panel == 'erythrocyte'")["protein_group"]
    # erythrocyte panel relative to the sample's own level (the unfit N003 has a very low load)
    score = A[ery].sub(A[ery].median()).mean(axis=1) - A.sub(A.median()).median(axis=1)
    hemolysed = [f"{s}_plasma" for s in cohort.subjects.index[cohort.subjects["hemolysed"]]]
    assert score[hemolysed].min() > 3.0 and score.drop(hemolysed).abs().max() < 1.5
    prec = cohort.precursors["plasma"]
    detected = prec[prec["status"] == "detected"].groupby("sample")["protein_group"].nunique()
    assert detected["N003_plasma"] < 0.5 * detected.drop("N003_plasma").median()


def test_planted_subgroups():
    c = simulate_cohort(7, n_subgroups=3, specimens=("plasma",))
    labels = c.subgroups
    assert sorted(labels.unique()) == [0, 1, 2]
    tab = pd.crosstab(labels, c.subjects.loc[labels.index, "condition"])
    assert (tab.to_numpy() == 10).all()  # balanced within condition: subgroups are not the case/control split
    A = c.abundance["plasma"].loc[[f"{s}_plasma" for s in labels.index]]
    prog = c.programmes[c.programmes["specimen"] == "plasma"]
    for g, rows in prog.groupby("subgroup"):
        members = (labels == g).to_numpy()
        diff = A.loc[members, rows["protein_group"]].mean() - A.loc[~members, rows["protein_group"]].mean()
        assert np.corrcoef(diff.to_numpy(), rows["effect"].to_numpy())[0, 1] > 0.9
        assert np.abs(diff.to_numpy() - rows["effect"].to_numpy()).mean() < 0.3
    with pytest.raises(ValueError):
        simulate_cohort(1, n_subgroups=1)


def test_large_report_chunking_and_formats(tmp_path):
    n1 = write_large_diann_report(tmp_path / "a.tsv", n_runs=5, n_precursors=3000, seed=3, runs_per_chunk=2)
    n2 = write_large_diann_report(tmp_path / "b.tsv", n_runs=5, n_precursors=3000, seed=3, runs_per_chunk=5)
    assert (tmp_path / "a.tsv").read_bytes() == (tmp_path / "b.tsv").read_bytes()
    df = pd.read_csv(tmp_path / "a.tsv", sep="\t")
    assert len(df) == n1 == n2 and df["Run"].nunique() == 5
    assert 0.6 < len(df) / (5 * 3000) < 0.9 and (df["Q.Value"] > 0.01).any()
    assert not df.duplicated(["Run", "Precursor.Id"]).any()
    n3 = write_large_diann_report(tmp_path / "c.parquet", n_runs=5, n_precursors=3000, seed=3, fmt="parquet",
                                  runs_per_chunk=2)
    pq = pd.read_parquet(tmp_path / "c.parquet")
    assert n3 == n1 and list(pq.columns) == list(df.columns)
    assert np.allclose(pq["Precursor.Quantity"], df["Precursor.Quantity"], rtol=1e-5)


# ------------------------------------------------------------------------------------------ formats vs real files

def test_diann_columns_exist_in_a_real_report(cohort):
    real = need_shared("proteobench_hye", "DIANN_1.9_beta_sample_report.tsv").read_text().splitlines()[0].split("\t")
    ours = list(diann_report_frame(cohort, "BAL").columns)
    assert set(ours) <= set(real)
    assert [c for c in real if c in ours] == ours  # same relative order as DIA-NN writes them


def test_maxquant_columns_follow_a_real_protein_groups(cohort):
    with gzip.open(need_shared("proteuslabelfree_maxquant", "proteinGroups.txt.gz"), "rt") as fh:
        real = fh.readline().rstrip("\n").split("\t")
    real_runs = sorted({c[len("LFQ intensity "):] for c in real if c.startswith("LFQ intensity ")})
    ours = list(maxquant_protein_groups_frame(cohort, "plasma", ["P001_plasma", "P002_plasma"]).columns)
    runs = ["P001_plasma_b1", "P002_plasma_b1"]

    def pattern(cols, names):
        out = []
        for c in cols:
            for r in names:
                c = re.sub(rf"(?<= ){re.escape(r)}(?= |$)", "<run>", c)
            out.append(c)
        return list(dict.fromkeys(out))

    real_p, our_p = pattern(real, real_runs), pattern(ours, runs)
    common = [c for c in our_p if c in real_p]
    assert set(our_p) - set(common) == {"Gene names"}  # that real file was searched without gene parsing
    assert [c for c in real_p if c in common] == common  # MaxQuant's column order
    for needed in ("Protein IDs", "Majority protein IDs", "Reverse", "Potential contaminant", "Only identified by site",
                   "Intensity <run>", "LFQ intensity <run>", "iBAQ <run>", "MS/MS count <run>", "Peptides",
                   "Razor + unique peptides"):
        assert needed in our_p


def test_catalogue_accessions_agree_with_real_fasta_headers():
    """Accession ↔ entry name ↔ gene pairs of our catalogue that also appear in real UniProt FASTA headers."""
    headers = {}
    for name in ("top1k_human.fasta", "yeast_UPS.fasta"):
        for line in need_shared("quantms_testdata_sdrf_fasta", name).read_text().splitlines():
            m = re.match(r">\w+\|([A-Z0-9]+?)(?:ups)?\|(\w+?)(?:_UPS)?\s.*?(?:GN=(\S+))?", line)
            if line.startswith(">") and m:
                gene = re.search(r"GN=(\S+)", line)
                headers[m.group(1)] = (m.group(2), gene.group(1) if gene else None)
    cat = catalogue()
    checked = 0
    for accs, genes, entries in cat[["protein_group", "gene", "entry"]].itertuples(index=False):
        for acc, gene, entry in zip(accs.split(";"), genes.split(";"), entries.split(";"), strict=True):
            if acc in headers:
                checked += 1
                assert headers[acc][0] == entry, acc
                assert headers[acc][1] in (None, gene), acc
    assert checked >= 30
    geyer = {"HBA1", "HBB", "HBD", "CA1", "CA2", "PRDX2", "CAT", "PF4", "PPBP", "TLN1", "MYH9", "FGA", "FGB", "FGG"}
    assert geyer <= set(cat["gene"])
    assert cat["protein_group"].is_unique and cat["gene"].is_unique


# ------------------------------------------------------------------------------------------ bundled files

def test_bundled_files_equal_regeneration(tmp_path):
    script = runpy.run_path(str(SAMPLE_DATA / "simulate.py"))
    digests = script["main"]([str(tmp_path)])
    assert sorted(digests) == sorted(BUNDLED)
    for name in BUNDLED:
        bundled = hashlib.sha256(_content(SAMPLE_DATA / name)).hexdigest()
        assert bundled == digests[name] == hashlib.sha256(_content(tmp_path / name)).hexdigest(), name
    size = sum(p.stat().st_size for p in SAMPLE_DATA.rglob("*") if p.is_file())
    assert size < 6_000_000


def test_bundled_sheet_matches_bundled_reports():
    sheet = SampleSheet.read(SAMPLE_DATA / "sheet.csv")
    for folder, spec in (("plasma", "plasma"), ("bal", "BAL"), ("sputum", "sputum")):
        runs = pd.read_csv(SAMPLE_DATA / folder / "report.tsv.gz", sep="\t", usecols=["Run"])["Run"].unique()
        mapping = sheet.subset(specimen=spec).match_runs(runs)  # sheet has P001_plasma_b1.raw, report the stem
        assert len(mapping) == len(runs) == {"plasma": 60, "BAL": 24, "sputum": 24}[spec]
    new = SampleSheet.read(SAMPLE_DATA / "new_patients" / "sheet.csv")
    runs = pd.read_csv(SAMPLE_DATA / "new_patients" / "report.tsv.gz", sep="\t", usecols=["Run"])["Run"].unique()
    assert new.match_runs(runs) == {f"N00{i}_plasma_b3": f"N00{i}_plasma" for i in (1, 2, 3)}


def test_to_dataset(cohort):
    from proteomics.simulate import to_dataset

    ds = to_dataset(cohort, "plasma")
    sheet = cohort.sheet[cohort.sheet["specimen"] == "plasma"]
    assert ds.sample_ids == sheet["sample"].tolist()
    assert set(ds.protein_ids) <= set(cohort.proteins["plasma"]["protein_group"])
    missing = np.isnan(ds.X).mean()
    assert 0.08 < missing < 0.3  # MNAR + MCAR after the 1 % q-value filter
    # observed values track the complete abundances (up to per-run normalisation and precursor noise)
    full = to_dataset(cohort, "plasma", complete=True)
    a = pd.DataFrame(ds.X, index=ds.sample_ids, columns=ds.protein_ids)
    b = pd.DataFrame(full.X, index=full.sample_ids, columns=full.protein_ids)[a.columns]
    centred = (a - a.median()) - (b - b.median())
    assert np.nanmedian(np.abs(centred.to_numpy())) < 0.35
    assert to_dataset(cohort, "plasma", include_new=True).sample_ids[-3:] == ["N001_plasma", "N002_plasma",
                                                                               "N003_plasma"]


def test_null_cohort_has_no_group_structure(cohort):
    null = simulate_cohort(9, fraction_changed=0, n_hemolysed=0, n_clotted=0, batch_effects=False,
                           specimens=("plasma",))
    assert not null.truth["changed"].any() and (null.truth["true_log2fc"] == 0).all()
    training = null.subjects.index.str.startswith("P")
    assert not null.subjects.loc[training, ["hemolysed", "clotted"]].any().any()

    def batch_gap(c):
        sheet = c.sheet[c.sheet["specimen"] == "plasma"].set_index("sample")
        A = c.abundance["plasma"].loc[sheet.index]
        b1 = (sheet["batch"] == "1").to_numpy()
        return (A[b1].mean() - A[~b1].mean()).abs().median()

    assert batch_gap(null) < 0.15 < batch_gap(cohort)


def test_extra_proteins():
    c = simulate_cohort(2, n_patients=10, n_bal=4, n_sputum=4, extra_proteins=60, specimens=("BAL",))
    assert len(c.proteins["BAL"]) == 327 + 60
    assert c.abundance["BAL"].shape == (4, 387) and c.proteins["BAL"]["protein_group"].is_unique


def test_lfq_truth_runs_are_independent_draws_and_noise_models_differ():
    from proteomics.simulate.lfq_truth import simulate_lfq

    a = simulate_lfq(6, 50, seed=4)
    b = simulate_lfq(4, 50, seed=4)  # the first 4 runs of a 6-run cohort are the same data
    sub = a.data[a.data["run"].isin(b.truth.columns)].reset_index(drop=True)
    np.testing.assert_array_equal(sub["intensity"].to_numpy(), b.data["intensity"].to_numpy())
    np.testing.assert_array_equal(a.truth.iloc[:, :4].to_numpy(), b.truth.to_numpy())
    h = simulate_lfq(40, 200, seed=4, noise="heavy")
    g = simulate_lfq(40, 200, seed=4, noise="gaussian")
    assert h.truth.shape == g.truth.shape == (200, 40)
    # heavy model: precursors lost for whole blocks of 20 runs → runs-seen counts cluster at multiples of 20
    seen_h = h.data.groupby("entity_id", observed=True)["run"].nunique()
    seen_g = g.data.groupby("entity_id", observed=True)["run"].nunique()
    assert (seen_h <= 21).mean() > (seen_g <= 21).mean()
