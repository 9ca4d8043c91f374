"""Output staging: results are built in a hidden folder beside the destination and renamed into place.

An interrupted or failed command leaves no results folder behind, and an existing folder is replaced only with
``force`` (the old folder is moved aside first and removed after the new one is in place).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
from collections.abc import Iterator
from pathlib import Path

from .errors import InputError

__all__ = ["staged_output_dir"]


@contextlib.contextmanager
def staged_output_dir(out: Path, force: bool = False) -> Iterator[Path]:
    """Yield a hidden temporary folder beside ``out``; on success rename it to ``out``.

    Refuses an existing ``out`` unless ``force``. On any error, KeyboardInterrupt or SIGTERM the temporary
    folder is removed and ``out`` is left as it was.
    """
    out = Path(out)
    if out.exists() and not force:
        raise InputError("results folder already exists", path=out,
                         hint="choose another --out, or add --force to replace it")
    parent = out.parent if str(out.parent) else Path(".")
    try:
        parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(parent, f".{out.name}.partial-{os.getpid()}")
        if tmp.exists():
            shutil.rmtree(tmp)
        tmp.mkdir()
    except OSError as exc:
        raise InputError(f"cannot create the results folder ({exc.strerror})", path=out,
                         hint="choose a writable --out location") from None

    previous = None

    def _term(signum, frame):  # turn SIGTERM into an exception so the cleanup below runs
        raise KeyboardInterrupt(f"signal {signum}")

    try:
        previous = signal.signal(signal.SIGTERM, _term)
    except ValueError:  # not in the main thread
        previous = None
    try:
        yield tmp
        if out.exists():
            old = Path(parent, f".{out.name}.old-{os.getpid()}")
            os.replace(out, old)
            os.replace(tmp, out)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
