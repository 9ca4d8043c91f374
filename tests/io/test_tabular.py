"""The streaming table reader's fast paths give the same values as the plain ones."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from proteomics.io._tabular import open_source, read_frame
from proteomics.io._values import text_values, text_with_number


def _table(tmp_path, n_runs=6, n_ids=40):
    rng = np.random.default_rng(3)
    rows = ["Run\tId\tSeq\tQ\tValue"]
    for r in range(n_runs):
        for i in range(n_ids):
            q = rng.uniform(0, 0.03)
            seq = "" if i % 7 == 0 else f"PEP{i % 11}K"
            rows.append(f"run{r}\tP{i:03d}_{i % 3}\t{seq}\t{q:.4f}\t{rng.uniform(1, 1e6):.2f}")
    p = tmp_path / "t.tsv"
    p.write_text("\n".join(rows) + "\n")
    return p


@pytest.mark.parametrize("filtered", [False, True])
def test_late_columns_hold_the_same_values_as_eager_ones(tmp_path, filtered):
    p = _table(tmp_path)

    def keep(df):
        return df.loc[df["Q"].to_numpy() <= 0.01] if filtered else df

    cols = ["Run", "Id", "Seq", "Q", "Value"]
    kw = dict(numeric=["Q", "Value"], transform=keep, block_size=1 << 10, categorical=["Run"])  # many batches
    eager = read_frame(open_source(p), cols, **kw)
    late = read_frame(open_source(p), cols, late=["Id", "Seq"], **kw)
    assert list(late.columns) == cols
    assert 0 < len(late) == len(eager) and (len(late) < 240) == filtered
    for c in ("Id", "Seq"):
        assert isinstance(late[c].dtype, pd.CategoricalDtype)
        assert late[c].astype(object).tolist() == eager[c].tolist()
        # one category per distinct value, in first-seen order
        assert list(late[c].cat.categories) == list(dict.fromkeys(eager[c]))
    pd.testing.assert_frame_equal(late[["Q", "Value"]], eager[["Q", "Value"]])


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["AAK", "C(UniMod:4)PK", "", "M(ox)R"]),
                          st.one_of(st.none(), st.integers(-2, 6))), min_size=1, max_size=40),
       st.booleans())
def test_text_with_number_equals_row_by_row_concatenation(pairs, as_category):
    text = pd.Series([t for t, _ in pairs], dtype="category" if as_category else object)
    nums = np.array([np.nan if n is None else float(n) for _, n in pairs])
    expected = [t + ("" if n is None else str(n)) for t, n in pairs]
    assert text_with_number(text, nums).tolist() == expected


def test_text_values_decodes_categories_blank_and_missing_to_none():
    col = pd.Series(pd.Categorical(["b", "", None, "a", "b"]))
    assert text_values(col).tolist() == ["b", None, None, "a", "b"]
    assert text_values(pd.Series(["x", ""])).tolist() == ["x", None]
