"""Exceptions of the package.

Every error a user can cause is an :class:`InputError` (a ``ValueError``) whose message reads
``path:line:column: what is wrong. Fix: how``. The CLI turns these into one line on stderr and exit code 2.
"""

from __future__ import annotations

import os

__all__ = ["ProteomicsError", "InputError", "SignatureError", "ScoringRefused"]


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
