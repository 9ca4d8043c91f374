"""One entry point for differential abundance: the model plus differential detection.

:func:`differential` is what ``proteomics de`` and ``run`` call, so both give the same table:

* ``model="hybrid"``: limma's moderated t where it is estimable, and the detection test
  (:mod:`proteomics.stats.detection`, ``detection="model"`` by default) for proteins seen in only one group of a
  two-group contrast, all in the same FDR family;
* ``model="limma"``: limma's moderated t alone (:func:`~proteomics.stats.limma.moderated_t`), equal to R limma
  (current and legacy); a detection test is added only when ``detection`` is given explicitly;
* ``model="dpc"``: the detection-aware model (:mod:`proteomics.stats.dpc_de`), which tests every detected
  protein itself (group designs only).

Every table has a ``test`` column (``moderated_t``, ``dpc``, ``detection``; empty when no test was possible).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from ..dataset import Dataset
from ..errors import InputError
from .detection import detection_tests
from .dpc_de import dpc_t
from .limma import moderated_t

__all__ = ["differential", "MODELS", "DETECTION_TESTS"]

MODELS = ("hybrid", "limma", "dpc")
DETECTION_TESTS = ("model", "binomial", "none")


def differential(ds: Dataset, contrasts: str | Sequence[str], *, model: str = "hybrid",
                 detection: str | None = None,
                 group: str = "condition", covariates: Sequence[str] = (), block: str | None = None,
                 trend: bool = False, robust: bool = False, legacy: bool | None = None, fdr: str = "bh",
                 seed: int = 0):
    """Differential abundance for one contrast (returns a DEResult) or several (a list), on a Dataset
    (samples × proteins, log2, NaN = missing). See the module docstring for ``model`` and ``detection``."""
    if model not in MODELS:
        raise InputError(f"unknown DE model {model!r}", hint=f"use one of: {', '.join(MODELS)}")
    if detection is None:
        detection = "model" if model == "hybrid" else "none"
    if detection not in DETECTION_TESTS:
        raise InputError(f"unknown detection test {detection!r}", hint=f"use one of: {', '.join(DETECTION_TESTS)}")
    single = isinstance(contrasts, str)
    cons = [contrasts] if single else list(contrasts)
    if model == "dpc":
        if covariates or block:
            raise InputError("--model dpc supports group designs only (no covariates or blocks)",
                             hint="use --model limma for designs with covariates or blocks")
        if not np.isnan(np.asarray(ds.X)).any() and "dpc_se" not in ds.layers:
            # nothing missing: the curve is undefined and dpc is limma-trend
            res = moderated_t(ds, cons, group=group, trend=True, robust=robust, legacy=legacy, fdr=fdr)
            out = [_with_test(r, "moderated_t") for r in res]
        else:
            out = dpc_t(ds, cons, group=group, trend=True, robust=robust, fdr=fdr)
    else:
        res = moderated_t(ds, cons, group=group, covariates=tuple(covariates), block=block, trend=trend,
                          robust=robust, legacy=legacy, fdr=fdr)
        if detection != "none":
            out = detection_tests(ds, res, group=group, method=detection, fdr=fdr, seed=seed)
        else:
            out = [_with_test(r, "moderated_t") for r in res]
    out = [r.__class__(r.table, r.contrast, r.design, r.method, dict(r.params) | {"model": model,
                                                                                    "detection": detection})
           for r in out]
    return out[0] if single else out


def _with_test(res, name: str):
    table = res.table.copy()
    table["test"] = np.where(np.isfinite(table["p_value"].to_numpy(dtype=float)), name, "")
    return replace(res, table=table)
