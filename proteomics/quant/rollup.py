"""QuantTable (long, linear) → protein Dataset (samples × proteins, log2, NaN = missing).

``quantify(table, sheet, method)`` maps runs to samples with the sample sheet, rolls entities
(precursors/peptides/PSMs) up to protein groups with one of ``METHODS`` and returns a Dataset whose samples
follow the sheet's order and carry its annotations, whose proteins are indexed by ``protein_group`` with
``gene`` and ``n_peptides_total`` columns, and with ``layers['n_peptides']`` (entities observed per protein and
sample). A protein-level table is pivoted (log2; ``method`` is ignored; no peptide counts are known, so no
``n_peptides`` layer). Zero intensities are missing. Duplicate rows of one entity in one run are summed.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from functools import partial

import numpy as np
import pandas as pd

from .._version import __version__
from ..dataset import Dataset, Step
from ..errors import InputError
from ..io.table import QuantTable
from ._blocks import Prepared, run_chunks
from .dpc import dpc_quantify
from .ibaq import observable_counts
from .maxlfq import maxlfq_block
from .median_polish import median_polish_block
from .spectral_count import nsaf, protein_lengths
from .top_n import sum_block, top_n_block
from .traces import pair_cost, trace_block

__all__ = ["quantify", "METHODS", "SINGLE_RUN_METHODS", "prepare", "resolve_method", "MIN_RATIO_COUNT", "AUTO_MAX_RUNS"]

log = logging.getLogger(__name__)


#: minimum entity ratios per sample pair for MaxLFQ: the one default of the API, CLI and config (1 as iq and
#: directLFQ; MaxQuant's 2 loses every single-precursor protein: coverage 2,116 vs 2,882 of 3,000 proteins on a
#: 24-run simulated cohort, see bench/README.md)
MIN_RATIO_COUNT = 1
#: ``auto`` uses MaxLFQ up to this many samples and trace alignment (linear in runs) above. At 24 runs MaxLFQ was
#: the more accurate on both simulated noise models; at 100 trace was (heavy-tailed noise; within 0.001 on Gaussian
#: noise) and 4× faster; at 50 they split by noise model. 64 lies in that undecided range and keeps the bundled
#: 60-sample cohort (whose figures the README quotes) on MaxLFQ (bench/README.md, "Linear roll-up")
AUTO_MAX_RUNS = 64


def resolve_method(method: str, n_samples: int) -> str:
    """The roll-up ``method`` stands for with ``n_samples`` samples (``auto`` → maxlfq or trace)."""
    if method == "auto":
        return "maxlfq" if n_samples <= AUTO_MAX_RUNS else "trace"
    return method


def _auto(prep: Prepared, **kw):
    return METHODS[resolve_method("auto", len(prep.samples))](prep, **kw)


def _maxlfq(prep: Prepared, *, min_ratio_count=MIN_RATIO_COUNT, n_jobs=1, progress=None, **_):
    return run_chunks(partial(maxlfq_block, min_ratio_count=min_ratio_count), prep, n_jobs, square=True,
                      progress=progress)


def _trace(prep: Prepared, *, n_jobs=1, progress=None, **_):
    return run_chunks(trace_block, prep, n_jobs, cost=pair_cost, progress=progress)


def _median_polish(prep: Prepared, *, n_jobs=1, progress=None, **_):
    return run_chunks(median_polish_block, prep, n_jobs, progress=progress)


def _top_n(prep: Prepared, *, top_n=3, n_jobs=1, **_):
    return run_chunks(partial(top_n_block, n=top_n), prep, n_jobs)


def _sum(prep: Prepared, *, n_jobs=1, **_):
    return run_chunks(sum_block, prep, n_jobs)


def _ibaq(prep: Prepared, *, fasta=None, n_jobs=1, **_):
    n_obs = observable_counts(prep.proteins, fasta)
    return _sum(prep, n_jobs=n_jobs) - np.log2(n_obs)[:, None]


def _psm_counts(prep: Prepared) -> np.ndarray:
    if prep.counts is None:
        raise InputError("spectral counting needs PSM counts",
                         hint="give a PSM-level file (psm.tsv, evidence.txt, mzIdentML …) or one with PSM counts")
    tot = np.zeros((len(prep.proteins), len(prep.samples)))
    np.add.at(tot, prep.entity_protein, np.nan_to_num(prep.counts, nan=0.0))
    return tot


def _spectral_count(prep: Prepared, **_):
    c = _psm_counts(prep)
    with np.errstate(divide="ignore"):
        return np.where(c > 0, np.log2(np.where(c > 0, c, 1.0)), np.nan)


def _nsaf(prep: Prepared, *, fasta=None, **_):
    return nsaf(_psm_counts(prep), protein_lengths(prep.proteins, fasta))


#: method name → function(Prepared, **options) → (n_proteins, n_samples) log2
def _dpc(prep: Prepared, **_):
    return dpc_quantify(prep)[0]


METHODS: dict[str, Callable[..., np.ndarray]] = {
    "auto": _auto,
    "dpc": _dpc,
    "maxlfq": _maxlfq,
    "trace": _trace,
    "median_polish": _median_polish,
    "top_n": _top_n,
    "top3": lambda prep, **kw: _top_n(prep, **{**kw, "top_n": 3}),
    "ibaq": _ibaq,
    "sum": _sum,
    "spectral_count": _spectral_count,
    "nsaf": _nsaf,
}


#: roll-ups whose value for one run does not depend on the other runs quantified with it (a locked signature
#: built on one of these can score a single new run exactly as in a batch)
SINGLE_RUN_METHODS = ("top3", "top_n", "sum", "ibaq", "spectral_count")


def _run_to_sample(table: QuantTable, sheet) -> tuple[dict[str, str], list[str], pd.DataFrame]:
    runs = table.runs
    if sheet is None:
        return {r: r for r in runs}, list(runs), pd.DataFrame({"run": runs}, index=pd.Index(runs, name="sample"))
    mapping = sheet.match_runs(runs)
    samples = [s for s in sheet.samples if s in set(mapping.values())]
    return mapping, samples, sheet.table.loc[samples]


def _table_sha(data: pd.DataFrame) -> str:
    """sha256 of the per-row hashes of run, entity_id, protein_group, intensity (quant.distributed relies on
    exactly this definition to reproduce the provenance checksum)."""
    cols = [c for c in ("run", "entity_id", "protein_group", "intensity") if c in data.columns]
    h = hashlib.sha256()
    h.update(pd.util.hash_pandas_object(data[cols].astype({"run": str}), index=False).to_numpy().tobytes())
    return h.hexdigest()


def _codes(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Integer codes and the unique values as str in lexicographic order (categoricals and strings alike)."""
    codes, uniq = pd.factorize(values)
    names = np.asarray([str(u) for u in uniq], dtype=object)
    order = np.argsort(names, kind="stable")
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order))
    return rank[codes], names[order]


def prepare(table: QuantTable, mapping: dict[str, str], samples: list[str]) -> Prepared:
    """Entity × sample linear matrix (summing duplicate rows) with each entity's protein position."""
    d = table.data
    r_codes, r_uniq = _codes(d["run"])
    sample_of_run = pd.Index(samples).get_indexer([mapping.get(r, None) for r in r_uniq])
    s_pos = sample_of_run[r_codes]
    if table.level == "psm" and "sequence" in d.columns:  # PSMs of one peptide ion form one entity
        ent_key = d["sequence"].astype(str) + "/" + (d["charge"].astype(str) if "charge" in d.columns else "")
    else:
        ent_key = d["entity_id"]
    p_codes, proteins = _codes(d["protein_group"])
    e_codes, e_uniq = _codes(ent_key)
    key = p_codes * max(len(e_uniq), 1) + e_codes
    ukey, codes = np.unique(key, return_inverse=True)
    ent_prot = (ukey // max(len(e_uniq), 1)).astype(np.int64)
    inten = d["intensity"].to_numpy(float)
    inten = np.where(inten > 0, inten, np.nan)
    n_e, n_s = len(ukey), len(samples)
    ok = np.isfinite(inten) & (s_pos >= 0)
    flat = codes[ok] * n_s + s_pos[ok]
    vals = np.bincount(flat, weights=inten[ok], minlength=n_e * n_s).reshape(n_e, n_s)
    seen = np.bincount(flat, minlength=n_e * n_s).reshape(n_e, n_s) > 0
    vals = np.where(seen, vals, np.nan)
    counts = None
    if table.level == "psm" or "n_psm" in d.columns:
        c = np.ones(len(d)) if table.level == "psm" else pd.to_numeric(d["n_psm"], errors="coerce").fillna(0).to_numpy()
        okc = s_pos >= 0
        counts = np.bincount(codes[okc] * n_s + s_pos[okc], weights=c[okc], minlength=n_e * n_s).reshape(n_e, n_s)
    return Prepared(proteins=list(proteins), samples=list(samples), entity_protein=ent_prot, values=vals,
                    counts=counts)


def _genes(table: QuantTable, proteins: list[str]) -> pd.Series:
    if "gene" not in table.data.columns:
        return pd.Series([None] * len(proteins), index=proteins, dtype=object)
    g = table.data[["protein_group", "gene"]].dropna()
    g = g[g["gene"].astype(str).str.len() > 0]
    first = g.drop_duplicates("protein_group").set_index("protein_group")["gene"].astype(str)
    return first.reindex(proteins).astype(object).where(lambda s: s.notna(), None)


def quantify(table: QuantTable, sheet=None, method: str = "auto", *, min_ratio_count: int = MIN_RATIO_COUNT,
             top_n: int = 3, fasta=None, n_jobs: int = 1,
             progress: Callable[[int, int], None] | None = None) -> Dataset:
    """Roll a QuantTable up to a protein Dataset (samples × proteins, log2, NaN = missing).

    Parameters
    ----------
    table : any reader's output (linear intensities).
    sheet : a :class:`proteomics.samples.SampleSheet` (runs matched by ``sheet.match_runs``); None: samples are
        the runs, in first-seen order.
    method : one of ``METHODS``: ``auto`` (default: ``maxlfq`` up to ``AUTO_MAX_RUNS`` = 64 samples, ``trace``
        above; the choice is recorded as ``rollup`` in the provenance), maxlfq, trace, median_polish,
        top_n/top3, ibaq, sum, spectral_count, nsaf.
    min_ratio_count : MaxLFQ minimum number of entity ratios for a sample pair (default ``MIN_RATIO_COUNT`` = 1).
    top_n : N for ``top_n``.
    fasta : FASTA path, needed by ``ibaq`` and ``nsaf``.
    n_jobs : joblib workers over chunks of proteins; results are identical for any value.
    progress : ``progress(done, total)`` called as chunks of proteins finish (maxlfq, trace, median_polish).
    """
    if method not in METHODS:
        raise InputError(f"unknown quantification method {method!r}", hint=f"use one of {', '.join(METHODS)}")
    if not isinstance(table, QuantTable):
        raise InputError("quantify needs a QuantTable (the output of proteomics.io.read)")
    if len(table.data) == 0:
        raise InputError("the table is empty: nothing to quantify", path=table.path or None)
    mapping, samples, sample_table = _run_to_sample(table, sheet)
    prep = prepare(table, mapping, samples)
    params = {"method": method, "format": table.format, "level": table.level}
    if table.level == "protein":
        X = _sum(prep, n_jobs=1)  # one entity per protein and run (duplicates summed), log2
        layers = {}
        n_total = None
    else:
        extra = {}
        if method == "dpc":  # complete matrix + SE per value (maximum posterior given the detection curve)
            X, se, fit = dpc_quantify(prep)
            extra = {"dpc_se": se.T}
            params["detection_curve"] = {**fit.curve.as_dict(), "sigma": fit.sigma}
        else:
            X = METHODS[method](prep, min_ratio_count=min_ratio_count, top_n=top_n, fasta=fasta, n_jobs=n_jobs,
                                progress=progress)
        n_pep = np.zeros((len(prep.proteins), len(samples)))
        np.add.at(n_pep, prep.entity_protein, np.isfinite(prep.values).astype(float))  # rows: entities (vectorised)
        layers = {"n_peptides": n_pep.T, **extra}
        n_total = np.bincount(prep.entity_protein, weights=np.isfinite(prep.values).any(axis=1).astype(float),
                              minlength=len(prep.proteins)).astype(int)
        params.update({"rollup": resolve_method(method, len(samples)), "min_ratio_count": min_ratio_count,
                       "top_n": top_n})
    proteins = pd.DataFrame({"gene": _genes(table, prep.proteins).to_numpy()}, index=prep.proteins)
    if n_total is not None:
        proteins["n_peptides_total"] = n_total
    step = Step("quantify", params=params, version=__version__, input_sha256=_table_sha(table.data))
    ds = Dataset(X.T, sample_table, proteins, layers=layers, history=(step,))
    log.info("quantified %d protein groups in %d samples (%s, %s level)", ds.n_proteins, ds.n_samples, method,
             table.level)
    return ds
