"""Behaviour of individual steps on closed-form cases."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from proteomics.dataset import Dataset
from proteomics.errors import InputError
from proteomics.preprocess import (
    ComBat,
    ContaminantFilter,
    DownshiftImputer,
    MedianNormalizer,
    MinPeptidesFilter,
    MinProbImputer,
    MinValidFilter,
    ReferenceNormalizer,
    TotalIntensityNormalizer,
    VSNNormalizer,
)

from ._data import annotations, dataset, frame


def test_contaminant_filter_prefixes_and_flag_column():
    ds = dataset()
    prot = ds.proteins
    prot["contaminant"] = ["+" if p == "P05" else "" for p in prot.index]
    ds = Dataset(ds.X, ds.samples, prot)
    out = ContaminantFilter().fit_transform(ds)
    assert {"CON__P99", "REV__P98", "P05"}.isdisjoint(out.protein_ids) and out.n_proteins == ds.n_proteins - 3
    f = frame()
    f.columns = [*f.columns[:-4], "sp|X|Y;Cont_Z", "Cont_Z;cRAP001", "DECOY_1", "rev_P2"]
    out = ContaminantFilter().fit_transform(f)
    # every member a contaminant (cRAP counts) or every member a decoy: dropped; a real protein grouped with a
    # contaminant entry (albumin with CON__ albumin in plasma) is kept
    assert list(out.columns[-1:]) == ["sp|X|Y;Cont_Z"] and out.shape[1] == f.shape[1] - 3


def test_min_valid_filter_overall_and_per_group():
    f = pd.DataFrame({"a": [1, 2, 3, 4, 5, 6.0], "b": [1, 2, 3, np.nan, np.nan, np.nan],
                      "c": [1, np.nan, np.nan, np.nan, np.nan, 6.0]})
    y = ["x", "x", "x", "z", "z", "z"]
    assert list(MinValidFilter(0.7, per_group=False).fit_transform(f).columns) == ["a"]
    assert list(MinValidFilter(0.7).fit(f, y).transform(f).columns) == ["a", "b"]  # b complete in group x
    assert list(MinValidFilter(0.5, per_group=False).fit_transform(f).columns) == ["a", "b"]


def test_min_peptides_filter_sources():
    ds = dataset()  # n_peptides_total = j % 4
    out = MinPeptidesFilter(2).fit_transform(ds)
    assert all(ds.proteins.loc[p, "n_peptides_total"] >= 2 for p in out.protein_ids)
    assert out.n_proteins == sum(j % 4 >= 2 for j in range(ds.n_proteins))
    layer = np.tile(np.arange(ds.n_proteins) % 3, (ds.n_samples, 1))
    ds2 = Dataset(ds.X, ds.samples, ds.proteins.drop(columns="n_peptides_total"), layers={"n_peptides": layer})
    assert MinPeptidesFilter(2).fit_transform(ds2).n_proteins == sum(j % 3 >= 2 for j in range(ds.n_proteins))
    with pytest.raises(InputError, match="peptide counts"):
        MinPeptidesFilter().fit(frame())
    assert MinPeptidesFilter(if_unknown="keep").fit_transform(frame()).shape == frame().shape


def test_median_and_total_normalisers_closed_form():
    f = pd.DataFrame([[1.0, 2.0, 3.0], [11.0, 12.0, np.nan], [5.0, 7.0, 9.0]], index=["a", "b", "c"],
                     columns=["p", "q", "r"])
    m = MedianNormalizer().fit(f)
    assert m.center_ == 7.0  # medians 2, 11.5, 7
    out = m.transform(f)
    assert np.allclose(out.median(axis=1), 7.0) and np.isnan(out.loc["b", "r"])
    t = TotalIntensityNormalizer().fit(f.iloc[[0]])
    assert np.allclose(t.transform(f.iloc[[0]]).to_numpy(), f.iloc[[0]].to_numpy())
    g = pd.DataFrame([[3.0, 3.0], [4.0, 4.0]], columns=["p", "q"])  # totals 2^4, 2^5
    tt = TotalIntensityNormalizer().fit(g)
    assert np.allclose(tt.transform(g).to_numpy(), [[3.5, 3.5], [3.5, 3.5]])


def test_reference_normaliser_within_sample():
    f = pd.DataFrame([[10.0, 12.0, 20.0], [11.0, 13.0, 25.0]], index=["s1", "s2"], columns=["r1", "r2", "x"])
    rn = ReferenceNormalizer(proteins=["r1", "r2"]).fit(f)
    assert rn.center_ == 11.5
    out = rn.transform(f)
    assert np.allclose(out["x"], [20 - 11 + 11.5, 25 - 12 + 11.5])
    assert np.allclose(rn.transform(f.iloc[[1]]).to_numpy(), out.iloc[[1]].to_numpy())  # single sample
    with pytest.raises(InputError, match="not in the data"):
        ReferenceNormalizer(proteins=["zz"]).fit(f)
    bad = f.copy()
    bad.loc["s2", ["r1", "r2"]] = np.nan
    with pytest.raises(InputError, match="s2"):
        rn.transform(bad)


def test_vsn_glog_closed_form():
    f = pd.DataFrame([[30.0, 1.0]], columns=["hi", "lo"])
    v = VSNNormalizer(offset=4.0).fit(f)
    out = v.transform(f).to_numpy()[0]
    y = 2.0 ** f.to_numpy()[0]
    assert np.allclose(out, np.log2((y + np.sqrt(y ** 2 + 16.0)) / 2))
    assert abs(out[0] - 30.0) < 1e-9  # ≈ log2 for y ≫ c
    assert VSNNormalizer().fit(frame()).offset_ > 0


def test_downshift_imputer_distribution_and_determinism():
    rng = np.random.default_rng(0)
    X = rng.normal(25, 2, (3, 4000))
    X[:, :2000][rng.random((3, 2000)) < 0.5] = np.nan
    f = pd.DataFrame(X, index=["a", "b", "c"])
    imp = DownshiftImputer(seed=7).fit(f)
    out = imp.transform(f)
    for i in range(f.shape[0]):
        v = X[i][np.isfinite(X[i])]
        drawn = out.iloc[i].to_numpy()[~np.isfinite(X[i])]
        m, sd = v.mean(), v.std(ddof=1)
        se = 0.3 * sd / np.sqrt(drawn.size)
        assert abs(drawn.mean() - (m - 1.8 * sd)) < 4 * se  # Perseus: N(mean − 1.8 sd, (0.3 sd)²)
        assert abs(drawn.std(ddof=1) / (0.3 * sd) - 1) < 0.1
    # the same sample gets the same draws alone, in another order, or with other samples
    assert np.array_equal(imp.transform(f.iloc[[2, 0]]).loc["c"].to_numpy(), out.loc["c"].to_numpy())
    assert not np.array_equal(DownshiftImputer(seed=8).fit(f).transform(f).to_numpy(), out.to_numpy())


def test_minprob_learns_global_sd():
    rng = np.random.default_rng(1)
    X = rng.normal(20, 1, (10, 300)) + rng.normal(0, 3, 300)[None, :]
    X[rng.random(X.shape) < 0.1] = np.nan
    f = pd.DataFrame(X, index=[f"s{i}" for i in range(10)])
    mp = MinProbImputer(seed=3).fit(f)
    keep = np.isfinite(X).mean(axis=0) > 0.5  # imputeLCMD: proteins observed in more than half the samples
    assert (~keep).any()
    expected = np.median(np.nanstd(X[:, keep], axis=0, ddof=1))
    assert mp.sd_ == pytest.approx(expected)
    out = mp.transform(f)
    assert not out.isna().any().any()
    row = X[0]
    q = np.quantile(row[np.isfinite(row)], 0.01)
    assert abs(out.iloc[0].to_numpy()[~np.isfinite(row)].mean() - q) < 4 * expected / np.sqrt((~np.isfinite(row)).sum())


def test_combat_labels_from_multiindex_and_errors():
    f = frame(missing=False)
    ann = annotations()
    mi = f.copy()
    mi.index = pd.MultiIndex.from_arrays([f.index, [ann[s]["batch"] for s in f.index]], names=["sample", "batch"])
    a = ComBat(annotations=ann).fit_transform(f)
    b = ComBat().fit_transform(mi)
    assert np.allclose(a.to_numpy(), b.to_numpy(), atol=1e-12)
    with pytest.raises(InputError, match="batch"):
        ComBat().fit(f)  # no labels anywhere
    with_nan = ComBat(annotations=ann).fit_transform(frame(missing=True))
    assert np.array_equal(with_nan.isna().to_numpy(), frame(missing=True).isna().to_numpy())  # NaN stays NaN
    # batch effect removed: batch means of the corrected data differ much less than before
    before = f.iloc[6:].mean().mean() - f.iloc[:6].mean().mean()
    after = a.iloc[6:].mean().mean() - a.iloc[:6].mean().mean()
    assert abs(before) > 0.5 and abs(after) < 0.1
