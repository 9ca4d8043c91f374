"""Output staging: atomic against a folder that appears meanwhile, stale staging of killed runs removed,
--force swaps without leaving hidden copies."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from proteomics import staging
from proteomics.errors import InputError
from proteomics.staging import remove_stale_staging, staged_output_dir


def _hidden(folder):
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


@pytest.mark.parametrize("fallback", [False, True])
def test_folder_created_meanwhile_is_not_replaced(tmp_path, monkeypatch, fallback):
    if fallback:  # systems without renameat2: the name is reserved with mkdir
        monkeypatch.setattr(staging, "_renameat2", lambda src, dst, flags: False)
    out = tmp_path / "p"
    with pytest.raises(InputError, match="another process"):
        with staged_output_dir(out) as tmp:
            (tmp / "signature.json").write_text("loser")
            out.mkdir()  # another run finished first
            (out / "signature.json").write_text("winner")
    assert (out / "signature.json").read_text() == "winner"
    assert _hidden(tmp_path) == []


def test_empty_folder_created_meanwhile_is_not_replaced(tmp_path):
    out = tmp_path / "p"
    with pytest.raises(InputError, match="another process"):
        with staged_output_dir(out) as tmp:
            (tmp / "a").write_text("x")
            out.mkdir()
    assert list(out.iterdir()) == []


@pytest.mark.parametrize("fallback", [False, True])
def test_force_swaps_and_leaves_no_old_copy(tmp_path, monkeypatch, fallback):
    if fallback:
        monkeypatch.setattr(staging, "_renameat2", lambda src, dst, flags: False)
    out = tmp_path / "p"
    out.mkdir()
    (out / "run.json").write_text("old")
    with staged_output_dir(out, force=True) as tmp:
        (tmp / "run.json").write_text("new")
    assert (out / "run.json").read_text() == "new"
    assert _hidden(tmp_path) == []


def test_force_onto_plain_file_refused_without_trace(tmp_path):
    f = tmp_path / "p"
    f.write_text("precious")
    with pytest.raises(InputError, match="not a folder"):
        with staged_output_dir(f, force=True):
            pass
    assert f.read_text() == "precious" and _hidden(tmp_path) == []


@pytest.mark.parametrize("name", [".", "..", ""])
def test_nameless_output_refused(name):
    with pytest.raises(InputError):
        with staged_output_dir(name, force=True):
            pass


def test_stale_staging_of_dead_process_removed(tmp_path):
    out = tmp_path / "p"
    code = ("import time, sys; from proteomics.staging import staged_output_dir\n"
            f"with staged_output_dir({str(out)!r}) as tmp:\n"
            "    print(tmp, flush=True); time.sleep(60)\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, env=env)
    line = proc.stdout.readline().decode().strip()
    assert os.path.basename(line).startswith(".p.partial-")
    assert remove_stale_staging(out) == []  # alive: kept
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert _hidden(tmp_path) == [os.path.basename(line)]  # SIGKILL leaves it behind …
    (tmp_path / ".p.partial-999999999").mkdir()  # an old-style name of a dead process
    (tmp_path / ".other.partial-999999999").mkdir()  # another output's staging: not ours to judge
    with staged_output_dir(out) as tmp:  # … and the next run removes it
        (tmp / "x").write_text("1")
    assert _hidden(tmp_path) == [".other.partial-999999999"]
    assert (out / "x").read_text() == "1"


def test_reused_pid_with_other_start_time_is_stale(tmp_path):
    out = tmp_path / "p"
    mine = tmp_path / f".p.partial-{os.getpid()}-1"  # our pid, but a start time that is not ours
    mine.mkdir()
    live = tmp_path / f".p.partial-{staging._token()}"
    live.mkdir()
    time.sleep(0.01)
    removed = remove_stale_staging(out)
    assert removed == [mine] and live.exists()
