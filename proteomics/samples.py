"""The sample sheet: which run is which sample, subject, specimen, condition, batch and covariates.

A sheet is a CSV or TSV file (delimiter sniffed from the header line; UTF-8, UTF-8 with BOM or
UTF-16 with BOM) with the required columns ``run, sample, subject, specimen, condition``, an optional
``batch`` and any further columns, kept as covariates (numeric when every non-empty value is a number).
SDRF-Proteomics files (``source name``, ``characteristics[...]``, ``comment[data file]``,
``factor value[...]``) are recognised from their header and mapped onto the same columns
(see :func:`_from_sdrf` for the exact rules).

:class:`SampleSheet` is validated on construction; every problem a user can fix is an
:class:`~proteomics.errors.InputError` naming the file, the 1-based line and the column, with a fix.
:meth:`SampleSheet.match_runs` maps the run names a search engine wrote onto sample ids by full
string, then basename, then stem (DESIGN.md, "Run names").
"""

from __future__ import annotations

import csv
import difflib
import hashlib
import hmac
import io
import logging
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from ._files import write_text
from .errors import InputError

__all__ = ["SampleSheet", "SPECIMENS", "REQUIRED_COLUMNS", "normalise_specimen", "run_stem", "run_basename"]

log = logging.getLogger(__name__)

REQUIRED_COLUMNS = ("run", "sample", "subject", "specimen", "condition")
SPECIMENS = ("serum", "plasma", "BAL", "sputum", "tissue", "other")
_MISSING = frozenset({"", "na", "nan", "n/a", "not available", "not applicable"})
_SPECIMEN_ALIASES = {
    "serum": "serum", "blood serum": "serum",
    "plasma": "plasma", "blood plasma": "plasma", "edta plasma": "plasma", "citrate plasma": "plasma",
    "heparin plasma": "plasma",
    "bal": "BAL", "balf": "BAL", "bal fluid": "BAL", "bronchoalveolar lavage": "BAL",
    "bronchoalveolar lavage fluid": "BAL", "broncho alveolar lavage": "BAL",
    "broncho alveolar lavage fluid": "BAL", "bronchial lavage": "BAL", "lavage fluid": "BAL",
    "sputum": "sputum", "induced sputum": "sputum",
    "tissue": "tissue", "lung tissue": "tissue", "tumor tissue": "tissue", "tumour tissue": "tissue",
    "biopsy": "tissue",
    "other": "other",
}
# file extensions dropped (repeatedly, case-insensitively) to get a run's stem
_RUN_EXTENSIONS = frozenset({".raw", ".d", ".mzml", ".mzxml", ".mzdata", ".mgf", ".wiff", ".wiff2", ".scan",
                             ".dia", ".gz", ".bz2", ".zip", ".tdf", ".baf", ".lcd", ".mz5", ".ms2", ".tar"})


def _norm_key(text: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"[_\-]+", " ", str(text).strip().lower()))


def normalise_specimen(value: str) -> str | None:
    """The vocabulary spelling (serum, plasma, BAL, sputum, tissue, other) of ``value``, or None if unknown."""
    return _SPECIMEN_ALIASES.get(_norm_key(value))


def _specimen_from_sdrf(value: str) -> str | None:
    """Map an SDRF organism part / specimen / sample type onto the vocabulary; None when nothing fits."""
    exact = normalise_specimen(value)
    if exact is not None:
        return exact
    key = _norm_key(value)
    for words, target in ((("bronchoalveolar", "broncho alveolar", "lavage"), "BAL"), (("sputum",), "sputum"),
                          (("plasma",), "plasma"), (("serum",), "serum"),
                          (("tissue", "tumor", "tumour", "biopsy"), "tissue")):
        if any(w in key for w in words):
            return target
    return None


def run_basename(name: str) -> str:
    """The last path component of a run name, with Windows or POSIX separators."""
    return re.split(r"[\\/]", str(name).rstrip("\\/"))[-1]


def run_stem(name: str) -> str:
    """The basename without known raw/processed file extensions (``.raw``, ``.d``, ``.mzML``, ``.wiff.gz`` …)."""
    base = run_basename(name)
    while True:
        root, ext = os.path.splitext(base)
        if root and ext.lower() in _RUN_EXTENSIONS:
            base = root
        else:
            return base


# --------------------------------------------------------------------------------------------- reading

def _decode(data: bytes, path: str) -> str:
    """Text of a sheet: UTF-8 (with or without BOM) or UTF-16 (BOM, or NUL-byte pattern); else InputError."""
    hint = "save the sheet as UTF-8 (e.g. 'CSV UTF-8' in Excel)"
    if data.startswith(b"\xef\xbb\xbf"):
        data, enc = data[3:], "utf-8"
    elif data.startswith((b"\xff\xfe", b"\xfe\xff")):
        enc = "utf-16"
    elif len(data) >= 4 and data[1:2] == b"\x00" and data[3:4] == b"\x00":
        enc = "utf-16-le"
    elif len(data) >= 4 and data[0:1] == b"\x00" and data[2:3] == b"\x00":
        enc = "utf-16-be"
    else:
        enc = "utf-8"
    try:
        text = data.decode(enc)
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1 if enc == "utf-8" else None
        raise InputError(f"the file is not valid {enc.upper()} text (undecodable byte at offset {exc.start})",
                         path=path, line=line, hint=hint) from None
    if "\x00" in text:
        raise InputError("the file holds NUL characters (binary or unsupported encoding)", path=path, hint=hint)
    return text.lstrip("\ufeff")


def _sniff_delimiter(header: str) -> str:
    counts = {d: header.count(d) for d in ("\t", ",", ";")}
    best = max(counts, key=lambda d: (counts[d], d == "\t"))
    return best if counts[best] else ","


def _parse(text: str, path: str) -> tuple[list[str], list[list[str]], list[int]]:
    """Header, data rows (padded to header width) and the 1-based line of each row; blank lines skipped."""
    lines = text.splitlines()
    first = next((i for i, ln in enumerate(lines) if ln.strip()), None)
    if first is None:
        raise InputError("the sample sheet is empty", path=path, line=1,
                         hint="add a header line (run, sample, subject, specimen, condition) and one row per run")
    delim = _sniff_delimiter(lines[first])
    reader = csv.reader(io.StringIO("\n".join(lines[first:])), delimiter=delim)
    header: list[str] | None = None
    rows: list[list[str]] = []
    numbers: list[int] = []
    try:
        for rec in reader:
            line_no = reader.line_num + first
            if header is None:
                header = [h.strip() for h in rec]
                continue
            if not any(c.strip() for c in rec):
                continue
            if len(rec) > len(header):
                extra = rec[len(header):]
                if any(c.strip() for c in extra):
                    raise InputError(f"row has {len(rec)} fields but the header has {len(header)}", path=path,
                                     line=line_no, column=len(header) + 1,
                                     hint=f"remove the extra fields or quote values that contain {delim!r}")
                rec = rec[: len(header)]
            rows.append([c.strip() for c in rec] + [""] * (len(header) - len(rec)))
            numbers.append(line_no)
    except csv.Error as exc:
        raise InputError(f"malformed {'tab' if delim == chr(9) else repr(delim)}-delimited text ({exc})",
                         path=path, line=reader.line_num + first, hint="check quotes in this line") from None
    assert header is not None
    return header, rows, numbers


def _sdrf_key(name: str) -> str:
    """Canonical SDRF column key: lower case, single spaces, no spaces around the brackets."""
    key = re.sub(r"\s+", " ", name.strip().lower())
    return re.sub(r"\s*\[\s*", "[", re.sub(r"\s*\]", "]", key))


def _is_sdrf(header: Sequence[str]) -> bool:
    keys = {_sdrf_key(h) for h in header}
    return "source name" in keys and any(k.startswith(("comment[", "characteristics[")) for k in keys)


def _missing(value) -> bool:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return True
    return str(value).strip().lower() in _MISSING


def _from_sdrf(header: list[str], rows: list[list[str]], lines: list[int], path: str):
    """Map SDRF columns onto sheet columns.

    - ``run`` ← ``comment[data file]``. Isobaric (multiplexed) files, where several rows share one data
      file with different ``comment[label]``, get ``run = <data file stem>_<label>`` and keep the
      file name in the covariate ``data file``.
    - ``sample`` ← ``source name``; when a source name occurs on several rows (technical replicates,
      fractions, channels) the rows get ``<source name>_rep<technical replicate>``, ``_frac<fraction>``
      and/or ``_<label>`` suffixes for the parts that differ, or ``_<run stem>`` if that is still not unique.
    - ``subject`` ← ``characteristics[individual]`` when available, else ``source name``.
    - ``specimen`` ← ``characteristics[organism part]`` / ``[specimen]`` / ``[sample type]`` /
      ``[tissue]`` mapped onto the vocabulary (plasma, serum, BAL, sputum, any tissue/tumour → tissue);
      anything else becomes ``other`` with a logged warning.
    - ``condition`` ← the first ``factor value[...]`` with more than one level (the first one if none varies).
    - ``batch`` ← ``characteristics[batch]`` or ``comment[batch]`` when present.
    - covariates: every other ``characteristics[x]`` (named ``x``), ``comment[technical replicate]``,
      ``comment[fraction identifier]`` (as ``fraction``), ``comment[label]`` and the other factor values,
      except columns that are entirely "not available"/"not applicable"/empty.
    """
    keys = [_sdrf_key(h) for h in header]
    first: dict[str, int] = {}
    for i, k in enumerate(keys):
        first.setdefault(k, i)
    if "comment[data file]" not in first:
        close = _close("comment[data file]", header)
        raise InputError("SDRF has no 'comment[data file]' column" + (f" (close: {close})" if close else ""),
                         path=path, line=1, column="comment[data file]",
                         hint="add the raw file name of every row as 'comment[data file]'")

    def col(key: str) -> list[str] | None:
        i = first.get(key)
        return None if i is None else [r[i] for r in rows]

    data_file = col("comment[data file]")
    source = col("source name")
    label = col("comment[label]")
    techrep = col("comment[technical replicate]")
    fraction = col("comment[fraction identifier]")
    src_name = {"run": header[first["comment[data file]"]], "sample": header[first["source name"]]}

    # run
    runs = list(data_file)
    multiplexed = False
    if label is not None and len(set(data_file)) < len(data_file) and len(set(zip(data_file, label, strict=True))) > len(
            set(data_file)):
        runs = [f"{run_stem(f)}_{lab}" for f, lab in zip(data_file, label, strict=True)]
        multiplexed = True
        log.info("%s: multiplexed SDRF: run = '<data file stem>_<label>'", path)
    # sample
    counts: dict[str, list[int]] = {}
    for i, s in enumerate(source):
        counts.setdefault(s, []).append(i)
    samples = list(source)
    for s, idx in counts.items():
        if len(idx) < 2 or not s:
            continue
        parts = {i: [s] for i in idx}
        for values, fmt in ((techrep, "rep{}"), (fraction, "frac{}"), (label, "{}")):
            if values is not None and len({values[i] for i in idx}) > 1:
                for i in idx:
                    parts[i].append(fmt.format(values[i]))
        names = {i: "_".join(parts[i]) for i in idx}
        if len(set(names.values())) < len(idx):
            names = {i: f"{s}_{run_stem(runs[i])}" for i in idx}
        for i in idx:
            samples[i] = names[i]
    # subject
    individual = col("characteristics[individual]")
    subjects = [ind if individual is not None and not _missing(ind) else s
                for s, ind in zip(source, individual or [""] * len(rows), strict=True)]
    src_name["subject"] = header[first["characteristics[individual]"]] if individual else src_name["sample"]
    # specimen
    spec_key = next((k for k in ("characteristics[specimen]", "characteristics[sample type]",
                                 "characteristics[organism part]", "characteristics[tissue]") if k in first), None)
    raw_spec = col(spec_key) if spec_key else [""] * len(rows)
    material = col("material type") or [""] * len(rows)
    specimens, unknown = [], set()
    for value, mat in zip(raw_spec, material, strict=True):
        mapped = _specimen_from_sdrf(value) or (_specimen_from_sdrf(mat) if _norm_key(mat) == "tissue" else None)
        if mapped is None:
            unknown.add(value)
            mapped = "other"
        specimens.append(mapped)
    if unknown:
        log.warning("%s: specimen type(s) %s are not serum/plasma/BAL/sputum/tissue; recorded as 'other'",
                    path, ", ".join(sorted(repr(u) for u in unknown)))
    src_name["specimen"] = header[first[spec_key]] if spec_key else "characteristics[organism part]"
    # condition
    factors = [k for k in first if k.startswith("factor value[")]
    if not factors:
        raise InputError("SDRF has no 'factor value[...]' column", path=path, line=1, column="factor value[...]",
                         hint="add a factor value column (e.g. 'factor value[disease]') holding each run's group")
    cond_key = next((k for k in factors if len(set(col(k))) > 1), factors[0])
    src_name["condition"] = header[first[cond_key]]
    out = {"run": runs, "sample": samples, "subject": subjects, "specimen": specimens, "condition": col(cond_key)}
    for bkey in ("characteristics[batch]", "comment[batch]"):
        if bkey in first:
            out["batch"] = col(bkey)
            src_name["batch"] = header[first[bkey]]
            break
    # covariates
    used = {"comment[data file]", "source name", cond_key, "characteristics[batch]", "comment[batch]"}
    extra: list[tuple[str, str]] = []
    for k in first:
        if k in used:
            continue
        m = re.fullmatch(r"characteristics\[(.+)\]", k)
        if m:
            extra.append((m.group(1), k))
        elif k == "comment[technical replicate]":
            extra.append(("technical replicate", k))
        elif k == "comment[fraction identifier]":
            extra.append(("fraction", k))
        elif k == "comment[label]":
            extra.append(("label", k))
        elif k.startswith("factor value["):
            extra.append((k, k))
    if multiplexed:
        out["data file"] = data_file
        src_name["data file"] = header[first["comment[data file]"]]
    for name, k in extra:
        values = col(k)
        if all(_missing(v) for v in values):
            continue
        if name in out:
            name = k
        if name not in out:
            out[name] = values
            src_name[name] = header[first[k]]
    return out, src_name


# --------------------------------------------------------------------------------------------- building

def _as_text(values) -> list[str]:
    return ["" if _missing(v) and (v is None or isinstance(v, float)) else str(v).strip() for v in values]


def _covariate(values) -> pd.Series:
    """Numeric when every non-missing value parses as a number (int64 if all integral and complete), else str."""
    s = pd.Series(list(values), dtype=object)
    miss = s.map(_missing)
    present = s[~miss]
    num = pd.to_numeric(present.astype(str), errors="coerce") if len(present) else pd.Series(dtype=float)
    if len(present) and not num.isna().any() and not present.map(lambda v: isinstance(v, bool)).any():
        full = pd.Series(np.nan, index=s.index, dtype=float)
        full[~miss] = num.astype(float)
        if not miss.any() and np.all(np.mod(full.to_numpy(), 1) == 0):
            return full.astype("int64")
        return full
    out = s.map(lambda v: np.nan if _missing(v) else str(v).strip())
    return out.astype("str")


def _close(name: str, present: Iterable[str]) -> str:
    lowered = {p.lower(): p for p in present}
    close = difflib.get_close_matches(name, list(lowered), n=3, cutoff=0.5)
    return ", ".join(repr(lowered[c]) for c in close)


def _build(columns: Mapping[str, Sequence], lines: Sequence[int], path: str,
           src_name: Mapping[str, str] | None = None) -> pd.DataFrame:
    """Validate column → values and return the sheet table (index ``sample``); InputError on any problem."""
    p = path or None
    src_name = dict(src_name or {})

    def where(c: str) -> str:
        return src_name.get(c, c)

    n = len(lines)
    missing = [c for c in REQUIRED_COLUMNS if c not in columns]
    if missing:
        present = [c for c in columns]
        parts = []
        for c in missing:
            close = _close(c, present)
            parts.append(f"{c!r}" + (f" (close: {close})" if close else ""))
        raise InputError(f"missing required column(s) {', '.join(parts)}", path=p, line=1, column=missing[0],
                         hint="the sheet needs columns run, sample, subject, specimen, condition "
                              f"(present: {', '.join(present[:12])})")
    if n == 0:
        raise InputError("the sample sheet has a header but no rows", path=p, line=1,
                         hint="add one row per run")
    table: dict[str, list[str] | pd.Series] = {}
    for c in REQUIRED_COLUMNS + (("batch",) if "batch" in columns else ()):
        values = _as_text(columns[c])
        empty = [i for i, v in enumerate(values) if _missing(v)]
        if c != "batch" and empty:
            where_rows = ", ".join(str(lines[i]) for i in empty[:5]) + (" …" if len(empty) > 5 else "")
            raise InputError(f"empty value in required column {where(c)!r} (line(s) {where_rows})", path=p,
                             line=lines[empty[0]], column=where(c),
                             hint=f"fill in '{c}' for every run")
        table[c] = values
    # specimen vocabulary
    spec = []
    for i, v in enumerate(table["specimen"]):
        norm = normalise_specimen(v)
        if norm is None:
            raise InputError(f"unknown specimen type {v!r}", path=p, line=lines[i], column=where("specimen"),
                             hint=f"use one of {', '.join(SPECIMENS)}")
        spec.append(norm)
    table["specimen"] = spec
    for c in ("run", "sample"):
        seen: dict[str, int] = {}
        for i, v in enumerate(table[c]):
            if v in seen:
                raise InputError(f"duplicate {c} {v!r} (also on line {lines[seen[v]]})", path=p, line=lines[i],
                                 column=where(c), hint=f"every row needs a distinct '{c}'; remove or rename one")
            seen[v] = i
    if "batch" in table:
        table["batch"] = pd.Series([np.nan if _missing(v) else v for v in table["batch"]], dtype="str")
    for c, values in columns.items():
        if c in table:
            continue
        if not isinstance(c, str) or not c.strip():
            raise InputError("a column has an empty name", path=p, line=1, hint="give every column a header")
        if isinstance(values, pd.Series) and values.dtype.kind in "biuf":
            table[c] = values.reset_index(drop=True)
        else:
            table[c] = _covariate(values)
    df = pd.DataFrame({k: (v.to_numpy() if isinstance(v, pd.Series) else v) for k, v in table.items()})
    for c in ("run", "subject", "specimen", "condition"):
        df[c] = df[c].astype("str")
    for c in df.columns:
        if isinstance(table[c], pd.Series):
            df[c] = df[c].astype(table[c].dtype)
    df.index = pd.Index(df.pop("sample").astype("str"), name="sample")
    return df


class SampleSheet:
    """Validated sample annotations: one row per run.

    ``table`` is a DataFrame indexed by ``sample`` (str) with columns ``run, subject, specimen, condition``,
    ``batch`` (if present) and covariates, rows in file order. Specimens use the vocabulary
    ``serum, plasma, BAL, sputum, tissue, other``. Objects are immutable: methods return new sheets.
    """

    __slots__ = ("_table", "_path", "_lines")

    def __init__(self, table: pd.DataFrame, path: str = "", lines: Sequence[int] | None = None):
        """Internal: use :meth:`read` or :meth:`from_frame` (both validate)."""
        self._table = table
        self._path = str(path)
        self._lines = tuple(lines) if lines is not None else tuple(range(2, len(table) + 2))

    # ----------------------------------------------------------------------- constructors
    @classmethod
    def read(cls, path: str | os.PathLike) -> SampleSheet:
        """Read a CSV/TSV sample sheet or an SDRF-Proteomics TSV (detected from the header).

        Plain sheets: delimiter sniffed from the header (tab, comma or semicolon); required columns
        ``run, sample, subject, specimen, condition`` (case-insensitive names), optional ``batch``; every
        other column is a covariate. SDRF: ``comment[data file]`` → run, ``source name`` → sample
        (suffixed ``_rep<technical replicate>`` / ``_frac<fraction>`` / ``_<label>`` when a source name
        has several rows), ``characteristics[individual]`` (else source name) → subject,
        ``characteristics[organism part|specimen|sample type]`` → specimen (unknown → ``other``, logged),
        first varying ``factor value[...]`` → condition; isobaric channels get run
        ``<data file stem>_<label>``. Problems raise :class:`InputError` with path, line and column.
        """
        path = str(path)
        try:
            data = Path(path).read_bytes()
        except FileNotFoundError:
            raise InputError("sample sheet not found", path=path, hint="check the path") from None
        except OSError as exc:
            raise InputError(f"cannot read the sample sheet ({exc.strerror})", path=path,
                             hint="check the path and permissions") from None
        header, rows, lines = _parse(_decode(data, path), path)
        if _is_sdrf(header):
            if not rows:
                raise InputError("the SDRF has a header but no rows", path=path, line=1, hint="add one row per run")
            columns, src = _from_sdrf(header, rows, lines, path)
            return cls(_build(columns, lines, path, src), path, lines)
        columns: dict[str, list[str]] = {}
        src: dict[str, str] = {}
        for j, name in enumerate(header):
            key = name.lower() if name.lower() in REQUIRED_COLUMNS + ("batch",) else name
            if not key:
                if all(not r[j] for r in rows):
                    continue
                raise InputError(f"column {j + 1} has no name", path=path, line=1, column=j + 1,
                                 hint="give every column a header")
            if key in columns:
                raise InputError(f"duplicate column {name!r}", path=path, line=1, column=name,
                                 hint="rename or remove one of the columns")
            columns[key] = [r[j] for r in rows]
            src[key] = name
        return cls(_build(columns, lines, path, src), path, lines)

    @classmethod
    def from_frame(cls, df: pd.DataFrame, path: str = "") -> SampleSheet:
        """Validate a DataFrame with the sheet columns (``sample`` may be a column or the index name)."""
        df = pd.DataFrame(df)
        if "sample" not in df.columns and df.index.name == "sample":
            df = df.reset_index()
        columns = {}
        for c in df.columns:
            key = str(c).lower() if str(c).lower() in REQUIRED_COLUMNS + ("batch",) else str(c)
            if key in columns:
                raise InputError(f"duplicate column {c!r}", path=path or None, hint="rename or remove one")
            columns[key] = df[c].reset_index(drop=True) if df[c].dtype.kind in "biuf" else df[c].tolist()
        lines = list(range(2, len(df) + 2))
        return cls(_build(columns, lines, path), path, lines)

    # ----------------------------------------------------------------------- views
    @property
    def table(self) -> pd.DataFrame:
        """A copy of the sheet (index ``sample``; columns run, subject, specimen, condition, [batch], covariates)."""
        return self._table.copy()

    @property
    def samples(self) -> list[str]:
        return self._table.index.tolist()

    @property
    def runs(self) -> list[str]:
        return self._table["run"].tolist()

    @property
    def path(self) -> str:
        return self._path

    def __len__(self) -> int:
        return len(self._table)

    def __repr__(self) -> str:
        spec = ", ".join(f"{k}={v}" for k, v in self._table["specimen"].value_counts(sort=False).items())
        return f"SampleSheet({len(self)} runs; {spec}; path={self._path!r})"

    def _err(self, message: str, *, row: int | None = None, column: str | None = None, hint: str | None = None):
        return InputError(message, path=self._path or None, line=None if row is None else self._lines[row],
                          column=column, hint=hint)

    def to_csv(self, path: str | os.PathLike) -> None:
        """Write the sheet as UTF-8 CSV (``run, sample, subject, specimen, condition, [batch], covariates``),
        atomically; floats in shortest round-trip form, missing values empty. :meth:`read` reads it back."""
        t = self._table.reset_index()
        cols = ["run", "sample"] + [c for c in t.columns if c not in ("run", "sample")]
        buf = io.StringIO()
        t[cols].to_csv(buf, index=False, lineterminator="\n")
        write_text(path, buf.getvalue())

    # ----------------------------------------------------------------------- run matching
    def match_runs(self, data_runs: Sequence[str], *, allow_unused_sheet_rows: bool = False) -> dict[str, str]:
        """Map each run name found in the data onto a sample id.

        Tries, in order, the full string, the basename (Windows or POSIX separators) and the stem (known
        extensions such as .raw/.d/.mzML/.wiff(.gz) dropped). A name matching several sheet rows at the
        first level where it matches anything, or two data runs landing on one sheet row, is an error.
        Data runs absent from the sheet, and sheet runs absent from the data (unless
        ``allow_unused_sheet_rows``), are listed together in one :class:`InputError`.
        Returns ``{data run: sample}`` in data-run order.
        """
        data = list(dict.fromkeys(str(r) for r in data_runs))
        sheet_runs = self.runs
        samples = self.samples
        keyers = (lambda s: s, run_basename, run_stem)
        indexes = []
        for key in keyers:
            idx: dict[str, list[int]] = {}
            for i, r in enumerate(sheet_runs):
                idx.setdefault(key(r), []).append(i)
            indexes.append(idx)
        mapping: dict[str, str] = {}
        owner: dict[int, str] = {}
        unmatched = []
        for d in data:
            hit = None
            for key, idx in zip(keyers, indexes, strict=True):
                cands = idx.get(key(d), [])
                if len(cands) > 1:
                    raise self._err(f"data run {d!r} matches several sheet runs "
                                    f"({', '.join(repr(sheet_runs[i]) for i in cands)})", row=cands[1],
                                    column="run", hint="give the sheet runs distinct names (full file names)")
                if cands:
                    hit = cands[0]
                    break
            if hit is None:
                unmatched.append(d)
                continue
            if hit in owner:
                raise self._err(f"data runs {owner[hit]!r} and {d!r} both match sheet run {sheet_runs[hit]!r}",
                                row=hit, column="run", hint="write the full run name in the sheet to tell them apart")
            owner[hit] = d
            mapping[d] = samples[hit]
        unused = [] if allow_unused_sheet_rows else [r for i, r in enumerate(sheet_runs) if i not in owner]
        if unmatched or unused:
            parts = []
            if unmatched:
                parts.append(f"{len(unmatched)} data run(s) not in the sheet: {', '.join(map(repr, unmatched[:20]))}"
                             + (" …" if len(unmatched) > 20 else ""))
            if unused:
                parts.append(f"{len(unused)} sheet run(s) not in the data: {', '.join(map(repr, unused[:20]))}"
                             + (" …" if len(unused) > 20 else ""))
            raise self._err("; ".join(parts), column="run",
                            hint="make the sheet's 'run' column name every run of the data file exactly once "
                                 "(full name, file name or stem)")
        return mapping

    # ----------------------------------------------------------------------- selections
    def subset(self, **equals) -> SampleSheet:
        """Rows whose columns equal the given values (a value may be a list/tuple/set of allowed values).

        ``specimen`` values are normalised (``subset(specimen="bal")`` works); ``sample`` selects by id.
        """
        t = self._table
        mask = np.ones(len(t), dtype=bool)
        for col, want in equals.items():
            if col == "sample":
                values = t.index.to_series()
            elif col in t.columns:
                values = t[col]
            else:
                raise self._err(f"no column {col!r} in the sample sheet", column=col,
                                hint=f"use one of {', '.join(['sample', *t.columns])}")
            wanted = list(want) if isinstance(want, list | tuple | set | frozenset) else [want]
            if values.dtype.kind not in "biuf":
                wanted = [str(w) for w in wanted]
            if col == "specimen":
                wanted = [normalise_specimen(str(w)) or w for w in wanted]
            mask &= values.isin(wanted).to_numpy()
        if not mask.any():
            raise self._err(f"no sample matches {equals}", hint="check the values against the sheet")
        lines = [ln for ln, m in zip(self._lines, mask, strict=True) if m]
        return SampleSheet(t[mask].copy(), self._path, lines)

    def check_groups(self, column: str, levels: Sequence[str], min_per_group: int = 2) -> dict[str, int]:
        """Check that each level of ``column`` is present with at least ``min_per_group`` samples.

        Returns ``{level: n_samples}``; raises InputError naming absent levels (with the available ones)
        or levels with too few samples.
        """
        t = self._table
        if column not in t.columns:
            close = _close(column, t.columns)
            raise self._err(f"no column {column!r} in the sample sheet" + (f" (close: {close})" if close else ""),
                            column=column, hint=f"use one of {', '.join(map(str, t.columns))}")
        counts = t[column].astype(str).value_counts(sort=False)
        available = ", ".join(f"{k!r} (n={v})" for k, v in counts.items())
        absent = [str(lv) for lv in levels if str(lv) not in counts.index]
        if absent:
            raise self._err(f"level(s) {', '.join(map(repr, absent))} of {column!r} not found", column=column,
                            hint=f"available levels: {available}")
        small = [f"{lv!r} has {counts[str(lv)]}" for lv in levels if counts[str(lv)] < min_per_group]
        if small:
            raise self._err(f"too few samples per group in {column!r}: {'; '.join(small)} "
                            f"(need at least {min_per_group})", column=column,
                            hint="add samples or choose another contrast")
        return {str(lv): int(counts[str(lv)]) for lv in levels}

    def pseudonymised(self, salt: str, *, samples: bool = False) -> SampleSheet:
        """A sheet whose ``subject`` ids are replaced by stable keyed hashes ``"S" + 12 hex digits``
        (and, with ``samples=True``, sample ids by ``"X" + 12 hex digits``, since sample ids often embed the
        subject id).

        The hash is HMAC-SHA256(key=salt, subject): the same salt gives the same pseudonyms; without
        the salt they cannot be recomputed from a guessed subject id.
        """
        if not isinstance(salt, str) or not salt:
            raise InputError("pseudonymisation needs a non-empty salt", hint="set a secret salt string")
        t = self._table.copy()
        t["subject"] = [("S" + hmac.new(salt.encode(), s.encode(), hashlib.sha256).hexdigest()[:12])
                        for s in t["subject"]]
        t["subject"] = t["subject"].astype("str")
        if samples:
            t.index = pd.Index([("X" + hmac.new(salt.encode(), str(s).encode(), hashlib.sha256).hexdigest()[:12])
                                for s in t.index], name=t.index.name)
        return SampleSheet(t, self._path, self._lines)
