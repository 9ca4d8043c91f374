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
3. **Shuffle by protein group, on disk.** Each slice is split into ``n_partitions`` buckets by a fixed hash
   of the ``protein_group`` string and each piece is written under the job folder (``buckets/bJJJJJ/``), so
   nothing accumulates in worker memory (out of core).
4. **Quantify each bucket** (one task reads the pieces of bucket *j* in file order) with the local engine's
   own code (``rollup.prepare`` and ``METHODS``) on the run → sample mapping and sample order computed for
   the whole file, and writes its result files. Every protein's numbers depend only on its own rows, in the
   same order, so the result equals the local engine's.
5. **Gather** the bucket results into one Dataset, proteins sorted as the local engine sorts them.

Memory per worker: one read task holds one part (``rows_per_part`` report rows, default 1,000,000) and one
quantification task one bucket (about ``total filtered rows / n_partitions`` rows, default ≤ ~2,000,000, plus
its entity × sample matrix); the client holds the final matrices (proteins × samples). Every step leaves a
done-marker (see :mod:`._dask_tasks`): with ``workdir`` set, an interrupted job resumes where it stopped.

``scheduler`` is the address of an existing cluster (``"tcp://host:8786"``) or a ``distributed.Client``;
``None`` starts a ``LocalCluster`` of ``n_workers`` processes bound to 127.0.0.1 and closes it afterwards.
With a remote cluster, the input file, the FASTA and ``workdir`` must be on storage the workers see under
the same path, and the workers need this package installed.

Dask is an optional extra (``pip install 'proteomics[dask]'``); it is imported only when this runs.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd

from .._version import __version__
from ..dataset import Dataset, Step
from ..errors import InputError, close_path
from ..io.table import QuantTable
from . import _dask_tasks as tasks

__all__ = ["quantify_dask"]

log = logging.getLogger(__name__)

_QUANT_KWARGS = ("min_ratio_count", "top_n", "fasta", "n_jobs")
_ROWS_PER_PART = 1_000_000
#: rows per protein-group bucket aimed at when the number of partitions is chosen automatically
_BUCKET_ROWS = 2_000_000


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


# -- the engine ------------------------------------------------------------------------------------------------
def quantify_dask(path, sheet=None, *, format: str = "auto", method: str = "auto", scheduler=None,
                  n_workers: int = 2, read_options: dict | None = None, n_partitions: int | None = None,
                  rows_per_part: int = _ROWS_PER_PART, workdir: str | os.PathLike | None = None,
                  progress: Callable[[str, int, int], None] | None = None, **quant_kwargs) -> Dataset:
    """Read and quantify on dask.distributed; the result equals ``quantify(io.read(path, format,
    **read_options), sheet, method, **quant_kwargs)`` exactly (X, layers, samples, proteins, history).

    Parameters
    ----------
    path : a search-engine file (any format ``proteomics.io.read`` takes), or an already read QuantTable.
    sheet : :class:`proteomics.samples.SampleSheet` or None (samples = runs in first-seen order).
    format : reader name or ``"auto"``.
    method : one of ``proteomics.quant.METHODS`` (default ``auto``, as ``quantify``).
    scheduler : address of an existing Dask scheduler (``"tcp://host:8786"``), a ``distributed.Client``, or
        None for a LocalCluster of ``n_workers`` single-threaded worker processes on 127.0.0.1 (closed at the end).
    read_options : reader options (``fdr``, ``keep_contaminants`` …).
    n_partitions : number of protein-group buckets (default: at least 2 × the workers and enough for about
        2,000,000 filtered rows per bucket); results do not depend on it.
    rows_per_part : rows per Parquet part when a DIA-NN report is partitioned (memory per read task).
    workdir : folder for the job's files (Parquet parts, buckets, per-bucket results). None: a temporary folder,
        removed at the end. Given: the job folder ``workdir/job-<key>`` (key = input file, size, modification
        time, options, sheet) is kept until the job succeeds, so a job that was interrupted **resumes** from
        its finished parts and buckets when run again with the same inputs. Must be visible to the workers
        under the same path when the cluster is remote.
    progress : ``progress(stage, done, total)`` called as parts and buckets finish (the CLI draws bars).
    quant_kwargs : ``min_ratio_count``, ``top_n``, ``fasta`` (as ``quantify``); ``n_jobs`` is accepted and
        ignored (parallelism comes from the workers).

    Returns
    -------
    Dataset (samples × proteins, log2, NaN = missing) with ``layers['n_peptides']`` as the local engine.
    """
    from .rollup import METHODS, MIN_RATIO_COUNT

    if method not in METHODS:
        raise InputError(f"unknown quantification method {method!r}", hint=f"use one of {', '.join(METHODS)}")
    bad = sorted(set(quant_kwargs) - set(_QUANT_KWARGS))
    if bad:
        raise InputError(f"unknown quantification option(s) {', '.join(bad)}",
                         hint=f"allowed: {', '.join(_QUANT_KWARGS)}")
    kw = {"min_ratio_count": quant_kwargs.get("min_ratio_count", MIN_RATIO_COUNT),
          "top_n": quant_kwargs.get("top_n", 3), "fasta": quant_kwargs.get("fasta")}
    read_options = dict(read_options or {})
    progress = progress or (lambda stage, done, total: None)
    _distributed()
    temporary = workdir is None or isinstance(path, QuantTable)
    if temporary:
        job = Path(tempfile.mkdtemp(prefix="proteomics-dask-", dir=workdir))
    else:
        job = Path(workdir) / f"job-{_job_key(path, format, method, kw, read_options, rows_per_part, sheet)}"
        if job.exists():
            log.info("resuming the Dask job in %s", job)
        job.mkdir(parents=True, exist_ok=True)
    try:
        with _client(scheduler, n_workers) as client:
            sources, fmt, shown = _sources(client, path, format, read_options, job, rows_per_part, progress)
            n_workers_now = max(1, len(client.scheduler_info().get("workers", {})))
            ds = _run(client, sources, fmt, shown, read_options, job, n_partitions, n_workers_now, sheet, method,
                      kw, progress)
    except BaseException:
        if temporary:  # a kept job folder stays for resuming
            shutil.rmtree(job, ignore_errors=True)
        raise
    shutil.rmtree(job, ignore_errors=True)
    return ds


def _job_key(path, format, method, kw, read_options, rows_per_part, sheet) -> str:
    p = Path(path)
    if not p.exists():
        raise InputError("file not found", path=path, hint=close_path(path) + "check the path")
    st = p.stat()
    ident = {"path": str(p.resolve()), "size": st.st_size, "mtime_ns": st.st_mtime_ns, "format": format,
             "method": method, "kw": {k: str(v) for k, v in kw.items()}, "read": {k: str(v) for k, v in
                                                                                   sorted(read_options.items())},
             "rows_per_part": int(rows_per_part), "version": __version__,
             "sheet": None if sheet is None else hashlib.sha256(
                 pd.util.hash_pandas_object(sheet.table.astype(str), index=True).to_numpy().tobytes()).hexdigest()}
    return hashlib.sha256(json.dumps(ident, sort_keys=True).encode()).hexdigest()[:24]


def _sources(client, path, format, read_options, job: Path, rows: int, progress):
    """Parquet part paths (DIA-NN reports: read on the workers) or scattered slices of a table read here."""
    from .. import io as pio

    if isinstance(path, QuantTable):
        table = path
    else:
        if not Path(path).exists():
            raise InputError("file not found", path=path, hint=close_path(path) + "check the path")
        fmt = pio.detect(path) if format in (None, "auto") else format
        quantity = read_options.get("quantity", "precursor")
        if fmt == "diann_report" and quantity in ("precursor", "precursor_raw"):
            done = tasks.read_json(job / "parts" / "DONE.json")
            if done is None:
                progress("partitioning the report into Parquet parts", 0, 1)
                (job / "parts").mkdir(parents=True, exist_ok=True)
                parts = _diann_parts(path, job / "parts", quantity, rows)
                tasks.write_json(job / "parts" / "DONE.json", {"parts": [Path(x).name for x in parts]})
            else:
                parts = [str(job / "parts" / name) for name in done["parts"]]
            log.info("%s: %d Parquet parts in %s", path, len(parts), job)
            return parts, fmt, str(path)
        table = pio.read(path, fmt, **read_options)
    if len(table.data) == 0:
        raise InputError("the table is empty: nothing to quantify", path=table.path or None)
    d = table.data
    step = max(1, int(rows))
    slices = [d.iloc[i:i + step] for i in range(0, len(d), step)]
    return client.scatter(slices), table.format, table.path


def _partitions(job: Path, n_partitions, n_workers: int, n_rows: int) -> int:
    """The number of buckets, fixed for the job at its first run (stored in ``job/partitions.json``)."""
    saved = tasks.read_json(job / "partitions.json")
    if saved is not None:
        return int(saved["P"])
    if n_partitions is None:
        n_partitions = max(2 * n_workers, -(-n_rows // _BUCKET_ROWS))
    P = max(1, int(n_partitions))
    tasks.write_json(job / "partitions.json", {"P": P})
    return P


def _gather(client, futures, stage: str, progress) -> list:
    """Results of ``futures`` in their order, calling ``progress`` as each finishes."""
    from distributed import as_completed

    total = len(futures)
    progress(stage, 0, total)
    for done, _ in enumerate(as_completed(futures), start=1):
        progress(stage, done, total)
    return client.gather(futures)


def _run(client, sources, fmt, shown, read_options, job: Path, n_partitions, n_workers, sheet, method, kw,
         progress) -> Dataset:
    from .rollup import _run_to_sample, resolve_method

    if isinstance(sources, list) and sources and isinstance(sources[0], str):
        import pyarrow.parquet as pq

        n_rows = sum(pq.ParquetFile(s).metadata.num_rows for s in sources)
    else:
        n_rows = _BUCKET_ROWS  # tables read on the client are small
    P = _partitions(job, n_partitions, n_workers, n_rows)
    futs = [client.submit(tasks.split_part, s, i, fmt, read_options, P, str(job), pure=False)
            for i, s in enumerate(sources)]
    infos = _gather(client, futs, "reading and splitting by protein group", progress)
    del futs
    failed = [info for info in infos if "error" in info and not info.get("empty")]
    if failed:
        _raise(failed[0], shown)
    if all(info.get("empty") for info in infos):
        _raise(infos[0], shown)  # nothing passes anywhere: the local reader's own error
    ok = [i for i, info in enumerate(infos) if "error" not in info]
    runs = list(dict.fromkeys(r for i in ok for r in infos[i]["runs"]))
    levels = [infos[i]["level"] for i in ok if infos[i]["level"] is not None]
    if not levels:
        raise InputError("the table is empty: nothing to quantify", path=shown or None)
    level = levels[0]
    h = hashlib.sha256()
    for i in ok:  # row hashes in file order
        h.update(np.load(job / "split" / f"p{i:06d}.hashes.npy", allow_pickle=False).tobytes())
    mapping, samples, sample_table = _run_to_sample(SimpleNamespace(runs=runs), sheet)
    threads = tasks.blas_threads()
    futs = [client.submit(tasks.quantify_bucket, str(job), j, fmt, shown, level, mapping, samples, method, kw,
                          threads, pure=False) for j in range(P)]
    summaries = _gather(client, futs, f"quantifying protein groups ({resolve_method(method, len(samples))})",
                        progress)
    del futs
    for res in summaries:
        if "error" in res:
            _raise(res, shown)
    return _assemble(job, P, samples, sample_table, level, fmt, method, kw, h.hexdigest())


def _assemble(job: Path, P: int, samples, sample_table, level, fmt, method, kw, sha: str) -> Dataset:
    from .rollup import resolve_method

    results = [r for r in (tasks.load_result(str(job), j) for j in range(P)) if r is not None]
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
        params.update({"rollup": resolve_method(method, S), "min_ratio_count": kw["min_ratio_count"],
                       "top_n": kw["top_n"]})
    step = Step("quantify", params=params, version=__version__, input_sha256=sha)
    ds = Dataset(X.T, sample_table, prot, layers=layers, history=(step,))
    log.info("quantified %d protein groups in %d samples on dask (%s, %s level, %d partitions)", ds.n_proteins,
             ds.n_samples, method, level, P)
    return ds


def _raise(err: dict, path) -> None:
    raise InputError(err["error"], path=path, line=err["line"], column=err["column"], hint=err["hint"])
