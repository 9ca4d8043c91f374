"""Every command's ``--help`` read as a new user reads it: every option described, no type shown after a flag,
one spelling for the output option, and warnings spelled ``warning:`` whichever part of the program emits them."""

from __future__ import annotations

import logging

import pytest
from typer.testing import CliRunner

from proteomics.cli import app
from proteomics.cli_support import _LowerLevel

from .cli_helpers import all_commands

COMMANDS = all_commands()
#: commands that write a file or folder the user names
WRITERS = {"run", "quantify", "de", "panel", "validate", "score", "stratify", "keys export", "audit export"}


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_help_describes_every_option_and_shows_no_type_after_flags(name):
    cmd = COMMANDS[name]
    res = CliRunner().invoke(app, [*name.split(), "--help"], env={"COLUMNS": "200"})
    assert res.exit_code == 0, res.output
    assert "<bool>" not in res.output and "BOOLEAN" not in res.output
    for p in cmd.params:
        if p.param_type_name == "option":
            assert (p.help or "").strip(), f"proteomics {name} {'/'.join(p.opts)} has no description"
        else:
            assert (getattr(p, "help", None) or "").strip(), f"proteomics {name} argument {p.name} has no help"


@pytest.mark.parametrize("name", sorted(WRITERS))
def test_every_writing_command_accepts_o_output_and_out(name):
    opts = [set(p.opts) for p in COMMANDS[name].params if p.param_type_name == "option"]
    assert {"-o", "--output", "--out"} in opts, (name, opts)


def test_writers_list_is_complete():
    """A command with an output path that is not in WRITERS would escape the test above."""
    for name, cmd in COMMANDS.items():
        has_output = any(p.name in ("output", "out") for p in cmd.params)
        assert has_output == (name in WRITERS), name


def test_log_warnings_are_spelled_like_the_commands_warnings():
    record = logging.LogRecord("proteomics", logging.WARNING, __file__, 1, "3 proteins dropped", None, None)
    assert _LowerLevel().format(record) == "warning: 3 proteins dropped"
    assert CliRunner().invoke(app, ["formats"]).exit_code == 0  # the callback installs the stderr handler
    handlers = [h for h in logging.getLogger("proteomics").handlers if isinstance(h, logging.StreamHandler)]
    assert handlers and all(isinstance(h.formatter, _LowerLevel) for h in handlers)
