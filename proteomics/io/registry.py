"""The reader registry: a plain dict ``READERS`` of frozen :class:`Reader` records, and format detection.

A reader's ``sniff(peek)`` looks at the first bytes of a file (already un-gzipped and decoded) and returns
a confidence in [0, 1] (0 = not mine). The file name only breaks ties. The generic wide matrix reader is the
fallback used when no tool format claims the file; it never competes as a candidate.
"""

from __future__ import annotations

import gzip
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..errors import InputError
from .table import QuantTable

__all__ = ["Reader", "Peek", "READERS", "FALLBACK", "register", "peek", "detect", "candidates"]

PEEK_BYTES = 1 << 16


@dataclass(frozen=True)
class Peek:
    """The start of a file: ``text`` (decoded, ≤ 64 KiB), ``lines`` (first lines, no line ends), ``name``."""

    path: Path
    name: str
    text: str
    lines: tuple[str, ...]
    gzipped: bool

    @property
    def header(self) -> str:
        return self.lines[0] if self.lines else ""

    def columns(self, sep: str | None = None) -> list[str]:
        """Header fields split on ``sep`` (default: tab if present, else comma, else semicolon)."""
        h = self.header.lstrip("\ufeff")
        if sep is None:
            sep = "\t" if "\t" in h else ("," if "," in h else (";" if ";" in h else "\t"))
        return [c.strip().strip('"') for c in h.split(sep)]


@dataclass(frozen=True)
class Reader:
    """A format: ``name``, what files it takes (``files``), ``sniff(peek) -> float``, ``read(path, **opts)``."""

    name: str
    files: str
    sniff: Callable[[Peek], float]
    read: Callable[..., QuantTable]
    level: str = "precursor"


READERS: dict[str, Reader] = {}
FALLBACK: dict[str, Reader] = {}


def register(reader: Reader, *, fallback: bool = False) -> Reader:
    (FALLBACK if fallback else READERS)[reader.name] = reader
    return reader


def _decode(raw: bytes, path: Path) -> str:
    if b"\x00" in raw[:4096] and not (raw.startswith(b"\xff\xfe") or raw.startswith(b"\xfe\xff")):
        raise InputError("file holds NUL bytes (binary, not a text table)", path=path, line=1,
                         hint="give the text export of your search engine")
    for bom, enc in ((b"\xef\xbb\xbf", "utf-8-sig"), (b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16")):
        if raw.startswith(bom):
            return raw.decode(enc, errors="replace")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start >= len(raw) - 4:  # cut inside a multi-byte char at the peek boundary
            return raw[: exc.start].decode("utf-8")
        return raw.decode("latin-1")


def peek(path: str | os.PathLike) -> Peek:
    """Read and decode the first bytes of ``path`` (gzip-aware), with clear errors for unusable files."""
    path = Path(path)
    if not path.exists():
        raise InputError("file not found", path=path, hint="check the path (relative paths are from the working "
                                                           "directory or the config file's folder)")
    if path.is_dir():
        raise InputError("is a directory, not a file", path=path, hint="give the file inside it")
    try:
        with open(path, "rb") as fh:
            raw = fh.read(PEEK_BYTES)
    except OSError as exc:
        raise InputError(f"cannot read file ({exc.strerror})", path=path, hint="check permissions") from None
    if raw[:4] == b"PAR1":  # Parquet: the "header" is the schema's column names, tab-separated
        return _peek_parquet(path)
    gz = raw[:2] == b"\x1f\x8b"
    if gz:
        try:
            with gzip.open(path, "rb") as fh:
                raw = fh.read(PEEK_BYTES)
        except (OSError, EOFError) as exc:
            raise InputError(f"corrupt gzip file ({exc})", path=path, hint="re-export or re-compress it") from None
    elif path.suffix == ".gz":
        raise InputError("file name ends in .gz but it is not gzip", path=path,
                         hint="rename it without .gz or compress it with gzip")
    if not raw.strip():
        raise InputError("file is empty", path=path, line=1, hint="give a non-empty export")
    text = _decode(raw, path)
    lines = tuple(text.splitlines()[:50])
    name = path.name[:-3] if gz and path.name.endswith(".gz") else path.name
    return Peek(path=path, name=name, text=text, lines=lines, gzipped=gz)


def _peek_parquet(path: Path) -> Peek:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        names = pq.read_schema(path).names
    except (pa.ArrowException, OSError) as exc:
        raise InputError(f"corrupt Parquet file ({exc})", path=path, hint="re-export it") from None
    header = "\t".join(names)
    return Peek(path=path, name=path.name, text=header, lines=(header,), gzipped=False)


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
    raise InputError("unknown file format", path=path, line=1,
                     hint=f"give --format NAME; known formats: {', '.join(sorted(READERS) + sorted(FALLBACK))}")


def _name_hint(reader: Reader, filename: str) -> bool:
    low = filename.lower()
    return any(tok and tok in low for tok in (t.strip().lower() for t in reader.files.replace(",", " ").split()))
