"""What every reader module uses: the :class:`Reader` record, and :func:`peek` (the decoded start of a file
that sniffers look at). The registry of readers is :mod:`proteomics.io.registry`."""

from __future__ import annotations

import gzip
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .._text import decode_text, sniff_delimiter
from ..errors import InputError, close_path
from ..limits import check_regular_file
from .table import QuantTable

__all__ = ["Reader", "Peek", "peek", "PEEK_BYTES"]

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
        """The first line (header) of the file, or "" for an empty peek."""
        return self.lines[0] if self.lines else ""

    def columns(self, sep: str | None = None) -> list[str]:
        """Header fields split on ``sep`` (default: :func:`proteomics._text.sniff_delimiter`)."""
        h = self.header.lstrip("\ufeff")
        if sep is None:
            sep = sniff_delimiter(h)
        return [c.strip().strip('"') for c in h.split(sep)]


@dataclass(frozen=True)
class Reader:
    """A format: ``name``, what files it takes (``files``), ``sniff(peek) -> float``, ``read(path, **opts)``."""

    name: str
    files: str
    sniff: Callable[[Peek], float]
    read: Callable[..., QuantTable]
    level: str = "precursor"


def peek(path: str | os.PathLike) -> Peek:
    """Read and decode the first bytes of ``path`` (gzip-aware), with clear errors for unusable files."""
    path = Path(path)
    if not path.exists():
        raise InputError("file not found", path=path, hint=close_path(path) + "check the path (relative paths are from the working "
                                                           "directory or the config file's folder)")
    if path.is_dir():
        raise InputError("is a directory, not a file", path=path, hint="give the file inside it")
    check_regular_file(path)  # a FIFO or a device would block or never end: refused before opening
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
    text = decode_text(raw, path, latin1=True, partial=True, hint="give the text export of your search engine")
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
