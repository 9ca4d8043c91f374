import numpy as np
import pandas as pd
import pytest

from proteomics import Dataset, InputError, Step


def _ds():
    X = np.array([[1.0, np.nan, 3.0], [4.0, 5.0, 6.0]])
    s = pd.DataFrame({"condition": ["a", "b"], "age": [50, 61]}, index=["s1", "s2"])
    p = pd.DataFrame({"gene": ["G1", "G2", "G3"]}, index=["P1", "P2;P2b", "P3"])
    return Dataset(X, s, p, layers={"n_peptides": np.array([[1, 0, 2], [3, 4, 5]])}, history=(Step("read"),))


def test_frozen_and_validated():
    ds = _ds()
    with pytest.raises(ValueError):
        ds.X[0, 0] = 9
    with pytest.raises(InputError, match="duplicate sample"):
        Dataset(np.zeros((2, 1)), pd.DataFrame(index=["a", "a"]), pd.DataFrame(index=["p"]))
    with pytest.raises(InputError, match="infinite"):
        Dataset(np.array([[np.inf]]), pd.DataFrame(index=["a"]), pd.DataFrame(index=["p"]))
    with pytest.raises(InputError, match="rows"):
        Dataset(np.zeros((2, 1)), pd.DataFrame(index=["a"]), pd.DataFrame(index=["p"]))


def test_subset_and_with_values():
    ds = _ds()
    sub = ds.subset(samples=["s2"], proteins=["P3", "P1"])
    assert sub.X.tolist() == [[6.0, 4.0]]
    assert sub.layers["n_peptides"].tolist() == [[5, 3]]
    new = ds.with_values(ds.X + 1, step=Step("shift"))
    assert [s.name for s in new.history] == ["read", "shift"]
    assert np.isnan(new.X[0, 1]) and new.X[1, 2] == 7.0
    assert ds.X[1, 2] == 6.0  # original untouched
    with pytest.raises(InputError, match="unknown sample"):
        ds.subset(samples=["nope"])


def test_tsv_roundtrip_is_exact(tmp_path):
    rng = np.random.default_rng(1)
    X = rng.normal(20, 3, size=(4, 5))
    X[1, 2] = np.nan
    ds = Dataset(X, pd.DataFrame(index=[f"s{i}" for i in range(4)]), pd.DataFrame(index=[f"P{j}" for j in range(5)]))
    ds.to_tsv(tmp_path / "m.tsv")
    back = Dataset.read_tsv(tmp_path / "m.tsv")
    np.testing.assert_array_equal(back.X, ds.X)  # NaN positions equal too
    assert back.sample_ids == ds.sample_ids and back.protein_ids == ds.protein_ids
    assert (tmp_path / "m.tsv").read_text().splitlines()[0].split("\t")[0] == "protein_group"


def test_parquet_roundtrip_keeps_everything(tmp_path):
    ds = _ds()
    ds.to_parquet(tmp_path / "d.parquet")
    back = Dataset.read_parquet(tmp_path / "d.parquet")
    np.testing.assert_array_equal(back.X, ds.X)
    np.testing.assert_array_equal(back.layers["n_peptides"], ds.layers["n_peptides"])
    assert back.samples["age"].tolist() == [50, 61]
    assert back.proteins["gene"].tolist() == ["G1", "G2", "G3"]
    assert [s.name for s in back.history] == ["read"]
    ds.to_parquet(tmp_path / "d2.parquet")
    assert (tmp_path / "d.parquet").read_bytes() == (tmp_path / "d2.parquet").read_bytes()
