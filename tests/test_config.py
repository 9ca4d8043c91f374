from pathlib import Path

import pytest

from proteomics.config import config_from_dict, load_config
from proteomics.errors import InputError

REPO = Path(__file__).resolve().parents[1]


def _write(tmp_path, text):
    p = tmp_path / "c.yaml"
    p.write_text(text)
    (tmp_path / "d.tsv").write_text("x\n")
    (tmp_path / "s.csv").write_text("x\n")
    return p


def test_bundled_configs_validate(monkeypatch):
    monkeypatch.chdir(REPO)  # the configs name sample_data/ as seen from the repository root
    for path in sorted((REPO / "configs").glob("*.yaml")):
        cfg = load_config(path)
        assert cfg.inputs.data.is_absolute()
        # not in configs/: taken from the working directory, and recorded as such
        assert cfg.inputs.sheet == (REPO / "sample_data" / "sheet.csv")
        assert cfg.input_resolution["sheet"] == "working directory"


def test_config_folder_wins_over_working_directory(tmp_path, monkeypatch):
    """A relative input is looked up in the config's folder first, then in the working directory."""
    (tmp_path / "cfg").mkdir()
    (tmp_path / "cwd").mkdir()
    for folder in ("cfg", "cwd"):
        (tmp_path / folder / "d.tsv").write_text("x")
    (tmp_path / "cwd" / "s.csv").write_text("x")
    p = tmp_path / "cfg" / "c.yaml"
    p.write_text("inputs:\n  data: d.tsv\n  sheet: s.csv\n")
    monkeypatch.chdir(tmp_path / "cwd")
    cfg = load_config(p)
    assert cfg.inputs.data == tmp_path / "cfg" / "d.tsv" and cfg.input_resolution["data"] == "config folder"
    assert cfg.inputs.sheet == tmp_path / "cwd" / "s.csv" and cfg.input_resolution["sheet"] == "working directory"
    assert cfg.model_copy(update={"engine": "local"}).input_resolution == cfg.input_resolution


def test_unknown_key_names_path_line_and_close_match(tmp_path):
    p = _write(tmp_path, "inputs:\n  data: d.tsv\n  sheet: s.csv\npreprocess:\n  normalise:\n    method: median\n")
    with pytest.raises(InputError) as e:
        load_config(p)
    msg = str(e.value)
    assert "preprocess.normalise" in msg and "normalize" in msg and f"{p}:5" in msg


def test_bad_value_lists_allowed_values(tmp_path):
    p = _write(tmp_path, "inputs:\n  data: d.tsv\n  sheet: s.csv\nquantify:\n  method: magic\n")
    with pytest.raises(InputError, match="quantify.method.*maxlfq"):
        load_config(p)


def test_missing_input_file_named_before_work(tmp_path):
    p = tmp_path / "c.yaml"
    p.write_text("inputs:\n  data: ../nope/report.tsv\n  sheet: s.csv\n")
    with pytest.raises(InputError, match="inputs.data file not found"):
        load_config(p)


def test_relative_dotdot_paths_resolve_against_config_folder(tmp_path):
    sub = tmp_path / "configs"
    sub.mkdir()
    (tmp_path / "d.tsv").write_text("x")
    (tmp_path / "s.csv").write_text("x")
    p = sub / "c.yaml"
    p.write_text("inputs:\n  data: ../d.tsv\n  sheet: ../s.csv\n")
    cfg = load_config(p)
    assert cfg.inputs.data == tmp_path / "d.tsv"


@pytest.mark.parametrize("text, match", [
    ("", "empty"),
    ("inputs: [1, 2\n", "invalid YAML"),
    ("- a\n- b\n", "mapping"),
    ("inputs:\n  data: d.tsv\n  sheet: s.csv\nseed: abc\n", "seed"),
    ("inputs:\n  data: d.tsv\n  sheet: s.csv\nspecimen: blood\n", "specimen"),
    ("inputs:\n  data: d.tsv\n  sheet: s.csv\nread:\n  fdr: 2\n", "read.fdr"),
    ("!!python/object/apply:os.system ['echo hi']\n", "invalid YAML"),
])
def test_bad_configs_are_input_errors(tmp_path, text, match):
    p = _write(tmp_path, text)
    with pytest.raises(InputError, match=match):
        load_config(p)


def test_safe_loader_never_executes(tmp_path):
    marker = tmp_path / "pwned"
    p = _write(tmp_path, f"!!python/object/apply:os.system ['touch {marker}']\n")
    with pytest.raises(InputError):
        load_config(p)
    assert not marker.exists()


def test_specimen_is_normalised():
    cfg = config_from_dict({"inputs": {"data": "a", "sheet": "b"}, "specimen": "bal"}, check_files=False)
    assert cfg.specimen == "BAL"


# -- fuzzing: mutated real configs load or raise InputError, never anything else ---------------------------------
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_EXAMPLE = (REPO / "configs" / "example_plasma.yaml").read_text()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(pos=st.integers(0, len(_EXAMPLE) - 1), length=st.integers(0, 40),
       insert=st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=0x2FF), max_size=20))
def test_mutated_config_is_valid_or_input_error(tmp_path, pos, length, insert):
    text = _EXAMPLE[:pos] + insert + _EXAMPLE[pos + length:]
    p = tmp_path / "configs" / "c.yaml"
    p.parent.mkdir(exist_ok=True)
    p.write_bytes(text.encode("utf-8", errors="replace"))
    try:
        load_config(p, check_files=False)
    except InputError as exc:
        assert str(exc).startswith(str(p))


@settings(max_examples=40, deadline=None)
@given(st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=8),
                    lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=8), c, max_size=3),
                    max_leaves=12))
def test_arbitrary_yaml_values_never_crash(value):
    data = {"inputs": {"data": "a", "sheet": "b"}, "panel": value}
    try:
        config_from_dict(data, check_files=False)
    except InputError:
        pass


# -- one place for every key: panel and stratify settings, PANEL.yaml / STRATIFY.yaml, schema, aliases -------------
# The keys each section accepted before the panel and stratify settings moved into the config (independent list:
# the old run-config sections, the old PanelSettings dataclass and the old stratify DEFAULTS).
OLD_PANEL_KEYS = {"enabled", "label", "positive", "selector", "model", "quant_method", "max_proteins", "outer_folds",
                  "outer_repeats", "inner_folds", "group_by", "permutations", "prevalence", "fixed_sensitivity",
                  "fixed_specificity", "intended_use", "name", "panel_sizes", "fixed_size", "C_grid",
                  "leave_one_batch_out", "batch_column", "preprocess", "selector_options", "model_options", "fill",
                  "n_boot", "interval_boot", "max_missing_fraction", "range_margin", "version", "specimen"}
OLD_STRATIFY_KEYS = {"enabled", "k_max", "n_features", "repeats", "null_permutations", "max_feature_fraction",
                     "proteins", "sample_fraction", "feature_fraction", "algorithms", "n_components", "null_repeats",
                     "alpha", "max_pac", "pac_lower", "pac_upper", "pac_tolerance", "min_cluster_fraction",
                     "preprocess", "technical_columns", "clinical_columns", "time_column", "event_column", "top_n",
                     "min_confidence", "max_missing_fraction", "specimen", "characterise"}


def test_every_old_key_is_still_accepted():
    from proteomics.config import PanelConfig, StratifyConfig

    assert OLD_PANEL_KEYS <= set(PanelConfig.model_fields) | set(PanelConfig._renamed)  # renamed: still accepted
    assert OLD_STRATIFY_KEYS <= set(StratifyConfig.model_fields)


def test_panel_and_stratify_defaults_are_declared_once():
    """build_panel's and stratify's defaults are the config's: changing nothing in the config changes nothing."""
    from proteomics.config import PanelConfig, StratifyConfig
    from proteomics.panel.settings import coerce_settings
    from proteomics.stratify.settings import DEFAULTS

    lib = coerce_settings(None)
    run = PanelConfig()
    for key in lib.to_dict():
        assert getattr(run, key) == getattr(lib, key), key
    for key, value in StratifyConfig().model_dump(exclude={"enabled", "k_max", "algorithms"}).items():
        assert DEFAULTS[key] == value, key


def test_panel_yaml_loads_through_config_with_lines(tmp_path):
    from proteomics.config import load_section

    good = tmp_path / "panel.yaml"
    good.write_text("max_proteins: 3\nselector: l1\nC_grid: [1, 10]\n")
    assert load_section(good, "panel") == {"max_proteins": 3, "selector": "l1", "C_grid": (1.0, 10.0)}
    wrapped = tmp_path / "wrapped.yaml"
    wrapped.write_text("panel:\n  max_proteins: 4\n")
    assert load_section(wrapped, "panel") == {"max_proteins": 4}
    bad = tmp_path / "bad.yaml"
    bad.write_text("max_proteins: 3\nouter_fold: 4\n")
    with pytest.raises(InputError) as e:
        load_section(bad, "panel")
    assert e.value.line == 2 and "panel.outer_fold" in str(e.value) and "outer_folds" in str(e.value)
    bad.write_text("panel:\n  outer_folds: 1\n")
    with pytest.raises(InputError) as e:
        load_section(bad, "panel")
    assert e.value.line == 2 and "panel.outer_folds" in str(e.value)


def test_stratify_yaml_loads_through_config_with_lines(tmp_path):
    from proteomics.config import load_section

    p = tmp_path / "stratify.yaml"
    p.write_text("stratify:\n  repeats: 20\n  k_max: 4\n  pac_lowr: 0.2\n")
    with pytest.raises(InputError) as e:
        load_section(p, "stratify")
    assert e.value.line == 4 and "pac_lower" in str(e.value)
    p.write_text("repeats: 2\n")
    with pytest.raises(InputError) as e:
        load_section(p, "stratify")
    assert e.value.line == 1 and "stratify.repeats" in str(e.value)


def test_renamed_key_is_a_deprecated_alias():
    from typing import ClassVar

    from proteomics.config import Strict

    class Section(Strict):
        _renamed: ClassVar[dict[str, str]] = {"old_name": "new_name"}
        new_name: int = 1

    with pytest.warns(DeprecationWarning, match="'old_name' is deprecated; use 'new_name'"):
        assert Section.model_validate({"old_name": 5}).new_name == 5
    assert Section.model_validate({"new_name": 6}).new_name == 6
    with pytest.raises(ValueError, match="both"):
        Section.model_validate({"old_name": 5, "new_name": 6})


def test_published_schema_is_the_generated_one():
    from proteomics.config import config_schema_text

    assert (REPO / "docs" / "config.schema.json").read_text(encoding="utf-8") == config_schema_text(), \
        "regenerate: python -c 'from proteomics.config import config_schema_text as t; " \
        "open(\"docs/config.schema.json\", \"w\").write(t())'"


def test_schema_validates_the_bundled_configs():
    jsonschema = pytest.importorskip("jsonschema")
    import json

    import yaml

    schema = json.loads((REPO / "docs" / "config.schema.json").read_text())
    for path in sorted((REPO / "configs").glob("*.yaml")):
        jsonschema.validate(yaml.safe_load(path.read_text()), schema)
