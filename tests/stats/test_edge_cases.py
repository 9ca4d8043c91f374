"""Edge cases with a documented result, against R limma 3.54.1 fixtures (tests/fixtures/stats, see
make_fixtures.R) and the oracle example's edge rows P191-P200 (ALGORITHMS.md §10)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from proteomics.dataset import Dataset
from proteomics.stats.limma import moderated_t
from tests.conftest import need_oracle
from tests.stats._oracle import load_dataset, run

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "stats"


def _blocked_cells():
    m = pd.read_csv(FIX / "blocked_matrix.csv", index_col=0)
    s = pd.read_csv(FIX / "blocked_samples.csv", index_col=0).loc[m.columns]
    s["cell"] = s["group"] + "_" + s["batch"]
    return Dataset(m.T.to_numpy(dtype=float), s, pd.DataFrame(index=m.index))


def test_two_contrasts_moderated_f_matches_limma():
    ds = _blocked_cells()
    res = moderated_t(ds, ["sputum_b1-BAL_b1", "sputum_b2-BAL_b2"], group="cell", legacy=True)
    o = pd.read_csv(FIX / "limma_F_two_contrasts.csv", index_col=0)
    np.testing.assert_allclose(res[0].table["t"], o["t1"], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(res[1].table["t"], o["t2"], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(res[0].params["F"], o["F"], rtol=1e-10)
    np.testing.assert_allclose(res[0].params["F_p_value"], o["F.p.value"], rtol=1e-9, atol=1e-15)


def test_average_contrast_matches_limma():
    ds = _blocked_cells()
    res = moderated_t(ds, "(sputum_b1 + sputum_b2)/2 - (BAL_b1 + BAL_b2)/2", group="cell", legacy=True)
    o = pd.read_csv(FIX / "limma_average_contrast.csv", index_col=0)
    for ours, theirs in (("log2fc", "logFC"), ("t", "t"), ("p_value", "P.Value")):
        np.testing.assert_allclose(res.table[ours], o[theirs], rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("name", ["homosced", "identical"])
def test_infinite_df_prior_matches_limma(name):
    """Homoscedastic noise and identical rows: var_e <= 0, so df.prior = Inf, s2.post = s2.prior, df.total =
    df.pooled, and B uses its limiting kernel."""
    m = pd.read_csv(FIX / f"{name}_matrix.csv", index_col=0)
    s = pd.read_csv(FIX / "homosced_samples.csv", index_col=0).loc[m.columns]
    ds = Dataset(m.T.to_numpy(dtype=float), s, pd.DataFrame(index=m.index))
    o = pd.read_csv(FIX / f"limma_{name}.csv", index_col=0)
    for legacy in (None, True):   # all residual df are equal, so current limma uses the legacy estimator too
        res = moderated_t(ds, "B-A", group="group", legacy=legacy)
        assert np.isinf(res.params["df_prior"]) and np.isinf(o["df.prior"]).all()
        for ours, theirs in (("log2fc", "logFC"), ("t", "t"), ("p_value", "P.Value"), ("df_total", "df.total"),
                             ("s2_prior", "s2.prior"), ("B", "B")):
            np.testing.assert_allclose(res.table[ours], o[theirs], rtol=1e-10, atol=1e-13)


def test_documented_edge_rows_of_the_oracle_example():
    ds, _ = load_dataset(need_oracle("examples", "inputs", "de_matrix.csv"),
                         need_oracle("examples", "inputs", "de_samples.csv"))
    t = run(ds).table.set_index("protein_group")
    # P191 all missing in group A: no log2fc/t/p, but its variance (df 4) entered the prior
    assert np.isnan(t.loc["P191", ["log2fc", "t", "p_value", "q_value"]].astype(float)).all()
    assert t.loc["P191", "df_residual"] == 4 and t.loc["P191", "n_obs_A"] == 0
    # P193 one observation per group: df_residual 0, t from the prior variance, df_total = df_prior
    assert t.loc["P193", "df_residual"] == 0
    assert t.loc["P193", "df_total"] == pytest.approx(t.loc["P193", "df_prior"])
    assert t.loc["P193", "s2_post"] == pytest.approx(t.loc["P193", "s2_prior"])
    # P200 all missing: everything NaN, ave_expr NaN, not counted in the BH m
    assert np.isnan(t.loc["P200", ["ave_expr", "t", "p_value", "q_value"]].astype(float)).all()
    assert t.loc["P200", "n_obs_A"] == 0 and t.loc["P200", "n_obs_B"] == 0
    # P192 constant: zero variance is offset (limma's rule), result finite
    assert np.isfinite(t.loc["P192", "t"])


def test_trend_with_all_missing_protein_does_not_fail():
    """limma stops on NaN AveExpr with trend=TRUE; we leave such proteins out of the prior (= oracle's
    --min-obs=1) and report NaN for them."""
    ds, _ = load_dataset(need_oracle("examples", "inputs", "de_matrix.csv"),
                         need_oracle("examples", "inputs", "de_samples.csv"))
    t = run(ds, trend=True).table.set_index("protein_group")
    assert np.isnan(t.loc["P200", "t"]) and np.isfinite(t.loc["P001", "t"])
