"""Settings of ``stratify``: the keys and defaults are :class:`proteomics.config.stratify.StratifySettings`
(declared once); :func:`resolve_settings` validates a mapping into the plain dict the algorithms read."""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from ..config.stratify import StratifySettings
from ..errors import InputError
from .consensus import ALGORITHMS
from .features import parse_preprocess

__all__ = ["DEFAULTS", "resolve_settings"]

#: every setting with its default (as :func:`resolve_settings` returns them for an empty mapping)
DEFAULTS: dict[str, Any] = {**StratifySettings().model_dump(), "algorithms": list(ALGORITHMS)}
_IGNORED = {"enabled", "k_max"}   # run-config keys handled by the caller


def resolve_settings(settings: Mapping[str, Any] | None) -> dict[str, Any]:
    """Defaults updated with ``settings``; validated. Unknown keys are refused with the closest valid key."""
    given = {k: v for k, v in dict(settings or {}).items() if k not in _IGNORED}
    for key in given:
        if key not in StratifySettings.model_fields and key not in StratifySettings._renamed:
            close = difflib.get_close_matches(str(key), list(StratifySettings.model_fields), n=1)
            hint = f"did you mean {close[0]!r}?" if close else \
                f"valid keys: {', '.join(sorted(StratifySettings.model_fields))}"
            raise InputError(f"unknown stratify setting {key!r}", column=str(key), hint=hint)
    try:
        out = StratifySettings.model_validate(given).model_dump()
    except ValidationError as exc:
        err = exc.errors()[0]
        key = ".".join(str(p) for p in err["loc"]) or "settings"
        raise InputError(f"stratify setting {key!r}: {err['msg']} (got {err.get('input')!r})", column=key) from None
    if out["null_repeats"] is None:
        out["null_repeats"] = out["repeats"]
    algs = out["algorithms"] if out["algorithms"] is not None else list(ALGORITHMS)
    if isinstance(algs, str):
        algs = [algs]
    bad = [a for a in algs if a not in ALGORITHMS]
    if bad or not algs:
        raise InputError(f"unknown clustering algorithm(s) {bad or algs!r}", column="algorithms",
                         hint=f"choose from {', '.join(ALGORITHMS)}")
    out["algorithms"] = [a for a in ALGORITHMS if a in set(algs)]  # canonical order
    if out["n_components"] == "none":
        out["n_components"] = None
    out["preprocess"] = parse_preprocess(out["preprocess"])
    if out["proteins"] is not None:
        out["proteins"] = [str(p) for p in out["proteins"]]
    for key in ("technical_columns", "clinical_columns"):
        if out[key] is not None:
            out[key] = [str(c) for c in ([out[key]] if isinstance(out[key], str) else out[key])]
    return out
