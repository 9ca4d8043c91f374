"""The simulated DIA-NN precursor report and the TSV/gzip writing shared by every simulated file."""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import numpy as np
import pandas as pd

from .._files import sha256_bytes, write_bytes
from .cohort import Cohort

__all__ = ["RAW_DIR", "DIANN_COLUMNS", "diann_report_frame", "write_diann_report", "tsv_bytes", "write_file",
           "uniform_from"]

RAW_DIR = "D:\\cohort\\raw\\"

DIANN_COLUMNS = ["File.Name", "Run", "Protein.Group", "Protein.Ids", "Protein.Names", "Genes", "PG.Quantity",
                  "PG.Normalised", "PG.MaxLFQ", "Modified.Sequence", "Stripped.Sequence", "Precursor.Id",
                  "Precursor.Charge", "Q.Value", "Global.Q.Value", "PG.Q.Value", "Global.PG.Q.Value", "Proteotypic",
                  "Precursor.Quantity", "Precursor.Normalised", "Lib.Q.Value", "Lib.PG.Q.Value"]


def uniform_from(keys: pd.Series, salt: int, seed: int) -> np.ndarray:
    """A pseudo-random number in [0, 1) per distinct key (same key → same number), from numpy's PCG64
    seeded with ``[seed, salt]`` over the sorted distinct keys (independent of pandas' hashing)."""
    uniq, inverse = np.unique(keys.astype(str).to_numpy(dtype=object).astype(str), return_inverse=True)
    return np.random.default_rng([seed, salt]).random(uniq.size)[inverse.ravel()]


def diann_report_frame(cohort: Cohort, specimen: str, samples: list[str] | None = None) -> pd.DataFrame:
    """The DIA-NN 1.8-style precursor report (one row per written precursor per run) for ``samples``.

    Rows with status ``missing`` are absent; ``low_confidence`` rows are present with Q.Value or
    PG.Q.Value above 0.01. Quantities are linear. PG.* values are computed over the detected
    (q ≤ 0.01) precursors of the runs in this report only, as DIA-NN does per analysis.
    """
    prec = cohort.precursors[specimen]
    if samples is not None:
        prec = prec[prec["sample"].isin(samples)]
    df = prec[prec["status"] != "missing"].copy()
    prot = cohort.proteins[specimen].set_index("protein_group")
    ok = (df["status"] == "detected").to_numpy()
    lq = df["log2_intensity"].to_numpy()
    # DIA-NN-like run normalisation: median log2 of precursors detected in ≥ 90 % of runs
    n_runs = df["run"].nunique()
    det = df[ok]
    common = det.groupby("precursor_id")["run"].size()
    common = common[common >= 0.9 * n_runs].index
    med = det[det["precursor_id"].isin(common)].groupby("run")["log2_intensity"].median()
    log_factor = (med.mean() - med).reindex(df["run"]).to_numpy()
    ln = lq + log_factor
    df["Precursor.Quantity"] = 2.0 ** lq
    df["Precursor.Normalised"] = 2.0 ** ln
    det = df[ok].assign(ln=ln[ok])
    pg_sum = det.groupby(["run", "protein_group"])[["Precursor.Quantity", "Precursor.Normalised"]].sum()
    offset = det.groupby("precursor_id")["ln"].median()
    det["adj"] = det["ln"] - offset.reindex(det["precursor_id"]).to_numpy()
    level = det.groupby(["run", "protein_group"])["adj"].median()
    scale = np.log2((2.0 ** offset).groupby(det.drop_duplicates("precursor_id").set_index("precursor_id")
                                            ["protein_group"].reindex(offset.index)).sum())
    lfq = 2.0 ** (level + scale.reindex(level.index.get_level_values("protein_group")).to_numpy())
    key = pd.MultiIndex.from_frame(df[["run", "protein_group"]])
    own = df[["run", "protein_group", "Precursor.Quantity", "Precursor.Normalised"]].groupby(
        ["run", "protein_group"]).max()
    pgq = pg_sum["Precursor.Quantity"].reindex(key).to_numpy()
    pgn = pg_sum["Precursor.Normalised"].reindex(key).to_numpy()
    pgl = lfq.reindex(key).to_numpy()
    fallback_q = own["Precursor.Quantity"].reindex(key).to_numpy()
    fallback_n = own["Precursor.Normalised"].reindex(key).to_numpy()
    pgq = np.where(np.isnan(pgq), fallback_q, pgq)
    pgn = np.where(np.isnan(pgn), fallback_n, pgn)
    pgl = np.where(np.isnan(pgl), fallback_n, pgl)
    glob_q = 10 ** -(3 + 3 * uniform_from(df["precursor_id"], 1, cohort.seed))   # per precursor
    glob_pg_q = 10 ** -(3 + 3 * uniform_from(df["protein_group"], 9, cohort.seed))  # per protein group
    out = pd.DataFrame({
        "File.Name": RAW_DIR + df["run"] + ".raw",
        "Run": df["run"].to_numpy(),
        "Protein.Group": df["protein_group"].to_numpy(), "Protein.Ids": df["protein_group"].to_numpy(),
        "Protein.Names": prot["entry"].reindex(df["protein_group"]).to_numpy(),
        "Genes": prot["gene"].reindex(df["protein_group"]).to_numpy(),
        "PG.Quantity": pgq, "PG.Normalised": pgn, "PG.MaxLFQ": pgl,
        "Modified.Sequence": df["modified_sequence"].to_numpy(), "Stripped.Sequence": df["stripped_sequence"].to_numpy(),
        "Precursor.Id": df["precursor_id"].to_numpy(), "Precursor.Charge": df["charge"].to_numpy(),
        "Q.Value": df["q_value"].to_numpy(), "Global.Q.Value": glob_q, "PG.Q.Value": df["pg_q_value"].to_numpy(),
        "Global.PG.Q.Value": glob_pg_q, "Proteotypic": 1,
        "Precursor.Quantity": df["Precursor.Quantity"].to_numpy(),
        "Precursor.Normalised": df["Precursor.Normalised"].to_numpy(),
        "Lib.Q.Value": glob_q, "Lib.PG.Q.Value": glob_pg_q,
    })
    # DIA-NN lists each precursor's rows together (precursor-major), runs in analysis order
    order = np.lexsort((pd.factorize(df["run"])[0], pd.factorize(df["precursor_id"])[0]))
    return out[DIANN_COLUMNS].iloc[order].reset_index(drop=True)


def _format_floats(values: np.ndarray, spec: str) -> np.ndarray:
    """``format(v, spec)`` per value ('' for NaN), formatting each distinct value once."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    text = np.array([format(v, spec) for v in np.asarray(uniques, dtype=float).tolist()] + [""], dtype=object)
    return text[codes]


def tsv_bytes(df: pd.DataFrame, float_format: str = "g") -> bytes:
    """Tab-separated text, header first; floats printed with ``format(v, float_format)`` (DIA-NN style
    ``g``: 6 significant digits), NaN as an empty field. Values never contain tabs, quotes or newlines."""
    columns = []
    for c in df.columns:
        v = df[c]
        if v.dtype.kind == "f":
            columns.append(_format_floats(v.to_numpy(), float_format))
        else:
            text = np.array(["" if x is None or x != x else str(x) for x in v.tolist()], dtype=object)
            columns.append(text)
    lines = ["\t".join(map(str, df.columns))]
    lines += ["\t".join(row) for row in zip(*columns, strict=True)]
    text = "\n".join(lines) + "\n"
    if '"' in text or "\r" in text or len(text.splitlines()) != len(df) + 1:
        raise ValueError("a simulated value holds a quote or line break")
    return text.encode("utf-8")


def write_file(path: str | os.PathLike, data: bytes) -> str:
    """Write ``data`` (gzip-compressed, reproducibly, when the name ends in .gz); return sha256 of ``data``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_bytes(path, gzip.compress(data, compresslevel=6, mtime=0) if path.suffix == ".gz" else data)
    return sha256_bytes(data)


def write_diann_report(cohort: Cohort, specimen: str, path: str | os.PathLike,
                       samples: list[str] | None = None, report: pd.DataFrame | None = None) -> str:
    """Write :func:`diann_report_frame` as TSV (gzip if ``path`` ends in .gz); returns sha256 of the TSV text."""
    return write_file(path, tsv_bytes(diann_report_frame(cohort, specimen, samples) if report is None else report))
