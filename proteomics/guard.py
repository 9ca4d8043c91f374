"""The one rule that protects inputs: no command writes to, replaces or deletes a path it read, or a folder
holding one. Every command calls :func:`check_outputs` before doing any work; :func:`check_name` keeps names
taken from a config or a sheet from becoming paths.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from pathlib import Path

from .errors import InputError

__all__ = ["check_outputs", "check_name", "RESULT_MARKERS"]

#: a folder is replaced by ``--force`` only when it is empty or was written by this package (one of these files)
RESULT_MARKERS = ("run.json", "signature.json", "stratifier.json", "validation_metrics.json", "cv_metrics.json",
                  "stratify_metrics.json")

_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]{0,127}")


def _real(p: str | os.PathLike) -> Path:
    return Path(os.path.realpath(os.path.abspath(os.fspath(p))))


def _inside(child: Path, folder: Path) -> bool:
    return child == folder or folder in child.parents


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def check_outputs(*, inputs: Iterable[str | os.PathLike | None], outputs: Iterable[str | os.PathLike] = (),
                  folders: Iterable[str | os.PathLike] = (), force: bool = False) -> None:
    """Refuse (InputError, before any work) when writing ``outputs`` (files, side files included) or
    (re)placing ``folders`` (results folders, replaced whole under ``--force``) would touch an input.

    - an output file may not be an input (same path, symlink or hard link) nor another output, and an existing
      one is refused without ``force`` (an earlier result is never replaced silently);
    - a results folder may not be, or contain, an input, the current folder or the filesystem root;
    - an existing results folder is refused without ``force``; with ``force`` it is replaced only when it is a
      folder this package wrote (holds one of :data:`RESULT_MARKERS`) or is empty.
    """
    ins = [(Path(os.fspath(p)), _real(p)) for p in inputs if p is not None and os.fspath(p) != ""]
    seen: dict[Path, Path] = {}
    for out in outputs:
        o = Path(os.fspath(out))
        ro = _real(o)
        if os.path.exists(ro) and not ro.is_file() and not ro.is_dir():
            continue  # a device (/dev/stdout, /dev/null) is written to, never replaced
        if ro in seen:
            raise InputError(f"two outputs would be written to the same file ({seen[ro]} and {o})", path=o,
                             hint="give the output a name whose side files do not collide (e.g. scores.tsv)")
        seen[ro] = o
        for given, real in ins:
            if real == ro or _same_file(real, ro):
                raise InputError(f"output would overwrite the input {given}", path=o,
                                 hint="write the output to another file; inputs are never modified")
            if _inside(real, ro):
                raise InputError(f"output path is a folder holding the input {given}", path=o,
                                 hint="give a new file name")
        if not force and os.path.lexists(o):
            raise InputError("output file already exists", path=o,
                             hint="choose another name, or add --force to replace it (earlier results are never "
                                  "replaced silently)")
    cwd = _real(".")
    for folder in folders:
        f = Path(os.fspath(folder))
        rf = _real(f)
        for given, real in ins:
            if _inside(real, rf):
                raise InputError(f"results folder holds the input {given}; writing there could replace it",
                                 path=f, hint="choose a new results folder (inputs are never modified)")
            if _inside(rf, real):
                raise InputError(f"results folder would be inside the input file {given}", path=f)
        if str(f) in ("", ".", "..") or rf == Path(rf.anchor) or _inside(cwd, rf) or rf == _real(Path.home()):
            raise InputError("results folder would be the current folder, one of its parents, the home folder or "
                             "the filesystem root", path=f, hint="give a new folder name, e.g. --out results/run1")
        if os.path.lexists(f):
            if not force:
                raise InputError("output folder already exists", path=f,
                                 hint="choose another output folder, or add --force to replace it")
            if f.is_symlink() or not f.is_dir():
                raise InputError("output exists and is not a folder; --force replaces results folders only",
                                 path=f, hint="choose another output name, or remove that file yourself")
            try:
                entries = {p.name for p in os.scandir(f)}
            except OSError as exc:
                raise InputError(f"cannot read the existing output folder ({exc.strerror})", path=f) from None
            if entries and not entries & set(RESULT_MARKERS):
                raise InputError("output folder exists and was not written by proteomics; --force replaces only "
                                 "its own results folders", path=f,
                                 hint="choose another output folder, or remove that folder yourself")


def check_name(value: str, *, key: str, path=None, line: int | None = None) -> str:
    """A name from a config or a sheet used in a file or folder name: letters, digits, ``. _ + -``, not
    starting with a dot or a dash, at most 128 characters — never a path."""
    if not isinstance(value, str) or not _NAME_RE.fullmatch(value) or value in (".", ".."):
        raise InputError(f"{key} {value!r} is not a plain name (letters, digits, '.', '_', '+', '-'; no folders)",
                         path=path, line=line, hint=f"give {key} as a simple name such as 'plasma_run1'")
    return value
