"""Reader contract (DESIGN.md), parametrised over every registered reader (READERS + FALLBACK).

For each reader, on its example file (tests/io/examples.py): sniff accepts it and the other readers' sniffs
reject it; reading leaves the input bytes unchanged; an empty file, a truncated file, a missing required
column, mixed decimal marks and a duplicated run/intensity column all raise InputError naming the path (and
line/column where meaningful).
"""

from __future__ import annotations

import gzip
import hashlib
import re
import shutil
from pathlib import Path

import pytest

from proteomics.errors import InputError
from proteomics.io import read
from proteomics.io.registry import FALLBACK, READERS, detect, peek
from proteomics.io.table import QuantTable
from tests.io.examples import COLUMNS, example

ALL = sorted(READERS) + sorted(FALLBACK)
TOOL = sorted(READERS)


def _reader(name):
    return READERS.get(name) or FALLBACK[name]


def _text_copy(src: Path, dst_dir: Path) -> tuple[Path, str]:
    """Plain-text copy of ``src`` (gunzipped) and its text."""
    raw = gzip.open(src).read() if src.name.endswith(".gz") else src.read_bytes()
    name = src.name[:-3] if src.name.endswith(".gz") else src.name
    dst = dst_dir / name
    dst.write_bytes(raw)
    return dst, raw.decode("utf-8-sig")


def _sep(header: str) -> str:
    return "\t" if "\t" in header else ","


def _split(text: str) -> tuple[list[str], str]:
    nl = "\r\n" if "\r\n" in text[:10000] else "\n"
    return text.split(nl), nl


def test_every_registered_reader_has_an_example():
    """A reader without an example file would escape every contract test below: that is a failure, not a skip."""
    from tests.io.examples import EXAMPLES, SYNTHETIC

    missing = sorted(set(ALL) - set(EXAMPLES) - set(SYNTHETIC))
    assert not missing, f"readers without an example in tests/io/examples.py: {missing}"
    assert not set(EXAMPLES) - set(ALL), "examples.py names a reader that is not registered"


@pytest.mark.parametrize("name", ALL)
def test_reader_module_dialect(name):
    """One dialect: reader NAME is ``read_NAME`` and ``sniff_NAME`` of its module, both in its ``__all__``."""
    import sys

    reader = _reader(name)
    for kind, fn in (("read", reader.read), ("sniff", reader.sniff)):
        assert fn.__name__ == f"{kind}_{name}", fn.__name__
        module = sys.modules[fn.__module__]
        assert getattr(module, fn.__name__) is fn and fn.__name__ in module.__all__


def test_readers_are_written_out_before_any_read():
    """READERS is a literal dict, complete on import (no registration by import side effect)."""
    import subprocess
    import sys

    code = "from proteomics.io.registry import READERS, FALLBACK; print(len(READERS), len(FALLBACK))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert [int(x) for x in out] == [len(READERS), len(FALLBACK)] and len(READERS) >= 15


@pytest.mark.parametrize("name", ALL)
def test_sniff_accepts_own_example(name, tmp_path):
    path = example(name, tmp_path)
    if name in FALLBACK:
        assert detect(path) == name  # no tool format claims it, the fallback takes it
    else:
        assert _reader(name).sniff(peek(path)) > 0
        assert detect(path) == name


@pytest.mark.parametrize("name", TOOL)
def test_sniff_rejects_other_examples(name, tmp_path):
    mine = _reader(name)
    for other in ALL:
        if other == name:
            continue
        path = example(other, tmp_path / other) if other in ("diann_pr_matrix", "fragpipe_combined_peptide") \
            else _maybe(other, tmp_path)
        if path is None:
            continue
        assert mine.sniff(peek(path)) == 0, f"{name} claims the example of {other}"


def _maybe(name, tmp_path):
    try:
        return example(name, tmp_path / name)
    except pytest.skip.Exception:
        return None


@pytest.mark.parametrize("name", ALL)
def test_reading_leaves_input_unchanged(name, tmp_path):
    path = example(name, tmp_path)
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    stat = path.stat()
    qt = read(path, format=name)
    assert isinstance(qt, QuantTable) and len(qt.data) > 0
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before
    assert path.stat().st_mtime_ns == stat.st_mtime_ns


@pytest.mark.parametrize("name", ALL)
def test_empty_file(name, tmp_path):
    example(name, tmp_path)  # skip consistently when the example is absent
    f = tmp_path / "empty.txt"
    f.write_bytes(b"")
    with pytest.raises(InputError) as err:
        read(f, format=name)
    assert str(f) in str(err.value)


@pytest.mark.parametrize("name", ALL)
def test_truncated_file(name, tmp_path):
    path = example(name, tmp_path / "src")
    if path.suffix == ".parquet":
        raw = path.read_bytes()
        f = tmp_path / "cut.parquet"
        f.write_bytes(raw[: len(raw) // 2])
        with pytest.raises(InputError) as err:
            read(f, format=name)
        assert str(f) in str(err.value)
        return
    f, text = _text_copy(path, tmp_path)
    lines, nl = _split(text)
    while lines and not lines[-1].strip():
        lines.pop()
    last = lines[-1]
    sep = _sep(lines[0])
    if sep in last:  # cut the last row in the middle of its fields, no final newline
        fields = last.split(sep)
        cut = sep.join(fields[: max(1, len(fields) // 2)])
    else:  # XML and the like: cut the file in half
        cut = None
    if cut is None:
        f.write_text(text[: len(text) // 2], encoding="utf-8")
    else:
        f.write_text(nl.join(lines[:-1] + [cut]), encoding="utf-8")
    with pytest.raises(InputError) as err:
        read(f, format=name)
    assert str(f) in str(err.value)
    if cut is not None:
        assert err.value.line == len(lines), err.value


def _rename_header_field(text: str, old: str, new: str) -> str:
    lines, nl = _split(text)
    sep = _sep(lines[0])
    fields = lines[0].split(sep)
    idx = [i for i, c in enumerate(fields) if c.strip().strip('"') == old]
    assert idx, f"{old!r} not in header"
    fields[idx[0]] = fields[idx[0]].replace(old, new)
    lines[0] = sep.join(fields)
    return nl.join(lines)


@pytest.mark.parametrize("name", [n for n in ALL if n in COLUMNS])
def test_missing_required_column(name, tmp_path):
    path = example(name, tmp_path / "src")
    required, _ = COLUMNS[name]
    f, text = _text_copy(path, tmp_path)
    if name in FALLBACK:  # the wide matrix has no fixed names: drop its id column from every row
        lines, nl = _split(text)
        sep = _sep(lines[0])
        f.write_text(nl.join(sep.join(ln.split(sep)[1:]) for ln in lines), encoding="utf-8")
    else:
        f.write_text(_rename_header_field(text, required, required + "_x"), encoding="utf-8")
    with pytest.raises(InputError) as err:
        read(f, format=name)
    msg = str(err.value)
    assert str(f) in msg and (required in msg or name in FALLBACK)
    assert err.value.line == 1


@pytest.mark.parametrize("name", [n for n in ALL if n in COLUMNS])
def test_mixed_decimal_marks(name, tmp_path):
    """One intensity written with a decimal comma in an otherwise dot-decimal file → refused at its line."""
    path = example(name, tmp_path / "src")
    _, col = COLUMNS[name]
    f, text = _text_copy(path, tmp_path)
    lines, nl = _split(text)
    sep = _sep(lines[0])
    header = [c.strip().strip('"') for c in lines[0].split(sep)]
    j = header.index(col)
    # the first data row whose value in `col` is a plain number: give it a decimal comma
    for i in range(1, len(lines)):
        fields = lines[i].split(sep)
        if j < len(fields) and re.fullmatch(r"\d+(\.\d+)?", fields[j].strip('"')) and float(fields[j].strip('"')):
            v = fields[j].strip('"')
            v = v.replace(".", ",") if "." in v else v + ",5"
            fields[j] = f'"{v}"' if sep == "," else v
            lines[i] = sep.join(fields)
            break
    else:
        pytest.skip(f"no plain number in column {col!r}")
    # make sure the file also holds a dot decimal in a numeric column read by the reader: add it to the
    # same column on another row when the column has only integers
    has_dot = any(re.fullmatch(r"\d+\.\d+", (ln.split(sep)[j] if j < len(ln.split(sep)) else "").strip('"'))
                  for ln in lines[1:])
    if not has_dot:
        for k in range(1, len(lines)):
            fields = lines[k].split(sep)
            if k != i and j < len(fields) and re.fullmatch(r"\d+", fields[j].strip('"')):
                fields[j] = fields[j].strip('"') + ".5"
                lines[k] = sep.join(fields)
                break
    f.write_text(nl.join(lines), encoding="utf-8")
    with pytest.raises(InputError) as err:
        read(f, format=name)
    assert str(f) in str(err.value)
    assert "decimal" in str(err.value)
    assert err.value.line is not None


@pytest.mark.parametrize("name", [n for n in ALL if n in COLUMNS])
def test_duplicated_column(name, tmp_path):
    """The intensity/run column's name given to a second column too → refused, naming it."""
    path = example(name, tmp_path / "src")
    _, col = COLUMNS[name]
    f, text = _text_copy(path, tmp_path)
    lines, nl = _split(text)
    sep = _sep(lines[0])
    header = [c.strip().strip('"') for c in lines[0].split(sep)]
    j = header.index(col)
    # append a copy of the column (header and values) at the end of every row
    for i, ln in enumerate(lines):
        if ln.strip():
            fields = ln.split(sep)
            lines[i] = ln + sep + (fields[j] if j < len(fields) else "")
    f.write_text(nl.join(lines), encoding="utf-8")
    with pytest.raises(InputError) as err:
        read(f, format=name)
    assert str(f) in str(err.value)
    assert col in str(err.value)


@pytest.mark.parametrize("name", ALL)
def test_not_gzip_and_directory(name, tmp_path):
    path = example(name, tmp_path / "src")
    fake = tmp_path / "x.tsv.gz"  # named .gz but not gzip
    if path.name.endswith(".gz"):
        fake.write_bytes(gzip.open(path).read())
    else:
        shutil.copyfile(path, fake)
    with pytest.raises(InputError):
        read(fake, format=name)
    with pytest.raises(InputError):
        read(tmp_path, format=name)
