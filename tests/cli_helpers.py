"""Helpers for the command-line tests: run the CLI in-process and check the error contract."""

from __future__ import annotations

import hashlib
from pathlib import Path

import typer
import yaml
from typer.testing import CliRunner

from proteomics.cli import app

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "sample_data"


def invoke(*args: str):
    """Run ``proteomics ARGS`` in-process; returns the click Result (stdout/stderr separated)."""
    return CliRunner().invoke(app, [str(a) for a in args], catch_exceptions=True)


def assert_input_error(result, *needles: str) -> None:
    """Exit 2, no traceback, error lines on stderr that mention every needle (case-insensitive)."""
    err = result.stderr
    assert result.exit_code == 2, (result.exit_code, result.stdout, err, result.exception)
    assert "Traceback" not in err and "Traceback" not in result.stdout
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert lines and all(ln.startswith("error:") for ln in lines), err
    low = err.lower().replace("\n", " ")
    for n in needles:
        assert n.lower() in low, (n, err)


def sha(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def fast_config(folder: Path, **overrides) -> Path:
    """The example plasma config made quick for tests (small panel CV, few permutations)."""
    cfg = yaml.safe_load((REPO / "configs" / "example_plasma.yaml").read_text())
    cfg["inputs"]["data"] = str(SAMPLE / "plasma" / "report.tsv.gz")
    cfg["inputs"]["sheet"] = str(SAMPLE / "sheet.csv")
    cfg["panel"].update(outer_folds=3, outer_repeats=1, inner_folds=2, permutations=2)
    for key, value in overrides.items():
        section, _, name = key.partition("__")
        if name:
            cfg.setdefault(section, {})[name] = value
        else:
            cfg[section] = value
    path = folder / "fast.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def all_commands() -> dict[str, object]:
    """Every leaf command of the CLI by its full name (e.g. "keys export"): the click command objects."""
    out: dict[str, object] = {}

    def walk(cmd, path):
        if hasattr(cmd, "commands"):
            for name, sub in cmd.commands.items():
                walk(sub, [*path, name])
        else:
            out[" ".join(path)] = cmd

    walk(typer.main.get_command(app), [])
    return out
