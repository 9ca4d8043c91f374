"""The input-protection rule (proteomics.guard) and plain names."""

from __future__ import annotations

import os

import pytest

from proteomics.errors import InputError
from proteomics.guard import check_name, check_outputs


@pytest.fixture
def tree(tmp_path, monkeypatch):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "in.tsv").write_text("x\n")
    (tmp_path / "work").mkdir()
    monkeypatch.chdir(tmp_path / "work")
    return tmp_path


def test_output_equal_to_input_refused(tree):
    inp = tree / "data" / "in.tsv"
    with pytest.raises(InputError, match="overwrite the input"):
        check_outputs(inputs=[inp], outputs=[inp])
    with pytest.raises(InputError, match="overwrite the input"):  # same file through another spelling
        check_outputs(inputs=[inp], outputs=[tree / "data" / ".." / "data" / "in.tsv"])
    os.symlink(inp, tree / "link.tsv")
    with pytest.raises(InputError, match="overwrite the input"):
        check_outputs(inputs=[tree / "link.tsv"], outputs=[inp])
    os.link(inp, tree / "hard.tsv")
    with pytest.raises(InputError, match="overwrite the input"):
        check_outputs(inputs=[inp], outputs=[tree / "hard.tsv"])
    check_outputs(inputs=[inp], outputs=[tree / "data" / "out.tsv"])  # a new file beside it is fine


def test_existing_output_file_needs_force(tree):
    old = tree / "data" / "scores.tsv"
    old.write_text("earlier result\n")
    for outs in ([old], [tree / "data" / "new.tsv", old]):  # a side file counts as much as the main output
        with pytest.raises(InputError, match="output file already exists") as err:
            check_outputs(inputs=[], outputs=outs)
        assert str(old) in str(err.value) and "--force" in str(err.value)
    check_outputs(inputs=[], outputs=[old], force=True)
    assert old.read_text() == "earlier result\n"  # checking writes nothing
    with pytest.raises(InputError, match="overwrite the input"):  # --force never lets an input be replaced
        check_outputs(inputs=[old], outputs=[old], force=True)
    check_outputs(inputs=[], outputs=[os.devnull])  # a device is written to, never "replaced"


def test_side_files_collide(tree):
    with pytest.raises(InputError, match="same file"):
        check_outputs(inputs=[], outputs=[tree / "s.html", tree / "s.html"])


def test_results_folder_holding_an_input_refused(tree):
    with pytest.raises(InputError, match="holds the input"):
        check_outputs(inputs=[tree / "data" / "in.tsv"], folders=[tree / "data"], force=True)
    with pytest.raises(InputError, match="holds the input"):
        check_outputs(inputs=[tree / "data" / "in.tsv"], folders=[tree], force=True)


@pytest.mark.parametrize("folder", [".", "..", "/", "~"])
def test_current_parent_root_home_refused(tree, folder):
    with pytest.raises(InputError, match="current folder"):
        check_outputs(inputs=[], folders=[os.path.expanduser(folder)], force=True)


def test_existing_folder_needs_force_and_must_be_ours(tree):
    out = tree / "res"
    out.mkdir()
    check_outputs(inputs=[], folders=[out], force=True)  # empty: may be replaced
    (out / "notes.txt").write_text("mine")
    with pytest.raises(InputError, match="already exists"):
        check_outputs(inputs=[], folders=[out])
    with pytest.raises(InputError, match="not written by proteomics"):
        check_outputs(inputs=[], folders=[out], force=True)
    (out / "run.json").write_text("{}")
    check_outputs(inputs=[], folders=[out], force=True)
    (tree / "plain").write_text("x")
    with pytest.raises(InputError, match="not a folder"):
        check_outputs(inputs=[], folders=[tree / "plain"], force=True)


@pytest.mark.parametrize("bad", ["../../../x", "a/b", "/abs", ".hidden", "", "-x", "a\\b", "x" * 200, "a b",
                                 "..", "name\n"])
def test_names_are_not_paths(bad):
    with pytest.raises(InputError, match="plain name"):
        check_name(bad, key="name")


@pytest.mark.parametrize("good", ["run", "plasma_run1", "BAL+plasma", "v1.2-final"])
def test_plain_names_pass(good):
    assert check_name(good, key="name") == good


def test_a_file_that_appears_after_the_check_is_not_replaced(tmp_path):
    """Between a command's output check and its write another process may create the file: under
    never_replace the write is refused and that file is left as it was; without it (``--force``) it is replaced."""
    from proteomics._files import atomic_path, never_replace

    out = tmp_path / "scores.tsv"
    with never_replace([out]):
        with pytest.raises(InputError, match="appeared while this command ran"):
            with atomic_path(out) as tmp:
                tmp.write_text("ours\n")
                out.write_text("theirs\n")  # the other process, after our check
    assert out.read_text() == "theirs\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["scores.tsv"]  # no temporary file left
    with never_replace([tmp_path / "other.tsv"]):  # only the named outputs are protected
        with atomic_path(out) as tmp:
            tmp.write_text("ours\n")
    assert out.read_text() == "ours\n"
    fresh = tmp_path / "fresh.tsv"
    with never_replace([fresh]):
        with atomic_path(fresh) as tmp:
            tmp.write_text("new\n")
    assert fresh.read_text() == "new\n" and sorted(p.name for p in tmp_path.iterdir()) == [
        "fresh.tsv", "scores.tsv"]


def test_score_refuses_an_output_that_appeared_meanwhile(tmp_path, monkeypatch):
    """End to end: the scores file is created while `score` works (before it writes): exit 2, that file kept."""
    from proteomics import commands

    from .cli_helpers import SAMPLE, assert_input_error, fast_config, invoke

    cfg = fast_config(tmp_path, de={"enabled": False}, stratify={"enabled": False})
    res = invoke("--quiet", "run", cfg, "-o", tmp_path / "res")
    assert res.exit_code == 0, res.stderr
    out = tmp_path / "scores.tsv"
    real = commands.render_patient_report

    def render_and_race(*a, **kw):
        out.write_text("written by someone else\n")
        return real(*a, **kw)

    monkeypatch.setattr(commands, "render_patient_report", render_and_race)
    new = SAMPLE / "new_patients"
    res = invoke("score", new / "report.tsv.gz", "--signature", tmp_path / "res" / "panel" / "signature.json",
                 "--sheet", new / "sheet.csv", "-o", out)
    assert_input_error(res, "appeared while this command ran", "--force")
    assert out.read_text() == "written by someone else\n"
