"""Atomic table writers, inspect() and formats()."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from proteomics.errors import InputError
from proteomics.io import formats, inspect, read
from proteomics.io.write import table_to_tsv_text, write_parquet, write_table, write_tsv
from tests.conftest import need_shared


@settings(max_examples=30, deadline=None)
@given(st.lists(st.floats(allow_nan=True, allow_infinity=False, width=64), min_size=1, max_size=20))
def test_tsv_floats_round_trip_exactly(values):
    df = pd.DataFrame({"protein_group": [f"P{i}" for i in range(len(values))], "x": values})
    text = table_to_tsv_text(df)
    back = [line.split("\t")[1] for line in text.splitlines()[1:]]
    got = np.array([float(v) if v else np.nan for v in back])
    np.testing.assert_array_equal(got, np.array(values, dtype=float))  # NaN == NaN here, bit-exact values


def test_tsv_layout(tmp_path):
    df = pd.DataFrame({"protein_group": ["A", "B"], "s1": [0.1, np.nan], "n": [1, 2], "flag": [True, False]})
    f = tmp_path / "m.tsv"
    write_tsv(df, f)
    assert f.read_bytes() == b"protein_group\ts1\tn\tflag\nA\t0.1\t1\ttrue\nB\t\t2\tfalse\n"


def test_tsv_refuses_tabs_in_values(tmp_path):
    with pytest.raises(InputError, match="tab"):
        write_tsv(pd.DataFrame({"a": ["x\ty"]}), tmp_path / "t.tsv")


def test_writes_are_atomic_and_byte_identical(tmp_path):
    df = pd.DataFrame({"protein_group": ["A", "B"], "s1": [1 / 3, 2.5e-300]})
    a, b = tmp_path / "a.parquet", tmp_path / "b.parquet"
    write_table(df, a)
    write_table(df, b)
    assert a.read_bytes() == b.read_bytes()
    pd.testing.assert_frame_equal(pd.read_parquet(a), df)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.parquet", "b.parquet"]  # no temp files left
    with pytest.raises(InputError, match="folder does not exist"):
        write_parquet(df, tmp_path / "nope" / "x.parquet")


def test_reading_twice_gives_identical_output(tmp_path):
    path = need_shared("proteobench_hye", "DIANN_1.9_beta_sample_report.tsv")
    out = []
    for k in range(2):
        f = tmp_path / f"t{k}.tsv"
        write_tsv(read(path).data, f)
        out.append(hashlib.sha256(f.read_bytes()).hexdigest())
    assert out[0] == out[1]


def test_inspect_and_formats():
    path = need_shared("proteuslabelfree_maxquant", "proteinGroups.txt.gz")
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    info = inspect(path)
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before
    assert info["format"] == "maxquant_proteingroups" and info["level"] == "protein"
    assert info["n_runs"] == 14 and info["runs"][:2] == ["A-1", "A-2"]  # SOURCES.md: A-1..A-7, B-1..B-7
    assert info["candidates"] == ["maxquant_proteingroups"]
    json.dumps(info)  # JSON-serialisable as `proteomics inspect --json` prints it
    fm = formats()
    names = [f["name"] for f in fm]
    assert {"diann_report", "maxquant_proteingroups", "fragpipe_psm", "spectronaut", "generic"} <= set(names)
    assert fm[-1]["name"] == "generic" and fm[-1]["fallback"] is True
    assert all(set(f) == {"name", "files", "level", "fallback"} for f in fm)
