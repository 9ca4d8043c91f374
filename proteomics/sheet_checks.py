"""Checks of what a config or an option names in the sample sheet, made before any work: a column the sheet
lacks, a class its label column never takes, a contrast group with too few samples. Errors name the config
file and the key's line (or the option), the sheet file, and a close spelling when there is one."""

from __future__ import annotations

import difflib
from pathlib import Path

import numpy as np

from .config import RunConfig
from .config.base import yaml_key_lines
from .dataset import Dataset
from .errors import InputError
from .samples import SampleSheet
from .samples.columns import close_names
from .stats.design import parse_contrast

__all__ = ["check_sheet_columns", "check_contrast_groups", "check_config_against_sheet"]


def check_sheet_columns(ds: Dataset, columns: dict[str, str], source=None) -> None:
    """Refuse, before any work, a sheet column that an option names (``{column: "--option"}``) and the sheet
    lacks, naming the sheet file and a close spelling when there is one."""
    present = [str(c) for c in ds.samples.columns]
    for col, option in columns.items():
        if col is not None and col not in ds.samples.columns:
            raise _no_such_column(col, present, option, "the sample sheet", path=source, column=col)


def _no_such_column(col: str, present: list[str], what: str, sheet: str, **where) -> InputError:
    """``what`` (an option or config key) names column ``col``, which ``sheet`` lacks: the error, with a close
    spelling (:func:`~proteomics.samples.columns.close_names`) and the sheet's columns."""
    close = close_names(col, present)
    return InputError(f"{what} names column {col!r}, which {sheet} does not have", **where,
                      hint=(f"did you mean {close}? " if close else "") + f"the sheet's columns: {', '.join(present)}")


def check_contrast_groups(ds: Dataset, group: str, contrast: str, source=None, min_per_group: int = 2) -> None:
    """Refuse a contrast whose groups are absent or have fewer than ``min_per_group`` samples."""
    check_sheet_columns(ds, {group: "the group (--group, de.group)"}, source)
    X = ds.X
    if ds.n_proteins < 2:
        raise InputError(f"the protein matrix holds {ds.n_proteins} protein(s); differential abundance needs at "
                         "least 2 (the variance prior is shared across proteins)",
                         hint="check the input file (a one-row matrix?) and the run names in the sheet")
    if np.isnan(X).all():
        raise InputError("every value of the protein matrix is missing", path=source,
                         hint="check the input file and the run names in the sheet")
    observed = ~np.isnan(X)
    spread = np.where(observed.any(axis=0), np.fmax.reduce(X, axis=0) - np.fmin.reduce(X, axis=0), np.nan)
    if not np.any(spread[np.isfinite(spread)] > 0):
        raise InputError("no protein varies between samples (zero variance everywhere): nothing can be tested",
                         path=source, hint="check that the input holds real measurements, not constants")
    counts = ds.samples[group].astype(str).value_counts()
    levels = sorted(counts.index)
    weights = parse_contrast(contrast, levels)
    for lv, w in zip(levels, weights, strict=True):
        if w != 0 and counts[lv] < min_per_group:
            raise InputError(f"group {lv!r} of contrast {contrast!r} has {counts[lv]} sample(s); at least "
                             f"{min_per_group} are needed", path=source,
                             hint="add samples to that group or compare other groups")


def _key_lines(cfg: RunConfig) -> dict[str, int]:
    """Line of each dotted key in the config file ``cfg`` came from (empty without one)."""
    if cfg.source is None or not Path(cfg.source).is_file():
        return {}
    return yaml_key_lines(Path(cfg.source).read_text(encoding="utf-8", errors="replace"))


def check_config_against_sheet(cfg: RunConfig, sheet: SampleSheet | None) -> None:
    """Refuse a config key that names a sheet column the sheet lacks (``de.group``, ``de.covariates``,
    ``de.block``, ``panel.label``, ``panel.leave_one_batch_out``), or a ``panel.positive`` that the label column
    never takes, before anything is quantified. A key the file does not set is named with "(default)"."""
    if sheet is None:
        return
    table = sheet.table.reset_index()  # ``sample`` is a column too
    present = [str(c) for c in table.columns]
    lines = _key_lines(cfg)
    named: list[tuple[str, str]] = []
    if cfg.de.enabled:
        named += [("de.group", cfg.de.group), *(("de.covariates", c) for c in cfg.de.covariates)]
        if cfg.de.block is not None:
            named.append(("de.block", cfg.de.block))
    if cfg.panel.enabled:
        named.append(("panel.label", cfg.panel.label))
        if cfg.panel.leave_one_batch_out is not None:
            named.append(("panel.leave_one_batch_out", cfg.panel.leave_one_batch_out))
    for key, col in named:
        if col not in table.columns:
            default = "" if key in lines else " (default)"
            raise _no_such_column(col, present, f"{key}{default}", f"the sample sheet {sheet.path}",
                                  path=cfg.source, line=lines.get(key))
    if cfg.panel.enabled:
        label, positive = cfg.panel.label, cfg.panel.positive
        values = sorted(table[label].dropna().astype(str).unique())
        if positive not in values:
            close = difflib.get_close_matches(positive, values, n=1)
            default = "" if "panel.positive" in lines else " (default)"
            raise InputError(f"panel.positive{default} is {positive!r}, which column {label!r} of the sample sheet "
                             f"{sheet.path} never takes", path=cfg.source, line=lines.get("panel.positive"),
                             hint=(f"did you mean {close[0]!r}? " if close else "")
                             + f"set panel.positive to one of {', '.join(values)}")
