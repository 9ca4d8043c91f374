"""``PanelSettings`` (declared in :mod:`proteomics.config.panel`, the one place of every panel key and default)
and :func:`coerce_settings`, which validates a mapping into it and checks the registry choices."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from ..config.base import validation_error
from ..config.panel import DEFAULT_PENALTIES, DEFAULT_SIZE_GRID, PanelSettings, size_label
from ..errors import InputError
from .selection import MODELS, SELECTORS

__all__ = ["PanelSettings", "coerce_settings", "size_label", "DEFAULT_SIZE_GRID", "DEFAULT_PENALTIES"]

#: run-config keys of the ``panel`` section that are not panel settings (the caller handles them)
_RUN_KEYS = ("enabled", "label", "positive", "permutations", "quant_method")


def coerce_settings(settings: PanelSettings | Mapping[str, Any] | None) -> PanelSettings:
    """A :class:`PanelSettings` from a mapping (e.g. the config's ``panel`` section) or itself; an unknown key
    or a bad value is an InputError naming the allowed keys or values."""
    if settings is None:
        s = PanelSettings()
    elif isinstance(settings, PanelSettings):
        s = settings
    else:
        kw = {k: v for k, v in dict(settings).items() if k not in _RUN_KEYS}
        unknown = sorted(set(kw) - set(PanelSettings.model_fields) - set(PanelSettings._renamed))
        if unknown:
            raise InputError(f"unknown panel setting {unknown[0]!r}",
                             hint=f"allowed: {', '.join(sorted(PanelSettings.model_fields))}")
        try:
            s = PanelSettings.model_validate(kw)
        except ValidationError as exc:
            raise validation_error(exc, None, {}, PanelSettings, prefix=("panel",)) from None
    if s.selector not in SELECTORS:
        raise InputError(f"unknown selector {s.selector!r}", hint=f"use one of {', '.join(SELECTORS)}")
    if s.model not in MODELS:
        raise InputError(f"unknown model {s.model!r}", hint=f"use one of {', '.join(MODELS)}")
    return s
