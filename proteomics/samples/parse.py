"""Text of a sample sheet: decoding, delimiter sniffing, and rows with their 1-based line numbers."""

from __future__ import annotations

import csv
import io

from .._text import decode_text, sniff_delimiter
from ..errors import InputError

__all__ = ["decode_sheet", "parse_rows"]


def decode_sheet(data: bytes, path: str) -> str:
    """Text of a sheet: UTF-8 (with or without BOM) or UTF-16 (BOM, or NUL-byte pattern); else InputError
    (one rule for every text file: :func:`proteomics._text.decode_text`)."""
    return decode_text(data, path, hint="save the sheet as UTF-8 (e.g. 'CSV UTF-8' in Excel)")


def parse_rows(text: str, path: str) -> tuple[list[str], list[list[str]], list[int]]:
    """Header, data rows (padded to header width) and the 1-based line of each row; blank lines skipped."""
    lines = text.splitlines()
    first = next((i for i, ln in enumerate(lines) if ln.strip()), None)
    if first is None:
        raise InputError("the sample sheet is empty", path=path, line=1,
                         hint="add a header line (run, sample, subject, specimen, condition) and one row per run")
    delim = sniff_delimiter(lines[first])
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
