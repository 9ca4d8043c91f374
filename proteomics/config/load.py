"""Reading configs: ``load_config`` (a run config), ``load_section`` (a PANEL.yaml / STRATIFY.yaml: the keys of
one section), ``config_from_dict`` and ``command_config_from_dict`` (a single command's options).

YAML is read with the safe loader and the resource limits of :mod:`proteomics.limits`; every error is an
:class:`~proteomics.errors.InputError` with the file, the key path, its line and the allowed keys or values.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from ..errors import InputError, close_path
from ..limits import read_config_text, read_yaml, safe_yaml_load
from .base import validation_error, yaml_key_lines
from .run import InputsConfig, PanelConfig, RunConfig, StratifyConfig

__all__ = ["load_config", "config_from_dict", "command_config_from_dict", "load_section", "SECTIONS"]

#: the sections a ``--config`` file of a single command may hold, by name
SECTIONS = {"panel": PanelConfig, "stratify": StratifyConfig}


def config_from_dict(data: dict[str, Any], *, base: Path | None = None, path: Path | None = None,
                     check_files: bool = True, text: str = "") -> RunConfig:
    """Validate a config mapping; resolve relative paths against ``base`` (the config file's folder)."""
    if not isinstance(data, dict):
        raise InputError("config must be a YAML mapping of keys to values", path=path, line=1,
                         hint="start from configs/example_plasma.yaml")
    lines = yaml_key_lines(text) if text else {}
    inputs = data.get("inputs")
    if isinstance(inputs, dict) and "sheet" not in inputs and set(inputs) <= set(InputsConfig.model_fields):
        raise InputError("missing config key 'inputs.sheet'", path=path, line=lines.get("inputs"),
                         hint="add inputs.sheet to the config")
    try:
        cfg = RunConfig.model_validate(data)
    except ValidationError as exc:
        raise validation_error(exc, path, lines, RunConfig) from None
    base = base or Path.cwd()
    resolved: dict[str, str] = {}

    def res(p: Path | None, key: str | None = None) -> Path | None:
        """Relative paths: against the config's folder; an input that is not there but is in the working
        directory is taken from there (a config copied elsewhere, as in the README's tour)."""
        if p is None:
            return None
        p = Path(os.path.expanduser(str(p)))
        if p.is_absolute():
            return p
        in_base = Path(os.path.normpath(base / p))
        in_cwd = Path(os.path.normpath(Path.cwd() / p))
        if key is not None and not in_base.exists() and in_cwd.exists():
            resolved[key] = "working directory"
            return in_cwd
        if key is not None:
            resolved[key] = "config folder"
        return in_base

    inputs = cfg.inputs.model_copy(update={"data": res(cfg.inputs.data, "data"),
                                           "sheet": res(cfg.inputs.sheet, "sheet"),
                                           "fasta": res(cfg.inputs.fasta, "fasta")})
    output = cfg.output.model_copy(update={"dir": res(cfg.output.dir)})
    cfg = cfg.model_copy(update={"inputs": inputs, "output": output, "source": path})
    cfg._resolved = resolved
    if check_files:
        for key in ("data", "sheet", "fasta"):
            p = getattr(cfg.inputs, key)
            if p is None:
                continue
            if not p.exists():
                raise InputError(f"inputs.{key} file not found: {p}", path=path, line=lines.get(f"inputs.{key}"),
                                 hint=close_path(p) + "fix the path; relative paths are resolved against the config file's folder, "
                                      "then the working directory")
            if p.is_dir():
                raise InputError(f"inputs.{key} is a directory, not a file: {p}", path=path,
                                 line=lines.get(f"inputs.{key}"), hint="point it at the file inside")
    return cfg


def command_config_from_dict(data: dict[str, Any]) -> RunConfig:
    """Validate the settings of a single command (its options at their config keys); paths are kept as given
    and not checked (the readers name a missing file)."""
    try:
        return RunConfig.model_validate(data)
    except ValidationError as exc:
        raise validation_error(exc, None, {}, RunConfig) from None


def load_config(path: str | os.PathLike, *, check_files: bool = True) -> RunConfig:
    """Read and validate a YAML config file (safe loader only)."""
    path = Path(path)
    if not path.exists():
        raise InputError("config file not found", path=path, hint=close_path(path) + "check the path, e.g. configs/example_plasma.yaml")
    if path.is_dir():
        raise InputError("config path is a directory", path=path, hint="give the YAML file")
    text = read_config_text(path)
    try:
        data = safe_yaml_load(text, path=path)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise InputError(f"invalid YAML ({getattr(exc, 'problem', None) or exc})", path=path,
                         line=mark.line + 1 if mark else None, column=mark.column + 1 if mark else None,
                         hint="fix the YAML syntax (indentation, colons, quotes)") from None
    if data is None:
        raise InputError("config file is empty", path=path, line=1, hint="start from configs/example_plasma.yaml")
    return config_from_dict(data, base=path.resolve().parent, path=path, check_files=check_files, text=text)


def load_section(path: str | os.PathLike, section: str) -> dict[str, Any]:
    """The keys of one config ``section`` (``panel`` or ``stratify``) from a YAML file holding either that section's
    keys at the top or the section itself (``panel: {...}``), validated (errors name the key and its line).
    Returns only the keys the file sets, as plain values."""
    model = SECTIONS[section]
    data = read_yaml(path, what=f"{section} config")
    if data is None:
        return {}
    text = read_config_text(path, what=f"{section} config")
    if not isinstance(data, dict):
        raise InputError(f"{section} config must be a YAML mapping of keys to values", path=path, line=1)
    wrapped = section in data and isinstance(data[section], dict)
    lines = yaml_key_lines(text, prefix="" if wrapped else section)
    body = data[section] if wrapped else data
    try:
        validated = model.model_validate(body)
    except ValidationError as exc:
        raise validation_error(exc, Path(path), lines, model, prefix=(section,)) from None
    return validated.model_dump(exclude_unset=True)
