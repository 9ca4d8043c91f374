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


def test_bundled_configs_validate():
    for path in sorted((REPO / "configs").glob("*.yaml")):
        cfg = load_config(path, check_files=False)
        assert cfg.inputs.data.is_absolute()
        # relative paths are resolved against the config file's folder, not the working directory
        assert cfg.inputs.sheet == (REPO / "sample_data" / "sheet.csv")


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
