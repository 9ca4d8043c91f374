#!/usr/bin/env python
"""Cohort-scale growth of the Dask engine: time and memory from 100 runs up (run on demand).

    python bench/dask_scale.py --runs 100,1000,3000 --precursors 50000 [--method auto] [--workers 2]
        [--check-local 100] [--out bench/out/dask_scale]

For each size a seeded DIA-NN ``report.parquet`` (``proteomics.simulate.write_large_diann_report``: N runs ×
P precursors, ≈ 4 precursors per protein) is written once, then quantified by ``quantify_dask`` on a
``LocalCluster`` of ``--workers`` single-threaded processes bound to 127.0.0.1, with a ``workdir`` (the job
folder is on disk: out of core). Measured: wall time, CPU of client + workers, peak RSS of the client and of
each worker process (sampled every 0.2 s from outside with psutil: ``ru_maxrss`` read inside the workers was
inherited from the parent and not trustworthy), report rows. The report is written in a separate process first,
so the client's peak is the quantification's own. For the
sizes in ``--check-local`` the local engine is run too and the matrices compared bit for bit. Results:
``OUT/results.json``, a table ``OUT/results.md`` and a log-log plot ``bench/dask_scaling.png`` (time and peak
worker memory against runs, with the linear reference slope).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))


def _peak_rss() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


class _RssSampler:
    """Peak resident memory of a set of processes (and their children), sampled from outside every ``every`` s."""

    def __init__(self, pids, every: float = 0.2):
        import threading

        import psutil

        self._procs = {pid: psutil.Process(pid) for pid in pids}
        self.peak = dict.fromkeys(pids, 0)
        self._stop = threading.Event()
        self._every = every
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        import psutil

        while not self._stop.is_set():
            for pid, proc in self._procs.items():
                try:
                    rss = proc.memory_info().rss + sum(c.memory_info().rss for c in proc.children(recursive=True))
                except psutil.Error:
                    continue
                self.peak[pid] = max(self.peak[pid], rss)
            self._stop.wait(self._every)

    def stop(self) -> dict:
        self._stop.set()
        self._thread.join()
        return self.peak


def _write_report(path: Path, runs: int, precursors: int) -> None:
    """Write the seeded report in a child process, so its memory never counts as the client's."""
    import subprocess

    path.parent.mkdir(parents=True, exist_ok=True)
    code = ("import sys; sys.path.insert(0, sys.argv[1]); from proteomics.simulate import write_large_diann_report;"
            "write_large_diann_report(sys.argv[2], n_runs=int(sys.argv[3]), n_precursors=int(sys.argv[4]), seed=0,"
            " fmt='parquet', runs_per_chunk=8)")
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", code, str(HERE.parent), str(path), str(runs), str(precursors)], check=True)
    print(f"  wrote {path} in {time.perf_counter() - t0:.0f} s", file=sys.stderr, flush=True)


def one(runs: int, precursors: int, method: str, workers: int, out: Path, check_local: bool) -> dict:
    import distributed
    import pyarrow.parquet as pq

    from proteomics.quant.distributed import quantify_dask

    path = out / "data" / f"diann_{runs}x{precursors}.parquet"
    if not path.exists():
        _write_report(path, runs, precursors)
    rows = pq.ParquetFile(path).metadata.num_rows
    cluster = distributed.LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                                       dashboard_address=None)
    client = distributed.Client(cluster)
    last = [0.0]

    def progress(stage, done, total):
        now = time.perf_counter()
        if now - last[0] > 10 or done == total:
            last[0] = now
            print(f"  {stage}: {done}/{total}", file=sys.stderr, flush=True)

    sampler = _RssSampler(list(client.run(os.getpid).values()))
    try:
        t0, c0 = time.perf_counter(), _cpu()
        ds = quantify_dask(path, method=method, scheduler=client, workdir=out / "work", progress=progress,
                           read_options={"fdr": 0.01})
        wall, cpu_client = time.perf_counter() - t0, _cpu() - c0
        wk = client.run(lambda: resource.getrusage(resource.RUSAGE_SELF).ru_utime
                        + resource.getrusage(resource.RUSAGE_SELF).ru_stime)
        peaks = sampler.stop()
    finally:
        sampler.stop()
        client.close()
        cluster.close()
    res = {"runs": runs, "precursors": precursors, "rows": rows, "method": method,
           "rollup": ds.history[-1].params.get("rollup"), "workers": workers, "wall_s": wall,
           "cpu_client_s": cpu_client, "cpu_workers_s": sum(wk.values()),
           "peak_rss_client": _peak_rss(), "peak_rss_workers": sorted(peaks.values()),
           "proteins": ds.n_proteins, "load_average": os.getloadavg()[0],
           "parquet_bytes": path.stat().st_size}
    if check_local:
        from proteomics import io
        from proteomics.quant import quantify

        local = quantify(io.read(path, "diann_report", fdr=0.01), method=method)
        res["identical_to_local"] = bool(np.array_equal(local.X, ds.X, equal_nan=True)
                                         and local.protein_ids == ds.protein_ids)
    return res


def plot(results: list[dict], dst: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    r = sorted(results, key=lambda x: x["runs"])
    n = np.array([x["runs"] for x in r], dtype=float)
    wall = np.array([x["wall_s"] for x in r])
    mem = np.array([max(x["peak_rss_workers"]) / 2**30 for x in r])
    fig, ax = plt.subplots(1, 2, figsize=(9, 3.6))
    for a, y, label in ((ax[0], wall, "wall time (s)"), (ax[1], mem, "peak RSS per worker (GiB)")):
        a.loglog(n, y, "o-", label="measured")
        a.loglog(n, y[0] * n / n[0], "--", color="grey", label="linear in runs")
        a.set_xlabel("runs")
        a.set_ylabel(label)
        a.legend()
    fig.suptitle(f"quantify_dask ({r[0]['method']}), {r[0]['precursors']:,} precursors, {r[0]['workers']} workers")
    fig.tight_layout()
    fig.savefig(dst, dpi=110)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", default="100,1000")
    ap.add_argument("--precursors", type=int, default=50_000)
    ap.add_argument("--method", default="auto")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--check-local", default="100")
    ap.add_argument("--out", default=str(HERE / "out" / "dask_scale"))
    a = ap.parse_args(argv)
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    saved = out / "results.json"
    results = {int(k): v for k, v in json.loads(saved.read_text()).items()} if saved.exists() else {}
    check = {int(x) for x in a.check_local.split(",") if x}
    for n in (int(x) for x in a.runs.split(",")):
        print(f"[{n} runs]", file=sys.stderr, flush=True)
        results[n] = one(n, a.precursors, a.method, a.workers, out, n in check)
        print(f"  {results[n]}", file=sys.stderr, flush=True)
        saved.write_text(json.dumps({str(k): v for k, v in sorted(results.items())}, indent=2))
    rows = ["| runs | report rows | Parquet | roll-up | wall | CPU (client + workers) | peak RSS client | peak RSS "
            "per worker | proteins | identical to local | load |", "|---:|---:|---:|---|---:|---:|---:|---:|---:|---|---:|"]
    for n, r in sorted(results.items()):
        rows.append(f"| {n:,} | {r['rows']:,} | {r['parquet_bytes'] / 2**30:.2f} GiB | {r['rollup']} | "
                    f"{r['wall_s']:.0f} s | {r['cpu_client_s'] + r['cpu_workers_s']:.0f} s | "
                    f"{r['peak_rss_client'] / 2**30:.2f} GiB | {max(r['peak_rss_workers']) / 2**30:.2f} GiB | "
                    f"{r['proteins']:,} | {r.get('identical_to_local', '–')} | {r['load_average']:.1f} |")
    (out / "results.md").write_text("\n".join(rows) + "\n")
    print("\n".join(rows))
    if len(results) >= 2:
        plot(list(results.values()), HERE / "dask_scaling.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
