"""Run documented shell examples verbatim in a scratch folder that looks like a fresh clone.

``proteomics`` on PATH is a two-line shim that runs this checkout's CLI with the test's Python, so every line is
executed exactly as a user types it (``cp``, ``&&``, quoting, backslash continuations included)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def scratch_clone(folder: Path) -> Path:
    """``folder`` with links to the repository's configs/ and sample_data/ (read-only inputs) and a
    ``proteomics`` command on PATH; returns ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("configs", "sample_data"):
        link = folder / name
        if not link.exists():
            link.symlink_to(REPO / name, target_is_directory=True)
    bindir = folder / ".bin"
    bindir.mkdir(exist_ok=True)
    shim = bindir / "proteomics"
    shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m proteomics.cli "$@"\n')
    shim.chmod(0o755)
    return folder


def run_line(line: str, cwd: Path, timeout: float = 600, stdin: str = "") -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env["PATH"] = f"{cwd / '.bin'}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHONPATH"] = f"{REPO}{os.pathsep}{env.get('PYTHONPATH', '')}".rstrip(os.pathsep)
    env["COLUMNS"] = "200"
    return subprocess.run(["/bin/sh", "-c", line], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=timeout, input=stdin)


def logical_lines(block: str) -> list[str]:
    """Shell lines of a code block: comments dropped, backslash continuations joined."""
    out, cur = [], ""
    for raw in block.splitlines():
        line = raw.rstrip()
        if cur:
            line = cur + " " + line.lstrip()
            cur = ""
        if line.endswith("\\"):
            cur = line[:-1].rstrip()
            continue
        line = _strip_comment(line).strip()
        if line:
            out.append(line)
    return out


def _strip_comment(line: str) -> str:
    quote = None
    for i, ch in enumerate(line):
        if ch in "\"'":
            quote = None if quote == ch else (quote or ch)
        elif ch == "#" and quote is None and (i == 0 or line[i - 1].isspace()):
            return line[:i]
    return line


def readme_blocks(text: str) -> list[tuple[str, str]]:
    """(language, body) of every fenced code block of a Markdown text."""
    return [(m.group(1).strip(), m.group(2)) for m in re.finditer(r"```(\w*)\n(.*?)```", text, re.S)]
