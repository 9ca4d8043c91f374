"""The locked stratifier: preprocessing state + standardisation + centroids in a Signature of kind "stratifier".

The Signature container (schema, checksum, JSON, no pickle) is ``proteomics.signature.Signature``; this
module fills its generic fields: ``proteins`` (the clustering proteins, in order), ``specimen``, ``steps`` (one
``get_state()`` per fitted preprocessing step), ``thresholds`` (``min_confidence``), ``qc``
(``max_missing_fraction``, ``min_input_coverage``), ``training`` and ``model``::

    {"type": "nearest_centroid", "distance": ..., "clusters": ["C1", ...], "centroids": [[...], ...],
     "temperature": T, "radius": [...], "radius_factor": 1.25, "feature_mean": [...], "feature_sd": [...],
     "unlockable": "", "step_names": [...]}

``assign(signature, ds)`` applies the stored steps (transform only, never fit), standardises, and gives each
sample its nearest cluster with a confidence, or refuses it with reasons.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from .. import refusals as R
from ..dataset import Dataset
from ..errors import InputError, ScoringRefused
from ..signature import Signature, refuse_unfit, restore_steps, step_states
from .centroids import CentroidModel
from .features import FeatureSpace

__all__ = ["lock_stratifier", "assign"]

log = logging.getLogger(__name__)


def lock_stratifier(fitted: Sequence[tuple[str, Any]], space: FeatureSpace, model: CentroidModel, *,
                    specimen: str | None, settings: Mapping[str, Any], training: Mapping[str, Any]):
    """The locked :class:`~proteomics.signature.Signature` (kind "stratifier", not yet sealed).

    Preprocessing steps that cannot be applied to one new sample (e.g. ComBat) cannot be locked; the stratifier
    is then written without them and ``model["unlockable"]`` says why, so :func:`assign` refuses.
    """
    steps_objs = [step for _, step in fitted]
    unlockable = ""
    try:
        steps = step_states(steps_objs)
    except InputError as exc:
        unlockable = exc.message
        steps = []
        log.warning("the stratifier cannot be locked for new samples: %s", exc.message)
    model_d = model.to_dict()
    model_d.update({"feature_mean": space.mean.tolist(), "feature_sd": space.sd.tolist(), "radius_factor": 1.25,
                    "unlockable": unlockable, "step_names": [name for name, _ in fitted]})
    clusters = list(model.clusters)
    return Signature(
        kind="stratifier", name="stratifier", proteins=tuple(space.proteins), model=model_d, specimen=specimen,
        steps=tuple(steps), thresholds={"min_confidence": float(settings["min_confidence"])},
        categories=tuple({"name": c, "rule": f"nearest centroid is {c}"} for c in clusters),
        qc={"max_missing_fraction": float(settings["max_missing_fraction"]), "min_input_coverage": 0.5},
        training=dict(training),
        performance={k: training.get(k) for k in ("k", "stable", "pac", "null_p", "training_agreement")})


# -- assigning new samples --------------------------------------------------------------------------------------
def _specimen_reasons(specimen: str | None, ds: Dataset) -> list[str]:
    if specimen is None:
        return []
    samples = ds.samples
    if "specimen" not in samples.columns:
        return [f"the specimen of the samples is unknown (the stratifier is for {specimen!r})"]
    got = samples["specimen"].astype(str)
    bad = got[got.str.lower() != str(specimen).lower()]
    if len(bad):
        return [f"specimen {', '.join(sorted(set(bad)))} of sample(s) {', '.join(bad.index[:10])} differs from "
                f"the stratifier's intended specimen {specimen!r}"]
    return []


def assign(signature, ds: Dataset) -> pd.DataFrame:
    """Assign each sample of ``ds`` (samples × proteins, log2) to a subgroup of a locked stratifier.

    Only applies what the signature stores (preprocessing states, standardisation, centroids); never refits.
    Returns one row per sample, in ``ds`` order: sample, cluster, confidence (softmax probability of the chosen
    cluster, 0..1), category ("assigned"; "uncertain" when confidence < the locked ``min_confidence`` or the sample
    is farther from its cluster's centroid than 1.25 × the farthest training member, flagged "atypical";
    "refused"), missing_fraction (of the stratifier proteins), ``prob_<cluster>`` per cluster, qc_flags, reasons,
    the signature's name/version/sha256 and reason_codes (:mod:`proteomics.refusals`). Like panel scoring, raises
    :class:`ScoringRefused` naming every reason when nothing can be assigned (not a stratifier, specimen mismatch,
    more than ``max_missing_fraction`` of the stratifier proteins absent from the input: named). Fewer absent
    proteins count as missing values (named in ``qc_flags``); a sample with too few training proteins measured or
    too many stratifier proteins missing is refused alone.
    """
    if signature.kind != "stratifier":
        raise ScoringRefused([f"signature {signature.name!r} is a {signature.kind}, not a stratifier"],
                             hint="score panels with `proteomics score`; give a stratifier.json here")
    proteins = list(signature.proteins)
    model_d = dict(signature.model)
    reasons = _specimen_reasons(signature.specimen, ds)
    frame = ds.to_frame()
    absent = [p for p in proteins if p not in frame.columns]
    max_miss = float(signature.qc.get("max_missing_fraction", 0.5))
    if len(absent) > max_miss * len(proteins):
        reasons.append(f"{len(absent)} of {len(proteins)} stratifier proteins are absent from the input (at most "
                       f"{max_miss:.0%} may be): {', '.join(absent[:20])}" + (" …" if len(absent) > 20 else ""))
    if model_d.get("unlockable"):
        reasons.append(f"the stratifier holds no usable preprocessing: {model_d['unlockable']}")
    refuse_unfit(reasons, ds.n_samples, verb="assign", kind="stratifier")
    steps = restore_steps(signature.steps)
    why: list[list[tuple[str, str]]] = [[] for _ in range(ds.n_samples)]  # (code, technical reason)
    if steps:
        train_prot = list(steps[0].proteins_in_)
        coverage = frame.reindex(columns=train_prot).notna().mean(axis=1).to_numpy()
        min_cov = float(signature.qc.get("min_input_coverage", 0.5))
        for i in np.flatnonzero(coverage < min_cov):
            why[i].append((R.LOW_COVERAGE, f"only {coverage[i]:.0%} of the training proteins are measured (need "
                                           f"≥ {min_cov:.0%}) for the within-sample normalisation"))
        frame = frame.reindex(columns=train_prot)  # proteins the new data lack become missing
        for st in steps:
            frame = st.transform(frame)
    space = FeatureSpace.from_dict(proteins, {"mean": model_d["feature_mean"], "sd": model_d["feature_sd"]})
    Z, miss = space.transform(frame.reindex(columns=proteins))
    model = CentroidModel.from_dict(model_d)
    idx, prob = model.predict(Z)
    conf = prob[np.arange(len(idx)), idx]
    flags: list[list[str]] = [[] for _ in range(ds.n_samples)]
    atypical = np.zeros(ds.n_samples, dtype=bool)
    if model.radius is not None:
        d_own = model.distances(Z)[np.arange(len(idx)), idx]
        factor = float(model_d.get("radius_factor", 1.25))
        atypical = d_own > model.radius[idx] * factor
        for i in np.flatnonzero(atypical):
            flags[i].append(f"atypical: farther from {model.clusters[idx[i]]} (distance {d_own[i]:.3g}) than "
                            f"{factor:g} × the farthest training member ({model.radius[idx[i]]:.3g})")
    for i in np.flatnonzero(miss > max_miss):
        why[i].append((R.MISSING_PROTEINS, f"{miss[i]:.0%} of the stratifier proteins are missing (at most "
                                           f"{max_miss:.0%} allowed)"))
    for i in np.flatnonzero(~np.isfinite(conf) | ~np.isfinite(prob).all(axis=1)):
        if not why[i]:
            why[i].append((R.NON_FINITE_SCORE, "the stratifier gave a non-finite assignment probability: no "
                                               "subgroup can be given"))
    refused = np.array([bool(r) for r in why])
    clusters = np.asarray(model.clusters, dtype=object)[idx]
    min_conf = float(signature.thresholds.get("min_confidence", 0.0))
    category = np.where((conf >= min_conf) & ~atypical, "assigned", "uncertain").astype(object)
    clusters[refused] = ""
    category[refused] = "refused"
    out = pd.DataFrame({"sample": ds.sample_ids, "cluster": clusters, "confidence": np.where(refused, np.nan, conf),
                        "category": category, "missing_fraction": miss})
    for j, c in enumerate(model.clusters):
        out[f"prob_{c}"] = np.where(refused, np.nan, prob[:, j])
    if absent:
        for f in flags:
            f.append(f"{len(absent)} stratifier protein(s) absent from the input, counted as missing: "
                     f"{', '.join(absent[:10])}" + (" …" if len(absent) > 10 else ""))
    out["qc_flags"] = ["; ".join(f) for f in flags]
    out["reasons"] = ["; ".join(t for _, t in r) for r in why]
    out["signature_name"] = signature.name
    out["signature_version"] = signature.version
    out["signature_sha256"] = signature.sha256
    out["reason_codes"] = ["; ".join(c for c, _ in r) for r in why]  # proteomics.refusals
    return out
