"""Quality control tables (tidy DataFrames; the report module plots them).

* :func:`sample_qc`: per sample identifications, missingness, median intensity, correlation, PCA outliers.
* :func:`protein_qc`: per protein missingness and linear-scale CV, overall and per condition.
* :func:`contamination_qc`: erythrocyte/platelet/coagulation indices for plasma/serum (Geyer et al. 2019).
* :func:`haemolysis_check`: per-sample haemolysis status for scoring (against the scored batch, ≥ 5 samples).
* :func:`specimen_notes`: BAL dilution and sputum DTT notes.
* :func:`intensity_table`, :func:`pca_table`: long tables for distribution and PCA plots.
"""

from __future__ import annotations

from .contamination import (
    BLOOD_PANELS,
    HAEMOLYSIS_MIN_SAMPLES,
    MARKER_SOURCE,
    contamination_qc,
    haemolysis_check,
    load_markers,
    specimen_notes,
)
from .metrics import intensity_table, pca_table, protein_qc, robust_z, sample_qc

__all__ = ["sample_qc", "protein_qc", "contamination_qc", "haemolysis_check", "specimen_notes", "load_markers",
           "intensity_table", "pca_table", "robust_z", "BLOOD_PANELS", "MARKER_SOURCE", "HAEMOLYSIS_MIN_SAMPLES"]
