"""Scoring new samples with a locked panel signature, and external validation.

``score`` only applies what the signature stores (preprocessing states, panel, fill values, scaler, model);
it never refits. One sample is enough. A multi-specimen signature (``specimens`` set) scores a Dataset joined
by subject (:func:`~proteomics.panel.multispecimen.join_specimens`; see also ``score_multi``) and names every
required specimen the input lacks. Whole-input refusals raise :class:`~proteomics.errors.ScoringRefused`
with every reason (specimen mismatch, panel proteins absent from the input: named). A sample that fails its
own QC (too many panel proteins missing: named; a value outside the training range by more than the margin;
too few of the training proteins measured for the within-sample normalisation) gets ``category = "refused"``
and its reasons, and the other samples are scored.

Category: the risk category of the probability (``low`` / ``intermediate`` / ``high`` from the locked
thresholds), or ``indeterminate`` when the 95 % probability interval straddles a threshold.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .. import refusals as R
from ..dataset import Dataset
from ..errors import InputError
from ..signature import Signature, refuse_unfit, restore_steps
from . import metrics as M
from .lockmodel import apply_model

__all__ = ["ScoreResult", "score", "validate", "class_labels", "SCORE_COLUMNS"]

SCORE_COLUMNS = ["sample", "score", "probability", "prob_low", "prob_high", "category", "qc_flags", "reasons",
                 "signature_name", "signature_version", "signature_sha256"]
#: last column of the table (after any multi-class columns): the codes of ``reasons`` (:mod:`proteomics.refusals`)
REASON_CODES = "reason_codes"


@dataclass(frozen=True)
class ScoreResult:
    """``table``: one row per input sample, in input order, columns ``SCORE_COLUMNS`` (+ ``predicted_class`` and
    ``proba_<class>`` for multi-class panels, then ``reason_codes``). ``n_refused`` counts per-sample refusals."""

    table: pd.DataFrame
    signature: Signature

    @property
    def n_refused(self) -> int:
        return int((self.table["category"] == "refused").sum())


def _specimen_reasons(sig: Signature, ds: Dataset, specimen: str | None) -> list[str]:
    if sig.specimen is None:
        return []
    if sig.specimens:  # multi-specimen panel: name each required specimen the input lacks
        if specimen is not None:
            got = {str(specimen)}
        elif "specimen" in ds.samples.columns:
            got = set(ds.samples["specimen"].astype(str))
        else:
            got = set()
        have = {part.lower() for g in got for part in g.split("+")}
        missing = [x for x in sig.specimens if x.lower() not in have]
        if missing and got:
            return [f"required specimen {x!r} is absent (the signature needs {', '.join(sig.specimens)}; join "
                    "them by subject with join_specimens or score_multi)" for x in missing]
    want = str(sig.specimen).lower()
    if specimen is not None:
        return [] if str(specimen).lower() == want else [
            f"specimen {specimen!r} differs from the signature's intended specimen {sig.specimen!r}"]
    samples = ds.samples
    if "specimen" not in samples.columns:
        return [f"the specimen of the samples is unknown (the signature is for {sig.specimen!r})"]
    got = samples["specimen"].astype(str)
    bad = got[got.str.lower() != want]
    if len(bad):
        kinds = ", ".join(sorted(set(bad)))
        return [f"specimen {kinds} of sample(s) {', '.join(bad.index[:10])} differs from the signature's intended "
                f"specimen {sig.specimen!r}"]
    return []


def _training_proteins(steps) -> list[str] | None:
    return list(steps[0].proteins_in_) if steps else None


def score(signature: Signature, ds: Dataset, *, specimen: str | None = None) -> ScoreResult:
    """Score every sample of ``ds`` (samples × proteins, log2) with a locked panel ``signature``.

    ``specimen`` overrides the samples' ``specimen`` column. Raises ScoringRefused when nothing can be scored.
    """
    sig = signature
    if sig.kind != "panel":
        raise InputError(f"signature {sig.name!r} is a {sig.kind}, not a panel", hint="use the stratifier's assign")
    reasons = _specimen_reasons(sig, ds, specimen)
    frame = ds.to_frame()
    absent = [p for p in sig.proteins if p not in frame.columns]
    allowed = int(dict(sig.qc).get("max_missing", 0))
    if len(absent) > allowed:  # every sample would miss more panel proteins than allowed: refuse the whole input
        reasons.append(f"panel protein(s) absent from the input: {', '.join(absent)} (at most {allowed} may be "
                       "missing)")
    refuse_unfit(reasons, ds.n_samples, verb="score", kind="panel")
    steps = restore_steps(sig.steps)
    train_prot = _training_proteins(steps)
    qc = dict(sig.qc)
    flags = [[] for _ in range(ds.n_samples)]
    why = [[] for _ in range(ds.n_samples)]
    if train_prot is not None:
        present = frame.reindex(columns=train_prot).notna().mean(axis=1).to_numpy()
        frame = frame.reindex(columns=train_prot)
        cov = float(qc.get("min_input_coverage", 0.5))
        for i, c in enumerate(present):
            if c < cov:
                why[i].append((R.LOW_COVERAGE, f"only {c:.0%} of the training proteins are measured (need ≥ "
                                               f"{cov:.0%}) for the within-sample normalisation"))
            elif c < 0.9:
                flags[i].append(f"coverage {c:.0%}")
    frame = frame.reindex(columns=list(frame.columns) + [p for p in absent if p not in frame.columns])
    raw_panel = frame.loc[:, list(sig.proteins)].to_numpy(float)  # fewer absent proteins count as missing values
    Xp = frame
    for st in steps:
        Xp = st.transform(Xp)
    panel = Xp.loc[:, list(sig.proteins)].to_numpy(float)
    miss = np.isnan(raw_panel) | np.isnan(panel)
    max_missing = int(qc.get("max_missing", 0))
    lo = np.asarray(qc.get("training_min", [np.nan] * len(sig.proteins)), float)
    hi = np.asarray(qc.get("training_max", [np.nan] * len(sig.proteins)), float)
    margin = float(qc.get("range_margin", np.inf))
    for i in range(ds.n_samples):
        measured = raw_panel[i][~np.isnan(raw_panel[i])]
        if measured.size >= 2 and np.all(measured == measured[0]):
            why[i].append((R.CONSTANT_VALUES, f"all {measured.size} measured panel proteins have the same value "
                                              f"({measured[0]:.6g}): a placeholder or constant fill, not a measurement"))
        m = [p for p, b in zip(sig.proteins, miss[i], strict=True) if b]
        if len(m) > max_missing:
            why[i].append((R.MISSING_PROTEINS, f"{len(m)} panel protein(s) missing ({', '.join(m)}); at most "
                                               f"{max_missing} allowed"))
        elif m:
            flags[i].append(f"imputed: {', '.join(m)}")
        with np.errstate(invalid="ignore"):
            out = (panel[i] < lo - margin) | (panel[i] > hi + margin)
        for j in np.flatnonzero(out):
            why[i].append((R.OUT_OF_RANGE, f"{sig.proteins[j]} = {panel[i, j]:.3g} is outside the training range "
                                           f"[{lo[j]:.3g}, {hi[j]:.3g}] by more than {margin:g} (log2)"))
    res = apply_model(sig.model, panel)
    thr = dict(sig.thresholds)
    cuts = sorted({float(v["probability"]) for v in thr.values() if isinstance(v, dict)})
    binary = bool(sig.model.get("binary", True))
    classes = list(sig.model.get("classes", []))
    rows = []
    for i, sid in enumerate(ds.sample_ids):
        p, pl, ph = (float(res["probability"][i]), float(res["prob_low"][i]), float(res["prob_high"][i]))
        row: dict[str, Any] = {"sample": sid}
        if not why[i] and not (np.isfinite(p) and np.isfinite(res["score"][i]) and 0.0 <= p <= 1.0):
            why[i].append((R.NON_FINITE_SCORE, "the model gave a non-finite score: no category can be given"))
        if why[i]:
            row.update(score=np.nan, probability=np.nan, prob_low=np.nan, prob_high=np.nan, category="refused")
        else:
            row.update(score=float(res["score"][i]), probability=p, prob_low=pl, prob_high=ph)
            if binary:
                row["category"] = _category(p, pl, ph, cuts)
            else:
                row["category"] = str(classes[int(np.argmax(res["proba"][i]))])
        row.update(qc_flags="; ".join(flags[i]), reasons="; ".join(t for _, t in why[i]), signature_name=sig.name,
                   signature_version=sig.version, signature_sha256=sig.sha256)
        if not binary:
            row["predicted_class"] = "" if why[i] else row["category"]
            row.update({f"proba_{c}": (np.nan if why[i] else float(res["proba"][i, j]))
                        for j, c in enumerate(classes)})
        row[REASON_CODES] = "; ".join(code for code, _ in why[i])
        rows.append(row)
    cols = SCORE_COLUMNS + ([] if binary else ["predicted_class"] + [f"proba_{c}" for c in classes]) + [REASON_CODES]
    return ScoreResult(pd.DataFrame(rows, columns=cols), sig)


def _category(p: float, low: float, high: float, cuts: list[float]) -> str:
    if not cuts:
        return "positive" if p >= 0.5 else "negative"
    if np.isfinite(low) and np.isfinite(high) and any(low < c <= high for c in cuts):
        return "indeterminate"
    names = ["low", "high"] if len(cuts) == 1 else ["low", "intermediate", "high"]
    return names[int(np.searchsorted(cuts, p, side="right"))]


def class_labels(ds: Dataset, label: str, positive: str) -> pd.Series:
    """The non-empty values of the sample column ``label``, as strings (index: sample ids). InputError naming the
    sample table's columns when ``label`` is absent, and its classes (with a close spelling) when ``positive`` is
    not one of them."""
    if label not in ds.samples.columns:
        raise InputError(f"label column {label!r} is not in the sample table",
                         hint=f"choose one of {', '.join(map(str, ds.samples.columns))}")
    lab = ds.samples[label]
    lab = lab[lab.notna() & (lab.astype(str).str.strip() != "")].astype(str)
    if positive not in set(lab):
        classes = sorted(set(lab))
        close = difflib.get_close_matches(positive, classes, n=1)
        raise InputError(f"positive value {positive!r} does not occur in column {label!r}",
                         hint=(f"did you mean {close[0]!r}? " if close else "") + f"use one of {', '.join(classes)}")
    return lab


def validate(signature: Signature, ds: Dataset, label: str, positive: str, *, n_boot: int = 2000,
             seed: int = 0) -> dict[str, Any]:
    """External validation: score a labelled cohort and report the metrics at the locked thresholds.

    Samples refused by QC are counted (``n_refused``) and left out of the metrics, as are samples without a label
    (``n_unlabelled``: scored, not counted). Returns a JSON-ready dict with the
    same keys as cv_metrics.json (auc, auc_ci_low/high by DeLong, bootstrap CI, calibration, Brier …) plus the
    sensitivity/specificity/PPV/NPV at each locked threshold and the confusion of the risk categories.
    """
    labels = class_labels(ds, label, positive)
    res = score(signature, ds).table
    labelled = ds.samples.index.isin(labels.index)  # a sample without a label is scored, not counted
    scored = (res["category"] != "refused").to_numpy()
    ok = scored & labelled
    y = (labels.reindex(ds.samples.index).to_numpy() == positive).astype(int)[ok]
    p = res["probability"].to_numpy(float)[ok]
    out: dict[str, Any] = {"n_samples": int(ds.n_samples), "n_refused": int((~scored).sum()),
                           "n_unlabelled": int((~labelled).sum()),
                           "signature_name": signature.name, "signature_version": signature.version,
                           "signature_sha256": signature.sha256, "label": label, "positive": positive}
    if y.size == 0 or y.min() == y.max():
        out["auc"] = float("nan")
        out["note"] = "both classes are needed among the scored samples"
        return out
    prev = None
    thr = dict(signature.thresholds)
    if thr:
        prev = next(iter(thr.values())).get("prevalence")
    cut = float(thr["rule_in"]["probability"]) if "rule_in" in thr else 0.5
    out.update(M.binary_summary(y, p, threshold=cut, prevalence=prev, n_boot=n_boot, seed=seed))
    for name, t in thr.items():
        c = M.confusion_at(y, p, float(t["probability"]))
        pv = M.predictive_values(c["sensitivity"], c["specificity"], prev if prev is not None else float(y.mean()))
        out[f"{name}_threshold"] = float(t["probability"])
        for k in ("sensitivity", "specificity"):
            out[f"{name}_{k}"] = c[k]
        out[f"{name}_ppv"] = pv["ppv"]
        out[f"{name}_npv"] = pv["npv"]
    cats = res.loc[ok, "category"].astype(str)
    out["categories"] = {str(k): {"n": int(v), "n_positive": int(y[(cats == k).to_numpy()].sum())}
                         for k, v in cats.value_counts().sort_index().items()}
    return out
