"""Every choice the command line and the config offer comes from a registry, and the public API is complete."""

from __future__ import annotations

import typing

import proteomics
from proteomics import cli
from proteomics.config.run import (
    DEConfig,
    ImputeConfig,
    InputsConfig,
    NormalizeConfig,
    PanelConfig,
    QuantifyConfig,
)
from proteomics.io import FALLBACK, READERS
from proteomics.preprocess import STEPS
from proteomics.quant import METHODS, SINGLE_RUN_METHODS
from proteomics.stats.fdr import FDR_METHODS


def _literal(model, field) -> set[str]:
    return set(typing.get_args(model.model_fields[field].annotation))


def _methods(kind: str) -> set[str]:
    return {k[len(kind) + 1:] for k in STEPS if k.startswith(kind + "_")}


def test_cli_choices_are_the_registries():
    assert {m.value for m in cli.QuantMethod} == set(METHODS)
    assert {m.value for m in cli.FDRMethod} == set(FDR_METHODS)
    # --format, --normalize and --impute are checked by the registry / config (one-line errors), their help
    # lists every registered choice
    assert all(name in cli.FORMAT_HELP for name in ("auto", *READERS, *FALLBACK))
    import typer

    params = {p.name: p for p in typer.main.get_command(cli.app).commands["de"].params}
    assert all(m in params["normalize"].help for m in _methods("normalize"))
    assert all(m in params["impute"].help for m in _methods("impute"))


def test_config_choices_are_the_registries():
    assert _literal(QuantifyConfig, "method") == set(METHODS)
    assert _literal(PanelConfig, "quant_method") == set(SINGLE_RUN_METHODS) <= set(METHODS)
    assert _literal(NormalizeConfig, "method") == _methods("normalize") | {"none"}
    assert _literal(ImputeConfig, "method") == _methods("impute") | {"none"}
    assert _literal(DEConfig, "fdr") == set(FDR_METHODS)
    assert _literal(InputsConfig, "format") == {"auto", *READERS, *FALLBACK}


def test_unknown_step_method_lists_every_registered_one():
    import pytest

    from proteomics.errors import InputError
    from proteomics.preprocess import step_key

    assert step_key("normalize", "median") == "normalize_median"
    with pytest.raises(InputError) as e:
        step_key("normalize", "medain")
    assert all(m in e.value.hint for m in _methods("normalize"))


def test_public_api_names_resolve():
    wanted = {"ScoreResult", "NestedCVResult", "ProteomicsTransformer", "METHODS", "READERS", "assign", "read",
              "quantify", "STEPS", "moderated_t", "build_panel", "Signature", "score", "stratify", "run"}
    assert wanted <= set(proteomics.__all__)
    for name in proteomics.__all__:
        assert getattr(proteomics, name) is not None, name
    assert proteomics.METHODS is METHODS and proteomics.READERS is READERS
