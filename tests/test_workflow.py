import pytest

from proteomics.errors import InputError
from proteomics.staging import staged_output_dir


def test_staged_dir_appears_only_on_success(tmp_path):
    out = tmp_path / "res"
    with staged_output_dir(out) as tmp:
        (tmp / "a.txt").write_text("1")
        assert not out.exists()
    assert (out / "a.txt").read_text() == "1"
    assert [p.name for p in tmp_path.iterdir()] == ["res"]


def test_failure_leaves_nothing(tmp_path):
    out = tmp_path / "res"
    with pytest.raises(RuntimeError):
        with staged_output_dir(out) as tmp:
            (tmp / "half.tsv").write_text("x")
            raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []


def test_existing_folder_needs_force(tmp_path):
    out = tmp_path / "res"
    out.mkdir()
    (out / "old.txt").write_text("old")
    with pytest.raises(InputError, match="already exists.*--force"):
        with staged_output_dir(out):
            pass
    assert (out / "old.txt").exists()
    with staged_output_dir(out, force=True) as tmp:
        (tmp / "new.txt").write_text("new")
    assert sorted(p.name for p in out.iterdir()) == ["new.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["res"]


def test_failed_forced_run_keeps_previous_results(tmp_path):
    out = tmp_path / "res"
    out.mkdir()
    (out / "old.txt").write_text("old")
    with pytest.raises(KeyboardInterrupt):
        with staged_output_dir(out, force=True):
            raise KeyboardInterrupt
    assert (out / "old.txt").read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["res"]


def test_parent_that_is_a_file_is_input_error(tmp_path):
    f = tmp_path / "afile"
    f.write_text("x")
    with pytest.raises(InputError, match="cannot create the results folder"):
        with staged_output_dir(f / "res"):
            pass
    assert f.read_text() == "x"
