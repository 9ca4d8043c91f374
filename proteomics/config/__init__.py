"""The configuration: pydantic models of every key (run config, panel and stratify settings included).

``load_config(path)`` reads YAML with the safe loader, validates every key (an unknown key or a bad value is an
:class:`~proteomics.errors.InputError` naming the key path, its line and the allowed keys or values), resolves
relative paths against the config file's folder and checks that input files exist before any work starts.
``load_section(path, "panel" | "stratify")`` reads a single command's ``--config`` file the same way.

Modules: :mod:`.base` (strict models, deprecated aliases, error messages), :mod:`.panel` (``PanelSettings``),
:mod:`.stratify` (``StratifySettings``), :mod:`.run` (``RunConfig`` and its sections), :mod:`.load` (reading),
:mod:`.schema` (the published JSON schema).
"""

from .base import Strict
from .load import SECTIONS, command_config_from_dict, config_from_dict, load_config, load_section
from .panel import PanelSettings
from .run import (
    SPECIMENS,
    BatchConfig,
    DEConfig,
    ImputeConfig,
    InputsConfig,
    NormalizeConfig,
    OutputConfig,
    PanelConfig,
    PreprocessConfig,
    QuantifyConfig,
    ReadConfig,
    RunConfig,
    StratifyConfig,
)
from .schema import config_schema, config_schema_text
from .stratify import STRATIFY_PREPROCESS, StratifySettings

__all__ = ["RunConfig", "load_config", "config_from_dict", "command_config_from_dict", "load_section", "SECTIONS",
           "SPECIMENS", "PanelSettings", "StratifySettings", "STRATIFY_PREPROCESS", "config_schema",
           "config_schema_text", "Strict", "InputsConfig", "ReadConfig", "QuantifyConfig", "NormalizeConfig",
           "ImputeConfig", "BatchConfig", "PreprocessConfig", "DEConfig", "PanelConfig", "StratifyConfig",
           "OutputConfig"]
