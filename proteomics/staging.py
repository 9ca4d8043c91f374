"""Output staging: results are built in a hidden folder beside the destination and renamed into place.

- The staging folder is a sibling named ``.<out>.partial-<pid>-<start>`` (process id and its start time), so a
  later run recognises the leftovers of a killed process (``SIGKILL``) and removes them.
- The final rename never replaces a folder that appeared meanwhile (another run writing the same ``-o``): on
  Linux it is ``renameat2(RENAME_NOREPLACE)``; elsewhere the name is reserved with ``mkdir`` first. The loser
  refuses with exit 2 and leaves the winner's folder untouched.
- ``force`` swaps the new folder with the old one atomically (``RENAME_EXCHANGE``) and removes the old one, so
  no moment exists without a results folder and no hidden ``.old`` copy is left behind. Only folders may be
  replaced (:func:`proteomics.guard.check_outputs` decides which ones).
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import os
import re
import shutil
import signal
from collections.abc import Iterator
from pathlib import Path

from .errors import InputError

__all__ = ["staged_output_dir", "remove_stale_staging"]

_NOREPLACE, _EXCHANGE = 1, 2
_AT_FDCWD = -100


def _start_time(pid: int) -> str:
    """The process's start time in clock ticks since boot (Linux), or "" when unknown."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            stat = fh.read()
        return stat[stat.rindex(b")") + 2:].split()[19].decode()
    except (OSError, IndexError, ValueError):
        return ""


def _token(pid: int | None = None) -> str:
    pid = os.getpid() if pid is None else pid
    start = _start_time(pid)
    return f"{pid}-{start}" if start else str(pid)


def _alive(pid: int, start: str) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return not start or not _start_time(pid) or _start_time(pid) == start


def remove_stale_staging(out: Path) -> list[Path]:
    """Remove ``.<out>.partial-*`` / ``.<out>.old-*`` siblings left by processes that no longer run."""
    out = Path(out)
    parent = out.parent if str(out.parent) else Path(".")
    pattern = re.compile(rf"^\.{re.escape(out.name)}\.(?:partial|old)-(\d+)(?:-(\d+))?$")
    removed = []
    try:
        entries = list(os.scandir(parent))
    except OSError:
        return removed
    for e in entries:
        m = pattern.match(e.name)
        if m and not _alive(int(m.group(1)), m.group(2) or ""):
            p = Path(parent, e.name)
            if e.is_dir(follow_symlinks=False):
                shutil.rmtree(p, ignore_errors=True)
            else:
                with contextlib.suppress(OSError):
                    p.unlink()
            removed.append(p)
    return removed


def _renameat2(src: Path, dst: Path, flags: int) -> bool:
    """``renameat2`` (Linux); False when the system lacks it (then the caller falls back)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        fn = libc.renameat2
    except (OSError, AttributeError):
        return False
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    if fn(_AT_FDCWD, os.fsencode(src), _AT_FDCWD, os.fsencode(dst), flags) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EINVAL, getattr(errno, "ENOTSUP", errno.EINVAL)):
        return False
    raise OSError(err, os.strerror(err), str(dst))


def _place(tmp: Path, out: Path) -> None:
    """Rename ``tmp`` to ``out``, refusing if ``out`` exists (atomically where the system allows it)."""
    if _renameat2(tmp, out, _NOREPLACE):
        return
    os.mkdir(out)  # reserve the name (FileExistsError if taken), then replace the empty reservation
    os.replace(tmp, out)


def _swap(tmp: Path, out: Path, old: Path) -> None:
    """Put ``tmp`` in place of the existing folder ``out``; the previous contents end in ``old`` (removed)."""
    if _renameat2(tmp, out, _EXCHANGE):
        os.rename(tmp, old)  # tmp now holds the previous results
    else:
        os.rename(out, old)
        try:
            _place(tmp, out)
        except OSError:
            with contextlib.suppress(OSError):
                os.rename(old, out)  # put the previous results back
            raise
    shutil.rmtree(old, ignore_errors=True)


@contextlib.contextmanager
def staged_output_dir(out: Path, force: bool = False) -> Iterator[Path]:
    """Yield a hidden temporary folder beside ``out``; on success rename it to ``out``.

    Refuses an existing ``out`` unless ``force`` (and then only a folder). On any error, KeyboardInterrupt or
    SIGTERM the temporary folder is removed and ``out`` is left as it was.
    """
    out = Path(out)
    if out.name in ("", ".", ".."):
        raise InputError("output folder needs a name", path=out, hint="give a new folder, e.g. -o results/run1")
    if os.path.lexists(out) and (not force or out.is_symlink() or not out.is_dir()):
        raise InputError("output folder already exists" if not force else "output exists and is not a folder",
                         path=out, hint="choose another output folder" + ("" if force else ", or add --force"))
    parent = out.parent if str(out.parent) else Path(".")
    try:
        parent.mkdir(parents=True, exist_ok=True)
        remove_stale_staging(out)
        tmp = Path(parent, f".{out.name}.partial-{_token()}")
        if tmp.exists():
            shutil.rmtree(tmp)
        tmp.mkdir()
    except OSError as exc:
        raise InputError(f"cannot create the results folder ({exc.strerror})", path=out,
                         hint="choose a writable output location") from None

    previous = None

    def _term(signum, frame):  # turn SIGTERM into an exception so the cleanup below runs
        raise KeyboardInterrupt(f"signal {signum}")

    try:
        previous = signal.signal(signal.SIGTERM, _term)
    except ValueError:  # not in the main thread
        previous = None
    try:
        yield tmp
        try:
            if force and out.is_dir() and not out.is_symlink():
                _swap(tmp, out, Path(parent, f".{out.name}.old-{_token()}"))
            else:
                _place(tmp, out)
        except OSError as exc:
            if exc.errno in (errno.EEXIST, errno.ENOTEMPTY, errno.ENOTDIR, errno.ENOENT):
                raise InputError("output folder was created by another process while this one was working; "
                                 "it was left as it is", path=out,
                                 hint="rerun with another output folder (or --force to replace it)") from None
            raise InputError(f"cannot move the results into place ({exc.strerror})", path=out) from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
