"""Reading search-engine output into :class:`QuantTable` objects.

``read(path, format="auto")`` detects the format from the file's content and returns a validated table.
"""

from __future__ import annotations

from .registry import FALLBACK, READERS, Reader
from .registry import detect as _detect
from .table import QuantTable

__all__ = ["read", "detect", "inspect", "formats", "READERS", "FALLBACK", "Reader", "QuantTable"]


def detect(path) -> str:
    """Name of the reader for ``path`` (every reader module loaded first); see ``registry.detect``."""
    _load_readers()
    return _detect(path)


def inspect(path, format: str = "auto", **options) -> dict:
    """Summary of a file as ``proteomics inspect`` prints it (see ``proteomics.io.write.inspect``)."""
    from .write import inspect as _inspect

    return _inspect(path, format=format, **options)


def formats() -> list[dict]:
    """Every reader: ``name``, ``files``, ``level`` (see ``proteomics.io.write.formats``)."""
    from .write import formats as _formats

    return _formats()


def read(path, format: str = "auto", **options):
    """Read ``path`` (optionally gzipped) with the named reader, or the detected one when ``format='auto'``,
    into a :class:`QuantTable`.

    Options are passed to the reader (e.g. ``fdr=0.01``, ``keep_contaminants=False``, ``scale='auto'``).
    An AnnData file (``.h5ad``, as ``quantify -o x.h5ad`` or ``output: {anndata: true}`` write it) is already a
    protein matrix: it is returned as a :class:`~proteomics.dataset.Dataset` (samples × proteins, log2).
    """
    from ..errors import InputError

    if format in (None, "auto", "h5ad") and str(path).lower().endswith(".h5ad"):
        from .write import read_dataset

        return read_dataset(path)

    _load_readers()
    name = _detect(path) if format in (None, "auto") else format
    reader = READERS.get(name) or FALLBACK.get(name)
    if reader is None:
        raise InputError(f"unknown format {name!r}", hint=f"choose one of {', '.join(sorted(READERS) + sorted(FALLBACK))}")
    return reader.read(path, **options)


def _load_readers() -> None:
    """Import every reader module of this package (each calls ``registry.register``). Lazy: importing
    ``proteomics.io`` stays cheap, and nothing is registered at import time of the package."""
    import pkgutil
    from importlib import import_module

    for info in pkgutil.iter_modules(__path__):
        if not info.name.startswith("_") and info.name not in _NOT_READERS:
            import_module(f"{__name__}.{info.name}")


_NOT_READERS = frozenset({"registry", "table", "write", "sniffing"})
