"""Run names: basename and stem of a run as a search engine writes it (DESIGN.md, "Run names"), and the
matching of data runs onto sheet rows.

One rule for every place that turns a file location into a run name (sample sheets, mzIdentML/pepXML/mzTab run
locations): :func:`run_stem` drops the path (POSIX or Windows separators, URLs too) and then, repeatedly, the known
raw/peak-list/archive extensions below; an unknown extension (``sample.01``) is kept as part of the name.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Sequence

__all__ = ["run_basename", "run_stem", "match_runs"]

# file extensions dropped (repeatedly, case-insensitively) to get a run's stem: raw files, open formats, peak lists
# (.apl = MaxQuant/Andromeda), archives
_RUN_EXTENSIONS = frozenset({".raw", ".d", ".mzml", ".mzxml", ".mzdata", ".mgf", ".wiff", ".wiff2", ".scan",
                             ".dia", ".gz", ".bz2", ".zip", ".tdf", ".baf", ".lcd", ".mz5", ".ms2", ".tar",
                             ".apl", ".ms1", ".pkl", ".dta"})


def run_basename(name: str) -> str:
    """The last path component of a run name, with Windows or POSIX separators."""
    return re.split(r"[\\/]", str(name).strip().rstrip("\\/"))[-1]


def run_stem(name: str) -> str:
    """The basename without known raw/processed file extensions (``.raw``, ``.d``, ``.mzML``, ``.wiff.gz`` …)."""
    base = run_basename(name)
    while True:
        root, ext = os.path.splitext(base)
        if root and ext.lower() in _RUN_EXTENSIONS:
            base = root
        else:
            return base


def match_runs(sheet_runs: Sequence[str], samples: Sequence[str], data_runs: Sequence[str], *,
               err: Callable[..., Exception], allow_unused_sheet_rows: bool = False) -> dict[str, str]:
    """Map each data run name onto the sample of the sheet row whose run it matches (see
    :meth:`proteomics.samples.SampleSheet.match_runs`). ``sheet_runs`` and ``samples`` are aligned (one per sheet
    row); ``err(message, row=, column=, hint=)`` builds the error naming the sheet row. Returns
    ``{data run: sample}`` in data-run order.
    """
    data = list(dict.fromkeys(str(r) for r in data_runs))
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
                raise err(f"data run {d!r} matches several sheet runs "
                                f"({', '.join(repr(sheet_runs[i]) for i in cands)})", row=cands[1],
                                column="run", hint="give the sheet runs distinct names (full file names)")
            if cands:
                hit = cands[0]
                break
        if hit is None:
            unmatched.append(d)
            continue
        if hit in owner:
            raise err(f"data runs {owner[hit]!r} and {d!r} both match sheet run {sheet_runs[hit]!r}",
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
        raise err("; ".join(parts), column="run",
                        hint="make the sheet's 'run' column name every run of the data file exactly once "
                             "(full name, file name or stem)")
    return mapping
