"""Exceptions of the package.

Every error a user can cause is an :class:`InputError` (a ``ValueError``) whose message reads
``path:line:column: what is wrong. Fix: how``. The CLI turns these into one line on stderr and exit code 2.
"""

from __future__ import annotations

import difflib
import itertools
import os
from pathlib import Path

__all__ = ["ProteomicsError", "InputError", "SignatureError", "ScoringRefused", "close_path"]


class ProteomicsError(ValueError):
    """Base class of every error raised on purpose by this package."""


class InputError(ProteomicsError):
    """Bad input: a file, a value or a setting the user can fix.

    Parameters
    ----------
    message : what is wrong (one sentence, no trailing period needed).
    path : the file concerned, if any.
    line, column : 1-based position in that file, when meaningful. ``column`` may be a column name.
    hint : how to fix it.
    """

    def __init__(self, message: str, *, path: str | os.PathLike | None = None, line: int | None = None,
                 column: int | str | None = None, hint: str | None = None):
        self.message = message.rstrip(". ")
        self.path = None if path is None else str(path)
        self.line = line
        self.column = column
        self.hint = hint
        super().__init__(self._format())

    def _format(self) -> str:
        where = ""
        if self.path is not None:
            where = self.path
            if self.line is not None:
                where += f":{self.line}"
                if self.column is not None:
                    where += f":{self.column}"
            elif self.column is not None:
                where += f": column {self.column!r}"
            where += ": "
        text = f"{where}{self.message}."
        if self.hint:
            text += f" Fix: {self.hint.rstrip('. ')}."
        return text.replace("\n", " ")


class SignatureError(InputError):
    """A signature file that fails its checksum, its schema or its version check."""


class ScoringRefused(InputError):
    """Nothing could be scored; ``reasons`` lists every reason."""

    def __init__(self, reasons: list[str], *, path=None, hint: str | None = None):
        self.reasons = list(reasons)
        super().__init__("scoring refused: " + "; ".join(self.reasons), path=path, hint=hint)


def close_path(path: str | os.PathLike) -> str:
    """For a path that does not exist: "did you mean 'DIR/NAME'? " (a close spelling among the first 5,000
    entries of its folder), "the folder 'DIR' does not exist; " or "". Prefixed to a not-found error's fix."""
    p = Path(path)
    parent = p.parent
    if not parent.is_dir():
        return f"the folder {str(parent)!r} does not exist; "
    try:
        names = [c.name for c in itertools.islice(parent.iterdir(), 5000)]
    except OSError:
        return ""
    close = difflib.get_close_matches(p.name, names, n=1, cutoff=0.75)
    return f"did you mean {str(parent / close[0])!r}? " if close else ""
