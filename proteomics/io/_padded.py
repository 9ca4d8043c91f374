"""Short rows made whole: a byte stream of a table in which rows that lack trailing fields get them (empty)."""

from __future__ import annotations

import gzip
import io
from pathlib import Path
from typing import Protocol

from ..errors import InputError

__all__ = ["Padded"]


class Table(Protocol):
    """What is read of an opened table (:class:`proteomics.io._tabular.Source` has it)."""

    path: Path
    sep: str
    encoding: str
    gzipped: bool
    quoted: bool

    @property
    def n_header_fields(self) -> int: ...


class Padded(io.RawIOBase):
    """A UTF-8 byte stream of ``src`` in which short rows get their missing trailing fields (empty).

    Refuses (``error`` is set and the stream ends) a short row that lacks a used field (index ≤
    ``max_used``) unless ``pad_used``, and a short last row without a final newline (truncated file)."""

    def __init__(self, src: Table, max_used: int, pad_used: bool):
        super().__init__()
        self.src, self.max_used, self.pad_used = src, max_used, pad_used
        self.n_padded = 0
        self.error: InputError | None = None
        self._buf = b""
        self._it = self._chunks()

    def readable(self):
        return True

    def readinto(self, b):
        while not self._buf:
            try:
                self._buf = next(self._it)
            except StopIteration:
                return 0
        n = min(len(b), len(self._buf))
        b[:n] = self._buf[:n]
        self._buf = self._buf[n:]
        return n

    def _lines(self):
        if self.src.encoding.startswith("utf-16"):
            with _binary(self.src) as raw, io.TextIOWrapper(raw, encoding=self.src.encoding, newline="") as fh:
                for line in fh:
                    yield line.encode("utf-8")
        else:
            with _binary(self.src) as fh:
                yield from fh

    def _chunks(self):
        sep = self.src.sep.encode()
        n = self.src.n_header_fields
        out: list[bytes] = []
        size = 0
        try:
            for lineno, line in enumerate(self._lines(), start=1):
                k = line.count(sep) + 1
                if lineno > 1 and k < n and line.strip() and not (self.src.quoted and b'"' in line):
                    if not line.endswith(b"\n"):
                        self.error = InputError(f"row has {k} fields but the header has {n} (truncated file)",
                                                path=self.src.path, line=lineno,
                                                hint="the file is cut short; re-export or re-copy it")
                        return
                    if k - 1 < self.max_used and not self.pad_used:
                        self.error = InputError(f"row has {k} fields but the header has {n} (truncated row)",
                                                path=self.src.path, line=lineno,
                                                hint="re-export the file; this row is cut short")
                        return
                    line = line.rstrip(b"\r\n") + sep * (n - k) + b"\n"
                    self.n_padded += 1
                out.append(line)
                size += len(line)
                if size >= 1 << 22:
                    yield b"".join(out)
                    out, size = [], 0
        except (OSError, EOFError, UnicodeDecodeError) as exc:
            self.error = InputError(f"cannot read file ({exc})", path=self.src.path,
                                    hint="check that the file is complete and its encoding is UTF-8 or UTF-16")
            return
        if out:
            yield b"".join(out)


def _binary(src: Table):
    if src.gzipped:
        return gzip.open(src.path, "rb")
    return open(src.path, "rb")
