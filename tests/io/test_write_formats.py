"""Output formats chosen from the suffix (.tsv .csv .parquet .xlsx .h5ad), and dataset round trips."""

from __future__ import annotations

import csv
import hashlib

import numpy as np
import pandas as pd
import pytest

from proteomics.dataset import Dataset, Step
from proteomics.errors import InputError
from proteomics.io.write import output_suffix, read_dataset, write_dataset, write_table


def _dataset() -> Dataset:
    rng = np.random.default_rng(7)
    X = rng.normal(20, 2, size=(5, 4))
    X[0, 1] = X[3, 2] = np.nan
    X[1, 0] = 1 / 3  # needs 17 significant digits
    samples = pd.DataFrame({"run": [f"r{i}" for i in range(5)], "condition": ["a", "a", "b", "b", "b"],
                            "age": [50, 61, np.nan, 40, 38], "batch": ["1", "2", "1", "2", "1"]},
                           index=[f"s{i}" for i in range(5)])
    proteins = pd.DataFrame({"gene": ["ALB", None, "APOA1", "CRP"],
                             "description": ["Albumin", "unknown, with comma", "Apolipoprotein A-I", "C-reactive"]},
                            index=["P02768", "Q9;Q8", "P02647", "P02741"])
    layers = {"n_peptides": rng.integers(1, 9, size=(5, 4)), "imputed": np.isnan(X)}
    return Dataset(X, samples, proteins, layers, (Step("quantify", {"method": "maxlfq", "n": [1, 2]}),))


def _sha(p) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


@pytest.mark.parametrize("suffix", [".tsv", ".csv", ".parquet", ".xlsx"])
def test_table_writer_follows_suffix_and_round_trips(tmp_path, suffix):
    df = pd.DataFrame({"protein_group": ["A", "B,C", "D"], "log2fc": [0.1, np.nan, -1 / 3],
                       "n": [1, 2, 3], "gene": ["X", None, "Z"]})
    f = tmp_path / f"t{suffix}"
    write_table(df, f)
    write_table(df, tmp_path / f"u{suffix}")
    assert _sha(f) == _sha(tmp_path / f"u{suffix}")  # byte-identical reruns, xlsx included
    head = f.read_bytes()[:4]
    if suffix == ".tsv":
        back = pd.read_csv(f, sep="\t", float_precision="round_trip")
    elif suffix == ".csv":
        rows = list(csv.reader(f.read_text().splitlines()))
        assert rows[2][0] == "B,C"  # quoted, not split
        back = pd.read_csv(f, float_precision="round_trip")
    elif suffix == ".parquet":
        assert head == b"PAR1"
        back = pd.read_parquet(f)
    else:
        assert head == b"PK\x03\x04"  # a zip (Office Open XML), not TSV text
        back = pd.read_excel(f, engine="openpyxl")
    np.testing.assert_array_equal(back["log2fc"].to_numpy(float), df["log2fc"].to_numpy(float))
    assert back["protein_group"].tolist() == df["protein_group"].tolist()


@pytest.mark.parametrize("name", ["t.txt", "t.xls", "t", "t.json", "t.h5ad"])
def test_unknown_table_suffix_is_refused(tmp_path, name):
    with pytest.raises(InputError, match="cannot write") as exc:
        write_table(pd.DataFrame({"a": [1.0]}), tmp_path / name)
    assert "Fix:" in str(exc.value) and ".xlsx" in str(exc.value)
    assert not list(tmp_path.iterdir())


def test_dataset_suffixes():
    assert output_suffix("m.H5AD", dataset=True) == ".h5ad"
    with pytest.raises(InputError):
        output_suffix("m.mat", dataset=True)


@pytest.mark.parametrize("suffix", [".h5ad", ".xlsx", ".parquet", ".tsv", ".csv"])
def test_dataset_round_trip_preserves_values(tmp_path, suffix):
    ds = _dataset()
    f = tmp_path / f"m{suffix}"
    write_dataset(ds, f)
    write_dataset(ds, tmp_path / f"again{suffix}")
    assert _sha(f) == _sha(tmp_path / f"again{suffix}")
    back = read_dataset(f)
    np.testing.assert_array_equal(back.X, ds.X)  # bit-exact, NaN where missing
    assert back.sample_ids == ds.sample_ids and back.protein_ids == ds.protein_ids
    if suffix in (".h5ad", ".xlsx", ".parquet"):  # annotation travels with the values
        assert back.proteins["gene"].tolist()[::2] == ["ALB", "APOA1"] and pd.isna(back.proteins["gene"].iloc[1])
        assert back.proteins["description"].tolist() == ds.proteins["description"].tolist()
        assert back.samples["condition"].tolist() == ["a", "a", "b", "b", "b"]
        np.testing.assert_array_equal(back.samples["age"].to_numpy(float), ds.samples["age"].to_numpy(float))
    if suffix in (".h5ad", ".parquet"):
        np.testing.assert_array_equal(back.layers["n_peptides"], ds.layers["n_peptides"])
        np.testing.assert_array_equal(back.layers["imputed"], ds.layers["imputed"])
        assert [s.to_dict() for s in back.history] == [s.to_dict() for s in ds.history]


def test_h5ad_is_plain_anndata(tmp_path):
    """What scanpy users open: obs = samples, var = proteins, X log2 with NaN, layers, uns as JSON strings."""
    anndata = pytest.importorskip("anndata")
    import json

    ds = _dataset()
    f = tmp_path / "m.h5ad"
    write_dataset(ds, f)
    ad = anndata.read_h5ad(f)
    assert ad.shape == (5, 4)
    assert list(ad.obs_names) == ds.sample_ids and list(ad.var_names) == ds.protein_ids
    assert {"run", "condition", "age", "batch"} <= set(ad.obs.columns)
    assert {"gene", "description"} <= set(ad.var.columns)
    assert np.isnan(ad.X[0, 1]) and np.isnan(ad.X[3, 2]) and ad.X[1, 0] == 1 / 3
    assert set(ad.layers.keys()) == {"n_peptides", "imputed"}
    meta = ad.uns["proteomics"]
    assert meta["schema"] == "proteomics.dataset"
    assert json.loads(meta["history"])[0]["params"] == {"method": "maxlfq", "n": [1, 2]}
    back = Dataset.from_anndata(ad)
    np.testing.assert_array_equal(back.X, ds.X)
    # an AnnData made elsewhere (no provenance, sparse-free) is read too
    plain = anndata.AnnData(X=np.ones((2, 3)))
    other = Dataset.from_anndata(plain)
    assert other.shape == (2, 3) and other.history == ()


def test_proteomics_read_opens_h5ad(tmp_path):
    import proteomics as pt

    ds = _dataset()
    write_dataset(ds, tmp_path / "m.h5ad")
    back = pt.read(tmp_path / "m.h5ad")
    assert isinstance(back, Dataset)
    np.testing.assert_array_equal(back.X, ds.X)


def test_xlsx_workbook_layout(tmp_path):
    ds = _dataset()
    write_dataset(ds, tmp_path / "m.xlsx")
    sheets = pd.read_excel(tmp_path / "m.xlsx", sheet_name=None, engine="openpyxl")
    assert list(sheets) == ["matrix", "proteins", "samples"]
    assert list(sheets["matrix"].columns) == ["protein_group", *ds.sample_ids]  # DESIGN's MATRIX layout
    assert list(sheets["proteins"].columns) == ["protein_group", "gene", "description"]
