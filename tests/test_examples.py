"""Every example a user can copy, run exactly as written: the README's shell and Python blocks and the ``$ `` lines
of every command's ``--help``, in one fresh folder that looks like a clone (configs/ and sample_data/ only), in the
order a user meets them (later examples use what earlier ones wrote, e.g. ``de plasma.tsv`` after ``quantify``).

A line fails the test when it exits non-zero; ``proteomics serve`` must answer on 127.0.0.1:8000 and is then
stopped. The README's set-up line runs its ``proteomics`` part (the test already runs in the installed package)."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from typer.testing import CliRunner

from proteomics.cli import app

from .cli_helpers import all_commands
from .shell_examples import REPO, logical_lines, readme_blocks, run_line, scratch_clone

PASSWORD = "tour-password-4-examples"

#: the order a user follows the commands' help (what an example reads, an earlier one wrote); every command
#: must be listed, so a new command cannot go without a tested example
HELP_ORDER = ("run", "inspect", "formats", "quantify", "de", "panel", "validate", "score", "verify-signature",
              "stratify", "keys generate", "keys list", "keys export", "keys trust", "users add", "users list",
              "users disable", "users enable", "users reset-password", "serve", "audit verify", "audit export",
              "keys revoke")


def help_examples(command) -> list[str]:
    return [p[2:].strip() for p in (command.epilog or "").split("\n\n") if p.startswith("$ ")]


def readme_examples() -> list[tuple[str, str]]:
    """(kind, text) of the README's runnable examples: shell lines and Python blocks, in order."""
    out: list[tuple[str, str]] = []
    for lang, body in readme_blocks((REPO / "README.md").read_text(encoding="utf-8")):
        if lang == "python":
            out.append(("python", body))
        elif lang in ("bash", "sh", "console"):
            for line in logical_lines(body):
                line = line[2:] if lang == "console" and line.startswith("$ ") else line
                if line == "pytest":
                    continue  # the test command itself
                if "pip install" in line:  # set-up: the environment exists; run its main job
                    line = " && ".join(p.strip() for p in line.split("&&") if p.strip().startswith("proteomics"))
                out.append(("sh", line))
    return out


def test_every_command_has_runnable_examples_in_its_help():
    commands = all_commands()
    assert set(commands) == set(HELP_ORDER), set(commands) ^ set(HELP_ORDER)
    env = {"COLUMNS": "400", "TERMINAL_WIDTH": "400"}
    for name, cmd in commands.items():
        lines = help_examples(cmd)
        assert lines, f"proteomics {name} --help has no example"
        shown = CliRunner().invoke(app, [*name.split(), "--help"], env=env)
        assert shown.exit_code == 0, shown.output
        text = " ".join(shown.output.split())
        for line in lines:
            assert line.startswith(("proteomics ", "printf ")), line
            assert " ".join(f"$ {line}".split()) in text, (name, line)


def _run_serve(line: str, cwd: Path) -> None:
    with socket.socket() as s:
        if s.connect_ex(("127.0.0.1", 8000)) == 0:
            pytest.fail("port 8000 is taken on this machine: the documented 'proteomics serve' cannot be checked")
    env = dict(os.environ, PATH=f"{cwd / '.bin'}{os.pathsep}{os.environ.get('PATH', '')}")
    proc = subprocess.Popen(["/bin/sh", "-c", f"exec {line}"], cwd=cwd, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert proc.poll() is None, proc.communicate()
            try:
                with urllib.request.urlopen("http://127.0.0.1:8000/login", timeout=2) as page:
                    assert page.status == 200 and b"password" in page.read().lower()
                    return
            except OSError:
                time.sleep(0.5)
        pytest.fail("proteomics serve did not answer on http://127.0.0.1:8000 within 60 s")
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@pytest.mark.slow
def test_readme_and_help_examples_run_as_written(tmp_path, monkeypatch):
    folder = scratch_clone(tmp_path / "clone")
    monkeypatch.setenv("PROTEOMICS_CONFIG_DIR", str(folder / ".config"))  # a fresh user: no keys yet
    monkeypatch.setenv("PW", PASSWORD)
    commands = all_commands()
    steps = readme_examples() + [("sh", line) for name in HELP_ORDER for line in help_examples(commands[name])]
    done: set[str] = set()
    for kind, text in steps:
        if text in done:
            continue
        done.add(text)
        if kind == "python":
            script = folder / "readme_example.py"
            script.write_text(text, encoding="utf-8")
            res = run_line(f'"{sys.executable}" readme_example.py', folder)
        elif re.fullmatch(r"proteomics serve", text):
            _run_serve(text, folder)
            continue
        else:
            res = subprocess_run(text, folder)
        assert res.returncode == 0, (text, res.stdout[-2000:], res.stderr[-2000:])
        assert "Traceback" not in res.stderr, (text, res.stderr)
    assert any("proteomics panel" in t for t in done) and any("proteomics score" in t for t in done)


def subprocess_run(line: str, cwd: Path) -> subprocess.CompletedProcess:
    """``run_line`` with the example password on standard input (read by 'users add' and 'reset-password')."""
    return run_line(line, cwd, stdin=f"{PASSWORD}\n")
