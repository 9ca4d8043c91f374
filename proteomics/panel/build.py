"""``build_panel``: nested CV + metrics + design warnings + locked signature, and ``write_panel_outputs``.

Headline ``auc`` (DESIGN.md) is the mean over outer repeats of the AUC of each repeat's pooled out-of-fold
predictions. Its DeLong CI uses the mean DeLong standard error of the repeats (each repeat's pooled
predictions are one honest set of predictions for every sample); the bootstrap CI resamples samples
(stratified) of the out-of-fold probabilities averaged over repeats. Calibration, Brier score, decision
curve, operating points and thresholds use those averaged out-of-fold probabilities.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from .._files import canonical_json, write_text
from .._version import __version__
from ..dataset import Dataset
from ..errors import InputError
from ..signature import Signature
from . import metrics as M
from .baselines import run_baselines
from .curve import AUC_DEFINITION, cap_cost
from .cv import NestedCVResult, derive_seed, fit_tuned, nested_cv
from .multispecimen import joined_specimen_name
from .score import class_labels
from .settings import PanelSettings, coerce_settings, size_label
from .signature import lock

log = logging.getLogger(__name__)

__all__ = ["PanelResult", "build_panel", "write_panel_outputs", "PANEL_METRICS_SCHEMA"]

PANEL_METRICS_SCHEMA = "proteomics.panel_metrics"


@dataclass(frozen=True)
class PanelResult:
    """Everything ``panel`` produces.

    cv : NestedCVResult; metrics : the cv_metrics.json dict; selection : DataFrame (protein_group, frequency,
    n_folds, mean_rank, in_signature[, gene]); warnings : list of plain-language design warnings;
    signature : the locked Signature; curves : {"roc", "roc_band", "calibration", "decision_curve"} DataFrames
    for the report; permutation_aucs : nested-CV AUCs under shuffled labels; oof : per-sample out-of-fold
    probability averaged over repeats (sample, label, probability, n_predictions); pipeline : the fitted
    locked sklearn Pipeline (not serialised; for tests and in-memory use); baselines : the plain L1 and
    random-forest baselines on the same outer folds (``settings.baseline``; see ``proteomics.panel.baselines``).
    """

    cv: NestedCVResult
    metrics: dict[str, Any]
    selection: pd.DataFrame
    warnings: list[str]
    signature: Signature
    curves: dict[str, pd.DataFrame]
    permutation_aucs: tuple[float, ...]
    oof: pd.DataFrame
    settings: PanelSettings
    pipeline: Any = field(default=None, repr=False, compare=False)
    baselines: dict | None = None


def _labels(ds: Dataset, label: str, positive: str) -> pd.Series:
    lab = class_labels(ds, label, positive)
    if lab.nunique() < 2:
        raise InputError(f"column {label!r} has a single class")
    check_class_sizes(ds, label)
    return lab


#: nested cross-validation needs this many subjects in every class (outer training folds keep ≥ 3, inner ≥ 2)
MIN_SUBJECTS_PER_CLASS = 4


def check_class_sizes(ds: Dataset, label: str, source=None) -> None:
    """Refuse a label whose smallest class has fewer than :data:`MIN_SUBJECTS_PER_CLASS` subjects (samples when
    the table has no ``subject``), naming the class and ``source`` (the sample sheet)."""
    s = ds.samples
    lab = s[label]
    keep = lab.notna() & (lab.astype(str).str.strip() != "")
    who = s.loc[keep, "subject"].astype(str) if "subject" in s.columns else s.index[keep].to_series()
    counts = pd.Series(who.to_numpy()).groupby(lab[keep].astype(str).to_numpy()).nunique()
    small = counts[counts < MIN_SUBJECTS_PER_CLASS]
    if len(small):
        c, n = str(small.index[0]), int(small.iloc[0])
        raise InputError(f"class {c!r} of column {label!r} has {n} subject(s); nested cross-validation needs at "
                         f"least {MIN_SUBJECTS_PER_CLASS} in every class", path=source, column=label,
                         hint="add samples of that class, merge it with another, or leave it out of the sheet")


def _joined_specimens(ds: Dataset) -> tuple[str, ...]:
    """The specimens of a Dataset made by ``join_specimens`` (sorted as in the joined name), else ()."""
    for h in reversed(ds.history):
        if h.name == "join_specimens":
            return tuple(str(x) for x in h.params.get("joined", "").split("+") if x)
    return ()


def build_panel(ds: Dataset, label: str, positive: str, *, settings: PanelSettings | Mapping | None = None,
                seed: int = 0, n_permutations: int = 0, n_jobs: int = 1,
                progress: Callable[[int, int], None] | None = None) -> PanelResult:
    """Nested-CV panel on ``ds`` (samples × proteins, log2, NaN = missing) for ``label`` == ``positive``.

    Samples with an empty label are left out (logged). ``settings`` is a PanelSettings or the config's
    ``panel`` mapping. ``progress(done, total)`` is called after every outer fold (real and permuted).
    Deterministic for a given ``seed`` whatever ``n_jobs``. A Dataset from
    :func:`~proteomics.panel.multispecimen.join_specimens` gives a multi-specimen panel: its signature's
    ``specimen`` is the joined name (``"BAL+plasma"``), ``specimens`` the list, proteins ``specimen:protein``.
    """
    s = coerce_settings(settings)
    specimens = _joined_specimens(ds)
    if specimens:
        joined = joined_specimen_name(specimens)
        if s.specimen is None:
            s = s.model_copy(update={"specimen": joined})
        elif str(s.specimen).lower() != joined.lower():
            raise InputError(f"specimen setting {s.specimen!r} differs from the joined specimens {joined!r}",
                             hint="leave the panel's specimen setting empty for a multi-specimen panel")
    lab = _labels(ds, label, positive)
    if len(lab) < ds.n_samples:
        log.info("panel: %d sample(s) without a %r label left out", ds.n_samples - len(lab), label)
        ds = ds.subset(samples=list(lab.index))
    samples = ds.samples
    y = lab.loc[ds.sample_ids].to_numpy()
    groups = samples[s.group_by].astype(str).to_numpy() if s.group_by and s.group_by in samples.columns else None
    batches = None
    if s.leave_one_batch_out:
        if s.leave_one_batch_out not in samples.columns:
            raise InputError(f"leave_one_batch_out column {s.leave_one_batch_out!r} is not in the sample table")
        batches = samples[s.leave_one_batch_out].astype(str).to_numpy()
    X = ds.to_frame()
    n_candidates = int(np.isfinite(X.to_numpy(float)).any(axis=0).sum())  # proteins with at least one value
    cv = nested_cv(X, y, positive=positive, settings=s, groups=groups, batches=batches, seed=seed,
                   n_permutations=n_permutations, n_jobs=n_jobs, progress=progress)
    classes = cv.classes
    oof = (cv.oof.groupby("sample", sort=False)["probability"].agg(["mean", "size"])
           .reindex(ds.sample_ids))
    oof = pd.DataFrame({"sample": ds.sample_ids, "label": y, "probability": oof["mean"].to_numpy(),
                        "n_predictions": oof["size"].to_numpy()})
    y01 = (y == positive).astype(int)
    metrics, curves = _metrics(cv, oof, y01, s, seed, len(classes))
    batch_col = s.leave_one_batch_out or s.batch_column
    batch = samples[batch_col].to_numpy() if batch_col and batch_col in samples.columns else None
    if len(set(groups if groups is not None else [])) and len(set(groups)) < len(groups):
        metrics["n_subjects"] = int(len(set(groups)))
    pipe, tuned = fit_tuned(X, y, groups if groups is not None else np.asarray(ds.sample_ids), s, classes, positive,
                            derive_seed(seed, 7))
    sel_step = pipe.named_steps["select"]
    k, c = len(sel_step.selected_), tuned.choice.C
    selection_info = _selection_info(s, tuned, cv, k)
    metrics.update(selection_info)
    # the warnings name the panel actually locked (k proteins), not the configured maximum
    quant = [h for h in ds.history if h.name == "quantify"]
    source = f"{quant[-1].params['method']} roll-up" if quant and quant[-1].params.get("level") not in (
        None, "protein") and "method" in quant[-1].params else ""
    warnings = M.design_warnings(y, n_candidates, batch=batch, panel_size=int(k), source=source)
    warnings[:0] = _chance_warnings(metrics)
    if len(classes) > 2:  # said, not silent: --positive only names the class whose probability is reported
        warnings.insert(0, f"the label has {len(classes)} classes ({', '.join(map(str, classes))}): a multinomial "
                           f"model was built; 'probability' is that of {positive!r} and the category is the most "
                           "probable class (restrict the sheet to two classes for a binary panel)")
    if hasattr(sel_step, "expected_false_"):
        metrics["stability_expected_false_bound"] = sel_step.expected_false_
        metrics["stability_threshold"] = sel_step.threshold
        metrics["stability_q"] = sel_step.q_
    training = {"n_samples": int(len(y)), "class_counts": {str(a): int(b) for a, b in
                                                            pd.Series(y).value_counts().sort_index().items()},
                "label": label, "positive": positive, "n_candidate_proteins": n_candidates,
                "panel_size": int(k), "C": c, "seed": int(seed), "settings": s.to_dict(),
                "selection": selection_info,
                "input_sha256": ds.checksum(), "history": [h.name for h in ds.history]}
    if quant and "method" in quant[-1].params:
        training["input_level"] = str(quant[-1].params.get("level", ""))
        if quant[-1].params.get("level") != "protein":  # protein-level input is only pivoted, not rolled up
            training["quant_method"] = str(quant[-1].params["method"])
    perf = {k2: metrics.get(k2) for k2 in ("auc", "auc_ci_low", "auc_ci_high", "auc_boot_ci_low",
                                            "auc_boot_ci_high", "brier", "calibration_slope",
                                            "calibration_intercept", "permutation_p", "n_permutations")}
    perf["source"] = "nested cross-validation (out-of-fold)"
    sig = lock(pipe, X, y, positive=positive, classes=classes, settings=s,
               oof_probability=oof["probability"].to_numpy(), oof_labels=y, performance=perf,
               training=training, seed=derive_seed(seed, 13), specimens=specimens)
    selection = cv.selection.copy()
    selection["in_signature"] = selection["protein_group"].isin(sig.proteins)
    prot = ds.proteins
    for col in ("gene", "genes", "Gene"):
        if col in prot.columns:
            selection["gene"] = prot[col].reindex(selection["protein_group"]).astype(object).to_numpy()
            break
    baselines = None
    if s.baseline:
        baselines = run_baselines(X, y, positive=positive, settings=s, groups=groups, batches=batches, seed=seed)
        baselines["panel"] = {"auc": metrics["auc"], "auc_ci_low": metrics.get("auc_ci_low"),
                              "auc_ci_high": metrics.get("auc_ci_high"), "size": int(k),
                              "chosen_size": selection_info["chosen_size"]}
        metrics["baselines"] = {name: {key: b[key] for key in ("auc", "auc_ci_low", "auc_ci_high", "size")}
                                for name, b in baselines["methods"].items()}
    return PanelResult(cv, metrics, selection, warnings, sig, curves, cv.permutation_aucs, oof, s, pipe, baselines)


def _selection_info(s: PanelSettings, tuned, cv: NestedCVResult, k: int) -> dict:
    """What the signature and cv_metrics.json record about the selection: method, size rule, curve, choice."""
    ch = tuned.choice
    rule = {"one_se": "smallest size whose pooled inner out-of-fold AUC (mean over inner repeats) is within one "
                      "DeLong standard error of the best size's",
            "best": "size with the best pooled inner out-of-fold AUC (ties: larger)"}[s.size_rule]
    chosen = [f.k for f in cv.folds]
    info = {"selection_method": s.selector, "redundancy": s.redundancy,
            "size_rule": s.size_rule, "size_rule_text": rule + (f"; hard cap max_proteins = {s.max_proteins}"
                                                                if s.max_proteins is not None else "")
            + (f"; bagged over {s.bag_count()} subsamples: the panel is the union of their panels of the chosen "
               "size and the model the average of theirs (the size-AUC curve is of exact, unbagged panels)"
               if s.bag_count() else ""),
            "bags": s.bag_count(),
            "size_grid": [size_label(x) for x in s.curve_sizes()], "max_proteins": s.max_proteins,
            "chosen_size": size_label(ch.k), "panel_size": int(k), "penalty": ch.penalty, "C": ch.C,
            "inner_auc_at_chosen_size": ch.inner_auc, "auc_definition": AUC_DEFINITION,
            "outer_fold_sizes": {str(size_label(x)): chosen.count(x) for x in dict.fromkeys(chosen)},
            "size_curve": list(cv.size_curve)}
    cost = cap_cost(cv.size_curve, s.max_proteins)
    if cost is not None:
        info["cap_cost"] = cost
    return info


def _metrics(cv: NestedCVResult, oof: pd.DataFrame, y01: np.ndarray, s: PanelSettings, seed: int,
             n_classes: int) -> tuple[dict, dict]:
    z = stats.norm.ppf(0.975)
    m: dict[str, Any] = {"schema": PANEL_METRICS_SCHEMA, "schema_version": 1, "package_version": __version__,
                         "auc": cv.auc, "auc_per_repeat": list(cv.auc_per_repeat), "n_classes": n_classes,
                         "classes": list(cv.classes), "positive": cv.positive, "seed": cv.seeds["seed"],
                         "outer_folds": [f.to_dict() for f in cv.folds]}
    p = oof["probability"].to_numpy(float)
    curves: dict[str, pd.DataFrame] = {}
    if n_classes == 2:
        ses = []
        for _, part in cv.oof.groupby("repeat", sort=True):
            ses.append(M.delong((part["label"] == cv.positive).astype(int), part["probability"])["se"])
        se = float(np.mean(ses))
        m.update(auc_se=se, auc_ci_low=float(max(0.0, cv.auc - z * se)), auc_ci_high=float(min(1.0, cv.auc + z * se)),
                 auc_ci_method="DeLong (mean SE over repeats)")
        summ = M.binary_summary(y01, p, threshold=0.5, prevalence=s.prevalence, n_boot=s.n_boot, seed=seed,
                                fixed_specificity=s.fixed_specificity, fixed_sensitivity=s.fixed_sensitivity)
        summ["auc_oof_mean_probability"] = summ.pop("auc")
        for key in ("auc_se", "auc_ci_low", "auc_ci_high"):
            summ.pop(key)
        m.update(summ)
        curves["roc"] = M.roc_table(y01, p)
        curves["roc_band"] = M.roc_band(y01, p, seed=seed)
        curves["calibration"] = M.calibration_bins(y01, p)
        curves["decision_curve"] = M.decision_curve(y01, p)
    else:
        m["auc_method"] = "macro one-vs-rest"
        m["auc_positive_vs_rest"] = M.roc_auc(y01, p)
    null = np.asarray(cv.permutation_aucs, float)
    m["n_permutations"] = int(null.size)
    if null.size:
        m["permutation_p"] = M.permutation_p(cv.auc, null)
        m["permutation_auc_mean"] = float(null.mean())
        m["permutation_auc_sd"] = float(null.std(ddof=1)) if null.size > 1 else float("nan")
        m["permutation_aucs"] = null.tolist()
    else:
        m["permutation_p"] = None
        m["permutation_auc_mean"] = None
    return m, curves


def _chance_warnings(m: Mapping[str, Any]) -> list[str]:
    """Warnings first in line when the nested CV does not show the panel to beat chance: the AUC's 95 % CI
    reaches 0.5, or a label permutation scored at least the observed AUC (the same tie rule as the p-value)."""
    out = []
    lo, hi = m.get("auc_ci_low"), m.get("auc_ci_high")
    if M.reaches_chance(lo):
        out.append(f"not shown to beat chance: the nested-CV AUC {m['auc']:.3f} has a 95% CI of {lo:.3f}–{hi:.3f}, "
                   "which includes 0.5; do not use this panel to decide about patients")
    null = np.asarray(m.get("permutation_aucs") or [], dtype=float)
    hits = int(np.sum(null >= m["auc"] - 1e-12)) if null.size else 0
    if hits:
        out.append(f"not shown to beat chance: {hits} of {null.size} label permutations gave an AUC at least as "
                   f"high as the observed {m['auc']:.3f} (permutation p = {m['permutation_p']:.2f})")
    return out


def _tsv(df: pd.DataFrame, path: Path) -> None:
    write_text(path, df.to_csv(sep="\t", index=False, na_rep="", lineterminator="\n"))


def write_panel_outputs(result: PanelResult, outdir: str | os.PathLike) -> dict[str, Path]:
    """Write signature.json, cv_metrics.json, selection.tsv, oof_predictions.tsv (per repeat), size_curve.tsv,
    baselines.json (when run), and the curve tables (roc.tsv, roc_band.tsv, calibration.tsv,
    decision_curve.tsv) into ``outdir`` atomically. No
    timestamps or paths inside, so reruns are byte-identical. Returns the written paths."""
    out = Path(outdir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"signature": out / "signature.json", "cv_metrics": out / "cv_metrics.json",
             "selection": out / "selection.tsv", "oof": out / "oof_predictions.tsv"}
    result.signature.save(paths["signature"])
    m = dict(result.metrics)
    m["warnings"] = list(result.warnings)
    m["signature_sha256"] = result.signature.sha256
    m["panel"] = list(result.signature.proteins)
    write_text(paths["cv_metrics"], canonical_json(m))
    _tsv(result.selection, paths["selection"])
    if result.cv.size_curve:
        paths["size_curve"] = out / "size_curve.tsv"
        _tsv(pd.DataFrame(list(result.cv.size_curve)), paths["size_curve"])
    if result.baselines is not None:
        paths["baselines"] = out / "baselines.json"
        write_text(paths["baselines"], canonical_json({k: v for k, v in result.baselines.items()
                                                       if k != "cpu_seconds"}))
    _tsv(result.cv.oof, paths["oof"])
    for name, df in result.curves.items():
        paths[name] = out / f"{name}.tsv"
        _tsv(df, paths[name])
    return paths
