"""Large seeded DIA-NN-style reports for benchmarks (memory bounded by a chunk of runs)."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd

from .._files import atomic_path
from .diann import RAW_DIR

__all__ = ["write_large_diann_report"]


def write_large_diann_report(path: str | os.PathLike, *, n_runs: int, n_precursors: int, seed: int = 0,
                             fmt: str = "tsv", runs_per_chunk: int = 4, precursors_per_protein: float = 4.0) -> int:
    """Write a large seeded DIA-NN-style precursor report (``n_runs`` × ``n_precursors``) for benchmarks.

    Memory is bounded by ``runs_per_chunk × n_precursors`` rows; each run is drawn from its own seed
    (``[seed, run]``), so the output does not depend on ``runs_per_chunk``. ``fmt`` is ``tsv`` or
    ``parquet``. Proteins are generic (``SIM…``), abundances log-normal with MNAR + MCAR missingness,
    PG.* columns are per-run sums. Returns the number of rows written.
    """
    if fmt not in ("tsv", "parquet"):
        raise ValueError("fmt must be 'tsv' or 'parquet'")
    rng = np.random.default_rng([seed, 0xB16])
    n_prot = max(1, int(round(n_precursors / precursors_per_protein)))
    prot_of = np.sort(rng.integers(0, n_prot, n_precursors))
    prot_level = rng.normal(24.0, 2.5, n_prot)
    resp = rng.normal(0.0, 1.0, n_precursors)
    expected = prot_level[prot_of] + resp
    threshold = np.quantile(expected, 0.2)
    letters = np.frombuffer(b"ACDEFGHILMNPQSTVWY", dtype="S1")
    digits = (np.arange(n_precursors)[:, None] // letters.size ** np.arange(7)[None, :]) % letters.size
    codes = np.concatenate([rng.integers(0, letters.size, (n_precursors, 5)), digits], axis=1)
    body = np.ascontiguousarray(letters[codes]).view("S12").ravel().astype(str).astype(object)
    seqs = body + np.where(rng.random(n_precursors) < 0.55, "K", "R").astype(object)  # unique by construction
    charge = rng.choice([2, 3, 4], n_precursors, p=[0.65, 0.3, 0.05])
    groups = np.char.mod("SIM%07d", prot_of).astype(object)
    pid = seqs + charge.astype(str).astype(object)
    columns = ["File.Name", "Run", "Protein.Group", "Protein.Ids", "Protein.Names", "Genes", "PG.Quantity",
               "PG.Normalised", "PG.MaxLFQ", "Modified.Sequence", "Stripped.Sequence", "Precursor.Id",
               "Precursor.Charge", "Q.Value", "PG.Q.Value", "Global.Q.Value", "Lib.PG.Q.Value",
               "Precursor.Quantity", "Precursor.Normalised"]
    import pyarrow as pa
    import pyarrow.csv as pa_csv
    import pyarrow.parquet as pa_pq
    from scipy.special import ndtr

    rows = 0
    writer = None
    with atomic_path(path) as tmp:
        fh = open(tmp, "wb") if fmt == "tsv" else None
        try:
            if fh is not None:
                fh.write(("\t".join(columns) + "\n").encode())
            for start in range(0, n_runs, runs_per_chunk):
                parts = []
                for r in range(start, min(n_runs, start + runs_per_chunk)):
                    rr = np.random.default_rng([seed, r + 1])
                    x = expected + rr.normal(0, 0.3) + rr.normal(0, 0.2, n_precursors)
                    keep = (rr.random(n_precursors) >= ndtr((threshold - x) / 0.9)) & (rr.random(n_precursors) >= 0.03)
                    q = 10 ** -rr.uniform(2.05, 5.5, n_precursors)
                    flagged = ~keep & (rr.random(n_precursors) < 0.05)
                    q[flagged] = rr.uniform(0.0105, 0.05, int(flagged.sum()))
                    keep |= flagged
                    quant = 2.0 ** x
                    pg = np.bincount(prot_of, weights=np.where(keep & ~flagged, quant, 0.0), minlength=n_prot)
                    run = f"bench_run_{r + 1:05d}"
                    k = keep
                    pgq = pg[prot_of[k]]
                    parts.append(pd.DataFrame({
                        "File.Name": f"{RAW_DIR}{run}.raw", "Run": run, "Protein.Group": groups[k],
                        "Protein.Ids": groups[k], "Protein.Names": groups[k], "Genes": groups[k],
                        "PG.Quantity": pgq, "PG.Normalised": pgq, "PG.MaxLFQ": pgq,
                        "Modified.Sequence": seqs[k], "Stripped.Sequence": seqs[k], "Precursor.Id": pid[k],
                        "Precursor.Charge": charge[k], "Q.Value": q[k], "PG.Q.Value": np.minimum(q[k], 0.009),
                        "Global.Q.Value": q[k] / 10, "Lib.PG.Q.Value": 1e-4, "Precursor.Quantity": quant[k],
                        "Precursor.Normalised": quant[k]}, columns=columns))
                chunk = pa.Table.from_pandas(pd.concat(parts, ignore_index=True), preserve_index=False)
                rows += chunk.num_rows
                if fh is not None:
                    pa_csv.write_csv(chunk, fh, pa_csv.WriteOptions(include_header=False, delimiter="\t",
                                                                     quoting_style="none"))
                else:
                    if writer is None:
                        writer = pa_pq.ParquetWriter(tmp, chunk.schema)
                    writer.write_table(chunk)
        finally:
            if fh is not None:
                fh.close()
            if writer is not None:
                writer.close()
    return rows
