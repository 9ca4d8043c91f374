"""Worker tasks of the Dask engine (``quant.distributed``): an on-disk shuffle by protein group with done-markers.

Everything a task produces is written under the job folder, so memory per worker is bounded by one task's
input and a job that is interrupted resumes from the markers already written:

``parts/part-NNNNN.parquet`` + ``parts/DONE.json``
    the DIA-NN report streamed into Parquet parts of ``rows_per_part`` rows (kept columns only);
``split/pNNNNNN.json`` (+ ``.hashes.npy``)
    part *i* read and FDR-filtered by the reader, its rows split into ``P`` buckets by a fixed hash of the
    protein group: ``buckets/bJJJJJ/pNNNNNN.parquet`` (rows in file order); the JSON is written last;
``results/bJJJJJ.json`` (+ ``.proteins.parquet``, ``.X.npy``, ``.npep.npy``)
    bucket *j* quantified by the local engine's code (``rollup.prepare`` + ``METHODS``).

Files are written to a temporary name and renamed, so a marker never points at a half-written file. No
pickle: NumPy arrays are ``.npy`` (loaded with ``allow_pickle=False``), tables Parquet, metadata JSON.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import InputError
from ..io.table import QuantTable

_HASH_COLS = ("run", "entity_id", "protein_group", "intensity")  # as rollup._table_sha


def _replace_into(path: Path, write) -> None:
    tmp = path.with_name(path.name + f".tmp{os.getpid()}")
    write(tmp)
    os.replace(tmp, path)


def _save_npy(path: Path, arr: np.ndarray) -> None:
    with open(path, "wb") as fh:
        np.save(fh, arr, allow_pickle=False)


def write_json(path: Path, obj) -> None:
    """Write ``obj`` as JSON to ``path`` atomically (a done-marker of the job folder)."""
    _replace_into(path, lambda p: p.write_text(json.dumps(obj)))


def read_json(path: Path):
    """The JSON at ``path``, or None when absent."""
    return json.loads(path.read_text()) if path.exists() else None


def error(exc: InputError) -> dict:
    """An InputError as a plain dict, to travel from a worker back to the client."""
    return {"error": exc.message, "line": exc.line, "column": exc.column, "hint": exc.hint}


def buckets_of(pg: pd.Series, n: int) -> np.ndarray:
    """Bucket of every row: a fixed (seedless, platform-independent) hash of the protein-group string mod n."""
    if isinstance(pg.dtype, pd.CategoricalDtype):
        cats = np.asarray(pg.cat.categories.astype(str), dtype=object)
        per = (pd.util.hash_array(cats) % np.uint64(n)).astype(np.int64)
        return per[pg.cat.codes.to_numpy()]
    vals = np.asarray(pg.astype(str), dtype=object)
    return (pd.util.hash_array(vals) % np.uint64(n)).astype(np.int64)


def split_part(source, i: int, fmt: str, read_options: dict, n_buckets: int, job: str) -> dict:
    """Read part ``i`` (a Parquet part path, or a DataFrame of canonical rows), write its rows into the bucket
    folders and its row hashes; returns ``{"runs", "level", "n_rows"}`` (or ``{"error"…}``). Skipped when its
    marker exists (resume)."""
    root = Path(job)
    marker = root / "split" / f"p{i:06d}.json"
    done = read_json(marker)
    if done is not None:
        return done
    try:
        if isinstance(source, pd.DataFrame):
            data = source
        else:
            from ..io import read

            data = read(source, fmt, **read_options).data
    except InputError as exc:
        if exc.message.startswith("no rows pass"):  # this part only: other parts may have passing rows
            return {**error(exc), "empty": True}
        return error(exc)
    cols = [c for c in _HASH_COLS if c in data.columns]
    hashes = pd.util.hash_pandas_object(data[cols].astype({"run": str}), index=False).to_numpy()
    (root / "split").mkdir(parents=True, exist_ok=True)
    _replace_into(root / "split" / f"p{i:06d}.hashes.npy", lambda p: _save_npy(p, hashes))
    b = buckets_of(data["protein_group"], n_buckets)
    order = np.argsort(b, kind="stable")  # rows of one bucket keep their file order
    bounds = np.searchsorted(b[order], np.arange(n_buckets + 1))
    for j in range(n_buckets):
        if bounds[j + 1] > bounds[j]:
            folder = root / "buckets" / f"b{j:05d}"
            folder.mkdir(parents=True, exist_ok=True)
            piece = data.iloc[order[bounds[j]:bounds[j + 1]]].reset_index(drop=True)
            _replace_into(folder / f"p{i:06d}.parquet", lambda p, piece=piece: piece.to_parquet(p, index=False))
    info = {"runs": [str(r) for r in pd.unique(data["run"].astype(str))],
            "level": str(data["level"].iloc[0]) if len(data) else None, "n_rows": int(len(data))}
    write_json(marker, info)
    return info


def quantify_bucket(job: str, j: int, fmt: str, path: str, level: str, mapping: dict, samples: list,
                    method: str, kw: dict, threads: dict | None = None) -> dict:
    """Quantify bucket ``j`` (all rows of its protein groups, in file order) and write its results; returns
    ``{"n": proteins}`` or an error dict. Skipped when its marker exists (resume).

    ``threads``: BLAS thread counts to use (the client's): OpenBLAS solves and matrix products give results
    that differ in the last bits with the thread count, and Dask workers start with one thread."""
    root = Path(job)
    marker = root / "results" / f"b{j:05d}.json"
    done = read_json(marker)
    if done is not None:
        return done
    folder = root / "buckets" / f"b{j:05d}"
    files = sorted(folder.glob("p*.parquet")) if folder.exists() else []
    if not files:
        marker.parent.mkdir(parents=True, exist_ok=True)
        write_json(marker, {"n": 0})
        return {"n": 0}
    if threads:
        from threadpoolctl import threadpool_limits

        with threadpool_limits(limits=threads):
            out = _quantify_pieces([pd.read_parquet(f) for f in files], fmt, path, level, mapping, samples,
                                   method, kw)
    else:
        out = _quantify_pieces([pd.read_parquet(f) for f in files], fmt, path, level, mapping, samples, method, kw)
    if "error" in out:
        return out
    res = root / "results"
    res.mkdir(parents=True, exist_ok=True)
    prot = pd.DataFrame({"protein": out["proteins"], "gene": out["genes"]})
    if "n_total" in out:
        prot["n_total"] = out["n_total"]
    _replace_into(res / f"b{j:05d}.proteins.parquet", lambda p: prot.to_parquet(p, index=False))
    _replace_into(res / f"b{j:05d}.X.npy", lambda p: _save_npy(p, out["X"]))
    if "n_pep" in out:
        _replace_into(res / f"b{j:05d}.npep.npy", lambda p: _save_npy(p, out["n_pep"]))
    info = {"n": len(out["proteins"])}
    write_json(marker, info)
    return info


def _quantify_pieces(pieces, fmt, path, level, mapping, samples, method, kw) -> dict:
    from ..io._tabular import concat_frames
    from .rollup import METHODS, _genes, prepare

    try:
        table = QuantTable(concat_frames(pieces), format=fmt, path=path)
        prep = prepare(table, mapping, samples)
        out: dict[str, Any] = {"proteins": prep.proteins}
        if level == "protein":
            out["X"] = METHODS["sum"](prep, n_jobs=1)
        else:
            out["X"] = METHODS[method](prep, **kw, n_jobs=1)
            n_pep = np.zeros((len(prep.proteins), len(samples)))
            np.add.at(n_pep, prep.entity_protein, np.isfinite(prep.values).astype(float))
            out["n_pep"] = n_pep
            out["n_total"] = np.bincount(prep.entity_protein,
                                         weights=np.isfinite(prep.values).any(axis=1).astype(float),
                                         minlength=len(prep.proteins)).astype(int)
        out["genes"] = _genes(table, prep.proteins).to_numpy()
    except InputError as exc:
        return error(exc)
    return out


def load_result(job: str, j: int) -> dict | None:
    """Bucket ``j``'s results as written by :func:`quantify_bucket` (None when it has no protein)."""
    res = Path(job) / "results"
    if not (res / f"b{j:05d}.proteins.parquet").exists():
        return None
    prot = pd.read_parquet(res / f"b{j:05d}.proteins.parquet")
    out = {"proteins": prot["protein"].astype(str).tolist(), "genes": prot["gene"].to_numpy(dtype=object),
           "X": np.load(res / f"b{j:05d}.X.npy", allow_pickle=False)}
    if (res / f"b{j:05d}.npep.npy").exists():
        out["n_pep"] = np.load(res / f"b{j:05d}.npep.npy", allow_pickle=False)
        out["n_total"] = prot["n_total"].to_numpy()
    return out


def blas_threads() -> dict:
    """Thread counts of this process's BLAS/OpenMP pools (threadpoolctl user_api → num_threads)."""
    from threadpoolctl import threadpool_info

    out: dict[str, int] = {}
    for info in threadpool_info():
        out[info["user_api"]] = max(out.get(info["user_api"], 1), int(info["num_threads"]))
    return out
