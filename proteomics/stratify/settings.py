"""Settings of ``stratify``: defaults, validation (an unknown key or a bad value is an ``InputError``)."""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Any

from ..errors import InputError
from .consensus import ALGORITHMS
from .features import DEFAULT_PREPROCESS, parse_preprocess

__all__ = ["DEFAULTS", "resolve_settings"]

DEFAULTS: dict[str, Any] = {
    "n_features": 500,            # most variable proteins used for clustering …
    "max_feature_fraction": 0.25,  # … but at most this fraction of the proteins left after preprocessing
    "proteins": None,             # or an explicit protein list (overrides n_features)
    "repeats": 100,               # consensus resamples
    "sample_fraction": 0.8,
    "feature_fraction": 0.8,
    "algorithms": list(ALGORITHMS),
    "n_components": "auto",       # principal components each resample is clustered on ("auto" = k_max, None = all)
    "null_permutations": 20,      # protein-wise permuted data sets for the null PAC distribution
    "null_repeats": None,         # resamples per null data set (None = repeats)
    "alpha": 0.05,                # empirical p needed to call a clustering stable
    "max_pac": 0.3,               # and the PAC of the chosen k must not exceed this
    "pac_lower": 0.1,
    "pac_upper": 0.9,
    "pac_tolerance": 0.02,        # k within this PAC of the best compete on silhouette
    "min_cluster_fraction": 0.1,  # partitions with a smaller cluster (outliers) are not chosen
    "preprocess": [list(s) for s in DEFAULT_PREPROCESS],
    "technical_columns": None,    # None = batch, run order and specimen columns found in the sheet
    "clinical_columns": None,     # None = every other annotation column
    "time_column": "time",
    "event_column": "event",
    "top_n": 10,                  # top proteins per cluster
    "min_confidence": 0.5,        # below this a new patient's assignment is 'uncertain'
    "max_missing_fraction": 0.5,  # above this fraction of missing features a new patient is refused
    "specimen": None,             # specimen the stratifier is for (default: the data's single specimen)
    "characterise": True,         # cluster-vs-rest moderated statistics
}
_IGNORED = {"enabled", "k_max"}   # run-config keys handled by the caller


def _num(settings: dict, key: str, lo: float, hi: float, integer: bool = False) -> None:
    v = settings[key]
    ok = isinstance(v, int | float) and not isinstance(v, bool) and lo <= v <= hi
    if integer:
        ok = ok and float(v).is_integer()
    if not ok:
        kind = "an integer" if integer else "a number"
        raise InputError(f"stratify setting {key!r} must be {kind} in [{lo}, {hi}], got {v!r}", column=key)
    if integer:
        settings[key] = int(v)


def resolve_settings(settings: Mapping[str, Any] | None) -> dict[str, Any]:
    """Defaults updated with ``settings``; validated. Unknown keys are refused with the closest valid key."""
    out = {k: (list(v) if isinstance(v, list) else v) for k, v in DEFAULTS.items()}
    for key, value in dict(settings or {}).items():
        if key in _IGNORED:
            continue
        if key not in DEFAULTS:
            close = difflib.get_close_matches(str(key), list(DEFAULTS), n=1)
            hint = f"did you mean {close[0]!r}?" if close else f"valid keys: {', '.join(sorted(DEFAULTS))}"
            raise InputError(f"unknown stratify setting {key!r}", column=str(key), hint=hint)
        out[key] = value
    _num(out, "n_features", 2, 10**7, integer=True)
    _num(out, "repeats", 5, 10**6, integer=True)
    _num(out, "null_permutations", 0, 10**5, integer=True)
    if out["null_repeats"] is None:
        out["null_repeats"] = out["repeats"]
    _num(out, "null_repeats", 5, 10**6, integer=True)
    for key in ("sample_fraction", "feature_fraction"):
        _num(out, key, 0.1, 1.0)
    for key in ("alpha", "max_pac", "pac_lower", "pac_upper", "pac_tolerance", "min_confidence", "min_cluster_fraction",
                "max_feature_fraction",
                "max_missing_fraction"):
        _num(out, key, 0.0, 1.0)
    if out["pac_lower"] >= out["pac_upper"]:
        raise InputError("pac_lower must be below pac_upper", column="pac_lower")
    _num(out, "top_n", 1, 10**6, integer=True)
    algs = out["algorithms"]
    if isinstance(algs, str):
        algs = [algs]
    bad = [a for a in algs if a not in ALGORITHMS]
    if bad or not algs:
        raise InputError(f"unknown clustering algorithm(s) {bad or algs!r}", column="algorithms",
                         hint=f"choose from {', '.join(ALGORITHMS)}")
    out["algorithms"] = [a for a in ALGORITHMS if a in set(algs)]  # canonical order
    nc = out["n_components"]
    if nc not in ("auto", None, "none"):
        _num(out, "n_components", 1, 10**6, integer=True)
    elif nc == "none":
        out["n_components"] = None
    out["preprocess"] = parse_preprocess(out["preprocess"])
    if out["proteins"] is not None:
        if isinstance(out["proteins"], str):
            raise InputError("stratify setting 'proteins' must be a list of protein groups", column="proteins")
        out["proteins"] = [str(p) for p in out["proteins"]]
    for key in ("technical_columns", "clinical_columns"):
        if out[key] is not None:
            out[key] = [str(c) for c in ([out[key]] if isinstance(out[key], str) else out[key])]
    return out
