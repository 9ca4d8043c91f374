"""Every estimator stores its ``__init__`` arguments unchanged (``store_params``, scikit-learn's rule), so
``get_params`` returns what was passed and ``clone`` keeps it: checked with a distinct object per argument."""

from __future__ import annotations

import inspect

import pytest
from sklearn.base import clone

from proteomics.panel.bagging import BaggedUnion
from proteomics.panel.models import PanelFill
from proteomics.panel.redundancy import ClusterRepresentatives
from proteomics.panel.selection import SELECTORS
from proteomics.panel.sparse import L1Selector, L1ShareSelector
from proteomics.preprocess import STEPS


def _names(cls) -> list[str]:
    return [n for n, a in inspect.signature(cls.__init__).parameters.items()
            if n != "self" and a.kind not in (a.VAR_POSITIONAL, a.VAR_KEYWORD)]


#: every registered step and selector, and the panel's own steps, that takes arguments
ESTIMATORS = sorted((c for c in {*STEPS.values(), *SELECTORS.values(), PanelFill, BaggedUnion, ClusterRepresentatives}
                     if _names(c)), key=lambda c: c.__name__)


class _Marker:
    """A value no default equals (clone deep-copies it; the copy keeps its name)."""

    def __init__(self, name):
        self.name = name

    def __repr__(self):
        return f"<{self.name}>"


@pytest.mark.parametrize("cls", ESTIMATORS, ids=lambda c: c.__name__)
def test_every_argument_is_stored_unchanged(cls):
    names = _names(cls)
    kwargs = {n: _Marker(n) for n in names}
    est = cls(**kwargs)
    params = est.get_params(deep=False)
    assert set(params) == set(names)
    for n in names:
        assert params[n] is kwargs[n], n
        assert getattr(est, n) is kwargs[n], n
    copy = clone(est)
    for n in names:
        kept = copy.get_params(deep=False)[n]
        assert isinstance(kept, _Marker) and kept.name == n, n


def test_a_narrowed_subclass_keeps_its_parents_other_settings_at_their_defaults():
    # L1Selector fixes C; L1ShareSelector has no penalty/C: the parent's defaults stay readable attributes
    sel = L1Selector(k=3, C=0.25)
    assert (sel.k, sel.C, sel.penalty, sel.penalty_path) == (3, 0.25, 10.0, None)
    share = L1ShareSelector(k=4)
    assert (share.k, share.penalty, share.C) == (4, 10.0, None)
    assert "C" not in share.get_params()
