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
