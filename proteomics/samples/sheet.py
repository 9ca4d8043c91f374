"""The :class:`SampleSheet`: validated sample annotations, one row per run."""

from __future__ import annotations

import hashlib
import hmac
import io
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from .._files import write_text
from ..errors import InputError
from ..limits import check_sheet_size
from .columns import REQUIRED_COLUMNS, build_table, close_names
from .layouts import map_columns, read_xlsx_rows
from .parse import decode_sheet, parse_rows
from .runs import match_runs, run_basename, run_stem
from .sdrf import from_sdrf, is_sdrf
from .specimens import normalise_specimen

__all__ = ["SampleSheet"]


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
    def read(cls, path: str | os.PathLike, *, group: str | None = "condition",
             specimen: str | None = None) -> SampleSheet:
        """Read a sample sheet: CSV/TSV (delimiter sniffed from the header), ``.xlsx`` (first worksheet), or
        SDRF-Proteomics TSV (detected from the header).

        Only ``run`` and the grouping column ``group`` (default ``condition``; ``None``: none) are required;
        ``sample`` defaults to the run, ``subject`` to the sample, ``specimen`` to ``specimen`` (``--specimen`` or
        the config). Column names of MSstats ``annotation.csv`` (``Run``/``Raw.file``, ``Condition``,
        ``BioReplicate`` → subject), FragPipe ``experiment_annotation.tsv``, DIA-NN run lists (``File.Name``)
        and AlphaPeptStats/Perseus metadata are recognised (:mod:`proteomics.samples.layouts`); ``batch`` is
        optional and every other column is a covariate. SDRF: ``comment[data file]`` → run, ``source name`` →
        sample (suffixed ``_rep<technical replicate>`` / ``_frac<fraction>`` / ``_<label>`` when a source name
        has several rows), ``characteristics[individual]`` (else source name) → subject,
        ``characteristics[organism part|specimen|sample type]`` → specimen (unknown → ``other``, logged),
        first varying ``factor value[...]`` → condition; isobaric channels get run ``<data file stem>_<label>``.
        Problems raise :class:`InputError` with path, line (the Excel row for .xlsx) and column.
        """
        path = str(path)
        if not Path(path).exists():
            raise InputError("sample sheet not found", path=path, hint="check the path")
        check_sheet_size(path)  # a FIFO would block, a huge file or a zip bomb exhaust memory: refused first
        if path.lower().endswith((".xlsx", ".xlsm")):
            header, rows, lines = read_xlsx_rows(path)
        else:
            try:
                data = Path(path).read_bytes()
            except OSError as exc:
                raise InputError(f"cannot read the sample sheet ({exc.strerror})", path=path,
                                 hint="check the path and permissions") from None
            header, rows, lines = parse_rows(decode_sheet(data, path), path)
        if is_sdrf(header):
            if not rows:
                raise InputError("the SDRF has a header but no rows", path=path, line=1, hint="add one row per run")
            columns, src = from_sdrf(header, rows, lines, path)
            return cls(build_table(columns, lines, path, src), path, lines)
        columns, src = map_columns(header, rows, path, group=group, specimen=specimen)
        return cls(build_table(columns, lines, path, src, group=group), path, lines)

    @classmethod
    def from_frame(cls, df: pd.DataFrame, path: str = "", *, group: str | None = None) -> SampleSheet:
        """Validate a DataFrame with the sheet columns (``sample`` may be a column or the index name); the
        grouping column ``group`` is required only when named."""
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
        return cls(build_table(columns, lines, path, group=group), path, lines)

    # ----------------------------------------------------------------------- views
    @property
    def table(self) -> pd.DataFrame:
        """A copy of the sheet (index ``sample``; columns run, subject, specimen, condition, [batch], covariates)."""
        return self._table.copy()

    @property
    def samples(self) -> list[str]:
        """Sample ids in sheet order."""
        return self._table.index.tolist()

    @property
    def runs(self) -> list[str]:
        """Run names as written in the sheet, in sheet order (one per sample)."""
        return self._table["run"].tolist()

    @property
    def path(self) -> str:
        """The file the sheet was read from ("" when built from a frame)."""
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
        try:
            return match_runs(self.runs, self.samples, data_runs, err=self._err,
                              allow_unused_sheet_rows=allow_unused_sheet_rows)
        except InputError as exc:
            hint = self._specimen_hint(data_runs)
            if hint is None:
                raise
            raise InputError(exc.message, path=exc.path, line=exc.line, column=exc.column, hint=hint) from None

    def _specimen_hint(self, data_runs: Sequence[str]) -> str | None:
        """When the data's runs are the sheet rows of one specimen and the rows left over are other specimens,
        the fix is to select that specimen (``--specimen`` / config ``specimen``)."""
        if "specimen" not in self._table.columns:
            return None
        keys = set()
        for r in data_runs:
            keys |= {str(r), run_basename(str(r)), run_stem(str(r))}
        hit = np.array([r in keys or run_basename(r) in keys or run_stem(r) in keys for r in map(str, self.runs)])
        spec = self._table["specimen"].astype(str).to_numpy()
        matched, rest = set(spec[hit]), set(spec[~hit])
        if len(matched) != 1 or not rest or matched & rest:
            return None
        s = next(iter(matched))
        return (f"the data holds the {s} runs and the sheet also lists {', '.join(sorted(rest))} samples: add "
                f"--specimen {s} (or specimen: {s} in the config) to use only the {s} rows")

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
            close = close_names(column, t.columns)
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
