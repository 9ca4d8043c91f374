"""Quality control tables (tidy DataFrames; the report module plots them).

* :func:`sample_qc`: per sample identifications, missingness, median intensity, correlation, PCA outliers.
* :func:`protein_qc`: per protein missingness and linear-scale CV, overall and per condition.
* :func:`contamination_qc`: erythrocyte/platelet/coagulation indices for plasma/serum (Geyer et al. 2019).
* :func:`specimen_notes`: BAL dilution and sputum DTT notes.
* :func:`intensity_table`, :func:`pca_table`: long tables for distribution and PCA plots.
"""

from __future__ import annotations

from .contamination import BLOOD_PANELS, MARKER_SOURCE, contamination_qc, load_markers, specimen_notes
from .metrics import intensity_table, pca_table, protein_qc, robust_z, sample_qc

__all__ = ["sample_qc", "protein_qc", "contamination_qc", "specimen_notes", "load_markers", "intensity_table",
           "pca_table", "robust_z", "BLOOD_PANELS", "MARKER_SOURCE"]
