"""Resource limits for untrusted input, in one place (the README's "Limits" section lists them).

Every input is treated as possibly hostile: files are opened without blocking and refused unless they are
regular files, signatures and configs are read up to a size limit, JSON nesting and YAML aliases are bounded,
and format detection peeks at a bounded number of decompressed bytes. Standard library (+ PyYAML) only, so
any module may use it.
"""

from __future__ import annotations

import json
import os
import re
import stat
import zipfile
from pathlib import Path
from typing import Any

from .errors import InputError, close_path

__all__ = ["MAX_SIGNATURE_BYTES", "MAX_CONFIG_BYTES", "MAX_JSON_DEPTH", "MAX_YAML_ALIASES", "MAX_YAML_NODES",
           "DETECT_PEEK_BYTES", "MAX_ABS_MODEL_VALUE", "check_regular_file", "read_limited", "loads_json",
           "safe_yaml_load", "read_config_text", "read_yaml", "MAX_SHEET_BYTES", "check_sheet_size"]

#: largest signature file read (bytes); a 5,000-protein panel with its preprocessing states is ~2 MiB
MAX_SIGNATURE_BYTES = 32 * 1024 * 1024
#: largest YAML config read (bytes)
MAX_CONFIG_BYTES = 1024 * 1024
#: deepest JSON nesting accepted in a signature (ours nest at most 6 levels)
MAX_JSON_DEPTH = 32
#: YAML: at most this many alias uses (``*name``) in one config, and this many nodes after expansion
MAX_YAML_ALIASES = 100
MAX_YAML_NODES = 100_000
#: largest sample sheet (bytes on disk; for .xlsx also the total unzipped size)
MAX_SHEET_BYTES = 64 * 1024 * 1024
#: decompressed bytes read to detect a file's format (the rest is streamed by the reader)
DETECT_PEEK_BYTES = 4 * 1024 * 1024
#: largest absolute value of a coefficient, intercept, scaler value or threshold in a signature
MAX_ABS_MODEL_VALUE = 1e6

_KIND = {stat.S_IFIFO: "a FIFO (named pipe)", stat.S_IFCHR: "a character device", stat.S_IFBLK: "a block device",
         stat.S_IFSOCK: "a socket", stat.S_IFDIR: "a directory"}


def check_regular_file(path: str | os.PathLike, *, what: str = "input") -> os.stat_result:
    """``os.stat`` of ``path`` (never opens it, so a FIFO cannot block); InputError unless a regular file."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise InputError(f"{what} file not found", path=path, hint=close_path(path) + "check the path") from None
    except OSError as exc:
        raise InputError(f"cannot read {what} ({exc.strerror})", path=path) from None
    if not stat.S_ISREG(st.st_mode):
        kind = _KIND.get(stat.S_IFMT(st.st_mode), "not a regular file")
        raise InputError(f"{what} is {kind}, not a regular file", path=path,
                         hint="give a regular file (copy a stream to a file first)")
    return st


def read_limited(path: str | os.PathLike, limit: int, *, what: str = "input") -> bytes:
    """The bytes of regular file ``path``, refusing non-regular files and files larger than ``limit`` bytes."""
    check_regular_file(path, what=what)
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        raise InputError(f"cannot read {what} ({exc.strerror})", path=path) from None
    with os.fdopen(fd, "rb") as fh:
        if not stat.S_ISREG(os.fstat(fh.fileno()).st_mode):  # replaced between stat and open
            raise InputError(f"{what} is not a regular file", path=path)
        data = fh.read(limit + 1)
    if len(data) > limit:
        raise InputError(f"{what} is larger than the limit of {limit // (1024 * 1024)} MiB", path=path,
                         hint=f"a genuine {what} is far smaller; check that this is the right file")
    return data


def loads_json(data: bytes, *, path=None, what: str = "JSON file", max_depth: int = MAX_JSON_DEPTH) -> Any:
    """Parse UTF-8 JSON bytes refusing duplicate keys, NaN/Infinity literals and nesting deeper than
    ``max_depth`` (checked before parsing, so no RecursionError)."""
    depth = _json_depth(data)
    if depth > max_depth:
        raise InputError(f"{what} is nested {depth} levels deep (limit {max_depth})", path=path,
                         hint=f"this is not a genuine {what}")

    def pairs(items):
        out = {}
        for k, v in items:
            if k in out:
                raise InputError(f"{what} has the key {k!r} twice", path=path,
                                 hint="a file written by this package never repeats a key")
            out[k] = v
        return out

    def bad_constant(name):
        raise InputError(f"{what} holds {name}, which is not a number", path=path,
                         hint="a file written by this package writes missing numbers as null")

    try:
        return json.loads(data.decode("utf-8"), object_pairs_hook=pairs, parse_constant=bad_constant)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise InputError(f"not valid JSON ({exc})", path=path) from None


def _json_depth(data: bytes) -> int:
    """Deepest bracket nesting of JSON text, ignoring brackets inside strings (C-speed scans)."""
    brackets = _JSON_STRING.sub(b"", data).translate(None, delete=_NOT_BRACKET)
    steps = brackets.translate(_STEP)
    depth = deepest = 0
    for b in steps:
        depth += 1 if b == 1 else -1
        if depth > deepest:
            deepest = depth
    return deepest


_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.S)
_NOT_BRACKET = bytes(b for b in range(256) if b not in b"[]{}")
_STEP = bytes.maketrans(b"[{]}", b"\x01\x01\x02\x02")


def safe_yaml_load(text: str, *, path=None) -> Any:
    """``yaml.safe_load`` with limits: no duplicate keys, at most :data:`MAX_YAML_ALIASES` alias uses and
    :data:`MAX_YAML_NODES` nodes after alias expansion (a "billion laughs" config is refused, not expanded)."""
    import yaml

    class _Loader(yaml.SafeLoader):
        pass

    n_alias = 0

    def compose_node(self, parent, index):
        nonlocal n_alias
        if self.check_event(yaml.AliasEvent):
            n_alias += 1
            if n_alias > MAX_YAML_ALIASES:
                mark = self.peek_event().start_mark
                raise InputError(f"config uses more than {MAX_YAML_ALIASES} YAML aliases", path=path,
                                 line=mark.line + 1, hint="write the values out instead of *aliases")
        return yaml.SafeLoader.compose_node(self, parent, index)

    _Loader.compose_node = compose_node
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _check_nodes(node, path)
        _check_duplicate_keys(node, path)
        return loader.construct_document(node)
    except RecursionError:
        raise InputError("config is nested too deeply", path=path, hint="a genuine config nests a few levels") from None
    finally:
        loader.dispose()


def _check_nodes(root, path) -> None:
    """Count nodes as the constructor would expand them (aliases counted at every use), stopping early."""
    import yaml

    memo: dict[int, int] = {}

    def size(n, stack) -> int:
        key = id(n)
        if key in memo:
            return memo[key]
        if key in stack:
            raise InputError("config holds a recursive YAML alias (a value that contains itself)", path=path,
                             line=n.start_mark.line + 1, hint="write the values out instead of *aliases")
        stack.add(key)
        total = 1
        if isinstance(n, yaml.SequenceNode):
            for c in n.value:
                total += size(c, stack)
                if total > MAX_YAML_NODES:
                    break
        elif isinstance(n, yaml.MappingNode):
            for k, v in n.value:
                total += size(k, stack) + size(v, stack)
                if total > MAX_YAML_NODES:
                    break
        stack.discard(key)
        memo[key] = total
        return total

    if size(root, set()) > MAX_YAML_NODES:
        raise InputError(f"config expands to more than {MAX_YAML_NODES:,} values (YAML aliases)", path=path,
                         hint="write the values out instead of nesting *aliases")


def _check_duplicate_keys(root, path) -> None:
    import yaml

    seen_nodes: set[int] = set()
    todo = [root]
    while todo:
        n = todo.pop()
        if id(n) in seen_nodes:
            continue
        seen_nodes.add(id(n))
        if isinstance(n, yaml.MappingNode):
            keys: dict[Any, int] = {}
            for k, v in n.value:
                if isinstance(k, yaml.ScalarNode):
                    if k.value in keys and k.value != "<<":
                        raise InputError(f"key {k.value!r} is given twice (first on line {keys[k.value]})",
                                         path=path, line=k.start_mark.line + 1,
                                         hint="keep one of them; YAML would silently use the last")
                    keys[k.value] = k.start_mark.line + 1
                todo.extend((k, v))
        elif isinstance(n, yaml.SequenceNode):
            todo.extend(n.value)


def read_config_text(path: str | os.PathLike, *, what: str = "config") -> str:
    """A YAML config's text: a regular file of at most :data:`MAX_CONFIG_BYTES`, UTF-8 (a BOM is dropped)."""
    data = read_limited(path, MAX_CONFIG_BYTES, what=what)
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        enc = " (it looks like UTF-16)" if data[:2] in (b"\xff\xfe", b"\xfe\xff") else ""
        line = data[: exc.start].count(b"\n") + 1
        raise InputError(f"{what} is not UTF-8 text{enc}: byte {exc.start} cannot be decoded", path=Path(path),
                         line=line, hint="save it as UTF-8") from None


def read_yaml(path: str | os.PathLike, *, what: str = "config") -> Any:
    """Read a YAML file with every limit above (size, UTF-8, aliases, expansion, duplicate keys); a syntax
    error is an InputError with line and column. Returns the parsed data (None for an empty file)."""
    import yaml

    text = read_config_text(path, what=what)
    try:
        return safe_yaml_load(text, path=path)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise InputError(f"invalid YAML ({getattr(exc, 'problem', None) or exc})", path=path,
                         line=mark.line + 1 if mark else None, column=mark.column + 1 if mark else None,
                         hint="fix the YAML syntax (indentation, colons, quotes)") from None


def check_sheet_size(path: str | os.PathLike) -> None:
    """Refuse a non-regular sample sheet, one larger than :data:`MAX_SHEET_BYTES`, or an .xlsx whose members
    unzip to more than that (a zip bomb)."""
    st = check_regular_file(path, what="sample sheet")
    if st.st_size > MAX_SHEET_BYTES:
        raise InputError(f"sample sheet is larger than {MAX_SHEET_BYTES // 2**20} MiB", path=path,
                         hint="a sample sheet lists runs: check that this is the right file")
    if str(path).lower().endswith((".xlsx", ".xlsm")):
        try:
            with zipfile.ZipFile(path) as z:
                total = sum(i.file_size for i in z.infolist())
        except (zipfile.BadZipFile, OSError):
            return  # the workbook reader reports the damage
        if total > MAX_SHEET_BYTES:
            raise InputError(f"workbook unzips to {total / 2**20:.0f} MiB (limit {MAX_SHEET_BYTES // 2**20} MiB)",
                             path=path, hint="save the sample sheet as CSV, or remove the other worksheets")
