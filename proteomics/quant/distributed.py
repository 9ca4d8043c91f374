"""Reading and protein quantification on ``dask.distributed`` (the ``dask`` engine).

``quantify_dask(path, sheet, ...)`` returns the same :class:`~proteomics.dataset.Dataset` (samples ×
proteins, log2, NaN = missing) as :func:`proteomics.quant.quantify` on ``proteomics.io.read(path)``, bit for
bit, but runs the reading and the roll-up on a Dask cluster:

1. **Partitioned Parquet.** A DIA-NN main report (``report.tsv``/``.tsv.gz``/``report.parquet``) is streamed
   once into a partitioned Parquet dataset in a temporary folder (only the columns the reader needs; a TSV is
   parsed by the reader's own streaming core, so numbers, errors and line numbers are the local engine's).
   Any other format is read on the client with :func:`proteomics.io.read` and its rows are scattered to the
   workers in slices (these files are small: protein or peptide tables).
2. **Read + FDR filter on the workers.** Each worker reads its Parquet part with the DIA-NN reader (q-value
   pushdown, contaminants and decoys dropped), giving a QuantTable slice with the rows in file order.
3. **Shuffle by protein group.** Each slice is split into ``n_partitions`` buckets by a fixed hash of the
   ``protein_group`` string; bucket *j* of every slice is gathered, in file order, on one worker.
4. **Quantify each bucket** with the local engine's own code (``rollup.prepare`` and ``METHODS``) on the
   run → sample mapping and sample order computed for the whole file. Every protein's numbers depend only on
   its own rows, in the same order, so the result equals the local engine's.
5. **Gather** the buckets into one Dataset, proteins sorted as the local engine sorts them.

``scheduler`` is the address of an existing cluster (``"tcp://host:8786"``) or a ``distributed.Client``;
``None`` starts a ``LocalCluster`` of ``n_workers`` processes bound to 127.0.0.1 and closes it afterwards.
With a remote cluster, the input file, the FASTA and ``workdir`` must be on storage the workers see under
the same path, and the workers need this package installed.

Dask is an optional extra (``pip install 'proteomics[dask]'``); it is imported only when this runs.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd

from .._version import __version__
from ..dataset import Dataset, Step
from ..errors import InputError
from ..io.table import QuantTable

__all__ = ["quantify_dask"]

log = logging.getLogger(__name__)

_QUANT_KWARGS = ("min_ratio_count", "top_n", "fasta", "n_jobs")
_HASH_COLS = ("run", "entity_id", "protein_group", "intensity")  # as rollup._table_sha
_ROWS_PER_PART = 1_000_000


def _distributed():
    try:
        import distributed
    except ImportError:
        raise InputError("dask is not installed", hint="pip install 'proteomics[dask]'") from None
    return distributed


@contextmanager
def _client(scheduler, n_workers: int) -> Iterator[Any]:
    distributed = _distributed()
    if isinstance(scheduler, distributed.Client):
        yield scheduler
        return
    if scheduler is None:
        if int(n_workers) < 1:
            raise InputError(f"n_workers must be ≥ 1, got {n_workers}", hint="e.g. n_workers=2")
        cluster = distributed.LocalCluster(n_workers=int(n_workers), threads_per_worker=1, processes=True,
                                           host="127.0.0.1", dashboard_address=None)
        client = distributed.Client(cluster)
        try:
            yield client
        finally:
            client.close()
            cluster.close()
        return
    if not isinstance(scheduler, str):
        raise InputError(f"scheduler must be an address such as 'tcp://127.0.0.1:8786', got {scheduler!r}")
    try:
        client = distributed.Client(scheduler, timeout="30s")
    except (OSError, TimeoutError) as exc:
        raise InputError(f"cannot reach the Dask scheduler at {scheduler} ({exc})",
                         hint="start it with `dask scheduler` and check the address and port") from None
    try:
        yield client
    finally:
        client.close()


# -- step 1: partitioned Parquet ------------------------------------------------------------------------------
class _PartWriter:
    """``transform`` callback for ``_tabular.read_frame``: buffers parsed batches and writes Parquet parts of
    about ``rows`` rows; returns an empty frame so nothing accumulates in memory."""

    def __init__(self, folder: Path, rows: int):
        self.folder, self.rows = folder, max(1, int(rows))
        self.buf: list[pd.DataFrame] = []
        self.n = 0
        self.parts: list[str] = []

    def __call__(self, df: pd.DataFrame) -> pd.DataFrame:
        self.buf.append(df)
        self.n += len(df)
        if self.n >= self.rows:
            self.flush()
        return df.iloc[:0]

    def write_table(self, table) -> None:
        import pyarrow.parquet as pq

        path = self.folder / f"part-{len(self.parts):05d}.parquet"
        pq.write_table(table, path)
        self.parts.append(str(path))

    def flush(self) -> None:
        import pyarrow as pa

        if self.n:
            df = pd.concat(self.buf, ignore_index=True) if len(self.buf) > 1 else self.buf[0]
            self.write_table(pa.Table.from_pandas(df, preserve_index=False))
        self.buf, self.n = [], 0


def _diann_parts(path, folder: Path, quantity: str, rows: int) -> list[str]:
    """Stream a DIA-NN report (TSV or Parquet) into Parquet parts holding the columns the reader uses, rows in
    file order. TSV numbers are parsed by the reader's own code (``_tabular.read_frame``)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from ..io import _tabular as T
    from ..io import diann

    writer = _PartWriter(folder, rows)
    if diann._is_parquet(path):
        cols = diann._parquet_columns(path)
        plan = diann._plan(path, cols, quantity)
        filters = [c for c in diann._QVAL_FILTERS if c in cols]
        usecols = list(dict.fromkeys([c for c in plan.values() if c] + filters))
        try:
            for batch in pq.ParquetFile(path).iter_batches(batch_size=writer.rows, columns=usecols):
                writer.write_table(pa.Table.from_batches([batch]))
        except (pa.ArrowException, OSError) as exc:
            raise InputError(f"cannot read Parquet file ({str(exc).splitlines()[0]})", path=path,
                             hint="check that it is a complete DIA-NN report.parquet") from None
        return writer.parts
    src = T.open_source(path)
    cols = list(src.columns)
    plan = diann._plan(path, cols, quantity)
    filters = [c for c in diann._QVAL_FILTERS if c in cols]
    numeric = list(dict.fromkeys(c for c in (*filters, plan["intensity"], plan.get("charge"), plan.get("decoy"))
                                 if c))
    usecols = list(dict.fromkeys([c for c in plan.values() if c] + filters))
    T.read_frame(src, usecols, numeric=numeric, nonneg=[plan["intensity"]], transform=writer)
    writer.flush()
    return writer.parts


# -- steps 2–4: worker tasks (module-level so they pickle by reference) ----------------------------------------
def _error(exc: InputError) -> dict:
    return {"error": exc.message, "line": exc.line, "column": exc.column, "hint": exc.hint}


def _raise(err: dict, path) -> None:
    raise InputError(err["error"], path=path, line=err["line"], column=err["column"], hint=err["hint"])


def _buckets(pg: pd.Series, n: int) -> np.ndarray:
    """Bucket of every row: a fixed (seedless, platform-independent) hash of the protein-group string mod n."""
    if isinstance(pg.dtype, pd.CategoricalDtype):
        cats = np.asarray(pg.cat.categories.astype(str), dtype=object)
        per = (pd.util.hash_array(cats) % np.uint64(n)).astype(np.int64)
        return per[pg.cat.codes.to_numpy()]
    vals = np.asarray(pg.astype(str), dtype=object)
    return (pd.util.hash_array(vals) % np.uint64(n)).astype(np.int64)


def _read_split(source, fmt: str, read_options: dict, n_buckets: int) -> dict:
    """Read one slice (a Parquet part path, or a DataFrame of canonical rows) and split it by protein group.

    Returns ``{"runs", "level", "n_rows", "hashes", "buckets"}`` or ``{"error": …}``; ``hashes`` are the
    per-row hashes ``rollup._table_sha`` feeds to sha256, ``buckets`` a list of ``n_buckets`` DataFrames."""
    try:
        if isinstance(source, pd.DataFrame):
            data = source
        else:
            from ..io import read

            data = read(source, fmt, **read_options).data
    except InputError as exc:
        if exc.message.startswith("no rows pass"):  # this part only: other parts may have passing rows
            return {**_error(exc), "empty": True}
        return _error(exc)
    cols = [c for c in _HASH_COLS if c in data.columns]
    hashes = pd.util.hash_pandas_object(data[cols].astype({"run": str}), index=False).to_numpy()
    runs = [str(r) for r in pd.unique(data["run"].astype(str))]
    level = str(data["level"].iloc[0]) if len(data) else None
    b = _buckets(data["protein_group"], n_buckets)
    order = np.argsort(b, kind="stable")  # rows of one bucket keep their file order
    bounds = np.searchsorted(b[order], np.arange(n_buckets + 1))
    buckets = [data.iloc[order[bounds[j]:bounds[j + 1]]] for j in range(n_buckets)]
    return {"runs": runs, "level": level, "n_rows": len(data), "hashes": hashes, "buckets": buckets}


def _info(result: dict) -> dict:
    return {k: v for k, v in result.items() if k not in ("hashes", "buckets")}


def _field(result: dict, key: str):
    return result.get(key) if "error" not in result else np.zeros(0, dtype=np.uint64)


def _bucket(result: dict, j: int):
    return None if "error" in result else result["buckets"][j]


def _blas_threads() -> dict:
    """Thread counts of this process's BLAS/OpenMP pools (threadpoolctl user_api → num_threads)."""
    from threadpoolctl import threadpool_info

    out: dict[str, int] = {}
    for info in threadpool_info():
        out[info["user_api"]] = max(out.get(info["user_api"], 1), int(info["num_threads"]))
    return out


def _quantify_bucket(pieces: list, fmt: str, path: str, level: str, mapping: dict, samples: list,
                     method: str, kw: dict, threads: dict | None = None) -> dict | None:
    """Roll up one bucket (all rows of its protein groups, in file order) with the local engine's code;
    returns proteins, X (proteins × samples, log2), the ``n_peptides`` counts and genes, or None if empty.

    ``threads``: BLAS thread counts to use (the client's): OpenBLAS solves and matrix products give results
    that differ in the last bits with the thread count, and Dask workers start with one thread."""
    pieces = [p for p in pieces if p is not None and len(p)]
    if not pieces:
        return None
    if threads:
        from threadpoolctl import threadpool_limits

        with threadpool_limits(limits=threads):
            return _quantify_pieces(pieces, fmt, path, level, mapping, samples, method, kw)
    return _quantify_pieces(pieces, fmt, path, level, mapping, samples, method, kw)


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
        return _error(exc)
    return out


# -- the engine ------------------------------------------------------------------------------------------------
def quantify_dask(path, sheet=None, *, format: str = "auto", method: str = "auto", scheduler=None,
                  n_workers: int = 2, read_options: dict | None = None, n_partitions: int | None = None,
                  rows_per_part: int = _ROWS_PER_PART, workdir: str | os.PathLike | None = None,
                  **quant_kwargs) -> Dataset:
    """Read and quantify on dask.distributed; the result equals ``quantify(io.read(path, format,
    **read_options), sheet, method, **quant_kwargs)`` exactly (X, layers, samples, proteins, history).

    Parameters
    ----------
    path : a search-engine file (any format ``proteomics.io.read`` takes), or an already read QuantTable.
    sheet : :class:`proteomics.samples.SampleSheet` or None (samples = runs in first-seen order).
    format : reader name or ``"auto"``.
    method : one of ``proteomics.quant.METHODS``.
    scheduler : address of an existing Dask scheduler (``"tcp://host:8786"``), a ``distributed.Client``, or
        None for a LocalCluster of ``n_workers`` single-threaded worker processes on 127.0.0.1 (closed at the end).
    read_options : reader options (``fdr``, ``keep_contaminants`` …).
    n_partitions : number of protein-group buckets (default: 2 × the number of workers); results do not
        depend on it.
    rows_per_part : rows per Parquet part when a DIA-NN report is partitioned (memory per read task).
    workdir : folder for the temporary Parquet parts (default: the system temp folder); must be visible to
        the workers under the same path when the cluster is remote. Removed at the end.
    quant_kwargs : ``min_ratio_count``, ``top_n``, ``fasta`` (as ``quantify``); ``n_jobs`` is accepted and
        ignored (parallelism comes from the workers).

    Returns
    -------
    Dataset (samples × proteins, log2, NaN = missing) with ``layers['n_peptides']`` as the local engine.
    """
    from .rollup import METHODS, MIN_RATIO_COUNT, _run_to_sample

    if method not in METHODS:
        raise InputError(f"unknown quantification method {method!r}", hint=f"use one of {', '.join(METHODS)}")
    bad = sorted(set(quant_kwargs) - set(_QUANT_KWARGS))
    if bad:
        raise InputError(f"unknown quantification option(s) {', '.join(bad)}",
                         hint=f"allowed: {', '.join(_QUANT_KWARGS)}")
    kw = {"min_ratio_count": quant_kwargs.get("min_ratio_count", MIN_RATIO_COUNT),
          "top_n": quant_kwargs.get("top_n", 3),
          "fasta": quant_kwargs.get("fasta")}
    read_options = dict(read_options or {})
    _distributed()
    tmp = Path(tempfile.mkdtemp(prefix="proteomics-dask-", dir=workdir))
    try:
        with _client(scheduler, n_workers) as client:
            sources, fmt, shown = _sources(client, path, format, read_options, tmp, rows_per_part)
            if n_partitions is None:
                n_partitions = 2 * max(1, len(client.scheduler_info().get("workers", {})))
            n_partitions = max(1, int(n_partitions))
            return _run(client, sources, fmt, shown, read_options, n_partitions, sheet, method, kw,
                        METHODS, _run_to_sample)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _sources(client, path, format, read_options, tmp: Path, rows: int):
    """Parquet part paths (DIA-NN reports: read on the workers) or scattered slices of a table read here."""
    from .. import io as pio

    if isinstance(path, QuantTable):
        table = path
    else:
        if not Path(path).exists():
            raise InputError("file not found", path=path, hint="check the path")
        fmt = pio.detect(path) if format in (None, "auto") else format
        quantity = read_options.get("quantity", "precursor")
        if fmt == "diann_report" and quantity in ("precursor", "precursor_raw"):
            parts = _diann_parts(path, tmp, quantity, rows)
            log.info("%s: %d Parquet parts in %s", path, len(parts), tmp)
            return parts, fmt, str(path)
        table = pio.read(path, fmt, **read_options)
    if len(table.data) == 0:
        raise InputError("the table is empty: nothing to quantify", path=table.path or None)
    d = table.data
    step = max(1, int(rows))
    slices = [d.iloc[i:i + step] for i in range(0, len(d), step)]
    return client.scatter(slices), table.format, table.path


def _run(client, sources, fmt, shown, read_options, P, sheet, method, kw, METHODS, _run_to_sample) -> Dataset:
    read = [client.submit(_read_split, s, fmt, read_options, P, pure=False) for s in sources]
    infos = client.gather([client.submit(_info, r, pure=False) for r in read])
    failed = [info for info in infos if "error" in info and not info.get("empty")]
    if failed:
        _raise(failed[0], shown)
    if all(info.get("empty") for info in infos):
        _raise(infos[0], shown)  # nothing passes anywhere: the local reader's own error
    infos = [info for info in infos if "error" not in info]
    runs = list(dict.fromkeys(r for info in infos for r in info["runs"]))
    levels = [info["level"] for info in infos if info["level"] is not None]
    if not levels:
        raise InputError("the table is empty: nothing to quantify", path=shown or None)
    level = levels[0]
    h = hashlib.sha256()
    for i in range(0, len(read), 16):  # row hashes of 16 parts at a time, in file order
        for hashes in client.gather([client.submit(_field, r, "hashes", pure=False) for r in read[i:i + 16]]):
            h.update(hashes.tobytes())
    mapping, samples, sample_table = _run_to_sample(SimpleNamespace(runs=runs), sheet)
    threads = _blas_threads()
    jobs = []
    for j in range(P):
        pieces = [client.submit(_bucket, r, j, pure=False) for r in read]
        jobs.append(client.submit(_quantify_bucket, pieces, fmt, shown, level, mapping, samples, method, kw,
                                  threads, pure=False))
    results = [res for res in client.gather(jobs) if res is not None]
    del read, jobs
    for res in results:
        if "error" in res:
            _raise(res, shown)
    proteins = sorted(p for res in results for p in res["proteins"])
    pos = pd.Index(proteins)
    S = len(samples)
    X = np.full((len(proteins), S), np.nan)
    genes = np.empty(len(proteins), dtype=object)
    n_pep = np.zeros((len(proteins), S)) if level != "protein" else None
    n_total = np.zeros(len(proteins), dtype=int) if level != "protein" else None
    for res in results:
        rows = pos.get_indexer(res["proteins"])
        X[rows] = res["X"]
        genes[rows] = res["genes"]
        if n_pep is not None:
            n_pep[rows] = res["n_pep"]
            n_total[rows] = res["n_total"]
    params = {"method": method, "format": fmt, "level": level}
    layers = {}
    prot = pd.DataFrame({"gene": genes}, index=proteins)
    if n_pep is not None:
        layers = {"n_peptides": n_pep.T}
        prot["n_peptides_total"] = n_total
        from .rollup import resolve_method

        params.update({"rollup": resolve_method(method, S), "min_ratio_count": kw["min_ratio_count"],
                       "top_n": kw["top_n"]})
    step = Step("quantify", params=params, version=__version__, input_sha256=h.hexdigest())
    ds = Dataset(X.T, sample_table, prot, layers=layers, history=(step,))
    log.info("quantified %d protein groups in %d samples on dask (%s, %s level, %d partitions)", ds.n_proteins,
             ds.n_samples, method, level, P)
    return ds
