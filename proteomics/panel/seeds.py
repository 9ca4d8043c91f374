"""Pieces the nested CV and the inner tuning both build on (so neither imports the other): the per-task seed
and the fresh preprocessing steps of a panel pipeline."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import clone

from ..config.panel import DEFAULT_PREPROCESS
from ..errors import InputError
from ..preprocess import STEPS
from .settings import PanelSettings

__all__ = ["derive_seed", "preprocess_steps"]


def derive_seed(seed: int, *keys: int) -> int:
    """A 31-bit seed derived deterministically from ``seed`` and integer keys."""
    return int(np.random.SeedSequence([int(seed) & 0xFFFFFFFF, *[int(k) for k in keys]]).generate_state(1)[0]
               & 0x7FFFFFFF)


def preprocess_steps(settings: PanelSettings, seed: int = 0) -> list[tuple[str, Any]]:
    """Fresh (unfitted) preprocessing transformers from ``settings.preprocess`` (see PanelSettings)."""
    pre = settings.preprocess
    if pre is None:
        pre = tuple((k, dict(p)) for k, p in DEFAULT_PREPROCESS if k in STEPS)
    out = []
    for i, item in enumerate(pre):
        if isinstance(item, dict):
            key, params = item.get("step"), dict(item.get("params", {}))
        elif isinstance(item, tuple | list) and len(item) == 2 and hasattr(item[1], "get_params"):
            out.append((f"pre{i}_{item[0]}", clone(item[1])))
            continue
        elif isinstance(item, tuple | list) and len(item) == 2:
            key, params = item[0], dict(item[1])
        elif hasattr(item, "get_params"):
            out.append((f"pre{i}_{type(item).__name__}", clone(item)))
            continue
        else:
            raise InputError(f"cannot read preprocessing step {item!r}",
                             hint="give (STEPS key, params) pairs or transformer instances")
        if key not in STEPS:
            raise InputError(f"unknown preprocessing step {key!r}", hint=f"use one of {', '.join(sorted(STEPS))}")
        cls = STEPS[key]
        if "seed" in cls().get_params() and "seed" not in params:
            params["seed"] = seed
        out.append((f"pre{i}_{key}", cls(**params)))
    return out
