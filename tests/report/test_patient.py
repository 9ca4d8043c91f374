"""The printable patient page's wording: plain refusal reasons, the reading guide from the signature, haemolysis."""

from __future__ import annotations

import re

from proteomics.refusals import LOW_COVERAGE, OUT_OF_RANGE, SAMPLE_REFUSAL_CODES
from proteomics.report.html import render_patient_report
from proteomics.report.patient import PLAIN_REASONS, UNKNOWN_REASON, plain_refusals, reading_guide
from proteomics.signature import Signature


def _signature() -> Signature:
    oc = {"source": "nested-CV out-of-fold", "prevalence": 0.3}
    return Signature(kind="panel", name="LungPanel", version="2", proteins=("P1", "P2", "P3"),
                     model={"type": "logistic"}, specimen="plasma", intended_use="triage of CT-detected nodules",
                     thresholds={"rule_out": {**oc, "probability": 0.2718281, "sensitivity": 0.95,
                                              "specificity": 0.41, "npv": 0.93, "ppv": 0.4},
                                 "rule_in": {**oc, "probability": 0.7071067, "sensitivity": 0.52,
                                             "specificity": 0.92, "npv": 0.8, "ppv": 0.74}},
                     training={"positive": "cancer", "class_counts": {"cancer": 40, "control": 50}, "n_samples": 90},
                     performance={"auc": 0.8612, "auc_ci_low": 0.7734, "auc_ci_high": 0.9491,
                                  "source": "nested cross-validation (out-of-fold)"}).sealed()


def _page(rows, sig=None):
    sig = sig or _signature()
    return render_patient_report(rows, sig.summary(), guide=reading_guide(sig))


def test_every_refusal_code_has_plain_words_and_an_action():
    assert set(PLAIN_REASONS) == set(SAMPLE_REFUSAL_CODES)
    assert all(plain and action for plain, action in PLAIN_REASONS.values())


def test_plain_refusals_pair_codes_with_their_technical_reason():
    got = plain_refusals("only 40% of the training proteins are measured; P1 = 9 is outside the range",
                         f"{LOW_COVERAGE}; {OUT_OF_RANGE}")
    assert [g["plain"] for g in got] == [PLAIN_REASONS[LOW_COVERAGE][0], PLAIN_REASONS[OUT_OF_RANGE][0]]
    assert got[1]["technical"] == "P1 = 9 is outside the range"
    old = plain_refusals("some reason from an older table", "")  # no code: generic words, technical text kept
    assert old[0]["plain"] == UNKNOWN_REASON[0] and old[0]["technical"] == "some reason from an older table"


def test_page_shows_the_signatures_thresholds_and_what_each_category_means():
    sig = _signature()
    html = _page([{"sample": "S1", "probability": 0.5, "prob_low": 0.4, "prob_high": 0.6,
                   "category": "intermediate", "reasons": "", "reason_codes": ""}], sig)
    for name in ("rule_out", "rule_in"):
        t = sig.thresholds[name]
        assert f"{t['probability']:.3f}" in html  # the stored threshold, as the page shows probabilities
    ro, ri = sig.thresholds["rule_out"], sig.thresholds["rule_in"]
    assert f"{100 * ro['sensitivity']:.0f}% of the training cancer cases" in html
    assert f"{100 * ri['specificity']:.0f}% of the training control cases" in html
    perf = sig.performance
    assert f"AUC {perf['auc']:.3f} (95% CI {perf['auc_ci_low']:.3f}–{perf['auc_ci_high']:.3f})" in html
    assert "not a diagnosis on its own" in html and sig.intended_use in html
    assert sig.name in html and "version 2" in html and sig.specimen in html
    assert re.search(r'<tr class="this"><td class="name">intermediate</td>', html)  # this patient's category


def test_refused_sample_gets_plain_reason_action_and_technical_reason():
    tech = "only 12% of the training proteins are measured (need ≥ 50%) for the within-sample normalisation"
    html = _page([{"sample": "S2", "category": "refused", "reasons": tech, "reason_codes": LOW_COVERAGE}])
    plain, action = PLAIN_REASONS[LOW_COVERAGE]
    assert plain in html and action in html
    assert tech in html and "Technical reason (low_coverage)" in html


def test_haemolysis_warning_only_when_flagged():
    rows = [{"sample": "H", "category": "low", "probability": 0.1, "reasons": "",
             "haemolysis": "possible haemolysis: erythrocyte index z = 9.1 against the 8 plasma/serum samples"},
            {"sample": "C", "category": "low", "probability": 0.1, "reasons": "",
             "haemolysis": "not flagged: erythrocyte index z = 0.2 against the 8 plasma/serum samples"}]
    pages = _page(rows).split('<div class="page">')[1:]
    assert "Warning: possible haemolysis" in pages[0] and "z = 9.1" in pages[0]
    assert "possible haemolysis" not in pages[1] and "not flagged" in pages[1]


def test_page_prints_and_is_self_contained():
    html = _page([{"sample": "S1", "category": "low", "probability": 0.1, "reasons": ""}])
    assert "@media print" in html and re.search(r"@media print \{[^@]*color: #000", html)
    assert not re.search(r"""(src|href)\s*=|url\(|@import|<link|<script""", html)
