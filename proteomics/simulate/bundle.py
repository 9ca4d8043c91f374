"""Sample sheets, truth table, the bundled ``sample_data/`` files and a Dataset view of the simulated cohort."""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
import pandas as pd

from ..dataset import Dataset, Step
from .catalogue import DEFAULT_SEED, SPECIMENS
from .cohort import Cohort, simulate_cohort
from .diann import diann_report_frame, tsv_bytes, write_diann_report, write_file
from .maxquant import write_maxquant_protein_groups

__all__ = ["write_sheet_csv", "write_sheet_sdrf", "write_truth", "write_bundle", "to_dataset"]


def sheet_text(sheet: pd.DataFrame) -> pd.DataFrame:
    """The sheet with ``smoking`` and ``time`` as one-decimal text, as the bundled CSV shows them."""
    out = sheet.copy()
    out["smoking"] = out["smoking"].map(lambda v: f"{v:.1f}")
    if "time" in out:
        out["time"] = out["time"].map(lambda v: f"{v:.1f}")
    return out


def write_sheet_csv(sheet: pd.DataFrame, path: str | os.PathLike) -> str:
    """Write a sample sheet as CSV (run, sample, subject, specimen, condition, batch, covariates)."""
    buf = io.StringIO()
    sheet_text(sheet).to_csv(buf, index=False, lineterminator="\n")
    return write_file(path, buf.getvalue().encode("utf-8"))


_SDRF_PART = {"plasma": "blood plasma", "BAL": "bronchoalveolar lavage fluid", "sputum": "sputum"}


def write_sheet_sdrf(sheet: pd.DataFrame, path: str | os.PathLike) -> str:
    """Write the same sheet in SDRF-Proteomics layout (organism part, individual, factor value[disease] …)."""
    s = sheet_text(sheet)
    sdrf = pd.DataFrame({
        "source name": s["sample"], "characteristics[organism]": "Homo sapiens",
        "characteristics[organism part]": s["specimen"].map(_SDRF_PART),
        "characteristics[individual]": s["subject"], "characteristics[disease]": s["condition"],
        "characteristics[age]": s["age"], "characteristics[sex]": s["sex"],
        "characteristics[smoking]": s["smoking"], "characteristics[time]": s["time"],
        "characteristics[event]": s["event"], "characteristics[batch]": s["batch"],
        "characteristics[biological replicate]": 1, "assay name": [f"run {i + 1}" for i in range(len(s))],
        "technology type": "proteomic profiling by mass spectrometry",
        "comment[proteomics data acquisition method]": "NT=Data-Independent Acquisition;AC=NCIT:C161786",
        "comment[label]": "AC=MS:1002038;NT=label free sample",
        "comment[instrument]": "AC=MS:1003028;NT=Orbitrap Exploris 480",
        "comment[cleavage agent details]": "AC=MS:1001251;NT=Trypsin",
        "comment[fraction identifier]": 1, "comment[technical replicate]": 1,
        "comment[data file]": s["run"], "factor value[disease]": s["condition"]})
    buf = io.StringIO()
    sdrf.to_csv(buf, sep="\t", index=False, lineterminator="\n")
    return write_file(path, buf.getvalue().encode("utf-8"))


def write_truth(cohort: Cohort, path: str | os.PathLike) -> str:
    """Write truth.tsv: per specimen and protein, the true log2 fold change (cancer − control) and roles."""
    t = cohort.truth.copy()
    for c in ("changed", "reference"):
        t[c] = t[c].map({True: "true", False: "false"})
    return write_file(path, tsv_bytes(t, ".6g"))


def write_bundle(out_dir: str | os.PathLike, seed: int = DEFAULT_SEED) -> dict[str, str]:
    """Simulate the default cohort and write every bundled file under ``out_dir``.

    Returns {relative path: sha256 of the uncompressed content}. Reports are gzip-compressed
    (``report.tsv.gz``, written with mtime 0 so reruns are byte-identical).
    """
    out = Path(out_dir)
    c = simulate_cohort(seed)
    new_samples = c.new_sheet["sample"].tolist()
    train = {spec: c.sheet.loc[c.sheet["specimen"] == spec, "sample"].tolist() for spec in SPECIMENS}
    plasma = diann_report_frame(c, "plasma", train["plasma"])
    digests = {
        "sheet.csv": write_sheet_csv(c.sheet, out / "sheet.csv"),
        "sheet.sdrf.tsv": write_sheet_sdrf(c.sheet, out / "sheet.sdrf.tsv"),
        "truth.tsv": write_truth(c, out / "truth.tsv"),
        "plasma/report.tsv.gz": write_diann_report(c, "plasma", out / "plasma" / "report.tsv.gz", report=plasma),
        "plasma/proteinGroups.txt": write_maxquant_protein_groups(c, out / "plasma" / "proteinGroups.txt",
                                                                  "plasma", report=plasma),
        "bal/report.tsv.gz": write_diann_report(c, "BAL", out / "bal" / "report.tsv.gz", train["BAL"]),
        "sputum/report.tsv.gz": write_diann_report(c, "sputum", out / "sputum" / "report.tsv.gz", train["sputum"]),
        "new_patients/report.tsv.gz": write_diann_report(c, "plasma", out / "new_patients" / "report.tsv.gz",
                                                         new_samples),
        "new_patients/sheet.csv": write_sheet_csv(c.new_sheet, out / "new_patients" / "sheet.csv"),
    }
    expected = pd.DataFrame({"sample": new_samples, "true_condition": ["cancer", "control", "control"],
                             "expected": ["scored", "scored", "refused: hemolysed and mostly missing"]})
    digests["new_patients/truth.tsv"] = write_file(out / "new_patients" / "truth.tsv", tsv_bytes(expected))
    return digests


def to_dataset(cohort: Cohort, specimen: str = "plasma", *, complete: bool = False,
               include_new: bool = False) -> Dataset:
    """A protein :class:`~proteomics.dataset.Dataset` (samples × proteins, log2, NaN = missing) of a specimen.

    ``complete=False``: log2 ``PG.MaxLFQ`` of the written DIA-NN report filtered at 1 % precursor and
    protein-group q-value (what a reader + quantifier would roughly see). ``complete=True``: the true
    abundances before missingness and precursor noise (``Cohort.abundance``). Samples carry the sheet
    columns (condition, batch, covariates) plus ``subgroup`` when subgroups were planted; proteins
    carry gene, true_log2fc, changed, reference and contamination_panel. ``include_new`` adds N001–N003.
    """
    sheet = pd.concat([cohort.sheet, cohort.new_sheet]) if include_new else cohort.sheet
    sheet = sheet[sheet["specimen"] == specimen].set_index("sample")
    if sheet.empty:
        raise ValueError(f"no {specimen} samples in this cohort")
    truth = cohort.truth[cohort.truth["specimen"] == specimen].set_index("protein_group")
    if complete:
        X = cohort.abundance[specimen].loc[sheet.index]
    else:
        rep = diann_report_frame(cohort, specimen, sheet.index.tolist())
        rep = rep[(rep["Q.Value"] <= 0.01) & (rep["PG.Q.Value"] <= 0.01)]
        X = np.log2(rep.groupby(["Run", "Protein.Group"])["PG.MaxLFQ"].first().unstack())
        X.index = [r + "_" for r in X.index]
        stems = {f"{run[:-4]}_": sample for sample, run in sheet["run"].items()}
        X = X.rename(index=stems).reindex(index=sheet.index, columns=[g for g in truth.index if g in X.columns])
    samples = sheet.copy()
    if cohort.subgroups is not None:
        samples["subgroup"] = cohort.subgroups.reindex(samples["subject"]).fillna(-1).astype(int).to_numpy()
    proteins = truth.loc[X.columns, ["gene", "true_log2fc", "changed", "reference", "contamination_panel"]]
    step = Step("simulate", {"seed": cohort.seed, "specimen": specimen, "complete": complete})
    return Dataset(X.to_numpy(float), samples, proteins, history=(step,))
