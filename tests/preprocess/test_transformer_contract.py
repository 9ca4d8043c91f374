"""The transformer contract (DESIGN.md) over every entry of ``STEPS``."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.pipeline import Pipeline

from proteomics._files import canonical_json
from proteomics.dataset import Dataset
from proteomics.errors import InputError
from proteomics.preprocess import STEPS, step_from_state

from ._data import dataset, frame, kwargs_for, needs_complete

NAMES = sorted(STEPS)


def _make(name):
    return STEPS[name](**kwargs_for(name))


def _data(name):
    return frame(missing=not needs_complete(name))


def _same(a: pd.DataFrame, b: pd.DataFrame) -> bool:
    return list(a.columns) == list(b.columns) and list(a.index) == list(b.index) and \
        a.to_numpy().tobytes() == b.to_numpy().tobytes()


@pytest.mark.parametrize("name", NAMES)
def test_fit_leaves_input_unchanged(name):
    X = _data(name)
    before = X.copy()
    _make(name).fit(X)
    assert _same(X, before)
    ds = dataset(missing=not needs_complete(name))
    sha = ds.checksum()
    _make(name).fit(ds).transform(ds)
    assert ds.checksum() == sha


@pytest.mark.parametrize("name", NAMES)
def test_transform_before_fit_raises(name):
    with pytest.raises(NotFittedError):
        _make(name).transform(_data(name))


@pytest.mark.parametrize("name", NAMES)
def test_refit_gives_identical_output(name):
    X = _data(name)
    step = _make(name)
    a = step.fit(X).transform(X)
    b = step.fit(X).transform(X)
    c = _make(name).fit_transform(X)
    assert _same(a, b) and _same(a, c)


@pytest.mark.parametrize("name", NAMES)
def test_missing_or_renamed_protein_is_input_error(name):
    X = _data(name)
    step = _make(name).fit(X)
    with pytest.raises(InputError, match="missing"):
        step.transform(X.drop(columns=["P10"]))
    with pytest.raises(InputError, match="P10"):
        step.transform(X.rename(columns={"P10": "P10_renamed"}))


@pytest.mark.parametrize("name", NAMES)
def test_state_round_trip_byte_for_byte(name):
    X = _data(name)
    step = _make(name).fit(X)
    text = canonical_json(step.get_state())
    again = step_from_state(json.loads(text))
    assert type(again) is type(step)
    assert canonical_json(again.get_state()) == text
    assert _same(step.transform(X), again.transform(X))


@pytest.mark.parametrize("name", NAMES)
def test_pipeline_and_clone(name):
    X = _data(name)
    ref = _make(name).fit_transform(X)
    pipe = Pipeline([("step", _make(name))])
    assert _same(pipe.fit(X).transform(X), ref)
    cl = clone(_make(name).fit(X))
    with pytest.raises(NotFittedError):
        cl.transform(X)
    assert _same(cl.fit(X).transform(X), ref)


@pytest.mark.parametrize("name", NAMES)
def test_dataset_in_dataset_out_with_provenance(name):
    ds = dataset(missing=not needs_complete(name))
    kw = kwargs_for(name)
    if name == "batch_combat":
        kw = {"covariates": ["group"]}  # labels from Dataset.samples
    step = STEPS[name](**kw).fit(ds)
    out = step.transform(ds)
    assert isinstance(out, Dataset)
    assert out.history[-1].name == type(step).__name__
    assert out.history[-1].input_sha256 == ds.checksum()
    assert out.protein_ids == [str(c) for c in step.get_feature_names_out()]
    assert out.sample_ids == ds.sample_ids
    if name.startswith("impute_"):
        imp = out.layers["imputed"]
        was_nan = np.isnan(ds.subset(proteins=out.protein_ids).X)
        if name == "impute_none":
            assert not imp.any()
        else:
            assert np.array_equal(imp, was_nan) and not np.isnan(out.X).any()


@pytest.mark.parametrize("name", NAMES)
def test_single_sample_flag_is_honest(name):
    """A step that says it is single-sample safe transforms each sample alone exactly as within the batch."""
    X = _data(name)
    step = _make(name).fit(X)
    full = step.transform(X)
    alone = pd.concat([step.transform(X.iloc[[i]]) for i in range(X.shape[0])])
    if STEPS[name].single_sample_safe or name == "batch_combat":  # ComBat: safe once the batch is known
        assert np.allclose(full.to_numpy(), alone.to_numpy(), rtol=0, atol=1e-12, equal_nan=True)
    assert STEPS["batch_combat"].single_sample_safe is False
