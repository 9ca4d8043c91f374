"""Per-reader example files for the reader contract suite and the mutation tests.

``EXAMPLES`` maps a registered reader name to example files under ``../shared/data`` (real files written by
the tools). Readers with no real example there get a small file built by ``SYNTHETIC[name](folder)`` from a
real one (e.g. a DIA-NN ``pr_matrix`` pivoted from a real DIA-NN report). ``COLUMNS`` names, per tabular
reader, a required column (for the missing-column test) and an intensity/run column (for the decimal-comma
and duplicate-column tests). Add entries here when you add a reader.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import SHARED_DATA

EXAMPLES: dict[str, tuple[str, ...]] = {
    "diann_report": ("diann_rpackage_report/diann_report.tsv", "proteobench_hye/DIANN_1.9_beta_sample_report.tsv",
                     "proteobench_hye/entrapment_test_subset.parquet"),
    "diann_pg_matrix": ("alphapeptstats_diann/report_final.pg_matrix.tsv",),
    "maxquant_proteingroups": ("alphapeptstats_maxquant_go/proteinGroups.txt",
                               "proteuslabelfree_maxquant/proteinGroups.txt.gz"),
    "maxquant_evidence": ("proteobench_hye/MaxQuant_2_5_1_evidence_sample.txt",),
    "maxquant_peptides": ("directlfq_maxquant_peptides/mq_peptides.txt",),
    "fragpipe_combined_protein": ("alphapeptstats_fragpipe/combined_proteins.tsv",),
    "fragpipe_combined_ion": ("proteobench_hye/FragPipe_MSFragger_combined_ion.tsv",),
    "fragpipe_psm": ("fragpipe_psm_fpics/psm.tsv",),
    "msstats": ("msstatsconvert_fragpipe/fragpipe_input.csv",),
    "spectronaut": ("spectropiper_hye_demo_spectronaut/HYE_demo_data_Report_SpectroPipeR.tsv",
                    "alphapeptstats_spectronaut/results_non_european_comma.tsv"),
    "generic": ("baldur_ups1_chlamy_progenesis/derived/yeast.derived.tsv",),
    # PSI-standard readers (owned by the PSI developer; add more here)
    "mztab": ("pyteomics_tests/test.mztab",),
    "mzid": ("pyteomics_tests/test.mzid",),
    "pepxml": ("pyteomics_tests/test.pep.xml",),
}

# reader -> (a required column, an intensity column read as a number)
COLUMNS: dict[str, tuple[str, str]] = {
    "diann_report": ("Protein.Group", "Precursor.Normalised"),
    "diann_pg_matrix": ("Protein.Group", "S1"),
    "diann_pr_matrix": ("Precursor.Id", "LFQ_Orbitrap_AIF_Condition_A_Sample_Alpha_01"),
    "maxquant_proteingroups": ("Protein IDs", "LFQ intensity AC381"),
    "maxquant_evidence": ("Raw file", "Intensity"),
    "maxquant_peptides": ("Proteins", "Intensity BoxCar_02-01_1"),
    "fragpipe_combined_protein": ("Protein", "S1 Razor Intensity"),
    "fragpipe_combined_ion": ("Protein", "LFQ_Orbitrap_DDA_Condition_A_Sample_Alpha_01 Intensity"),
    "fragpipe_combined_peptide": ("Peptide Sequence", "LFQ_Orbitrap_DDA_Condition_A_Sample_Alpha_01 Intensity"),
    "fragpipe_psm": ("Spectrum", "Intensity"),
    "msstats": ("ProteinName", "Intensity"),
    "spectronaut": ("R.FileName", "FG.Quantity"),
    "generic": ("identifier", "ng50_1"),
}


def _pr_matrix(folder: Path) -> Path:
    """A DIA-NN pr_matrix (precursors × runs) pivoted with pandas from the real DIA-NN 1.9 report."""
    src = SHARED_DATA / "proteobench_hye/DIANN_1.9_beta_sample_report.tsv"
    if not src.exists():
        pytest.skip(f"real-data file {src} is absent")
    d = pd.read_csv(src, sep="\t", keep_default_na=False, dtype=str)
    ids = ["Protein.Group", "Protein.Ids", "Protein.Names", "Genes", "Stripped.Sequence", "Modified.Sequence",
           "Precursor.Charge", "Precursor.Id"]
    wide = d.pivot_table(index=ids, columns="Run", values="Precursor.Normalised", aggfunc="first").reset_index()
    out = folder / "report.pr_matrix.tsv"
    wide.to_csv(out, sep="\t", index=False)
    return out


def _combined_peptide(folder: Path) -> Path:
    """A FragPipe combined_peptide.tsv made from the real combined_ion.tsv (ion columns dropped, first ion
    of each peptide kept)."""
    src = SHARED_DATA / "proteobench_hye/FragPipe_MSFragger_combined_ion.tsv"
    if not src.exists():
        pytest.skip(f"real-data file {src} is absent")
    d = pd.read_csv(src, sep="\t", keep_default_na=False, dtype=str)
    d = d.drop(columns=["Modified Sequence", "Charge", "M/Z"]).drop_duplicates("Peptide Sequence")
    out = folder / "combined_peptide.tsv"
    d.to_csv(out, sep="\t", index=False)
    return out


SYNTHETIC: dict[str, Callable[[Path], Path]] = {
    "diann_pr_matrix": _pr_matrix,
    "fragpipe_combined_peptide": _combined_peptide,
}


def example(name: str, folder: Path) -> Path:
    """The first example file of reader ``name``: skips the test when ``../shared/data`` lacks it, fails when
    the reader has no example registered here."""
    if name in EXAMPLES:
        path = SHARED_DATA / EXAMPLES[name][0]
        if not path.exists():
            pytest.skip(f"real-data file {path} is absent (../shared/data is not beside this checkout)")
        return path
    if name in SYNTHETIC:
        folder.mkdir(parents=True, exist_ok=True)
        return SYNTHETIC[name](folder)
    pytest.fail(f"reader {name!r} is registered but has no example file: add one to EXAMPLES or SYNTHETIC in "
                "tests/io/examples.py")
