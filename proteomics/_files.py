"""Atomic file writing and checksums (standard library only, so every module may use it).

Every file the package writes goes to a temporary name in the destination folder and is renamed
into place, so a reader never sees a half-written file and an interrupted write leaves nothing.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from .errors import InputError

__all__ = ["atomic_path", "write_text", "write_bytes", "canonical_json", "sha256_file", "sha256_bytes"]


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, suffix: str = "") -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` when the block succeeds.

    On any exception the temporary file is removed and ``path`` is left as it was.
    """
    path = Path(path)
    if path.exists() and not path.is_file() and not path.is_dir():
        # a device or pipe (/dev/stdout, /dev/full …): write straight to it, never rename over it
        try:
            yield path
        except OSError as exc:
            raise InputError(f"cannot write output ({exc.strerror})", path=path,
                             hint="check free disk space and permissions") from None
        return
    if path.is_dir():
        raise InputError("output path is a directory", path=path, hint="give a file name")
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise InputError("output folder does not exist", path=folder, hint="create it or choose another output path")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix + ".tmp", dir=folder)
    except OSError as exc:
        raise InputError(f"cannot write here ({exc.strerror})", path=path,
                         hint="choose a writable output location") from None
    os.close(fd)
    tmp_path = Path(tmp)
    os.chmod(tmp_path, 0o666 & ~_umask())  # mkstemp makes 0600 files; outputs get the usual permissions
    try:
        yield tmp_path
        os.replace(tmp_path, path)
    except OSError as exc:
        tmp_path.unlink(missing_ok=True)
        raise InputError(f"cannot write output ({exc.strerror})", path=path,
                         hint="check free disk space and permissions") from None
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically."""
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())


def write_text(path: str | os.PathLike, text: str) -> None:
    """Write UTF-8 ``text`` to ``path`` atomically (LF line endings)."""
    write_bytes(path, text.encode("utf-8"))


def _clean_for_json(obj):
    """Turn numpy scalars/arrays, tuples and non-finite floats into plain JSON values (NaN → None)."""
    try:
        import numpy as np
    except ImportError:  # pragma: no cover
        np = None
    if isinstance(obj, dict):
        return {str(k): _clean_for_json(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_clean_for_json(v) for v in obj]
    if np is not None:
        if isinstance(obj, np.ndarray):
            return [_clean_for_json(v) for v in obj.tolist()]
        if isinstance(obj, np.bool_):
            return bool(obj)
        if isinstance(obj, np.integer):
            return int(obj)
        if isinstance(obj, np.floating):
            obj = float(obj)
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, Path):
        return str(obj)
    return obj


def canonical_json(obj, *, indent: int | None = 2) -> str:
    """JSON text with sorted keys, shortest round-trip floats, NaN/Inf written as null, trailing newline."""
    return json.dumps(_clean_for_json(obj), sort_keys=True, indent=indent, ensure_ascii=False,
                      allow_nan=False) + "\n"


def sha256_bytes(data: bytes) -> str:
    """Hex sha256 of ``data``."""
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    """Hex sha256 of a file's bytes, read in chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()
