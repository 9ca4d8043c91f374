"""A config key naming a sheet column the sheet lacks, or a positive class its label column never takes, is
refused before anything is quantified: exit 2, the config file and the key's line, the sheet, a close spelling,
and no results folder."""

from __future__ import annotations

import pytest
import yaml

from proteomics.config import load_config
from proteomics.errors import InputError
from proteomics.samples import SampleSheet
from proteomics.sheet_checks import check_config_against_sheet

from .cli_helpers import SAMPLE, assert_input_error, fast_config, invoke


def _line_of(path, text: str) -> int:
    """1-based line of the first line of ``path`` that starts (after indentation) with ``text``."""
    for i, line in enumerate(path.read_text().splitlines(), start=1):
        if line.strip().startswith(text):
            return i
    raise AssertionError(f"{text!r} not in {path}")


@pytest.mark.parametrize(("override", "key_text", "wrong", "meant"), [
    ({"panel__positive": "cancr"}, "positive:", "cancr", "cancer"),
    ({"panel__label": "conditon"}, "label:", "conditon", "condition"),
    ({"de__group": "Condition"}, "group:", "Condition", "condition"),
    ({"de__covariates": ["bacth"]}, "covariates:", "bacth", "batch"),
])
def test_a_misnamed_key_is_refused_with_its_config_line(tmp_path, override, key_text, wrong, meant):
    cfg_path = fast_config(tmp_path, **override)
    cfg = load_config(cfg_path)
    sheet = SampleSheet.read(cfg.inputs.sheet, group=None)
    with pytest.raises(InputError) as err:
        check_config_against_sheet(cfg, sheet)
    e = err.value
    assert e.path == str(cfg_path)
    assert e.line == _line_of(cfg_path, key_text)
    assert repr(wrong) in e.message and "sheet.csv" in e.message
    assert repr(meant) in e.hint


def test_the_bundled_config_passes(tmp_path):
    cfg = load_config(fast_config(tmp_path))
    check_config_against_sheet(cfg, SampleSheet.read(cfg.inputs.sheet, group=None))


def test_a_default_the_file_does_not_set_is_named_as_a_default(tmp_path):
    cfg = yaml.safe_load(fast_config(tmp_path).read_text())
    del cfg["panel"]["positive"]  # the default, "cancer"
    sheet = tmp_path / "sheet.csv"
    sheet.write_text((SAMPLE / "sheet.csv").read_text().replace(",cancer,", ",tumour,"))
    cfg["inputs"]["sheet"] = str(sheet)
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(cfg))
    loaded = load_config(path)
    with pytest.raises(InputError, match=r"panel\.positive \(default\) is 'cancer'") as err:
        check_config_against_sheet(loaded, SampleSheet.read(sheet, group=None))
    assert err.value.line is None and "tumour" in err.value.hint


def test_run_refuses_before_any_results_folder(tmp_path):
    cfg_path = fast_config(tmp_path, panel__positive="cancr")
    out = tmp_path / "out"
    res = invoke("run", cfg_path, "--out", out)
    assert_input_error(res, f"{cfg_path}:{_line_of(cfg_path, 'positive:')}", "did you mean 'cancer'")
    assert not out.exists() and not any(p.name.startswith(".") for p in tmp_path.iterdir())


def test_a_misspelt_inputs_key_is_named_not_reported_as_a_missing_sheet(tmp_path):
    cfg = yaml.safe_load(fast_config(tmp_path).read_text())
    cfg["inputs"]["sheets"] = cfg["inputs"].pop("sheet")
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(cfg))
    with pytest.raises(InputError, match=r"unknown config key 'inputs\.sheets'") as err:
        load_config(path)
    assert err.value.line == _line_of(path, "sheets:") and "did you mean 'sheet'" in err.value.hint
