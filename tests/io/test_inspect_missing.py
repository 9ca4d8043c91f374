"""``inspect``'s missing_fraction counts entity × run cells without a value: a long report lists only what was
seen, so an absent row is as missing as a NaN (it was 0.0 for every DIA-NN report)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from proteomics.io import inspect
from proteomics.io.registry import _missing_cells

SAMPLE = Path(__file__).resolve().parents[2] / "sample_data"


def test_absent_rows_and_nan_both_count_as_missing():
    d = pd.DataFrame({"entity_id": ["a", "a", "b", "c", "c"], "run": ["r1", "r2", "r1", "r1", "r2"],
                      "intensity": [1.0, 2.0, 3.0, np.nan, 4.0]})
    # 3 entities × 2 runs = 6 cells; seen: a/r1, a/r2, b/r1, c/r2 → 2 missing (b/r2 absent, c/r1 NaN)
    assert abs(_missing_cells(d) - 2 / 6) < 1e-15
    assert _missing_cells(d.iloc[:0]) == 0.0


def test_a_precursor_report_reports_its_absent_precursors():
    s = inspect(SAMPLE / "plasma" / "report.tsv.gz")
    # one row per seen precursor and run, no NaN: the absent share is 1 − rows / (runs × precursors)
    expected = 1 - s["n_rows"] / (s["n_runs"] * s["n_entities"])
    assert 0.05 < s["missing_fraction"] < 0.5
    assert abs(s["missing_fraction"] - expected) < 1e-12
