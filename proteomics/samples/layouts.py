"""Sample sheets as labs have them: column names of other tools mapped onto the sheet's columns, defaults for
what a lab sheet leaves out, and ``.xlsx`` files.

Which header is which column (names compared without case, blanks, dots, dashes and underscores):

========== ==============================================================================================
run        ``run`` · ``Run`` (MSstats, DIA-NN) · ``Raw.file`` / ``Raw file`` (MSstats for MaxQuant) ·
           ``File.Name`` (DIA-NN) · ``R.FileName`` (Spectronaut) · ``file`` / ``data file`` ·
           ``analytical_sample external_id`` (AlphaPeptStats / Clinical Knowledge Graph metadata)
sample     ``sample`` · ``sample_name``
subject    ``subject`` · ``BioReplicate`` (MSstats: the biological replicate, the same label in two conditions
           is the same subject measured twice) · ``individual`` · ``patient`` · ``participant`` ·
           ``subject external_id``
specimen   ``specimen`` · ``specimen type`` · ``sample type``
condition  ``condition`` (MSstats ``Condition``)
batch      ``batch``
========== ==============================================================================================

Layouts recognised from the header:

* FragPipe ``experiment_annotation.tsv`` (``file, sample, sample_name, condition, replicate``): FragPipe names
  the columns of its combined tables by ``sample`` (the experiment), so ``run`` ← ``sample``, ``sample`` ←
  ``sample_name``; ``file`` and ``replicate`` stay as covariates.
* AlphaPeptStats / Perseus-style metadata (a ``sample`` column naming the runs, no run column): ``run`` ←
  ``sample``.
* MSstats ``annotation.csv`` and DIA-NN-style run lists (``Run`` or ``File.Name`` plus the grouping column) by the
  aliases above.

Defaults: only ``run`` and the grouping column are required; ``sample`` defaults to the run, ``subject`` to the
sample, and ``specimen`` to the ``specimen`` given by the caller (``--specimen`` or the config), with an error
naming both ways when neither is there. An ``.xlsx`` sheet is its first worksheet (header in row 1); its errors
name the Excel row as the line.
"""

from __future__ import annotations

import os
import re
import zipfile
from collections.abc import Sequence

from ..errors import InputError

__all__ = ["ALIASES", "normalise_name", "read_xlsx_rows", "map_columns"]

#: canonical column → accepted header names, compared by :func:`normalise_name`; earlier names win
ALIASES: dict[str, tuple[str, ...]] = {
    "run": ("run", "rawfile", "filename", "rfilename", "file", "datafile", "analyticalsampleexternalid"),
    "sample": ("sample", "samplename"),
    "subject": ("subject", "bioreplicate", "individual", "patient", "participant", "subjectexternalid"),
    "specimen": ("specimen", "specimentype", "sampletype"),
    "condition": ("condition",),
    "batch": ("batch",),
}
_FRAGPIPE = {"file", "sample", "condition", "replicate"}


def normalise_name(name: str) -> str:
    """Header name for matching: lower case without blanks, dots, dashes and underscores."""
    return re.sub(r"[\s._\-]+", "", str(name).strip().lower())


def read_xlsx_rows(path: str | os.PathLike) -> tuple[list[str], list[list[str]], list[int]]:
    """Header, rows (text, padded to the header) and Excel row numbers of the first worksheet; empty rows are
    skipped, numbers written as Excel shows them (``3`` not ``3.0``)."""
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        wb = load_workbook(path, read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, OSError, KeyError, ValueError) as exc:
        raise InputError(f"cannot read the workbook ({exc})", path=path,
                         hint="save the sheet as .xlsx (Excel 2007 or later) or as CSV") from None
    try:
        ws = wb.worksheets[0]
        header: list[str] | None = None
        rows: list[list[str]] = []
        lines: list[int] = []
        for number, values in enumerate(ws.iter_rows(values_only=True), start=1):
            cells = ["" if v is None else _cell_text(v) for v in values]
            if not any(c.strip() for c in cells):
                continue
            if header is None:
                header = [c.strip() for c in cells]
                continue
            rows.append([c.strip() for c in cells[: len(header)]] + [""] * (len(header) - len(cells)))
            lines.append(number)
    finally:
        wb.close()
    if header is None:
        raise InputError("the workbook's first sheet is empty", path=path, line=1,
                         hint="put a header row (run and the grouping column) and one row per run in sheet 1")
    return header, rows, lines


def _cell_text(value) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _one_edit(a: str, b: str) -> bool:
    """True when ``a`` differs from ``b`` by exactly one insertion, deletion, substitution or swap of two adjacent
    letters (the typos of a header), for names of three letters or more."""
    if a == b or min(len(a), len(b)) < 3 or abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        diff = [i for i in range(len(a)) if a[i] != b[i]]
        return len(diff) == 1 or (len(diff) == 2 and diff[1] == diff[0] + 1 and a[diff[0]] == b[diff[1]]
                                  and a[diff[1]] == b[diff[0]])
    short, long_ = sorted((a, b), key=len)
    return any(long_[:i] + long_[i + 1:] == short for i in range(len(long_)))


def map_columns(header: Sequence[str], rows: Sequence[Sequence[str]], path: str, *, group: str | None,
                specimen: str | None) -> tuple[dict[str, list[str]], dict[str, str]]:
    """Column name → values and canonical name → header name as written, after the layout rules (module
    docstring). Duplicate or unnamed (non-empty) columns are InputErrors on line 1."""
    by_header: dict[str, list[str]] = {}
    written: dict[str, str] = {}
    for j, name in enumerate(header):
        if not name:
            if all(not r[j] for r in rows):
                continue
            raise InputError(f"column {j + 1} has no name", path=path, line=1, column=j + 1,
                             hint="give every column a header")
        if name in by_header:
            raise InputError(f"duplicate column {name!r}", path=path, line=1, column=name,
                             hint="rename or remove one of the columns")
        by_header[name] = [r[j] for r in rows]
    norm = {}
    for name in by_header:
        norm.setdefault(normalise_name(name), name)
    taken: dict[str, str] = {}          # canonical → header name
    if _FRAGPIPE <= set(norm):
        taken["run"] = norm["sample"]
        if "samplename" in norm:
            taken["sample"] = norm["samplename"]
    elif not any(a in norm for a in ALIASES["run"]) and "sample" in norm:
        taken["run"] = norm["sample"]
    fallback_run = "run" in taken and not _FRAGPIPE <= set(norm)  # the sample column names the runs
    for canon, aliases in ALIASES.items():
        if canon in taken:
            continue
        hit = next((norm[a] for a in aliases if a in norm and norm[a] not in taken.values()), None)
        if hit is not None:
            taken[canon] = hit
    for canon in ("run", "sample", "subject", "specimen"):  # a misspelt column would be defaulted silently
        if canon in taken and not (canon == "run" and fallback_run):
            continue
        typo = next((name for key, name in norm.items() if name not in taken.values() and _one_edit(key, canon)),
                    None)
        if typo is not None:
            raise InputError(f"column {typo!r} looks like a misspelt {canon!r}, so it would be ignored", path=path,
                             line=1, column=typo, hint=f"rename the column to {canon!r}")
    columns: dict[str, list[str]] = {}
    for canon, name in taken.items():
        columns[canon] = by_header[name]
        written[canon] = name
    for name, values in by_header.items():
        if name not in taken.values() and name.lower() not in columns:
            columns[name] = values
            written.setdefault(name, name)
    n = len(rows)
    if "run" not in columns:
        return columns, written  # build_table names the missing column
    if "sample" not in columns:
        columns["sample"], written["sample"] = list(columns["run"]), written["run"]
    if "subject" not in columns:
        columns["subject"], written["subject"] = list(columns["sample"]), written["sample"]
    if "specimen" not in columns:
        if specimen is None:
            raise InputError("the sheet has no specimen column", path=path, line=1, column="specimen",
                             hint="add a 'specimen' column (serum, plasma, BAL, sputum, tissue, other) or give "
                                  "the specimen: --specimen TYPE on the command line, 'specimen:' in the config")
        columns["specimen"], written["specimen"] = [specimen] * n, "specimen (--specimen / config)"
    if group and group not in columns and normalise_name(group) in norm and norm[normalise_name(group)] in columns:
        columns[group] = columns.pop(norm[normalise_name(group)])
    return columns, written
