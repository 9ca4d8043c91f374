"""Detection probability curve and differential detection, against simulator truth and closed forms."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import integrate, optimize, stats
from scipy.special import expit

from proteomics.dataset import Dataset
from proteomics.stats.detection import detection_tests, fisher_detection_p, lr_statistic
from proteomics.stats.dpc import DetectionCurve, DPCFit, fit_detection_curve, posterior_fill
from proteomics.stats.fdr import bh
from proteomics.stats.limma import moderated_t


def _simulate(b0, b1, cap, rows=4000, n=12, sigma=0.6, seed=1):
    rng = np.random.default_rng(seed)
    mu = rng.normal(22, 2.5, rows)
    Y = mu[:, None] + rng.normal(0, sigma, (rows, n))
    det = rng.random(Y.shape) < cap * expit(b0 + b1 * Y)
    return np.where(det, Y, np.nan), Y


@pytest.mark.parametrize("b0,b1,cap", [(-20.0, 1.0, 1.0), (-40.0, 2.0, 0.97), (-10.0, 0.5, 1.0)])
def test_curve_fitted_to_simulated_data_recovers_parameters(b0, b1, cap):
    D, _ = _simulate(b0, b1, cap)
    fit = fit_detection_curve(D, sigma=0.6)
    # tolerances: 4000 rows × 12 samples; the midpoint is pinned within a few 0.01 log2, the slope within
    # about 7 % (measured), the DDA-style cap within 0.005
    assert abs(fit.curve.midpoint - (-b0 / b1)) < 0.1
    assert abs(fit.curve.beta1 / b1 - 1) < 0.1
    assert abs(fit.curve.cap - cap) < 0.01
    free = fit_detection_curve(D)                      # sigma estimated from the rows themselves
    assert abs(free.curve.midpoint - (-b0 / b1)) < 0.25 and abs(free.sigma - 0.6) < 0.1


def test_posterior_fill_is_the_truncated_normal_posterior():
    fit = DPCFit(DetectionCurve(-20.0, 1.0, 1.0), 0.7, np.array([20.5]), 0.0, 0)
    full, se = posterior_fill(np.array([[np.nan, 21.0]]), fit)
    dens = lambda y: stats.norm.pdf(y, 20.5, 0.7) * (1 - expit(-20 + y))      # noqa: E731
    z = integrate.quad(dens, 10, 30)[0]
    m = integrate.quad(lambda y: y * dens(y), 10, 30)[0] / z
    v = integrate.quad(lambda y: (y - m) ** 2 * dens(y), 10, 30)[0] / z
    assert full[0, 1] == 21.0 and se[0, 1] == 0.0
    assert abs(full[0, 0] - m) < 1e-4 and abs(se[0, 0] - math.sqrt(v)) < 1e-4


def test_fisher_detection_p_matches_the_hypergeometric_closed_form():
    # 3 of 3 detected in A, 0 of 3 in B: one-sided 1/C(6,3) = 0.05, two-sided twice that
    assert fisher_detection_p([3], [3], [0], [3])[0] == pytest.approx(2 / math.comb(6, 3))
    # 4 of 4 against 0 of 6: one-sided C(4,4)/C(10,4); the mirror table (all 4 in B) is less likely, so added
    one = 1 / math.comb(10, 4)
    mirror = math.comb(6, 4) / math.comb(10, 4)
    p = fisher_detection_p([4], [4], [0], [6])[0]
    assert p == pytest.approx(one + (mirror if mirror <= one else 0.0))


def test_lr_statistic_matches_direct_numerical_likelihood():
    curve = DetectionCurve(-20.0, 1.0, 0.98)
    fit = DPCFit(curve, 0.5, np.array([]), 0.0, 0)
    y = np.array([21.2, 20.7, np.nan])

    def p_miss(mu):
        return 1 - integrate.quad(lambda t: stats.norm.pdf(t, mu, 0.5) * curve.prob(t), mu - 8, mu + 8)[0]

    def negll(mu, n_miss):
        obs = y[np.isfinite(y)]
        return -(stats.norm.logpdf(obs, mu, 0.5).sum() + n_miss * math.log(p_miss(mu)))

    l1 = -optimize.minimize_scalar(lambda m: negll(m, 1), bounds=(15, 25), method="bounded",
                                   options={"xatol": 1e-9}).fun
    l0 = -optimize.minimize_scalar(lambda m: negll(m, 1 + 3), bounds=(15, 25), method="bounded",
                                   options={"xatol": 1e-9}).fun
    lr = lr_statistic(y[None, :], 3, fit)[0]
    assert lr == pytest.approx(2 * (l1 - l0), rel=2e-3)


def _null_dataset(n, rows=20000, seed=2):
    rng = np.random.default_rng(seed)
    mu = rng.normal(21, 2.5, rows)
    Y = mu[None, :] + rng.normal(0, 0.5, (2 * n, rows))
    D = np.where(rng.random(Y.shape) < expit(-20 + Y), Y, np.nan)
    D = D[:, np.isfinite(D).sum(axis=0) > 0]
    s = pd.DataFrame({"condition": ["A"] * n + ["B"] * n}, index=[f"s{i}" for i in range(2 * n)])
    return Dataset(D, s, pd.DataFrame(index=[f"p{j}" for j in range(D.shape[1])]))


def test_detection_p_values_are_calibrated_under_the_null_and_join_one_bh_family():
    ds = _null_dataset(3)
    res = detection_tests(ds, moderated_t(ds, "B-A"))
    t = res.table
    det = t[t["test"] == "detection"]
    assert len(det) > 1000 and set(t["test"]) == {"moderated_t", "detection"}
    # no protein changes: the detection p-values of proteins absent from a group by chance are uniform
    # (binomial SD of the 5 % rate over ~2,900 rows is 0.4 %; measured 4.6 %)
    assert abs((det["p_value"] < 0.05).mean() - 0.05) < 0.015
    assert (det["p_value"] < 0.01).mean() < 0.02
    assert np.array_equal(t["q_value"].to_numpy(), bh(t["p_value"].to_numpy()), equal_nan=True)
    assert set(det["detected_in"]) == {"A", "B"}


def test_protein_present_only_in_one_group_is_found_when_bright():
    ds = _null_dataset(3, rows=5000)
    X = np.asarray(ds.X).copy()
    X[:3, :20] = 25.0 + np.random.default_rng(0).normal(0, 0.3, (3, 20))   # seen in A, bright
    X[3:, :20] = np.nan                                                       # absent from B
    ds2 = ds.with_values(X)
    t = detection_tests(ds2, moderated_t(ds2, "A-B")).table
    assert (t["test"].iloc[:20] == "detection").all()
    assert (t["q_value"].iloc[:20] < 0.05).all()
    assert (t["detected_in"].iloc[:20] == "A").all()
