"""Blocked (duplicateCorrelation + GLS), paired and numeric-covariate designs against R limma 3.54.1.

Fixtures: tests/fixtures/stats/ (simulated by make_inputs.py, reference numbers by make_fixtures.R with
Debian R 4.2.2, limma 3.54.1, statmod 1.5.0; see the header of make_fixtures.R). limma 3.54.1 uses the
legacy prior estimator, so we compare with ``legacy=True``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from proteomics.dataset import Dataset
from proteomics.stats._dupcor import duplicate_correlation
from proteomics.stats.design import make_design
from proteomics.stats.limma import moderated_t

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "stats"


def _data():
    m = pd.read_csv(FIX / "blocked_matrix.csv", index_col=0)
    s = pd.read_csv(FIX / "blocked_samples.csv", index_col=0).loc[m.columns]
    return Dataset(m.T.to_numpy(dtype=float), s, pd.DataFrame(index=m.index)), m.index


def _compare(res, file, tol):
    o = pd.read_csv(FIX / file, index_col=0)
    tab = res.table.set_index("protein_group").loc[o.index]
    for ours, theirs in (("log2fc", "logFC"), ("t", "t"), ("p_value", "P.Value"), ("q_value", "adj.P.Val"),
                         ("s2_post", "s2.post"), ("df_total", "df.total"), ("df_prior", "df.prior"),
                         ("s2_prior", "s2.prior"), ("ci_low", "CI.L"), ("ci_high", "CI.R"), ("B", "B")):
        x, y = tab[ours].to_numpy(dtype=float), o[theirs].to_numpy(dtype=float)
        assert np.array_equal(np.isnan(x), np.isnan(y)), ours
        ok = ~np.isnan(y)
        assert np.max(np.abs(x[ok] - y[ok])) < tol, (ours, np.max(np.abs(x[ok] - y[ok])))


def test_duplicate_correlation_matches_limma():
    ds, _ = _data()
    d = make_design(ds.samples, group="group")
    rho = duplicate_correlation(ds.X, d.matrix, ds.samples["subject"])
    r_rho = float(pd.read_csv(FIX / "dupcor_blocked.csv", index_col=0).loc["consensus", "value"])
    assert abs(rho - r_rho) < 1e-8


def test_blocked_gls_matches_limma():
    ds, _ = _data()
    res = moderated_t(ds, "sputum-BAL", group="group", block="subject", legacy=True)
    assert abs(res.params["block_correlation"] - 0.75070584064105139) < 1e-8
    _compare(res, "limma_blocked.csv", 1e-7)


def test_paired_design_matches_limma():
    ds, _ = _data()
    _compare(moderated_t(ds, "sputum-BAL", group="group", covariates=("subject",), legacy=True),
             "limma_paired.csv", 1e-10)


def test_numeric_covariate_matches_limma():
    ds, _ = _data()
    _compare(moderated_t(ds, "sputum-BAL", group="group", covariates=("age", "batch"), legacy=True),
             "limma_numeric_cov.csv", 1e-10)


def test_blocks_of_size_one_give_zero_correlation():
    ds, _ = _data()
    d = make_design(ds.samples, group="group")
    assert duplicate_correlation(ds.X, d.matrix, ds.sample_ids) == 0.0


@pytest.mark.parametrize("col", ["nope"])
def test_unknown_block_column(col):
    from proteomics.errors import InputError
    ds, _ = _data()
    with pytest.raises(InputError, match="no column 'nope'"):
        moderated_t(ds, "sputum-BAL", group="group", block=col)
