"""Reading search-engine output into :class:`QuantTable` objects (long: run × entity, linear intensities).

``read(path, format="auto")`` detects the format from the file's content and returns a validated table.
``READERS`` (tool formats) and ``FALLBACK`` (the generic wide matrix) are the written-out registry in
:mod:`proteomics.io.registry`.
"""

from __future__ import annotations

from .registry import FALLBACK, READERS, Reader, detect, formats, inspect, read
from .table import QuantTable

__all__ = ["read", "detect", "inspect", "formats", "READERS", "FALLBACK", "Reader", "QuantTable"]
