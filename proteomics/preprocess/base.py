"""``ProteomicsTransformer``: the scikit-learn estimator contract every preprocessing step follows.

A step accepts either a pandas DataFrame (samples × proteins, log2, NaN = missing; the form
``sklearn.pipeline.Pipeline`` and nested CV use) or a :class:`~proteomics.dataset.Dataset`, and returns the
same kind. ``__init__`` only stores settings; ``fit`` learns attributes ending in ``_`` from training samples
only; ``transform`` refuses data whose proteins differ from those seen in ``fit``.
``get_state()``/``from_state()`` export and restore the learned numbers as plain JSON values (no pickle).

Subclasses implement ``_fit(frame, y)`` and ``_transform(frame) -> frame`` (both samples × proteins, log2),
and list their learned attribute names in ``_state_attrs``. Steps that add a layer (e.g. ``imputed``)
override ``_layers(before, after)``. Steps that need the sample or protein annotations of a Dataset
(batch labels, contaminant flags, peptide counts) set ``_uses_dataset = True``; they then receive
``ds=`` (the Dataset, or None for a plain DataFrame) in ``_fit`` and ``_transform``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.exceptions import NotFittedError

from .._files import _clean_for_json
from .._version import __version__
from ..dataset import Dataset, Step
from ..errors import InputError

__all__ = ["ProteomicsTransformer", "as_frame", "store_params", "STATE_SCHEMA_VERSION"]

STATE_SCHEMA_VERSION = 1


def store_params(estimator: BaseEstimator, values: Mapping[str, Any]) -> None:
    """Store each ``__init__`` argument as the attribute of the same name, unchanged.

    scikit-learn's rule for every estimator here (preprocessing steps, selectors, models): ``__init__`` neither
    checks nor converts, so ``get_params``, ``set_params`` and ``clone`` round-trip; checks happen in ``fit``.
    Written once: an ``__init__`` whose only work is this calls ``store_params(self, locals())`` (a subclass that
    narrows its parent's signature passes its arguments on to ``super().__init__``, which stores them).
    """
    for name, value in values.items():
        if name != "self" and not name.startswith("__"):
            setattr(estimator, name, value)


def as_frame(X) -> pd.DataFrame:
    """Samples × proteins DataFrame from a Dataset, DataFrame or 2-D array (columns become 'p0', 'p1', … )."""
    if isinstance(X, Dataset):
        return X.to_frame()
    if isinstance(X, pd.DataFrame):
        return X.astype(float)
    arr = np.asarray(X, dtype=float)
    if arr.ndim != 2:
        raise InputError(f"expected a 2-D samples × proteins matrix, got {arr.ndim}-D")
    return pd.DataFrame(arr, columns=[f"p{j}" for j in range(arr.shape[1])])


class ProteomicsTransformer(TransformerMixin, BaseEstimator):
    """Base class of preprocessing steps (see module docstring)."""

    _state_attrs: ClassVar[tuple[str, ...]] = ()
    #: True when the step can be applied to one new sample alone (allowed inside a locked signature).
    single_sample_safe: ClassVar[bool] = True

    # -- to implement ----------------------------------------------------------------------------
    def _fit(self, frame: pd.DataFrame, y=None) -> None:  # pragma: no cover - trivial default
        """Learn from training samples (samples × proteins, log2)."""

    def _transform(self, frame: pd.DataFrame) -> pd.DataFrame:
        raise NotImplementedError

    def _layers(self, before: pd.DataFrame, after: pd.DataFrame) -> dict[str, np.ndarray]:
        return {}

    #: steps that drop or add proteins set this False (they set ``proteins_out_``)
    _keeps_proteins: ClassVar[bool] = True
    #: steps that read Dataset annotations get ``ds=`` in ``_fit``/``_transform``
    _uses_dataset: ClassVar[bool] = False

    # -- sklearn API -----------------------------------------------------------------------------
    def fit(self, X, y=None):
        frame = as_frame(X)
        self.proteins_in_ = [str(c) for c in frame.columns]
        if self._uses_dataset:
            self._fit(frame, y, ds=X if isinstance(X, Dataset) else None)
        else:
            self._fit(frame, y)
        return self

    def _check_fitted(self) -> None:
        if not hasattr(self, "proteins_in_"):
            raise NotFittedError(f"{type(self).__name__} is not fitted yet; call fit() first")

    def _check_proteins(self, frame: pd.DataFrame) -> pd.DataFrame:
        cols = [str(c) for c in frame.columns]
        if cols == self.proteins_in_:
            return frame
        missing = [p for p in self.proteins_in_ if p not in set(cols)]
        if missing:
            raise InputError(f"{type(self).__name__}: {len(missing)} protein(s) seen in fit are missing, e.g. "
                             f"{', '.join(missing[:5])}", hint="give data with the same proteins as at fit time")
        return frame.loc[:, self.proteins_in_]  # extra proteins ignored; order aligned

    def transform(self, X):
        self._check_fitted()
        frame = self._check_proteins(as_frame(X))
        if self._uses_dataset:
            out = self._transform(frame, ds=X if isinstance(X, Dataset) else None)
        else:
            out = self._transform(frame)
        if isinstance(X, Dataset):
            return self._to_dataset(X, frame, out)
        return out

    def _to_dataset(self, ds: Dataset, before: pd.DataFrame, after: pd.DataFrame) -> Dataset:
        if list(before.columns) != ds.protein_ids:
            ds = ds.subset(proteins=list(before.columns))
        step = Step(name=type(self).__name__, params=_clean_for_json(self.get_params()), version=__version__,
                    input_sha256=ds.checksum())
        layers = self._layers(before, after)
        if list(after.columns) != list(before.columns):
            keep = [str(c) for c in after.columns]
            sub = ds.subset(proteins=keep)
            return sub.with_values(after.to_numpy(float), step=step, layers=layers)
        return ds.with_values(after.to_numpy(float), step=step, layers=layers)

    def fit_transform(self, X, y=None, **fit_params):
        return self.fit(X, y).transform(X)

    def get_feature_names_out(self, input_features=None):
        self._check_fitted()
        return np.asarray(getattr(self, "proteins_out_", self.proteins_in_), dtype=object)

    # -- JSON state --------------------------------------------------------------------------------
    def get_state(self) -> dict[str, Any]:
        """Settings and learned numbers as JSON-ready values (floats round-trip exactly)."""
        self._check_fitted()
        learned = {"proteins_in_": list(self.proteins_in_)}
        for name in self._state_attrs:
            learned[name] = getattr(self, name)
        return {"step": type(self).__name__, "state_version": STATE_SCHEMA_VERSION,
                "params": _clean_for_json(self.get_params()), "learned": _clean_for_json(learned)}

    @classmethod
    def from_state(cls, state: dict[str, Any]):
        """Rebuild a fitted step from :meth:`get_state` output (no refitting)."""
        if state.get("step") != cls.__name__:
            raise InputError(f"state is for step {state.get('step')!r}, not {cls.__name__}")
        if state.get("state_version") != STATE_SCHEMA_VERSION:
            raise InputError(f"unsupported state version {state.get('state_version')}")
        obj = cls(**state.get("params", {}))
        for name, value in state["learned"].items():
            setattr(obj, name, obj._restore(name, value))
        return obj

    def _restore(self, name: str, value):
        """Turn a JSON value back into the attribute's type; override for arrays (default: lists → float arrays)."""
        if name == "proteins_in_" or name == "proteins_out_":
            return list(value)
        if isinstance(value, list):
            return np.array([np.nan if v is None else v for v in value], dtype=float) \
                if all(v is None or isinstance(v, int | float) for v in value) else value
        return value
