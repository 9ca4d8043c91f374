"""Locking a fitted panel pipeline into a :class:`~proteomics.signature.Signature`.

The container itself (schema, checksum, JSON, no pickle) lives in :mod:`proteomics.signature`, below both panel
and stratify; it is re-exported here so ``from proteomics.panel.signature import Signature`` keeps working.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ..signature import (
    KINDS,
    SIGNATURE_SCHEMA,
    SIGNATURE_SCHEMA_VERSION,
    Signature,
    restore_steps,
    step_states,
)
from .lockmodel import categories_and_thresholds, model_payload

__all__ = ["Signature", "SIGNATURE_SCHEMA", "SIGNATURE_SCHEMA_VERSION", "KINDS", "step_states", "restore_steps",
           "lock"]


def _floats(a) -> list:
    return [float(x) for x in np.asarray(a, dtype=float).ravel()]


def lock(pipe, X, y_labels, *, positive: str, classes: Sequence[str], settings, oof_probability=None,
         oof_labels=None, performance: Mapping[str, Any] | None = None, training: Mapping[str, Any] | None = None,
         seed: int = 0, specimens: Sequence[str] = ()) -> Signature:
    """Build the :class:`Signature` of a pipeline already fitted on all training samples.

    ``pipe`` is the fitted ``make_pipeline`` Pipeline, ``X`` its training samples × proteins DataFrame (log2)
    and ``y_labels`` the labels. Thresholds and their operating characteristics come from the honest
    out-of-fold probabilities (``oof_probability`` vs ``oof_labels``) of the nested CV; the probability
    interval comes from ``settings.interval_boot`` bootstrap refits of the final model on the locked panel
    (see :mod:`proteomics.panel.lockmodel`). ``specimens``: for a multi-specimen panel (features
    ``"<specimen>:<protein_group>"``, see :mod:`proteomics.panel.multispecimen`) the specimens it requires.
    """
    pre = [step for _, step in pipe.steps[:-4]]
    states = step_states(pre)
    Xp = X
    for s in pre:
        Xp = s.transform(Xp)
    panel = list(pipe.named_steps["select"].selected_)
    raw = Xp.loc[:, panel].to_numpy(dtype=float)
    model = model_payload(pipe, Xp.loc[:, panel], np.asarray(y_labels).astype(str), positive=positive,
                          classes=classes, settings=settings, seed=seed)
    with np.errstate(all="ignore"):
        qc = {"max_missing_fraction": settings.max_missing_fraction,
              "max_missing": int(np.floor(settings.max_missing_fraction * len(panel))),
              "range_margin": settings.range_margin,
              "training_min": _floats(np.nanmin(np.where(np.isnan(raw), np.inf, raw), axis=0)),
              "training_max": _floats(np.nanmax(np.where(np.isnan(raw), -np.inf, raw), axis=0)),
              "min_input_coverage": 0.5}
    thresholds, cats = ({}, ())
    if len(classes) == 2 and oof_probability is not None:
        thresholds, cats = categories_and_thresholds(np.asarray(oof_labels).astype(str) == positive,
                                                     np.asarray(oof_probability, float), settings)
    elif len(classes) > 2:
        cats = tuple({"name": str(c), "rule": f"most probable class is {c}"} for c in classes)
    name = settings.name or f"{positive}_panel"
    sig = Signature(kind="panel", name=name, version=str(settings.version), proteins=tuple(panel),
                    specimen=settings.specimen, intended_use=settings.intended_use, steps=tuple(states),
                    model=model, thresholds=thresholds, categories=cats, qc=qc, training=dict(training or {}),
                    performance=dict(performance or {}), specimens=tuple(specimens))
    return sig.sealed()
