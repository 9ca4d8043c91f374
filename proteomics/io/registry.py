"""The reader registry: ``READERS``, a plain dict written out below (no registration by import side effect), the
generic wide-matrix ``FALLBACK``, format detection, and :func:`read` / :func:`inspect` / :func:`formats`.

A reader's ``sniff(peek)`` looks at the first bytes of a file (already un-gzipped and decoded) and returns a
confidence in [0, 1] (0 = not mine). The file name only breaks ties. The generic wide matrix reader is the
fallback used when no tool format claims the file; it never competes as a candidate.

Every reader module speaks one dialect: for a reader named ``NAME`` it defines ``read_NAME(path, **options)`` and
``sniff_NAME(peek)``, both listed in its ``__all__``. Adding a reader = one module + one entry here + an example
file in ``tests/io/examples.py`` (the contract suite fails without one).
"""

from __future__ import annotations

import contextlib
import gzip
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InputError
from . import diann, fragpipe, generic, maxquant, mzid, mztab, pepxml, spectronaut
from ._tabular import open_source
from .base import Peek, Reader, peek
from .table import QuantTable
from .write import read_dataset

__all__ = ["Reader", "Peek", "READERS", "FALLBACK", "peek", "detect", "candidates", "read", "inspect", "formats"]

READERS: dict[str, Reader] = {
    "diann_report": Reader("diann_report", "report.tsv report.parquet", diann.sniff_diann_report,
                           diann.read_diann_report, "precursor"),
    "diann_pg_matrix": Reader("diann_pg_matrix", "pg_matrix.tsv", diann.sniff_diann_pg_matrix,
                              diann.read_diann_pg_matrix, "protein"),
    "diann_pr_matrix": Reader("diann_pr_matrix", "pr_matrix.tsv", diann.sniff_diann_pr_matrix,
                              diann.read_diann_pr_matrix, "precursor"),
    "maxquant_proteingroups": Reader("maxquant_proteingroups", "proteinGroups.txt",
                                     maxquant.sniff_maxquant_proteingroups, maxquant.read_maxquant_proteingroups,
                                     "protein"),
    "maxquant_evidence": Reader("maxquant_evidence", "evidence.txt", maxquant.sniff_maxquant_evidence,
                                maxquant.read_maxquant_evidence, "precursor"),
    "maxquant_peptides": Reader("maxquant_peptides", "peptides.txt", maxquant.sniff_maxquant_peptides,
                                maxquant.read_maxquant_peptides, "peptide"),
    "fragpipe_combined_protein": Reader("fragpipe_combined_protein", "combined_protein.tsv",
                                        fragpipe.sniff_fragpipe_combined_protein,
                                        fragpipe.read_fragpipe_combined_protein, "protein"),
    "fragpipe_combined_ion": Reader("fragpipe_combined_ion", "combined_ion.tsv",
                                    fragpipe.sniff_fragpipe_combined_ion, fragpipe.read_fragpipe_combined_ion,
                                    "precursor"),
    "fragpipe_combined_peptide": Reader("fragpipe_combined_peptide", "combined_peptide.tsv",
                                        fragpipe.sniff_fragpipe_combined_peptide,
                                        fragpipe.read_fragpipe_combined_peptide, "peptide"),
    "fragpipe_psm": Reader("fragpipe_psm", "psm.tsv", fragpipe.sniff_fragpipe_psm, fragpipe.read_fragpipe_psm,
                           "psm"),
    "msstats": Reader("msstats", "MSstats.csv msstats_in.csv", fragpipe.sniff_msstats, fragpipe.read_msstats,
                      "precursor"),
    "spectronaut": Reader("spectronaut", "Report.tsv (Spectronaut normal report)", spectronaut.sniff_spectronaut,
                          spectronaut.read_spectronaut, "precursor"),
    "mzid": Reader("mzid", ".mzid .mzidentml (mzIdentML 1.1/1.2)", mzid.sniff_mzid, mzid.read_mzid, "protein"),
    "mztab": Reader("mztab", ".mztab (mzTab 1.0)", mztab.sniff_mztab, mztab.read_mztab, "protein"),
    "pepxml": Reader("pepxml", ".pep.xml .pepxml (pepXML)", pepxml.sniff_pepxml, pepxml.read_pepxml, "protein"),
}

FALLBACK: dict[str, Reader] = {
    "generic": Reader("generic", "wide matrix .tsv .csv", generic.sniff_generic, generic.read_generic, "protein"),
}


def _safe_sniff(reader: Reader, p: Peek) -> float:
    """A sniffer's confidence; a sniffer that trips over a strange file simply does not claim it."""
    try:
        return float(reader.sniff(p))
    except Exception:  # noqa: BLE001 - detection must never crash on odd content
        return 0.0


def candidates(p: Peek) -> list[tuple[float, str]]:
    """(confidence, reader name) for every reader that claims the file, best first."""
    out = []
    for name, reader in READERS.items():
        score = _safe_sniff(reader, p)
        if score > 0:
            out.append((score, name))
    return sorted(out, key=lambda t: (-t[0], t[1]))


def detect(path: str | os.PathLike) -> str:
    """Name of the reader for ``path``; ``InputError`` listing the candidates when ambiguous or unknown."""
    p = peek(path)
    cands = candidates(p)
    if cands:
        best = [c for c in cands if c[0] == cands[0][0]]
        if len(best) == 1:
            return best[0][1]
        # the file name breaks ties
        by_name = [n for _, n in best if _name_hint(READERS[n], p.name)]
        if len(by_name) == 1:
            return by_name[0]
        raise InputError(f"ambiguous format: could be {', '.join(n for _, n in best)}", path=path,
                         hint="say which with --format NAME")
    for name, reader in FALLBACK.items():
        if _safe_sniff(reader, p) > 0:
            return name
    if not p.text.lstrip().startswith("<"):
        open_source(path)  # a text table that cannot be opened says why (header too long, encoding …)
    raise InputError("unknown file format", path=path, line=1,
                     hint=f"give --format NAME; known formats: {', '.join(sorted(READERS) + sorted(FALLBACK))}")


def _name_hint(reader: Reader, filename: str) -> bool:
    low = filename.lower()
    return any(tok and tok in low for tok in (t.strip().lower() for t in reader.files.replace(",", " ").split()))


def read(path, format: str = "auto", **options):
    """Read ``path`` (optionally gzipped) with the named reader, or the detected one when ``format='auto'``,
    into a :class:`QuantTable` (long: run × entity, linear intensities).

    Options are passed to the reader (e.g. ``fdr=0.01``, ``keep_contaminants=False``, ``scale='auto'``).
    An AnnData file (``.h5ad``, as ``quantify -o x.h5ad`` or ``output: {anndata: true}`` write it) is already a
    protein matrix: it is returned as a :class:`~proteomics.dataset.Dataset` (samples × proteins, log2).
    """
    if format in (None, "auto", "h5ad") and str(path).lower().endswith(".h5ad"):
        return read_dataset(path)
    name = detect(path) if format in (None, "auto") else format
    reader = READERS.get(name) or FALLBACK.get(name)
    if reader is None:
        raise InputError(f"unknown format {name!r}", hint=f"choose one of {', '.join(sorted(READERS) + sorted(FALLBACK))}")
    return reader.read(path, **options)


def inspect(path: str | os.PathLike, format: str = "auto", **options) -> dict[str, Any]:
    """Read ``path`` (never modifying it) and summarise it: ``format``, ``level``, ``n_runs``,
    ``n_proteins``, ``runs``, ``n_rows``, ``n_entities``, ``missing_fraction`` (share of the entity × run
    cells without a finite intensity: a long report lists only what was seen, so an absent row counts as
    missing, like a NaN), ``candidates`` (every reader that claims the file, best first) and the reader's notes."""
    p = peek(path)
    cands = [name for _, name in candidates(p)]
    if format == "auto":
        format = detect(path)  # on the whole file's head, so errors name the user's file
    try:
        with _head_of(p) as head:  # a big table is summarised from its head: inspect peeks, it does not load
            qt: QuantTable = read(head or path, format=format, **options)
    except InputError as exc:
        if exc.path is None or Path(exc.path) == Path(path):
            raise
        raise InputError(exc.message, path=path, line=exc.line, column=exc.column, hint=exc.hint) from None
    out = qt.summary()
    d = qt.data
    if head is not None:
        out["partial"] = True
        out["note"] = (f"summary of the first {INSPECT_MAX_BYTES // 2**20} MiB of text only (the file is larger); "
                       "counts are lower bounds")
    out["path"] = str(path)
    out["n_entities"] = int(d["entity_id"].nunique())
    out["missing_fraction"] = _missing_cells(d)
    out["candidates"] = cands
    return out


def _missing_cells(d) -> float:
    """Share of the entity × run cells of a long table ``d`` without a finite intensity (0.0 when empty)."""
    cells = d["entity_id"].nunique() * d["run"].nunique()
    if cells == 0:
        return 0.0
    seen = d.loc[np.isfinite(d["intensity"].to_numpy(dtype="float64")), ["entity_id", "run"]].drop_duplicates()
    return float(1.0 - len(seen) / cells)


#: decompressed text that ``inspect`` reads at most; larger tables are summarised from their first lines
INSPECT_MAX_BYTES = 64 * 1024 * 1024


@contextlib.contextmanager
def _head_of(p):
    """A temporary copy of the first :data:`INSPECT_MAX_BYTES` of a text table (whole lines, same file name,
    decompressed), or None when the file is smaller, XML or Parquet (read whole)."""
    with open(p.path, "rb") as fh:
        parquet = fh.read(4) == b"PAR1"
    if parquet or p.text.lstrip().startswith("<") or (p.path.stat().st_size < INSPECT_MAX_BYTES and not p.gzipped):
        yield None
        return
    opener = gzip.open if p.gzipped else open
    with tempfile.TemporaryDirectory(prefix="proteomics-inspect-") as tmp:
        dst = Path(tmp, p.name)
        try:
            with opener(p.path, "rb") as src, open(dst, "wb") as fh:
                left, tail = INSPECT_MAX_BYTES, b""
                while left > 0:
                    block = src.read(min(left, 1 << 20))
                    if not block:
                        break
                    fh.write(block)
                    left -= len(block)
                    tail = block
                whole = not src.read(1)
        except (OSError, EOFError) as exc:  # BadGzipFile is an OSError: trailing garbage, cut file
            raise InputError(f"corrupt gzip file ({exc})", path=p.path,
                             hint="re-export or re-compress it; trailing data that is not gzip is refused") from None
        if whole:
            yield None
            return
        with open(dst, "r+b") as fh:  # cut back to the last complete line
            size = fh.seek(0, os.SEEK_END)
            fh.truncate(size - (len(tail) - tail.rfind(b"\n") - 1) if b"\n" in tail else size)
        yield dst


def formats() -> list[dict[str, Any]]:
    """Every registered reader as ``{"name", "files", "level", "fallback"}``; tool formats sorted by name,
    then the fallback(s)."""
    rows = [{"name": r.name, "files": r.files, "level": r.level, "fallback": False}
            for r in sorted(READERS.values(), key=lambda r: r.name)]
    rows += [{"name": r.name, "files": r.files, "level": r.level, "fallback": True}
             for r in sorted(FALLBACK.values(), key=lambda r: r.name)]
    return rows
