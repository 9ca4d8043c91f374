"""Property test: real files, mutated at random, fed to every tabular reader give a valid QuantTable or an
InputError, never another exception (bounded budget: 25 examples per reader, no deadline)."""

from __future__ import annotations

import gzip
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from proteomics.errors import InputError
from proteomics.io import read
from proteomics.io.registry import FALLBACK, READERS
from proteomics.io.table import QuantTable
from tests.conftest import SHARED_DATA
from tests.io.examples import EXAMPLES

_PSI = {"mztab", "mzid", "pepxml"}  # the PSI developer's readers have their own mutation tests
NAMES = [n for n in sorted(READERS) + sorted(FALLBACK) if n in EXAMPLES and n not in _PSI]
_MAX_BYTES = 120_000  # mutate the head of big files only (keeps the budget small)


def _head(name: str) -> bytes:
    path = SHARED_DATA / EXAMPLES[name][0]
    if not path.exists():
        pytest.skip(f"real-data file {path} is absent")
    if path.suffix == ".parquet":
        return path.read_bytes()
    raw = gzip.open(path).read() if path.name.endswith(".gz") else path.read_bytes()
    if len(raw) > _MAX_BYTES:
        raw = raw[: raw.rfind(b"\n", 0, _MAX_BYTES) + 1]
    return raw


_JUNK = st.sampled_from([b"\t", b",", b";", b'"', b"\n", b"\r\n", b"\x00", b"\xff\xfe", b"\xef\xbb\xbf", b"NaN",
                         b"inf", b"-1", b"1,5", b"1.5e400", b"", b"\t\t\t", b"CON__", b"REV__", b"\xe9", b"0"])


@st.composite
def mutations(draw):
    kind = draw(st.sampled_from(["cut", "insert", "delete", "dupline", "dropline", "swaplines", "replace"]))
    return kind, draw(st.floats(0, 1)), draw(st.floats(0, 1)), draw(_JUNK)


def _mutate(raw: bytes, m) -> bytes:
    kind, a, b, junk = m
    n = len(raw)
    i, j = sorted((int(a * n), int(b * n)))
    if kind == "cut":
        return raw[:i]
    if kind == "insert":
        return raw[:i] + junk + raw[i:]
    if kind == "delete":
        return raw[:i] + raw[min(j, i + 200):]
    if kind == "replace":
        return raw[:i] + junk + raw[i + 1:]
    lines = raw.split(b"\n")
    k, m2 = int(a * (len(lines) - 1)), int(b * (len(lines) - 1))
    if kind == "dupline":
        lines.insert(k, lines[k])
    elif kind == "dropline":
        del lines[k]
    else:
        lines[k], lines[m2] = lines[m2], lines[k]
    return b"\n".join(lines)


@pytest.mark.parametrize("name", NAMES)
def test_mutated_real_files_never_crash(name):
    raw = _head(name)
    suffix = Path(EXAMPLES[name][0]).suffix if not EXAMPLES[name][0].endswith(".gz") else ".txt"

    @settings(max_examples=25, deadline=None, derandomize=True,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(ms=st.lists(mutations(), min_size=1, max_size=3), gz=st.booleans())
    def check(ms, gz):
        data = raw
        for m in ms:
            data = _mutate(data, m)
        with tempfile.TemporaryDirectory() as d:
            f = Path(d) / (f"example{suffix}" + (".gz" if gz else ""))
            f.write_bytes(gzip.compress(data, mtime=0) if gz else data)
            try:
                out = read(f, format=name)
            except InputError:
                return
            assert isinstance(out, QuantTable)

    check()
