"""Text files as every reader of this package sees them: one rule for the encoding, one for decoding, one for
the delimiter (sample sheets, search-engine tables, PSI text formats).

* Encoding (:func:`sniff_encoding`): a byte-order mark says UTF-8 or UTF-16; without one, a NUL byte in every
  second position of the first four bytes says UTF-16 (little- or big-endian, as Excel's "Unicode text" writes);
  anything else is read as UTF-8.
* Decoding (:func:`decode_text`): strict in that encoding. NUL characters in the text (a binary file) are refused.
  Where a caller accepts legacy files (``latin1=True``), text that is not UTF-8 is read as Latin-1 instead of
  refused; a ``partial`` read (the first bytes of a file) may end inside a multi-byte character, which is dropped.
* Delimiter (:func:`sniff_delimiter`): a tab when the header line holds one (tab-separated tool exports may hold
  commas in column names), else the more frequent of comma and semicolon (a semicolon-separated sheet, as
  European Excel writes it, may hold a comma in a column name), comma on a tie; a tab when the line holds none of
  the three (a single column).
"""

from __future__ import annotations

import os

from .errors import InputError

__all__ = ["sniff_encoding", "decode_text", "sniff_delimiter"]

_BOMS = ((b"\xef\xbb\xbf", "utf-8-sig"), (b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16"))


def sniff_encoding(head: bytes) -> str:
    """Python codec name for text starting with ``head``: ``utf-8-sig``, ``utf-16`` (both with a byte-order
    mark), ``utf-16-le`` / ``utf-16-be`` (no mark, NUL-byte pattern) or ``utf-8``."""
    for bom, enc in _BOMS:
        if head.startswith(bom):
            return enc
    if len(head) >= 4 and head[1:2] == b"\x00" and head[3:4] == b"\x00" and head[0:1] != b"\x00":
        return "utf-16-le"
    if len(head) >= 4 and head[0:1] == b"\x00" and head[2:3] == b"\x00" and head[1:2] != b"\x00":
        return "utf-16-be"
    return "utf-8"


def decode_text(data: bytes, path: str | os.PathLike | None, *, latin1: bool = False, partial: bool = False,
                hint: str = "save the file as UTF-8 text") -> str:
    """``data`` as text (see the module docstring); the byte-order mark is dropped. Raises :class:`InputError`
    naming ``path`` (and the line of the first undecodable byte for UTF-8) for NUL bytes or undecodable text."""
    enc = sniff_encoding(data)
    if enc == "utf-8" and b"\x00" in data[:4096]:
        raise InputError("file holds NUL bytes (binary, not text)", path=path, line=1, hint=hint)
    try:
        text = data.decode(enc)
    except UnicodeDecodeError as exc:
        if partial and exc.start >= len(data) - 4:  # cut inside a character at the end of a partial read
            text = data[: exc.start].decode(enc)
        elif latin1 and enc.startswith("utf-8"):
            text = data.decode("latin-1")
        else:
            utf8 = enc.startswith("utf-8")
            line = data[: exc.start].count(b"\n") + 1 if utf8 else None
            name = "UTF-8" if utf8 else enc.upper()
            raise InputError(f"the file is not valid {name} text (undecodable byte at offset {exc.start})",
                             path=path, line=line, hint=hint) from None
    if "\x00" in text:
        raise InputError("file holds NUL characters (binary or unsupported encoding)", path=path, hint=hint)
    return text.lstrip("\ufeff")


def sniff_delimiter(header: str) -> str:
    """The field delimiter of a header line: tab, comma or semicolon (see the module docstring)."""
    commas, semicolons = header.count(","), header.count(";")
    if "\t" in header or not (commas or semicolons):
        return "\t"
    return ";" if semicolons > commas else ","
