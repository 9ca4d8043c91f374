"""DEResult: table layout, TSV round trip, significance filter, long table, n_obs/n_imputed counts."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from proteomics.dataset import Dataset
from proteomics.stats.limma import moderated_t
from proteomics.stats.results import BASE_COLUMNS, de_long_table


def _ds(with_imputed=False):
    rng = np.random.default_rng(11)
    groups = np.array(["A"] * 4 + ["B"] * 4 + ["C"] * 3)
    X = rng.normal(25, 0.5, (groups.size, 40))
    X[groups == "B", :5] += 2
    X[0, 7] = np.nan
    X[4:6, 8] = np.nan
    s = pd.DataFrame({"condition": groups}, index=[f"s{i}" for i in range(groups.size)])
    p = pd.DataFrame({"gene": [f"G{j}" for j in range(40)]}, index=[f"P{j:02d};Q{j}" for j in range(40)])
    layers = {}
    if with_imputed:
        imp = np.zeros(X.shape, dtype=bool)
        imp[[1, 2], 9] = True
        layers["imputed"] = imp
    return Dataset(X, s, p, layers=layers)


def test_table_columns_order_and_counts():
    res = moderated_t(_ds(with_imputed=True), "B-A")
    t = res.table
    assert tuple(t.columns[: len(BASE_COLUMNS)]) == BASE_COLUMNS
    assert {"n_obs_A", "n_obs_B", "n_obs_C", "n_imputed_A", "n_imputed_B", "n_imputed_C"} <= set(t.columns)
    assert list(t["protein_group"]) == _ds().protein_ids                      # protein order kept
    assert t.loc[7, "n_obs_A"] == 3 and t.loc[8, "n_obs_B"] == 2 and t.loc[9, "n_imputed_A"] == 2
    assert t.loc[0, "gene"] == "G0"
    assert res.contrast == "B-A" and list(res.design.columns) == ["A", "B", "C"]
    assert res.params["contrast_weights"] == {"A": -1.0, "B": 1.0}
    assert (t["ci_low"] < t["log2fc"]).all() and (t["log2fc"] < t["ci_high"]).all()
    with pytest.raises(TypeError):
        res.params["x"] = 1                                                    # frozen


def test_tsv_round_trips_floats_exactly(tmp_path):
    res = moderated_t(_ds(), "B-A")
    path = tmp_path / "de.tsv"
    res.to_tsv(path)
    back = pd.read_csv(path, sep="\t", keep_default_na=False, na_values=[""], float_precision="round_trip")
    for col in ("log2fc", "t", "p_value", "q_value", "df_total", "B", "ci_low"):
        np.testing.assert_array_equal(back[col].to_numpy(dtype=float), res.table[col].to_numpy(dtype=float))
    assert list(back["protein_group"]) == list(res.table["protein_group"])
    first = path.read_text().splitlines()[0].split("\t")
    assert first[:4] == ["protein_group", "gene", "log2fc", "ci_low"]
    res.to_tsv(tmp_path / "again.tsv")
    assert (tmp_path / "again.tsv").read_bytes() == path.read_bytes()          # deterministic
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temp files left


def test_significant_and_long_table():
    rs = moderated_t(_ds(), ["B-A", "C-A"])
    sig = rs[0].significant(0.05)
    assert set(sig.index) == set(np.flatnonzero(rs[0].table["q_value"] < 0.05))
    assert set(range(5)) <= set(sig.index)
    long = de_long_table(rs)
    assert list(long.columns[:2]) == ["contrast", "protein_group"]
    assert len(long) == 80 and list(long["contrast"].unique()) == ["B-A", "C-A"]
    assert "F" in rs[0].params and len(rs[0].params["F"]) == 40
