"""The base of every config model: strict (unknown keys refused), frozen, with deprecated aliases.

A key that is renamed keeps its old name as an alias: list ``{"old": "new"}`` in the model's ``_renamed``; the
old name is still accepted, with a :class:`DeprecationWarning` and a logged warning naming the new key.
Validation errors become :class:`~proteomics.errors.InputError` naming the key path, the YAML line when known,
the allowed keys (with the closest one) or the allowed values.
"""

from __future__ import annotations

import difflib
import logging
import warnings
from pathlib import Path
from typing import Any, ClassVar

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

from ..errors import InputError

__all__ = ["Strict", "validation_error", "yaml_key_lines", "PRESENCE_FILTER"]

#: the presence rule of a learned signature's default preprocessing (panel and stratify): keep proteins observed
#: in ≥ 70 % of all training samples (a locked signature refuses samples missing too many of its proteins)
PRESENCE_FILTER: tuple[str, dict[str, Any]] = ("filter_min_valid", {"min_fraction": 0.7, "per_group": False})

log = logging.getLogger("proteomics")


class Strict(BaseModel):
    """Unknown keys are errors; instances are frozen; ``_renamed`` maps deprecated key names to current ones."""

    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True, protected_namespaces=())
    _renamed: ClassVar[dict[str, str]] = {}

    @model_validator(mode="before")
    @classmethod
    def _deprecated_names(cls, data: Any) -> Any:
        if not isinstance(data, dict) or not cls._renamed:
            return data
        out = dict(data)
        for old, new in cls._renamed.items():
            if old in out:
                if new in out:
                    raise ValueError(f"both {old!r} (deprecated) and {new!r} are given; keep {new!r}")
                msg = f"config key {old!r} is deprecated; use {new!r}"
                warnings.warn(msg, DeprecationWarning, stacklevel=2)
                log.warning(msg)
                out[new] = out.pop(old)
        return out


def _key_path(loc) -> str:
    return ".".join(str(p) for p in loc)


def _allowed_keys(model: type[BaseModel], loc) -> list[str]:
    cur: Any = model
    for part in loc[:-1]:
        field = getattr(cur, "model_fields", {}).get(part)
        if field is None:
            return []
        cur = field.annotation
    fields = getattr(cur, "model_fields", {})
    return sorted(k for k, f in fields.items() if not f.exclude)


def validation_error(exc: ValidationError, path: Path | None, lines: dict[str, int], model: type[BaseModel],
                     prefix: tuple[str, ...] = ()) -> InputError:
    """The first error of ``exc`` (validating ``model`` at key path ``prefix``) as an InputError; an unknown key
    comes first, as it is the likelier cause of the others (a misspelt key also leaves its real one missing)."""
    errors = exc.errors()
    err = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])
    inner = tuple(err["loc"])
    loc = prefix + inner
    key = _key_path(loc)
    line = lines.get(key) or lines.get(_key_path(loc[:-1]))
    if err["type"] == "extra_forbidden":
        allowed = _allowed_keys(model, inner)
        close = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
        hint = (f"did you mean {close[0]!r}? " if close else "") + f"allowed keys here: {', '.join(allowed)}"
        return InputError(f"unknown config key {key!r}", path=path, line=line, hint=hint)
    if err["type"] == "missing":
        return InputError(f"missing config key {key!r}", path=path, line=line, hint=f"add {key} to the config")
    msg = err["msg"]
    if err["type"] == "literal_error":
        msg = msg.replace("Input should be", "allowed values are")
    value = err.get("input")
    where = f" for {key!r}" if key else ""
    return InputError(f"bad value {value!r}{where}: {msg}", path=path, line=line,
                      hint=f"change {key or 'it'} in the config")


def yaml_key_lines(text: str, prefix: str = "") -> dict[str, int]:
    """Map dotted key paths (under ``prefix``) to 1-based line numbers (for error messages)."""
    out: dict[str, int] = {}
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return out

    def walk(n, pre):
        if isinstance(n, yaml.MappingNode):
            for k, v in n.value:
                key = f"{pre}.{k.value}" if pre else str(k.value)
                out[key] = k.start_mark.line + 1
                walk(v, key)

    walk(node, prefix)
    return out
