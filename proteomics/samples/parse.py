"""Text of a sample sheet: decoding, delimiter sniffing, and rows with their 1-based line numbers."""

from __future__ import annotations

import csv
import io

from ..errors import InputError

__all__ = ["decode_sheet", "sniff_delimiter", "parse_rows"]

def decode_sheet(data: bytes, path: str) -> str:
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


def sniff_delimiter(header: str) -> str:
    counts = {d: header.count(d) for d in ("\t", ",", ";")}
    best = max(counts, key=lambda d: (counts[d], d == "\t"))
    return best if counts[best] else ","


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
