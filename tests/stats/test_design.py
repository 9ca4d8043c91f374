"""Design matrices and the contrast parser (closed-form expectations)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from proteomics.errors import InputError
from proteomics.stats.design import contrast_matrix, make_design, parse_contrast


def sheet():
    return pd.DataFrame({"condition": ["ctl", "ctl", "cancer", "cancer", "copd", "copd"],
                         "batch": ["b2", "b1", "b1", "b2", "b1", "b2"],
                         "age": [50.0, 61, 70, 44, 58, 63],
                         "subject": ["s1", "s2", "s1", "s2", "s1", "s2"]},
                        index=[f"S{i}" for i in range(6)])


def test_group_means_design_sorted_levels_and_treatment_coding():
    d = make_design(sheet(), covariates=("batch", "age"))
    assert d.levels == ("cancer", "copd", "ctl")
    assert d.columns == ("cancer", "copd", "ctl", "batchb2", "age")
    expected = np.array([[0, 0, 1, 1, 50], [0, 0, 1, 0, 61], [1, 0, 0, 0, 70], [1, 0, 0, 1, 44],
                         [0, 1, 0, 0, 58], [0, 1, 0, 1, 63]], dtype=float)
    np.testing.assert_array_equal(d.matrix, expected)
    assert list(d.frame().index) == list(sheet().index)


def test_categorical_reference_follows_explicit_categories():
    s = sheet()
    s["batch"] = pd.Categorical(s["batch"], categories=["b2", "b1"])
    assert make_design(s, covariates=("batch",)).columns[-1] == "batchb1"


@pytest.mark.parametrize("expr,weights", [
    ("cancer-ctl", [1, 0, -1]),
    ("cancer - ctl", [1, 0, -1]),
    ("(cancer+copd)/2-ctl", [0.5, 0.5, -1]),
    ("-ctl + 0.5*cancer + copd*0.5", [0.5, 0.5, -1]),
    ("2*(copd - cancer)", [-2, 2, 0]),
])
def test_contrast_parser(expr, weights):
    np.testing.assert_allclose(parse_contrast(expr, ("cancer", "copd", "ctl")), weights)


def test_contrast_with_backquoted_and_hyphenated_names():
    names = ("COVID-19", "control")
    np.testing.assert_allclose(parse_contrast("`COVID-19` - control", names), [1, -1])
    np.testing.assert_allclose(parse_contrast("COVID-19-control", names), [1, -1])


@pytest.mark.parametrize("expr,msg", [
    ("cancer-healthy", "healthy"), ("cancer*copd", "multiplies"), ("cancer-", "ends early"),
    ("(cancer-ctl", "parenthesis"), ("cancer-ctl+1", "constant"), ("cancer-cancer", "compares nothing"),
    ("cancer/ctl", "divides"), ("import os", "os"), ("", "empty"), ("cancer/0", "zero"),
])
def test_contrast_errors_are_input_errors(expr, msg):
    with pytest.raises(InputError, match=msg):
        parse_contrast(expr, ("cancer", "copd", "ctl"))


def test_unknown_level_lists_available_levels():
    with pytest.raises(InputError) as e:
        contrast_matrix("tumour-ctl", make_design(sheet()))
    assert "cancer, copd, ctl" in str(e.value)


def test_several_contrasts_give_columns():
    C = contrast_matrix(["cancer-ctl", "copd-ctl"], make_design(sheet()))
    np.testing.assert_array_equal(C, [[1, 0], [0, 1], [-1, -1]])


def test_confounded_design_names_columns():
    s = sheet()
    s["site"] = s["condition"].map({"ctl": "x", "cancer": "y", "copd": "y"})
    with pytest.raises(InputError, match="sitey.*confounded with 'cancer', 'copd'"):
        make_design(s, covariates=("site",))


def test_missing_column_and_missing_values():
    with pytest.raises(InputError, match="no column 'sex'"):
        make_design(sheet(), covariates=("sex",))
    s = sheet()
    s.loc["S1", "age"] = np.nan
    with pytest.raises(InputError, match="empty for samples S1"):
        make_design(s, covariates=("age",))
    with pytest.raises(InputError, match="fewer than two levels"):
        make_design(sheet().iloc[:2])
