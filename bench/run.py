#!/usr/bin/env python
"""Benchmarks of the proteomics framework (run on demand; never part of the test suite).

    python bench/run.py --size small|medium|large [--stages read,maxlfq,...] [--out bench/out] [--seed 0]

Every stage runs in a fresh Python subprocess, so its peak resident memory (``ru_maxrss`` of that process,
and of its own children for R and Dask) is its own. Inputs are made on demand with the seeded generator
:func:`proteomics.simulate.write_large_diann_report` (DIA-NN report.tsv and report.parquet of N runs × P
precursors; heavy-tailed peptides per protein, intensity-dependent missingness) into ``OUT/data/`` and are
reused when present. Results are printed as a table and written to ``OUT/results_<size>.json`` (and
``OUT/results.json``, the last run). Peers: directLFQ (in its own venv, ``$DIRECTLFQ_PYTHON``; see bench/directlfq_peer.py) and R limma
(``apt-get install r-base-core r-bioc-limma``); a missing peer is reported as skipped.

Stages: read_tsv, read_parquet (read + FDR filter), maxlfq, directlfq (same input), preprocess (median
normalisation + MinProb imputation), modt / limma (moderated t, complete and 5 % missing), panel (nested
CV), panel_weak (the default panel where the signal is weak and the panel large), hye (accuracy on the ProteoBench HYE files: ours vs directLFQ), e2e (read → MaxLFQ → moderated t),
dask (quantify_dask on a LocalCluster vs the local engine).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
SHARED = REPO.parent / "shared" / "data"
sys.path.insert(0, str(REPO))

SIZES = {
    "tiny": dict(runs=6, precursors=1_000, de_samples=40, de_proteins=300, panel_samples=40, panel_proteins=60),
    "small": dict(runs=20, precursors=10_000, de_samples=200, de_proteins=2_000, panel_samples=100,
                  panel_proteins=500),
    "medium": dict(runs=100, precursors=50_000, de_samples=1_000, de_proteins=10_000, panel_samples=200,
                   panel_proteins=2_000),
    "large": dict(runs=1_000, precursors=50_000, de_samples=1_000, de_proteins=10_000, panel_samples=200,
                  panel_proteins=2_000),
}
STAGES = ("read_tsv", "read_parquet", "maxlfq", "directlfq", "preprocess", "modt", "limma", "panel", "panel_weak",
          "hye", "e2e", "dask")


# -- helpers used inside the stage subprocesses --------------------------------------------------------------
def _rss_now() -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def _cpu() -> float:
    """CPU seconds (user + system) of this process so far; less sensitive than wall time to other load."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _peak(who=resource.RUSAGE_SELF) -> int:
    return resource.getrusage(who).ru_maxrss * 1024  # kB on Linux


def data_paths(out: Path, runs: int, precursors: int, seed: int) -> dict[str, Path]:
    stem = out / "data" / f"diann_{runs}x{precursors}_s{seed}"
    return {"tsv": stem.with_suffix(".tsv"), "parquet": stem.with_suffix(".parquet")}


def ensure_data(out: Path, runs: int, precursors: int, seed: int, kinds=("tsv", "parquet")) -> dict[str, Path]:
    """Write the seeded DIA-NN reports if absent (atomic writes, so a half-written file never stays)."""
    from proteomics.simulate import write_large_diann_report

    paths = data_paths(out, runs, precursors, seed)
    for kind in kinds:
        if not paths[kind].exists():
            paths[kind].parent.mkdir(parents=True, exist_ok=True)
            write_large_diann_report(paths[kind], n_runs=runs, n_precursors=precursors, seed=seed, fmt=kind)
    return paths


def _kept_text_bytes(path: Path, columns: list[str], sample_lines: int = 20_000) -> int:
    """Estimate of the bytes the kept columns take in the TSV text (share of the kept fields in the first
    ``sample_lines`` lines × file size)."""
    with open(path, "rb") as fh:
        header = fh.readline().rstrip(b"\n").split(b"\t")
        idx = [header.index(c.encode()) for c in columns if c.encode() in header]
        tot = kept = 0
        for _ in range(sample_lines):
            line = fh.readline()
            if not line:
                break
            f = line.rstrip(b"\n").split(b"\t")
            tot += len(line)
            kept += sum(len(f[i]) + 1 for i in idx)
    return int(path.stat().st_size * kept / max(tot, 1))


def synthetic_matrix(n: int, G: int, seed: int, missing: float = 0.0, de_fraction: float = 0.1):
    """Samples × proteins log2 matrix (two alternating groups A/B, ``de_fraction`` of proteins shifted by 1)."""
    rng = np.random.default_rng([seed, n, G])
    Y = rng.normal(22, 1.5, (1, G)) + rng.normal(0, 0.5, (n, G)) + rng.normal(0, 0.2, (n, 1))
    grp = np.where(np.arange(n) % 2, "B", "A")
    de = rng.random(G) < de_fraction
    Y[np.ix_(grp == "B", de)] += 1.0
    if missing:
        Y[rng.random((n, G)) < missing] = np.nan
    return Y, grp


def weak_signal_matrix(n: int, G: int, seed: int):
    """Samples × proteins log2 matrix where a panel has to be large: 10 shared latent factors (loadings SD 0.7,
    so proteins are correlated as in plasma), unit noise, 30 proteins shifted by 0.2–0.8 in group B, 10 %
    missing at random. Groups alternate A/B."""
    rng = np.random.default_rng([seed, n, G, 7])
    grp = np.where(np.arange(n) % 2, "B", "A")
    Y = 20 + rng.normal(size=(n, 10)) @ (0.7 * rng.normal(size=(10, G))) + rng.normal(size=(n, G))
    Y[:, :30] += (grp == "B")[:, None] * rng.uniform(0.2, 0.8, 30)
    Y[rng.random((n, G)) < 0.1] = np.nan
    return Y, grp


def _dataset(Y, grp):
    from proteomics.dataset import Dataset

    n, G = Y.shape
    s = pd.DataFrame({"condition": grp, "subject": [f"P{i}" for i in range(n)]}, index=[f"s{i:05d}" for i in range(n)])
    return Dataset(Y, s, pd.DataFrame(index=[f"p{j:05d}" for j in range(G)]))


# -- stages (each returns a dict of measurements) ---------------------------------------------------------------
def stage_read(p: dict, kind: str) -> dict:
    from proteomics import io

    paths = ensure_data(Path(p["out"]), p["runs"], p["precursors"], p["seed"], (kind,))
    path = paths[kind]
    base = _rss_now()
    t0, c0 = time.perf_counter(), _cpu()
    table = io.read(path, "diann_report", fdr=0.01)
    wall, cpu = time.perf_counter() - t0, _cpu() - c0
    size = path.stat().st_size
    rows_in = _rows_in(paths, kind)
    mem = int(table.data.memory_usage(deep=True).sum())
    res = {"wall_s": wall, "cpu_s": cpu, "rows": rows_in, "rows_kept": len(table.data), "bytes": size,
           "MB_s": size / 1e6 / wall, "rows_s": rows_in / wall, "baseline_rss": base, "table_bytes": mem}
    if kind == "tsv":
        kept_cols = ["Run", "Protein.Group", "Precursor.Id", "Stripped.Sequence", "Precursor.Charge", "Genes",
                     "Q.Value", "PG.Q.Value", "Lib.PG.Q.Value", "Precursor.Normalised"]
        res["kept_text_bytes"] = _kept_text_bytes(path, kept_cols)
    return res


def _rows_in(paths, kind) -> int:
    import pyarrow.parquet as pq

    if paths["parquet"].exists():
        return pq.ParquetFile(paths["parquet"]).metadata.num_rows
    with open(paths[kind], "rb") as fh:
        return sum(1 for _ in fh) - 1


def _read_table(p):
    from proteomics import io

    paths = ensure_data(Path(p["out"]), p["runs"], p["precursors"], p["seed"], ("parquet",))
    return io.read(paths["parquet"], "diann_report", fdr=0.01)


def stage_maxlfq(p: dict) -> dict:
    from proteomics.quant import quantify

    table = _read_table(p)
    n_all = table.n_proteins
    subset = p.get("protein_subset")
    if subset:  # time the first `subset` protein groups only; the total is extrapolated (proteins are alike)
        from proteomics.io.table import QuantTable

        d = table.data
        first = pd.unique(d["protein_group"].astype(str))[: int(subset)]
        table = QuantTable(d.loc[d["protein_group"].astype(str).isin(first)].reset_index(drop=True), table.format,
                           table.path)
    out = {}
    for n_jobs in sorted({1, int(p.get("n_jobs", 1))}):
        t0, c0 = time.perf_counter(), _cpu()
        ds = quantify(table, method="maxlfq", n_jobs=n_jobs)
        wall = time.perf_counter() - t0
        out[f"n_jobs={n_jobs}"] = {"wall_s": wall, "cpu_s": _cpu() - c0, "rows_s": len(table.data) / wall, "proteins": ds.n_proteins,
                                   "quantified": int(np.isfinite(ds.X).any(axis=0).sum())}
    res = {**out["n_jobs=1"], "rows": len(table.data)}
    if subset:
        f = n_all / table.n_proteins
        res.update({"protein_subset": table.n_proteins, "proteins_total": n_all,
                    "extrapolated_wall_s": res["wall_s"] * f, "extrapolated_cpu_s": res["cpu_s"] * f})
    if len(out) > 1:
        res["wall_s_2jobs"] = out["n_jobs=2"]["wall_s"]
    return res


PEER_PYTHON = os.environ.get("DIRECTLFQ_PYTHON", "/work/dlfq-venv/bin/python")


def directlfq_quantify(table, *, workdir: Path | None = None) -> tuple[pd.DataFrame, dict]:
    """directLFQ 0.3.3 on a QuantTable, run by ``bench/directlfq_peer.py`` in its own virtual environment
    (``$DIRECTLFQ_PYTHON``, default /work/dlfq-venv/bin/python; never imported here). Returns the protein ×
    run table of log2 values and the peer's own measurements (wall_s, cpu_s, peak_rss, warmup_s)."""
    import tempfile

    d = table.data
    with tempfile.TemporaryDirectory(dir=workdir) as tmp:
        src, dst = Path(tmp) / "long.parquet", Path(tmp) / "prot.parquet"
        pd.DataFrame({"protein": d["protein_group"].astype(str), "ion": d["entity_id"].astype(str),
                      "run": d["run"].astype(str), "intensity": d["intensity"].to_numpy(float)}).to_parquet(src)
        r = subprocess.run(["nice", "-n", "10", PEER_PYTHON, str(HERE / "directlfq_peer.py"), str(src), str(dst)],
                           capture_output=True, text=True, check=False)
        lines = [ln for ln in r.stdout.splitlines() if ln.startswith("PEER-RESULT ")]
        if r.returncode != 0 or not lines:
            raise RuntimeError((r.stderr.strip().splitlines() or ["no output"])[-1][:300])
        return pd.read_parquet(dst), json.loads(lines[-1][len("PEER-RESULT "):])


def _have_peer() -> bool:
    return Path(PEER_PYTHON).exists()


def stage_directlfq(p: dict) -> dict:
    if not _have_peer():
        return {"skipped": f"{PEER_PYTHON} absent (python3 -m venv /work/dlfq-venv; pip install directlfq==0.3.3)"}
    from proteomics.preprocess import MedianNormalizer
    from proteomics.quant import quantify

    table = _read_table(p)
    prot, peer = directlfq_quantify(table, workdir=Path(p["out"]))
    t0, c0 = time.perf_counter(), _cpu()
    ds = MedianNormalizer().fit_transform(quantify(table))
    t_ours, c_ours = time.perf_counter() - t0, _cpu() - c0
    return {"wall_s": peer["wall_s"], "cpu_s": peer["cpu_s"], "ours_cpu_s": c_ours,
            "speedup_cpu": peer["cpu_s"] / c_ours, "compile_warmup_s": peer["warmup_s"], "ours_wall_s": t_ours,
            "speedup": peer["wall_s"] / t_ours, "rows": len(table.data), "rows_s": len(table.data) / peer["wall_s"],
            "proteins": int(len(prot)), "ours_proteins": int(np.isfinite(ds.X).any(axis=0).sum()),
            "peak_rss_peer": peer["peak_rss"]}


def stage_preprocess(p: dict) -> dict:
    from proteomics.preprocess import STEPS

    n, G = p["runs"], max(1, p["precursors"] // 4)
    Y, grp = synthetic_matrix(n, G, p["seed"], missing=0.2)
    ds = _dataset(Y, grp)
    t0, c0 = time.perf_counter(), _cpu()
    out = STEPS["impute_minprob"]().fit_transform(STEPS["normalize_median"]().fit_transform(ds))
    wall, cpu = time.perf_counter() - t0, _cpu() - c0
    assert not np.isnan(out.X).any()
    return {"wall_s": wall, "cpu_s": cpu, "shape": [n, G], "values_s": n * G / wall}


def _modt_inputs(p):
    n, G = p["de_samples"], p["de_proteins"]
    return {name: synthetic_matrix(n, G, p["seed"], missing=miss) for name, miss in (("complete", 0.0),
                                                                                       ("missing5", 0.05))}


def stage_modt(p: dict) -> dict:
    from proteomics.stats import contrasts_fit, ebayes, lm_fit

    out = {}
    for name, (Y, grp) in _modt_inputs(p).items():
        design = np.column_stack([grp == "A", grp == "B"]).astype(float)
        t0, c0 = time.perf_counter(), _cpu()
        eb = ebayes(contrasts_fit(lm_fit(Y, design), np.array([[-1.0], [1.0]])))
        out[name] = {"wall_s": time.perf_counter() - t0, "cpu_s": _cpu() - c0}
        tdir = Path(p["out"]) / "limma"
        tdir.mkdir(parents=True, exist_ok=True)
        np.save(tdir / f"ours_t_{name}_{Y.shape[0]}x{Y.shape[1]}.npy", np.asarray(eb.t).ravel())
        # limma < 3.62 (e.g. Debian's 3.54) estimates the prior without fitFDistUnequalDF1: legacy=True
        eb_old = ebayes(contrasts_fit(lm_fit(Y, design), np.array([[-1.0], [1.0]])), legacy=True)
        np.save(tdir / f"ours_t_{name}_{Y.shape[0]}x{Y.shape[1]}_legacy.npy", np.asarray(eb_old.t).ravel())
    return {"wall_s": out["complete"]["wall_s"], "wall_s_missing5": out["missing5"]["wall_s"],
            "cpu_s": out["complete"]["cpu_s"], "cpu_s_missing5": out["missing5"]["cpu_s"],
            "shape": [p["de_samples"], p["de_proteins"]]}


R_LIMMA = r"""suppressPackageStartupMessages(library(limma))
args <- commandArgs(TRUE); n <- as.integer(args[2]); G <- as.integer(args[3])
y <- matrix(readBin(args[1], "double", n * G), nrow = G, ncol = n)
group <- factor(rep(c("A", "B"), length.out = n))
design <- model.matrix(~0 + group); colnames(design) <- c("A", "B")
cm <- makeContrasts(B - A, levels = design)
t0 <- proc.time()
eb <- eBayes(contrasts.fit(lmFit(y, design), cm))
t1 <- proc.time() - t0
writeBin(as.double(eb$t[, 1]), args[4])
cat(sprintf("{\"wall_s\": %.6f, \"cpu_s\": %.6f, \"limma\": \"%s\"}\n", t1[["elapsed"]],
            t1[["user.self"]] + t1[["sys.self"]], as.character(packageVersion("limma"))))
"""


def stage_limma(p: dict) -> dict:
    import shutil

    if shutil.which("Rscript") is None:
        return {"skipped": "R is not installed (apt-get install r-base-core r-bioc-limma)"}
    tdir = Path(p["out"]) / "limma"
    tdir.mkdir(parents=True, exist_ok=True)
    script = tdir / "limma_bench.R"
    script.write_text(R_LIMMA)
    out = {}
    for name, (Y, _) in _modt_inputs(p).items():
        n, G = Y.shape
        mat = tdir / f"y_{name}_{n}x{G}.bin"
        np.asfortranarray(Y.T).ravel(order="F").tofile(mat)  # proteins × samples, column-major for readBin
        tout = tdir / f"r_t_{name}_{n}x{G}.bin"
        r = subprocess.run(["Rscript", str(script), str(mat), str(n), str(G), str(tout)], capture_output=True,
                           text=True, check=False)
        if r.returncode != 0:
            return {"skipped": f"Rscript failed: {r.stderr.strip()[-300:]}"}
        res = json.loads(r.stdout.strip().splitlines()[-1])
        major, minor = (int(x) for x in res["limma"].split(".")[:2])
        legacy = "_legacy" if (major, minor) < (3, 62) else ""
        ours = tdir / f"ours_t_{name}_{n}x{G}{legacy}.npy"
        if ours.exists():  # agreement with our t (written by the modt stage on the same matrix)
            a, b = np.load(ours), np.fromfile(tout)
            ok = np.isfinite(a) & np.isfinite(b)
            res["max_abs_diff_t"] = float(np.max(np.abs(a[ok] - b[ok]))) if ok.any() else None
        out[name] = res
    return {"wall_s": out["complete"]["wall_s"], "wall_s_missing5": out["missing5"]["wall_s"],
            "cpu_s": out["complete"]["cpu_s"], "cpu_s_missing5": out["missing5"]["cpu_s"],
            "limma": out["complete"]["limma"], "max_abs_diff_t": out["complete"].get("max_abs_diff_t"),
            "max_abs_diff_t_missing5": out["missing5"].get("max_abs_diff_t"), "peak_rss_R": _peak(resource.RUSAGE_CHILDREN)}


def stage_panel(p: dict) -> dict:
    from proteomics.panel import build_panel

    n, G = p["panel_samples"], p["panel_proteins"]
    Y, grp = synthetic_matrix(n, G, p["seed"], missing=0.02, de_fraction=0.01)
    ds = _dataset(Y, grp)
    t0, c0 = time.perf_counter(), _cpu()
    res = build_panel(ds, "condition", "B", seed=p["seed"], n_permutations=0, n_jobs=1)
    wall, cpu = time.perf_counter() - t0, _cpu() - c0
    auc = getattr(getattr(res, "cv", None), "auc", None)
    return {"wall_s": wall, "cpu_s": cpu, "shape": [n, G], "auc": float(auc) if isinstance(auc, int | float) else None}


def stage_panel_weak(p: dict) -> dict:
    """The default panel (bagged, no cap) where the signal is weak and the panel large (weak_signal_matrix)."""
    from proteomics.panel import build_panel

    n, G = 2 * p["panel_samples"], p["panel_proteins"] + p["panel_proteins"] // 4
    Y, grp = weak_signal_matrix(n, G, p["seed"])
    ds = _dataset(Y, grp)
    t0, c0 = time.perf_counter(), _cpu()
    res = build_panel(ds, "condition", "B", seed=p["seed"], n_permutations=0, n_jobs=1)
    wall, cpu = time.perf_counter() - t0, _cpu() - c0
    return {"wall_s": wall, "cpu_s": cpu, "shape": [n, G], "auc": float(res.cv.auc),
            "panel_size": len(res.signature.proteins)}


def stage_e2e(p: dict) -> dict:
    from proteomics import io
    from proteomics.quant import quantify
    from proteomics.stats import moderated_t

    paths = ensure_data(Path(p["out"]), p["runs"], p["precursors"], p["seed"], ("parquet",))
    t0, c0 = time.perf_counter(), _cpu()
    table = io.read(paths["parquet"], "diann_report", fdr=0.01)
    t1 = time.perf_counter()
    ds = quantify(table, method=p.get("method", "maxlfq"), n_jobs=int(p.get("n_jobs", 1)))
    del table
    t2 = time.perf_counter()
    s = ds.samples.copy()
    s["condition"] = np.where(np.arange(ds.n_samples) % 2, "B", "A")
    ds = ds.with_samples(s)
    keep = np.isfinite(ds.X).sum(axis=0) >= 4
    res = moderated_t(ds.subset(proteins=keep), "B-A", group="condition")
    t3 = time.perf_counter()
    return {"method": p.get("method", "maxlfq"), "n_jobs": int(p.get("n_jobs", 1)), "wall_s": t3 - t0, "cpu_s": _cpu() - c0, "read_s": t1 - t0, "quant_s": t2 - t1, "de_s": t3 - t2,
            "shape": [ds.n_samples, ds.n_proteins], "de_rows": int(len(res.table))}


def stage_dask(p: dict) -> dict:
    try:
        import distributed  # noqa: F401
    except ImportError:
        return {"skipped": "dask is not installed (pip install 'dask[distributed]')"}
    from proteomics import io
    from proteomics.quant import quantify
    from proteomics.quant.distributed import quantify_dask

    paths = ensure_data(Path(p["out"]), p["runs"], p["precursors"], p["seed"], ("parquet",))
    t0 = time.perf_counter()
    ds = quantify_dask(paths["parquet"], n_workers=2, read_options={"fdr": 0.01})
    t_dask = time.perf_counter() - t0
    t0 = time.perf_counter()
    local = quantify(io.read(paths["parquet"], "diann_report", fdr=0.01))
    t_local = time.perf_counter() - t0
    same = bool(np.array_equal(ds.X, local.X, equal_nan=True) and ds.protein_ids == local.protein_ids)
    return {"wall_s": t_dask, "local_wall_s": t_local, "identical": same, "workers": 2,
            "peak_rss_workers": _peak(resource.RUSAGE_CHILDREN)}


def _hye_summary(X: pd.DataFrame, names: dict | None = None) -> dict:
    """X: runs × proteins log2 (median-centred here). Per species n, median error of log2(A/B), IQR; and the
    median |error| over all proteins with ≥ 2 values per condition."""
    expected = {"HUMAN": 0.0, "YEAST": 1.0, "ECOLI": -2.0}
    X = X - X.median(axis=1).to_numpy()[:, None]
    A = X.loc[[s for s in X.index if "_Condition_A_" in s]]
    B = X.loc[[s for s in X.index if "_Condition_B_" in s]]
    ok = (A.notna().sum() >= 2) & (B.notna().sum() >= 2)
    lr = (A.mean() - B.mean())[ok]

    def species(name):
        found = {sp for m in str(name).split(";") for sp in expected if m.endswith("_" + sp)}
        return found.pop() if len(found) == 1 else None

    names = names or {}
    sp = pd.Series([species(names.get(g, g)) for g in lr.index], index=lr.index)
    out, errs = {}, []
    for name, e in expected.items():
        v = lr[sp == name]
        if len(v):
            out[name] = {"n": int(len(v)), "median_error": float(v.median() - e),
                         "iqr": float(v.quantile(0.75) - v.quantile(0.25))}
            errs.append(np.abs(v - e))
    out["median_abs_error"] = float(pd.concat(errs).median()) if errs else None
    out["n"] = int(sum(len(e) for e in errs))
    return out


HYE_FILES = {"DIA-NN 1.9 report": "DIANN_1.9_beta_sample_report.tsv",
             "FragPipe DIA combined_ion": "Fragpipe_combined_ion.tsv"}


def stage_hye(p: dict) -> dict:
    from proteomics import io
    from proteomics.quant import quantify

    have_dlfq = _have_peer()
    out = {}
    for label, name in HYE_FILES.items():
        path = SHARED / "proteobench_hye" / name
        if not path.exists():
            out[label] = {"skipped": f"{path} is absent"}
            continue
        table = io.read(path)
        names = None
        if name.startswith("DIANN"):  # species live in Protein.Names, not in the Protein.Group accessions
            nm = pd.read_csv(path, sep="\t", usecols=["Protein.Group", "Protein.Names"]).drop_duplicates()
            names = dict(zip(nm["Protein.Group"], nm["Protein.Names"], strict=False))
        res = {}
        for label_, kw in (("auto (default)", {}), ("maxlfq_mrc1", {"method": "maxlfq", "min_ratio_count": 1}),
                           ("maxlfq_mrc2", {"method": "maxlfq", "min_ratio_count": 2}),
                           ("trace", {"method": "trace"})):
            t0 = time.perf_counter()
            ds = quantify(table, **kw)
            res[label_] = {**_hye_summary(ds.to_frame(), names), "wall_s": time.perf_counter() - t0}
        if have_dlfq:
            prot, peer = directlfq_quantify(table, workdir=Path(p["out"]))
            res["directlfq"] = {**_hye_summary(prot.T, names), "wall_s": peer["wall_s"]}
        out[label] = res
    return out


STAGE_FUNCS = {"read_tsv": lambda p: stage_read(p, "tsv"), "read_parquet": lambda p: stage_read(p, "parquet"),
               "maxlfq": stage_maxlfq, "directlfq": stage_directlfq, "preprocess": stage_preprocess,
               "modt": stage_modt, "limma": stage_limma, "panel": stage_panel, "panel_weak": stage_panel_weak, "hye": stage_hye, "e2e": stage_e2e,
               "dask": stage_dask}


def child(name: str, params: dict) -> None:
    import logging

    logging.basicConfig(level=logging.WARNING)
    res = STAGE_FUNCS[name](params)
    res["peak_rss"] = _peak()
    print("BENCH-RESULT " + json.dumps(res))


# -- the parent: one subprocess per stage, then the table ---------------------------------------------------------
def run_stage(name: str, params: dict, timeout: float) -> dict:
    t0 = time.perf_counter()
    try:
        r = subprocess.run([sys.executable, __file__, "--child", name, "--params", json.dumps(params)],
                           capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout:.0f} s"}
    lines = [ln for ln in r.stdout.splitlines() if ln.startswith("BENCH-RESULT ")]
    if r.returncode != 0 or not lines:
        return {"error": (r.stderr.strip().splitlines() or ["no output"])[-1][:300]}
    res = json.loads(lines[-1][len("BENCH-RESULT "):])
    res["process_s"] = time.perf_counter() - t0
    return res


def _fmt(x, unit=""):
    if x is None:
        return "–"
    if isinstance(x, float):
        return f"{x:,.2f}{unit}" if x < 100 else f"{x:,.0f}{unit}"
    return f"{x:,}{unit}" if isinstance(x, int) else str(x)


def table_rows(results: dict) -> list[list[str]]:
    rows = []
    for name, r in results.items():
        if name == "hye":
            continue
        if "error" in r or "skipped" in r:
            rows.append([name, r.get("error") or r.get("skipped"), "", "", "", "", ""])
            continue
        gib = r.get("peak_rss", 0) / 2**30
        thr = []
        if "rows_s" in r:
            thr.append(f"{r['rows_s'] / 1e6:.2f} M rows/s")
        if "MB_s" in r:
            thr.append(f"{r['MB_s']:.0f} MB/s")
        if "values_s" in r:
            thr.append(f"{r['values_s'] / 1e6:.1f} M values/s")
        rows.append([name, _fmt(r.get("wall_s"), " s"), _fmt(r.get("cpu_s"), " s"), f"{gib:.2f} GiB", ", ".join(thr) or "–",
                     _fmt(r.get("rows") or (r.get("shape") and "×".join(map(str, r["shape"])))), _note(name, r)])
    return rows


def _note(name: str, r: dict) -> str:
    if name == "maxlfq":
        note = f"2 jobs: {r['wall_s_2jobs']:.2f} s" if "wall_s_2jobs" in r else "1 job"
        if "protein_subset" in r:
            note += (f"; {r['protein_subset']} of {r['proteins_total']} proteins timed → EXTRAPOLATED all: "
                     f"{r['extrapolated_cpu_s']:.0f} s CPU")
        return note
    if name == "directlfq":
        return (f"ours (default roll-up + median) {r['ours_wall_s']:.2f} s wall / {r['ours_cpu_s']:.2f} s CPU → ours "
                f"{r['speedup']:.1f}× (wall) / {r['speedup_cpu']:.1f}× (CPU) faster; numba warm-up "
                f"{r['compile_warmup_s']:.0f} s not counted")
    if name == "read_tsv":
        return (f"kept columns ≈ {r['kept_text_bytes'] / 2**30:.2f} GiB text; table {r['table_bytes'] / 2**30:.2f} GiB;"
                f" baseline {r['baseline_rss'] / 2**30:.2f} GiB")
    if name == "read_parquet":
        return f"table {r['table_bytes'] / 2**30:.2f} GiB"
    if name in ("modt", "limma"):
        extra = f"; max |t − t_R| {r['max_abs_diff_t']:.1e}" if r.get("max_abs_diff_t") is not None else ""
        return f"5 % missing: {r['wall_s_missing5']:.2f} s wall / {r['cpu_s_missing5']:.2f} s CPU{extra}"
    if name == "e2e":
        return (f"read {r['read_s']:.1f} s, {r['method']} ({r.get('n_jobs', 1)} jobs) {r['quant_s']:.1f} s, "
                f"DE {r['de_s']:.1f} s")
    if name == "dask":
        return f"local engine {r['local_wall_s']:.2f} s; identical: {r['identical']}"
    if name == "panel":
        return f"AUC {r['auc']:.2f}" if r.get("auc") is not None else ""
    if name == "panel_weak":
        return f"AUC {r['auc']:.2f}, locked panel of {r['panel_size']} proteins"
    return ""


def markdown(results: dict, size: str, params: dict) -> str:
    head = ["stage", "wall", "CPU", "peak RSS", "throughput (wall)", "input", "notes"]
    lines = [f"Size `{size}`: {params['runs']} runs × {params['precursors']:,} precursors; moderated t "
             f"{params['de_proteins']:,} proteins × {params['de_samples']:,} samples; panel "
             f"{params['panel_samples']} samples × {params['panel_proteins']:,} proteins.", "",
             "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(r) + " |" for r in table_rows(results)]
    if "hye" in results and "error" not in results["hye"]:
        lines += ["", "HYE accuracy (log2 A/B after median centring; expected human 0, yeast 1, E. coli −2):", "",
                  "| file | method | n | median abs error | human err/IQR | yeast err/IQR | E. coli err/IQR |",
                  "|---|---|---|---|---|---|---|"]
        for label, res in results["hye"].items():
            if not isinstance(res, dict) or "skipped" in res:
                continue
            for method, s in res.items():
                if not isinstance(s, dict):
                    continue
                cells = [f"{s[sp]['n']}: {s[sp]['median_error']:+.2f}/{s[sp]['iqr']:.2f}" if sp in s else "–"
                         for sp in ("HUMAN", "YEAST", "ECOLI")]
                lines.append(f"| {label} | {method} | {s['n']} | {_fmt(s['median_abs_error'])} | " + " | ".join(cells)
                             + " |")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", choices=list(SIZES), default="small")
    ap.add_argument("--stages", default=",".join(STAGES), help="comma-separated subset of " + ", ".join(STAGES))
    ap.add_argument("--out", default=str(HERE / "out"))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--runs", type=int, help="override the size's number of runs")
    ap.add_argument("--precursors", type=int, help="override the size's number of precursors")
    ap.add_argument("--method", default="maxlfq", help="protein roll-up of the e2e stage (default maxlfq)")
    ap.add_argument("--n-jobs", type=int, default=1, help="maxlfq stage: also time this many jobs; e2e: jobs of the roll-up")
    ap.add_argument("--protein-subset", type=int, help="maxlfq stage: time this many protein groups, extrapolate")
    ap.add_argument("--timeout", type=float, default=3600.0, help="seconds per stage")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--params", help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.child:
        child(a.child, json.loads(a.params))
        return 0
    stages = [s.strip() for s in a.stages.split(",") if s.strip()]
    bad = [s for s in stages if s not in STAGES]
    if bad:
        ap.error(f"unknown stage(s) {bad}; choose from {', '.join(STAGES)}")
    params = {**SIZES[a.size], "seed": a.seed, "out": str(Path(a.out).resolve()), "method": a.method,
              "n_jobs": a.n_jobs, "protein_subset": a.protein_subset}
    for k in ("runs", "precursors"):
        if getattr(a, k):
            params[k] = getattr(a, k)
    out = Path(params["out"])
    out.mkdir(parents=True, exist_ok=True)
    if any(s in stages for s in ("read_tsv", "read_parquet", "maxlfq", "directlfq", "e2e", "dask")):
        t0 = time.perf_counter()
        ensure_data(out, params["runs"], params["precursors"], params["seed"],
                    ("tsv", "parquet") if "read_tsv" in stages else ("parquet",))
        print(f"inputs ready in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    tag = a.size if (a.runs is None and a.precursors is None) else f"{a.size}_{params['runs']}x{params['precursors']}"
    saved = out / f"results_{tag}.json"
    # stages run before (separately) with the same size are kept; the ones run now replace them
    results = json.loads(saved.read_text())["results"] if saved.exists() else {}
    for s in stages:
        print(f"stage {s} …", file=sys.stderr, flush=True)
        results[s] = {**run_stage(s, params, a.timeout), "load_average": os.getloadavg()[0]}
        doc = {"size": a.size, "params": params, "machine": {"cpus": os.cpu_count(),
               "python": sys.version.split()[0]}, "results": results}
        text = json.dumps(doc, indent=2, sort_keys=True)
        saved.write_text(text)
        (out / "results.json").write_text(text)
    md = markdown(results, a.size, params)
    print(md)
    (out / f"results_{tag}.md").write_text(md + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
