"""Wording of the printable patient page (``scores.html``) for the clinician who acts on it.

* :data:`PLAIN_REASONS`: the one mapping from a per-sample refusal code (:mod:`proteomics.refusals`) to a
  plain-language reason and what to do; :func:`plain_refusals` pairs it with the technical reason.
* :func:`reading_guide`: "How to read this result", built from the locked signature only (its thresholds with
  their out-of-fold sensitivity/specificity, categories, nested-CV AUC, intended use); no number is written here.

Probabilities are shown with 3 decimals (as on the rest of the page), rates as percentages.
"""

from __future__ import annotations

from typing import Any

from .. import refusals as R
from ..signature import Signature

__all__ = ["PLAIN_REASONS", "UNKNOWN_REASON", "plain_refusals", "reading_guide", "prob_text"]

#: refusal code → (what went wrong, in plain words; what to do)
PLAIN_REASONS: dict[str, tuple[str, str]] = {
    R.LOW_COVERAGE: ("Too few proteins were measured in this sample to compare it with the samples the test was "
                     "built on (the measurement looks incomplete, e.g. too little material or a failed run).",
                     "Re-run the sample; if it fails again, send a new specimen."),
    R.MISSING_PROTEINS: ("Too many of the proteins this test relies on were not measured in this sample.",
                         "Re-run the sample; if they are still missing, send a new specimen."),
    R.OUT_OF_RANGE: ("At least one protein level is far outside the range seen in the samples the test was built "
                     "on, so the result would be an extrapolation (possible sample handling problem or a different "
                     "measurement method).",
                     "Check sample collection and that the validated lab method was used; re-run the sample or "
                     "send a new specimen."),
    R.CONSTANT_VALUES: ("The protein values look like placeholders (all identical), not real measurements.",
                        "Score the search engine's own report for this run (not an edited or filled-in table)."),
    R.NON_FINITE_SCORE: ("The calculation did not give a usable number for this sample.",
                         "Re-run the sample; if it happens again, contact the laboratory."),
}
#: wording for a reason without a known code (e.g. a table written by an older version)
UNKNOWN_REASON = ("The sample did not pass the quality checks of this test.",
                  "Re-run the sample or send a new specimen; the technical reason below says which check failed.")


def prob_text(p: Any) -> str:
    """A probability (0..1) as shown on the page: 3 decimals."""
    return f"{float(p):.3f}"


def _pct(x: Any) -> str:
    return f"{100 * float(x):.0f}%"


def plain_refusals(reasons: str, codes: str) -> list[dict[str, str]]:
    """One entry per refusal of a score-table row: ``plain`` and ``action`` (from :data:`PLAIN_REASONS`) and
    ``technical`` (the ``reasons`` text, kept whole). ``reasons``/``codes`` are the row's ``"; "``-joined columns;
    when their counts differ (a technical text holding ``"; "``) every plain reason gets the whole text."""
    texts = [t.strip() for t in str(reasons or "").split("; ") if t.strip()]
    keys = [c.strip() for c in str(codes or "").split("; ") if c.strip()]
    if len(keys) != len(texts):
        keys = keys or [""]
        texts = ["; ".join(texts)] * len(keys)
    out = []
    for code, text in zip(keys, texts, strict=True):
        plain, action = PLAIN_REASONS.get(code, UNKNOWN_REASON)
        out.append({"code": code, "plain": plain, "action": action, "technical": text})
    return out


def _classes(sig: Signature) -> tuple[str, str]:
    """(positive class, the other class or classes) as named in the training labels."""
    tr = dict(sig.training)
    pos = str(tr.get("positive") or "the positive class")
    others = [str(k) for k in dict(tr.get("class_counts") or {}) if str(k) != pos]
    return pos, (" or ".join(others) if others else f"not {pos}")


def _binary_categories(sig: Signature) -> list[dict[str, str]]:
    """The risk categories of a binary panel, each with its rule and meaning, from the stored thresholds."""
    thr = dict(sig.thresholds)
    ro, ri = dict(thr["rule_out"]), dict(thr["rule_in"])
    pos, neg = _classes(sig)
    src = str(ro.get("source") or "nested-CV out-of-fold")
    prev = ro.get("prevalence")
    prev_text = f" At the prevalence the signature assumes ({_pct(prev)})" if prev is not None else " In the training cohort"
    low = (f"Probability below the rule-out threshold {prob_text(ro['probability'])}. The threshold was chosen so "
           f"that {_pct(ro['sensitivity'])} of the training {pos} cases scored at or above it (sensitivity, "
           f"{src}); {_pct(ro['specificity'])} of the {neg} cases scored below it."
           + (f"{prev_text}, the negative predictive value (NPV) is {_pct(ro['npv'])}."
              if ro.get("npv") is not None else ""))
    high = (f"Probability at or above the rule-in threshold {prob_text(ri['probability'])}. The threshold was "
            f"chosen so that {_pct(ri['specificity'])} of the training {neg} cases scored below it (specificity, "
            f"{src}); {_pct(ri['sensitivity'])} of the {pos} cases scored at or above it."
            + (f"{prev_text}, the positive predictive value (PPV) is {_pct(ri['ppv'])}."
               if ri.get("ppv") is not None else ""))
    cats = [{"name": "low", "meaning": low}]
    if float(ro["probability"]) != float(ri["probability"]):
        cats.append({"name": "intermediate",
                     "meaning": f"Probability from {prob_text(ro['probability'])} up to (not including) "
                                f"{prob_text(ri['probability'])}: neither ruled out nor ruled in."})
    cats.append({"name": "high", "meaning": high})
    cats.append({"name": "indeterminate",
                 "meaning": "The 95% interval of the probability crosses a threshold, so the result cannot be "
                            "placed in one category."})
    return cats


def reading_guide(sig: Signature) -> dict[str, Any]:
    """"How to read this result" for ``sig``: ``about`` (list of (label, text): what it estimates, nested-CV
    AUC with its 95% CI), ``categories`` (list of {name, meaning}), ``thresholds`` ({"rule_out"/"rule_in":
    probability text}), ``not_diagnosis`` (sentence with the signature's intended use). Every number comes from
    the signature."""
    pos, neg = _classes(sig)
    tr, perf = dict(sig.training), dict(sig.performance)
    about: list[tuple[str, str]] = []  # name, version, specimen and intended use: the page's signature table
    thr = dict(sig.thresholds)
    binary = "rule_out" in thr and "rule_in" in thr
    if sig.kind == "panel" and tr.get("positive"):
        about.append(("What it estimates", f"from {len(sig.proteins)} proteins, the probability that the patient "
                                           f"belongs to the {pos} group rather than {neg}, as in the training "
                                           "study"))
    if perf.get("auc") is not None:
        ci = (f" (95% CI {prob_text(perf['auc_ci_low'])}–{prob_text(perf['auc_ci_high'])})"
              if perf.get("auc_ci_low") is not None and perf.get("auc_ci_high") is not None else "")
        counts = dict(tr.get("class_counts") or {})
        n = (f" on {tr['n_samples']} training samples" if tr.get("n_samples") else "") + (
            " (" + ", ".join(f"{v} {k}" for k, v in counts.items()) + ")" if counts else "")
        about.append(("How well it separated the groups",
                      f"AUC {prob_text(perf['auc'])}{ci}, {perf.get('source') or 'nested cross-validation'}{n}. "
                      "1.0 is perfect separation, 0.5 is chance."))
    if binary:
        categories = _binary_categories(sig)
        shown = {k: prob_text(dict(thr[k])["probability"]) for k in ("rule_out", "rule_in")}
    else:
        categories = [{"name": str(c.get("name", "")), "meaning": str(c.get("rule", ""))} for c in sig.categories]
        shown = {}
    categories.append({"name": "refused", "meaning": "No result: the sample did not meet the conditions under which "
                                                      "the test was validated (the reason and what to do are given)."})
    return {"about": about, "categories": categories, "thresholds": shown,
            "not_diagnosis": f"This result is not a diagnosis on its own. Intended use: {sig.intended_use}. "
                             "Interpret it together with the clinical findings."}
