"""What every ``proteomics`` subcommand shares: the typer ``app``, the consoles, the global options (--debug,
--quiet, --verbose, --version), the option choices (generated from the registries), the error contract
(:func:`_errors`) and progress bars (:func:`_progress`). The commands live in :mod:`proteomics.cli`,
:mod:`proteomics.cli_signatures`, :mod:`proteomics.cli_keys` and :mod:`proteomics.serve.cli`.
"""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)
from typer.core import TyperOption

from ._version import __version__
from .choices import (
    FDR_CHOICES,
    FORMATS,
    QUANT_METHODS,
    SCALES,
    choice_enum,
)
from .errors import ProteomicsError, ScoringRefused
from .stages import log_stages

app = typer.Typer(name="proteomics", no_args_is_help=True, add_completion=False, pretty_exceptions_show_locals=False, rich_markup_mode="rich",
                  context_settings={"help_option_names": ["-h", "--help"]},
                  help="Respiratory proteomics: from search-engine output to a locked, validated protein "
                       "signature.\n\nStart with [bold]proteomics run configs/example_plasma.yaml[/bold].")

_state = {"debug": False, "quiet": False, "verbose": False}
err_console = Console(stderr=True, highlight=False, soft_wrap=True)
out_console = Console(highlight=False, soft_wrap=True)


# Choices are generated from the registries (proteomics.choices), never typed out here.
Scale = choice_enum("Scale", SCALES)
QuantMethod = choice_enum("QuantMethod", QUANT_METHODS)
FDRMethod = choice_enum("FDRMethod", FDR_CHOICES)
#: --format is checked by the reader registry (one-line InputError naming every reader), not by the parser
FORMAT_HELP = f"Reader: {'|'.join(FORMATS)} (auto: detect; see `proteomics formats`)."


def _flag_type(self: TyperOption, ctx) -> str | None:
    """Flags take no value: typer would print ``<bool>`` after them, which reads like a value to type."""
    return None if self.is_flag else _option_type(self, ctx)


_option_type = TyperOption.display_type_rich
TyperOption.display_type_rich = _flag_type


def examples(*lines: str, notes: str = "") -> str:
    """A command's epilog: every runnable example on its own ``$ `` line (the tests parse and run each one in a
    fresh folder), then ``notes``."""
    text = "Examples:\n\n" + "\n\n".join(f"$ {line}" for line in lines)
    return text + (f"\n\n{notes}" if notes else "")


def output_option(help: str) -> typer.models.OptionInfo:
    """``-o/--output/--out``: every command that writes accepts the three spellings."""
    return typer.Option("-o", "--output", "--out", help=help)


# Options several commands share: declared once, so their names and help never drift apart.
SheetOption = Annotated[Path, typer.Option("--sheet", help="Sample sheet: CSV/TSV/XLSX, SDRF, MSstats annotation.csv, "
                                                            "FragPipe experiment_annotation.tsv; only run and the "
                                                            "grouping column are required.")]
ScaleOption = Annotated[Scale, typer.Option("--scale", help="Input values: linear, log2 or auto (detect).")]
SpecimenOption = Annotated[str | None, typer.Option("--specimen", help="Use only the sheet rows of this specimen "
                                                                       "(plasma, serum, BAL, sputum).")]
NJobsOption = Annotated[int, typer.Option("--n-jobs", help="Parallel worker processes.")]
ForceOption = Annotated[bool, typer.Option("--force", help="Replace existing outputs (files, or a results folder "
                                                           "this package wrote).")]
SeedOption = Annotated[int | None, typer.Option("--seed", help="Random seed (default: the config's, 0).")]
FormatOption = Annotated[str, typer.Option("--format", help=FORMAT_HELP)]
SignKeyOption = Annotated[str | None, typer.Option("--sign-key", help="Private key (PEM file or key id from "
                                                                      "'proteomics keys list') that signs the "
                                                                      "signature; default: your key.")]
AlsoOption = Annotated[list[str] | None, typer.Option("--also", metavar="SPECIMEN=PATH",
                                                      help="Input of another specimen of the same subjects "
                                                           "(repeatable; multi-specimen signatures).")]
InputArgument = Annotated[Path, typer.Argument(help="Protein matrix or any supported input file.")]
SignatureOption = Annotated[Path, typer.Option("--signature", help="Locked signature JSON.")]
LabelOption = Annotated[str, typer.Option("--label", help="Sheet column with the outcome.")]
PositiveOption = Annotated[str, typer.Option("--positive", help="Value of --label that is the positive class.")]
AllowUnsignedOption = Annotated[bool, typer.Option("--allow-unsigned", help="Accept a signature without a signing "
                                                                            "block (old files); every output then "
                                                                            "carries a warning.")]


class _LowerLevel(logging.Formatter):
    """``warning: ...``, spelled as the commands print their own warnings (never ``WARNING:``)."""

    def format(self, record: logging.LogRecord) -> str:
        return f"{record.levelname.lower()}: {record.getMessage()}"


def _version(value: bool):
    if value:
        out_console.print(f"proteomics {__version__}")
        raise typer.Exit(0)


@app.callback()
def main(
    debug: Annotated[bool, typer.Option("--debug", help="Show full tracebacks on errors.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Only errors; no progress bars.")] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log every step to stderr.")] = False,
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Print the version and exit.")] = False,
):
    """Respiratory proteomics command line."""
    _state.update(debug=debug, quiet=quiet, verbose=verbose)
    level = logging.DEBUG if verbose else (logging.ERROR if quiet else logging.WARNING)
    logging.getLogger("proteomics").setLevel(logging.INFO if not quiet else logging.ERROR)
    if not logging.getLogger("proteomics").handlers or verbose:
        h = logging.StreamHandler(sys.stderr)
        h.setLevel(level)
        h.setFormatter(_LowerLevel())
        logging.getLogger("proteomics").addHandler(h)


def _fail(lines: list[str], code: int = 2) -> None:
    for line in lines:
        err_console.print(f"[bold red]error:[/bold red] {line}", markup=True, highlight=False)
    raise typer.Exit(code)


@contextlib.contextmanager
def _errors() -> Iterator[None]:
    """Turn our exceptions into one-line messages with the contract's exit codes."""
    try:
        yield
    except typer.Exit:
        raise
    except ScoringRefused as exc:
        if _state["debug"]:
            raise
        lines = [f"{exc.path + ': ' if exc.path else ''}{r}" for r in exc.reasons] or [str(exc)]
        _fail(lines + ([f"Fix: {exc.hint.rstrip('. ')}."] if exc.hint and exc.reasons else []))
    except ProteomicsError as exc:
        if _state["debug"]:
            raise
        _fail([str(exc)])
    except KeyboardInterrupt:
        err_console.print("interrupted: nothing was written")
        raise typer.Exit(130) from None
    except MemoryError:
        if _state["debug"]:
            raise
        _fail(["out of memory", "Fix: use engine: dask or a machine with more memory"], code=1)
    except Exception as exc:  # noqa: BLE001 - the contract: internal errors exit 1 with one line
        if _state["debug"]:
            raise
        _fail([f"internal error: {type(exc).__name__}: {exc} (rerun with --debug for the traceback and please "
               f"report it)"], code=1)


@contextlib.contextmanager
def _progress() -> Iterator[Callable[[str, int, int], None]]:
    """A progress callback (stage, done, total) drawn with rich unless --quiet or not a terminal."""
    if _state["quiet"]:
        yield log_stages()  # run.log still gets every stage
        return
    columns = [SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn()]
    with Progress(*columns, console=err_console, transient=False,
                  disable=not err_console.is_terminal) as bar:
        tasks: dict[str, int] = {}
        last: list[str] = []

        def cb(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                if last and last[-1] in tasks:
                    t = tasks[last[-1]]
                    bar.update(t, completed=bar.tasks[t].total or 1)
                tasks[stage] = bar.add_task(stage, total=max(total, 1))
                last.append(stage)
            bar.update(tasks[stage], completed=done, total=max(total, 1))

        yield log_stages(cb)
        for t in tasks.values():
            bar.update(t, completed=bar.tasks[t].total)
