"""Quantified real data through a preprocessing chain: Dataset and sklearn Pipeline paths agree."""

from __future__ import annotations

import numpy as np
from sklearn.pipeline import Pipeline

from proteomics import io
from proteomics.preprocess import STEPS
from proteomics.quant import quantify

from ..conftest import need_shared


def _steps():
    return [("filter_contaminants", STEPS["filter_contaminants"]()),
            ("filter_min_valid", STEPS["filter_min_valid"](min_fraction=0.6)),
            ("normalize_median", STEPS["normalize_median"]()),
            ("impute_downshift", STEPS["impute_downshift"](seed=11))]


def test_chain_on_quantified_fragpipe():
    t = io.read(need_shared("proteobench_hye", "Fragpipe_combined_ion.tsv"))
    ds = quantify(t, method="maxlfq", min_ratio_count=1)
    y = np.array(["A" if "_A_" in s else "B" for s in ds.sample_ids])
    out = ds
    for _, step in _steps():
        out = step.fit_transform(out, y)
    assert [h.name for h in out.history] == ["quantify", "ContaminantFilter", "MinValidFilter",
                                             "MedianNormalizer", "DownshiftImputer"]
    assert not np.isnan(out.X).any() and out.layers["imputed"].any()
    assert out.layers["n_peptides"].shape == out.shape  # quantification layer kept through the chain
    pipe = Pipeline(_steps()).fit(ds.to_frame(), y)
    frame_out = pipe.transform(ds.to_frame())
    assert list(frame_out.columns) == out.protein_ids
    assert frame_out.to_numpy().tobytes() == out.X.tobytes()
