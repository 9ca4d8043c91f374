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
from collections.abc import Iterable, Iterator
from contextvars import ContextVar
from pathlib import Path

from .errors import InputError

__all__ = ["atomic_path", "never_replace", "write_text", "write_bytes", "canonical_json", "sha256_file", "sha256_bytes"]


#: outputs that must not replace an existing file (set by :func:`never_replace`)
_KEEP: ContextVar[frozenset[Path]] = ContextVar("proteomics_keep", default=frozenset())


@contextlib.contextmanager
def never_replace(paths: Iterable[str | os.PathLike]) -> Iterator[None]:
    """Within the block, an atomic write to one of ``paths`` puts its file in place only if none is there: a
    file that appeared after the command checked its outputs (another process writing the same name) is left
    as it was, and the write is refused. Commands use it unless ``--force``."""
    token = _KEEP.set(_KEEP.get() | {Path(os.fspath(p)).absolute() for p in paths})
    try:
        yield
    finally:
        _KEEP.reset(token)


def _place_new(tmp: Path, path: Path) -> None:
    """Rename ``tmp`` to ``path`` only if ``path`` does not exist (a hard link cannot replace a file)."""
    try:
        os.link(tmp, path)
    except FileExistsError:
        raise InputError("output file appeared while this command ran; it was left as it was", path=path,
                         hint="run again with --force to replace it, or choose another output name") from None
    except OSError:  # a filesystem without hard links: check, then rename (a narrow window remains)
        if os.path.lexists(path):
            raise InputError("output file appeared while this command ran; it was left as it was", path=path,
                             hint="run again with --force to replace it, or choose another output name") from None
        os.replace(tmp, path)
        return
    tmp.unlink()


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
        if path.absolute() in _KEEP.get():
            _place_new(tmp_path, path)
        else:
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
