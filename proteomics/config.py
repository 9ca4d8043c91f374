"""Pydantic models of the YAML run configuration: the only module that knows config keys.

``load_config(path)`` reads YAML with the safe loader, validates every key (an unknown key or a bad value
is an :class:`InputError` naming the key path and the allowed values), resolves relative paths against the
config file's folder and checks that input files exist before any work starts.
"""

from __future__ import annotations

import difflib
import os
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from .errors import InputError
from .guard import check_name
from .limits import read_config_text, safe_yaml_load

__all__ = ["RunConfig", "load_config", "config_from_dict", "command_config_from_dict", "SPECIMENS"]

SPECIMENS = ("serum", "plasma", "BAL", "sputum", "tissue", "other")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class InputsConfig(_Strict):
    """Input files. Relative paths are resolved against the config file's folder."""

    data: Path
    sheet: Path | None = None  # required in a config file (checked by config_from_dict); optional for `score`
    format: str = "auto"
    fasta: Path | None = None
    scale: Literal["auto", "linear", "log2"] = "auto"


class ReadConfig(_Strict):
    fdr: float = Field(0.01, gt=0, le=1, description="precursor and protein-group q-value cut-off")
    keep_contaminants: bool = False


class QuantifyConfig(_Strict):
    #: auto = MaxLFQ up to quant.AUTO_MAX_RUNS (100) samples, trace alignment (linear in runs) above
    method: Literal["auto", "maxlfq", "trace", "median_polish", "top3", "top_n", "ibaq", "sum",
                    "spectral_count"] = "auto"
    min_ratio_count: int = Field(1, ge=1)
    top_n: int = Field(3, ge=1)


class NormalizeConfig(_Strict):
    method: Literal["median", "quantile", "vsn", "reference", "none"] = "median"
    reference_proteins: list[str] = Field(default_factory=list)

    @field_validator("reference_proteins")
    @classmethod
    def _unique(cls, v):
        if len(set(v)) != len(v):
            raise ValueError("reference_proteins has duplicates")
        return v


class ImputeConfig(_Strict):
    method: Literal["none", "downshift", "minprob", "knn"] = "none"
    shift: float = Field(1.8, ge=0)
    width: float = Field(0.3, gt=0)
    k: int = Field(10, ge=1)


class BatchConfig(_Strict):
    method: Literal["none", "combat"] = "none"
    column: str = "batch"
    covariates: list[str] = Field(default_factory=lambda: ["condition"])


class PreprocessConfig(_Strict):
    remove_contaminants: bool = True
    min_valid_fraction: float = Field(0.7, ge=0, le=1)
    min_valid_per_group: bool = True
    min_peptides: int = Field(1, ge=1)
    normalize: NormalizeConfig = NormalizeConfig()
    impute: ImputeConfig = ImputeConfig()
    batch: BatchConfig = BatchConfig()


class DEConfig(_Strict):
    enabled: bool = True
    group: str = "condition"
    contrasts: list[str] = Field(default_factory=lambda: ["cancer-control"], min_length=1)
    covariates: list[str] = Field(default_factory=list)
    block: str | None = None
    trend: bool = False
    robust: bool = False
    legacy: bool = False
    fdr: Literal["bh", "storey", "by"] = "bh"
    q_threshold: float = Field(0.05, gt=0, le=1)


class PanelConfig(_Strict):
    enabled: bool = True
    label: str = "condition"
    positive: str = "cancer"
    selector: Literal["moderated_t", "l1", "elastic_net", "stability", "rfe"] = "moderated_t"
    model: Literal["logistic", "random_forest", "svm"] = "logistic"
    #: roll-up for the panel's features from precursor-level input: within-sample methods only, so one new
    #: patient's run is quantified alone exactly as in training (MaxLFQ values depend on the other runs)
    quant_method: Literal["top3", "top_n", "sum", "ibaq", "spectral_count"] = "top3"
    max_proteins: int = Field(5, ge=1)
    outer_folds: int = Field(5, ge=2)
    outer_repeats: int = Field(3, ge=1)
    inner_folds: int = Field(3, ge=2)
    group_by: str | None = "subject"
    permutations: int = Field(0, ge=0)
    prevalence: float | None = Field(None, gt=0, lt=1)
    #: risk categories of a signature: rule-out threshold = the highest probability keeping this sensitivity,
    #: rule-in threshold = the lowest probability reaching this specificity (both on out-of-fold predictions)
    fixed_sensitivity: float = Field(0.9, gt=0, lt=1, description="sensitivity target of the rule-out threshold")
    fixed_specificity: float = Field(0.9, gt=0, lt=1, description="specificity target of the rule-in threshold")
    intended_use: str = "research use only"
    name: str | None = None


class StratifyConfig(_Strict):
    enabled: bool = False
    k_max: int = Field(6, ge=2)
    n_features: int = Field(500, ge=2)
    repeats: int = Field(100, ge=5)
    null_permutations: int = Field(20, ge=0)


class OutputConfig(_Strict):
    dir: Path | None = None
    pseudonymise: bool = False
    anndata: bool = False


class RunConfig(_Strict):
    """The whole ``proteomics run`` configuration (see configs/*.yaml for commented examples)."""

    name: str = "run"
    seed: int = 0
    engine: Literal["local", "dask"] = "local"
    scheduler: str | None = None
    n_jobs: int = Field(1, ge=1)
    specimen: str | None = None
    inputs: InputsConfig
    read: ReadConfig = ReadConfig()
    quantify: QuantifyConfig = QuantifyConfig()
    preprocess: PreprocessConfig = PreprocessConfig()
    de: DEConfig = DEConfig()
    panel: PanelConfig = PanelConfig()
    stratify: StratifyConfig = StratifyConfig()
    output: OutputConfig = OutputConfig()
    source: Path | None = Field(None, exclude=True, description="the YAML file this came from")

    @field_validator("name")
    @classmethod
    def _plain_name(cls, v):
        try:
            return check_name(v, key="name")
        except InputError as exc:  # pydantic reports it with the key's line
            raise ValueError(exc.message) from None

    @field_validator("specimen")
    @classmethod
    def _specimen(cls, v):
        if v is None:
            return v
        low = {s.lower(): s for s in SPECIMENS}
        if v.lower() not in low:
            raise ValueError(f"unknown specimen {v!r}; allowed: {', '.join(SPECIMENS)}")
        return low[v.lower()]

    def echo(self) -> dict[str, Any]:
        """The configuration as plain JSON values (paths as given after resolution)."""
        return self.model_dump(mode="json", exclude={"source"})


def _key_path(loc) -> str:
    return ".".join(str(p) for p in loc)


def _allowed_keys(model: type[BaseModel], loc) -> list[str]:
    cur: Any = model
    for part in loc[:-1]:
        field = getattr(cur, "model_fields", {}).get(part)
        if field is None:
            return []
        cur = field.annotation
    return sorted(getattr(cur, "model_fields", {}))


def _validation_error(exc: ValidationError, path: Path | None, lines: dict[str, int]) -> InputError:
    err = exc.errors()[0]
    loc = tuple(p for p in err["loc"] if not isinstance(p, int) or True)
    key = _key_path(loc)
    line = lines.get(key) or lines.get(_key_path(loc[:-1]))
    if err["type"] == "extra_forbidden":
        allowed = [k for k in _allowed_keys(RunConfig, loc) if k != "source"]
        close = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
        hint = (f"did you mean {close[0]!r}? " if close else "") + f"allowed keys here: {', '.join(allowed)}"
        return InputError(f"unknown config key {key!r}", path=path, line=line, hint=hint)
    if err["type"] == "missing":
        return InputError(f"missing config key {key!r}", path=path, line=line, hint=f"add {key} to the config")
    msg = err["msg"]
    if err["type"] == "literal_error":
        msg = msg.replace("Input should be", "allowed values are")
    value = err.get("input")
    return InputError(f"bad value {value!r} for {key!r}: {msg}", path=path, line=line,
                      hint=f"change {key} in the config")


def _yaml_key_lines(text: str) -> dict[str, int]:
    """Map dotted key paths to 1-based line numbers (for error messages)."""
    out: dict[str, int] = {}
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return out

    def walk(n, prefix):
        if isinstance(n, yaml.MappingNode):
            for k, v in n.value:
                key = f"{prefix}.{k.value}" if prefix else str(k.value)
                out[key] = k.start_mark.line + 1
                walk(v, key)

    walk(node, "")
    return out


def config_from_dict(data: dict[str, Any], *, base: Path | None = None, path: Path | None = None,
                     check_files: bool = True, text: str = "") -> RunConfig:
    """Validate a config mapping; resolve relative paths against ``base`` (the config file's folder)."""
    if not isinstance(data, dict):
        raise InputError("config must be a YAML mapping of keys to values", path=path, line=1,
                         hint="start from configs/example_plasma.yaml")
    lines = _yaml_key_lines(text) if text else {}
    if isinstance(data.get("inputs"), dict) and "sheet" not in data["inputs"]:
        raise InputError("missing config key 'inputs.sheet'", path=path, line=lines.get("inputs"),
                         hint="add inputs.sheet to the config")
    try:
        cfg = RunConfig.model_validate(data)
    except ValidationError as exc:
        raise _validation_error(exc, path, lines) from None
    base = base or Path.cwd()

    def res(p: Path | None) -> Path | None:
        if p is None:
            return None
        p = Path(os.path.expanduser(str(p)))
        return p if p.is_absolute() else Path(os.path.normpath(base / p))

    inputs = cfg.inputs.model_copy(update={"data": res(cfg.inputs.data), "sheet": res(cfg.inputs.sheet),
                                           "fasta": res(cfg.inputs.fasta)})
    output = cfg.output.model_copy(update={"dir": res(cfg.output.dir)})
    cfg = cfg.model_copy(update={"inputs": inputs, "output": output, "source": path})
    if check_files:
        for key in ("data", "sheet", "fasta"):
            p = getattr(cfg.inputs, key)
            if p is None:
                continue
            if not p.exists():
                raise InputError(f"inputs.{key} file not found: {p}", path=path, line=lines.get(f"inputs.{key}"),
                                 hint="fix the path; relative paths are resolved against the config file's folder")
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
        raise _validation_error(exc, None, {}) from None


def load_config(path: str | os.PathLike, *, check_files: bool = True) -> RunConfig:
    """Read and validate a YAML config file (safe loader only)."""
    path = Path(path)
    if not path.exists():
        raise InputError("config file not found", path=path, hint="check the path, e.g. configs/example_plasma.yaml")
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
