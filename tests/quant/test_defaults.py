"""One default roll-up and one default min_ratio_count everywhere: API, Dask engine, config and CLI."""

from __future__ import annotations

import inspect

from proteomics.config import QuantifyConfig
from proteomics.quant import METHODS, MIN_RATIO_COUNT, quantify
from proteomics.quant.distributed import quantify_dask


def test_defaults_agree():
    api = inspect.signature(quantify).parameters
    dk = inspect.signature(quantify_dask).parameters
    cfg = QuantifyConfig()
    assert api["method"].default == dk["method"].default == cfg.method == "auto"
    assert api["min_ratio_count"].default == cfg.min_ratio_count == MIN_RATIO_COUNT == 1
    assert "auto" in METHODS and "trace" in METHODS


def test_cli_default_method_is_the_api_default():
    from proteomics.cli import QuantMethod
    from proteomics.cli import quantify as quantify_cmd

    default = inspect.signature(quantify_cmd).parameters["method"].default
    assert QuantMethod(default) == inspect.signature(quantify).parameters["method"].default
    assert set(QuantMethod) <= set(METHODS)
