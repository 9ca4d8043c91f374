"""The dask engine gives exactly the local engine's Dataset (X, layers, samples, proteins, history).

A LocalCluster of 2 worker processes bound to 127.0.0.1 is shared by the module. Inputs are small seeded
simulations written in the real DIA-NN / MaxQuant layouts; parts and partitions are made deliberately small
so every file is split into several Parquet parts and several protein-group buckets.
"""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd
import pytest

distributed = pytest.importorskip("distributed")

from proteomics import io as pio  # noqa: E402
from proteomics import simulate  # noqa: E402
from proteomics.errors import InputError  # noqa: E402
from proteomics.quant import quantify  # noqa: E402
from proteomics.quant.distributed import quantify_dask  # noqa: E402
from proteomics.samples import SampleSheet  # noqa: E402


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                       dashboard_address=None)
    c = distributed.Client(cluster)
    yield c
    c.close()
    cluster.close()


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("dask")
    out = {"tsv": d / "report.tsv", "parquet": d / "report.parquet", "cohort": d / "cohort_report.tsv",
           "mq": d / "proteinGroups.txt", "tiny": d / "tiny.parquet"}
    simulate.write_large_diann_report(out["tsv"], n_runs=10, n_precursors=1500, seed=3)
    simulate.write_large_diann_report(out["parquet"], n_runs=10, n_precursors=1500, seed=3, fmt="parquet")
    simulate.write_large_diann_report(out["tiny"], n_runs=4, n_precursors=200, seed=4, fmt="parquet")
    cohort = simulate.simulate_cohort(7, n_patients=8, n_bal=4, n_sputum=4)
    simulate.write_diann_report(cohort, "plasma", out["cohort"])
    simulate.write_maxquant_protein_groups(cohort, out["mq"])
    out["sheet"] = cohort.sheet
    return out


def assert_identical(local, dk):
    assert dk.protein_ids == local.protein_ids
    assert dk.sample_ids == local.sample_ids
    np.testing.assert_array_equal(dk.X, local.X)
    assert set(dk.layers) == set(local.layers)
    for k in local.layers:
        np.testing.assert_array_equal(dk.layers[k], local.layers[k])
    pd.testing.assert_frame_equal(dk.proteins, local.proteins)
    pd.testing.assert_frame_equal(dk.samples, local.samples)
    assert dk.history == local.history


def _reversed_sheet(runs):
    """A sheet listing the runs in reverse order under other sample names (tests mapping and row order)."""
    runs = list(reversed(runs))
    return SampleSheet.from_frame(pd.DataFrame({
        "sample": [f"S{i:02d}" for i in range(len(runs))], "run": runs, "subject": [f"P{i}" for i in range(len(runs))],
        "specimen": "plasma", "condition": ["a", "b"] * (len(runs) // 2) + ["a"] * (len(runs) % 2)}))


@pytest.mark.parametrize("kind, method", [("tsv", "maxlfq"), ("parquet", "median_polish")])
def test_large_report_identical(client, files, kind, method):
    table = pio.read(files[kind])
    sheet = _reversed_sheet(table.runs)
    local = quantify(table, sheet, method=method)
    dk = quantify_dask(files[kind], sheet, method=method, scheduler=client, rows_per_part=2500, n_partitions=3)
    assert dk.n_proteins > 300 and dk.n_samples == 10
    assert dk.sample_ids[0] == "S00"
    assert_identical(local, dk)


def test_cohort_report_with_contaminants_and_genes(client, files):
    opts = {"fdr": 0.01, "keep_contaminants": True}
    local = quantify(pio.read(files["cohort"], **opts), min_ratio_count=1)
    dk = quantify_dask(files["cohort"], read_options=opts, scheduler=client, rows_per_part=3000, min_ratio_count=1)
    assert dk.proteins["gene"].notna().any()
    assert_identical(local, dk)


def test_results_do_not_depend_on_partitioning(client, files):
    a = quantify_dask(files["tsv"], scheduler=client, n_partitions=1, rows_per_part=10**7)
    b = quantify_dask(files["tsv"], scheduler=client, n_partitions=5, rows_per_part=1000)
    assert_identical(a, b)


def test_other_formats_are_read_on_the_client(client, files):
    """A MaxQuant proteinGroups file (protein level) goes through the scattered-slices path."""
    local = quantify(pio.read(files["mq"]))
    dk = quantify_dask(files["mq"], scheduler=client, rows_per_part=500)
    assert "n_peptides" not in dk.layers
    assert_identical(local, dk)


def test_quanttable_input_and_scheduler_address(client, files):
    """A QuantTable already read (as stages.load_dataset passes it); the cluster reached by its address."""
    table = pio.read(files["cohort"])
    address = client.scheduler.address
    assert address.startswith("tcp://127.0.0.1:")
    assert_identical(quantify(table, method="sum"), quantify_dask(table, method="sum", scheduler=address))


def test_own_local_cluster(files):
    """scheduler=None starts (and closes) a LocalCluster on 127.0.0.1 with n_workers processes (one here, to
    keep the test quick; the module's shared cluster has two)."""
    local = quantify(pio.read(files["tiny"]), method="top3")
    assert_identical(local, quantify_dask(files["tiny"], method="top3", n_workers=1))


def test_bad_input_is_input_error(client, files, tmp_path):
    with pytest.raises(InputError, match="unknown quantification method"):
        quantify_dask(files["tsv"], method="nope", scheduler=client)
    with pytest.raises(InputError, match="unknown quantification option"):
        quantify_dask(files["tsv"], scheduler=client, colour="red")
    with pytest.raises(InputError, match="file not found"):
        quantify_dask(tmp_path / "absent.tsv", scheduler=client)
    with pytest.raises(InputError, match="fdr must be"):
        quantify_dask(files["tsv"], scheduler=client, read_options={"fdr": 2})
    # a negative intensity: the same message, line and column as the local reader
    lines = files["tsv"].read_text().splitlines(keepends=True)
    cols = lines[0].rstrip("\n").split("\t")
    j = cols.index("Precursor.Normalised")
    f = lines[7].rstrip("\n").split("\t")
    f[j] = "-5"
    lines[7] = "\t".join(f) + "\n"
    bad = tmp_path / "report.tsv"
    bad.write_text("".join(lines))
    with pytest.raises(InputError) as local_err:
        pio.read(bad)
    with pytest.raises(InputError) as dask_err:
        quantify_dask(bad, scheduler=client)
    assert (dask_err.value.line, dask_err.value.column) == (local_err.value.line, local_err.value.column) == (
        8, "Precursor.Normalised")
    # every row filtered away: the local reader's own error
    with pytest.raises(InputError) as local_err:
        quantify(pio.read(files["parquet"], fdr=1e-9))
    with pytest.raises(InputError) as dask_err:
        quantify_dask(files["parquet"], scheduler=client, read_options={"fdr": 1e-9}, rows_per_part=5000)
    assert dask_err.value.message == local_err.value.message


def test_parts_without_passing_rows(client, files, tmp_path):
    """A part in which no row passes the FDR filter is empty, not an error (the report is followed by a copy
    of itself whose q-values all fail, so the last parts hold failing rows only)."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    t = pq.read_table(files["tiny"])
    failing = t.set_column(t.schema.get_field_index("Q.Value"), "Q.Value",
                           pc.add(pc.multiply(t["Q.Value"], 0.0), 0.5))
    path = tmp_path / "with_failing.parquet"
    pq.write_table(pa.concat_tables([t, failing]), path)
    assert pio.read(path).data.shape[0] < t.num_rows  # every row of the copy fails
    assert_identical(quantify(pio.read(path)), quantify_dask(path, scheduler=client, rows_per_part=100))


def test_bad_scheduler_address(files):
    with pytest.raises(InputError, match="scheduler must be an address"):
        quantify_dask(files["tsv"], scheduler=8786)


def test_missing_dask_is_input_error(files, monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)  # import distributed → ImportError
    with pytest.raises(InputError, match="dask is not installed") as err:
        quantify_dask(files["tsv"])
    assert "proteomics[dask]" in err.value.hint


def _worker_threads(limits):
    from threadpoolctl import threadpool_limits

    from proteomics.quant._dask_tasks import blas_threads as _blas_threads

    before = _blas_threads()
    with threadpool_limits(limits=limits):
        inside = _blas_threads()
    return before, inside


def test_workers_use_the_clients_blas_threads(client):
    """OpenBLAS results differ in the last bits with the thread count (measured: 153 of 238,300 MaxLFQ values
    of a 100-run report, ≤ 7e-15), and Dask workers start with one BLAS thread: buckets are quantified with
    the client's thread counts, so the engines agree bit for bit."""
    from proteomics.quant._dask_tasks import blas_threads as _blas_threads

    mine = _blas_threads()
    before, inside = client.submit(_worker_threads, mine, pure=False).result()
    # compare the pools the worker has loaded (an OpenMP runtime may be loaded in the client only)
    shared = sorted(set(inside) & set(mine))
    assert "blas" in shared
    assert {k: inside[k] for k in shared} == {k: mine[k] for k in shared}
    if mine["blas"] > 1:
        assert before.get("blas") != mine["blas"]  # the workers really started with other settings


class _Stop(Exception):
    pass


def test_interrupted_job_resumes_from_finished_buckets(client, files, tmp_path):
    """With ``workdir`` the job folder survives an interruption; run again, the finished parts and buckets are
    reused (proved by tampering with one finished result: the tampered values come back) and a clean resume
    equals the local engine."""
    import shutil
    import time

    table = pio.read(files["parquet"])
    local = quantify(table, method="trace")

    def stop_after_first_bucket(stage, done, total):
        if stage.startswith("quantifying") and done >= 1:
            raise _Stop

    work = tmp_path / "work"
    with pytest.raises(_Stop):
        quantify_dask(files["parquet"], method="trace", scheduler=client, rows_per_part=2500, n_partitions=4,
                      workdir=work, progress=stop_after_first_bucket)
    (job,) = list(work.glob("job-*"))
    assert len(list((job / "split").glob("p*.json"))) == len(list((job / "parts").glob("part-*.parquet"))) > 1
    deadline = time.monotonic() + 120  # let the workers finish what they were running (the client stopped waiting)
    while any(client.processing().values()) and time.monotonic() < deadline:
        time.sleep(0.05)
    finished = sorted((job / "results").glob("b*.X.npy"))
    assert finished
    tampered = tmp_path / "tampered"
    # a task still writing leaves only a temporary file, never a finished marker: copy the finished state
    shutil.copytree(work, tampered, ignore=shutil.ignore_patterns("*.tmp*"))
    X0 = np.load(tampered / job.name / "results" / finished[0].name)
    np.save(tampered / job.name / "results" / finished[0].name, X0 + 1.0)
    dk = quantify_dask(files["parquet"], method="trace", scheduler=client, rows_per_part=2500, n_partitions=4,
                       workdir=tampered)
    d = (dk.X - local.X)[np.isfinite(local.X)]
    shifted = np.abs(d - 1.0) < 1e-9
    assert shifted.any() and np.all(shifted | (d == 0))  # the finished bucket was not recomputed
    assert not list(tampered.glob("job-*"))  # removed after success
    assert_identical(local, quantify_dask(files["parquet"], method="trace", scheduler=client, rows_per_part=2500,
                                          n_partitions=4, workdir=work))
    assert not list(work.glob("job-*"))


def test_trace_and_auto_identical_on_dask(client, files):
    table = pio.read(files["tsv"])
    for method in ("trace", "auto"):
        assert_identical(quantify(table, method=method),
                         quantify_dask(files["tsv"], method=method, scheduler=client, rows_per_part=3000,
                                       n_partitions=3))
