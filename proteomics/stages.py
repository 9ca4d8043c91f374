"""Building blocks shared by ``run`` (workflow.py) and the single commands (commands.py): reading and
quantifying an input, the preprocessing chain, contrast checks. No maths here; the numbers come from the packages.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from .config import RunConfig
from .dataset import Dataset
from .errors import InputError

__all__ = ["Progress", "load_dataset", "scoring_quant_method", "SINGLE_SAMPLE_QUANT", "preprocess_steps",
           "check_contrast_groups", "safe_name"]

#: progress(stage, done, total): the CLI turns these calls into progress bars; library code never prints.
Progress = Callable[[str, int, int], None]


def preprocess_steps(cfg: RunConfig, *, impute: bool = True) -> list[tuple[str, Any]]:
    """The configured preprocessing transformers, in order (filters, normalisation, batch, imputation)."""
    from .preprocess import STEPS

    p = cfg.preprocess
    steps: list[tuple[str, Any]] = []
    if p.remove_contaminants:
        steps.append(("filter_contaminants", STEPS["filter_contaminants"]()))
    if p.min_peptides > 1:
        steps.append(("filter_min_peptides", STEPS["filter_min_peptides"](min_peptides=p.min_peptides)))
    if p.min_valid_fraction > 0:
        steps.append(("filter_min_valid", STEPS["filter_min_valid"](min_fraction=p.min_valid_fraction,
                                                                      per_group=p.min_valid_per_group)))
    if p.normalize.method == "reference":
        if not p.normalize.reference_proteins:
            raise InputError("preprocess.normalize.method is 'reference' but reference_proteins is empty",
                             path=cfg.source, hint="list the normaliser protein groups under reference_proteins")
        steps.append(("normalize_reference", STEPS["normalize_reference"](proteins=list(p.normalize.reference_proteins))))
    elif p.normalize.method != "none":
        steps.append((f"normalize_{p.normalize.method}", STEPS[f"normalize_{p.normalize.method}"]()))
    if p.batch.method == "combat":
        steps.append(("batch_combat", STEPS["batch_combat"](batch_column=p.batch.column,
                                                     covariates=list(p.batch.covariates))))
    if impute and p.impute.method != "none":
        m = p.impute.method
        kw = {"downshift": {"shift": p.impute.shift, "width": p.impute.width, "seed": cfg.seed},
              "minprob": {"seed": cfg.seed}, "knn": {"k": p.impute.k}}[m]
        steps.append((f"impute_{m}", STEPS[f"impute_{m}"](**kw)))
    return steps


def check_contrast_groups(ds: Dataset, group: str, contrast: str, source=None, min_per_group: int = 2) -> None:
    """Refuse a contrast whose groups are absent or have fewer than ``min_per_group`` samples."""
    from .stats.design import parse_contrast

    if group not in ds.samples.columns:
        raise InputError(f"group column {group!r} is not in the sample sheet", path=source,
                         hint=f"choose one of {', '.join(map(str, ds.samples.columns))}")
    X = ds.X
    if np.isnan(X).all():
        raise InputError("every value of the protein matrix is missing", path=source,
                         hint="check the input file and the run names in the sheet")
    observed = ~np.isnan(X)
    spread = np.where(observed.any(axis=0), np.fmax.reduce(X, axis=0) - np.fmin.reduce(X, axis=0), np.nan)
    if not np.any(spread[np.isfinite(spread)] > 0):
        raise InputError("no protein varies between samples (zero variance everywhere): nothing can be tested",
                         path=source, hint="check that the input holds real measurements, not constants")
    counts = ds.samples[group].astype(str).value_counts()
    levels = sorted(counts.index)
    weights = parse_contrast(contrast, levels)
    for lv, w in zip(levels, weights, strict=True):
        if w != 0 and counts[lv] < min_per_group:
            raise InputError(f"group {lv!r} of contrast {contrast!r} has {counts[lv]} sample(s); at least "
                             f"{min_per_group} are needed", path=source,
                             hint="add samples to that group or compare other groups")


def safe_name(contrast: str) -> str:
    keep = "".join(c if c.isalnum() or c in "-_." else "_" for c in contrast.replace(" ", ""))
    return keep.replace("-", "_vs_", 1) if contrast.count("-") == 1 and "(" not in contrast else keep


def load_dataset(input: str | os.PathLike, sheet: str | os.PathLike | None, *, format: str = "auto",
                 method: str = "maxlfq", scale: str = "auto", specimen: str | None = None, fasta=None,
                 n_jobs: int = 1, engine: str = "local", fdr: float = 0.01, keep_contaminants: bool = False,
                 allow_unused_sheet_rows: bool = False, signature=None,
                 progress: Progress | None = None) -> Dataset:
    """Read any supported file (protein matrix, precursor report …) and return a protein Dataset
    (samples × proteins, log2) annotated by the sample sheet (rows restricted to ``specimen`` if given).

    With a locked ``signature`` the roll-up is the one the signature was trained with (see
    :func:`scoring_quant_method`), so a new patient is quantified exactly as the training samples were."""
    from . import io as pio
    from .quant import quantify
    from .samples import SampleSheet

    progress = progress or (lambda stage, done, total: None)
    sh = None
    if sheet is not None:
        sh = SampleSheet.read(sheet)
        if specimen:
            sh = sh.subset(specimen=specimen)
    progress("reading input", 0, 1)
    opts: dict[str, Any] = {"fdr": fdr, "keep_contaminants": keep_contaminants}
    if scale != "auto":
        opts["scale"] = scale
    if engine == "dask":
        from .quant.distributed import quantify_dask

        progress(f"reading and quantifying on dask ({method})", 0, 1)
        return quantify_dask(input, sh, format=format, method=method, read_options=opts, fasta=fasta)
    table = pio.read(input, format, **opts)
    if signature is not None:
        method = scoring_quant_method(signature, table, input)
    if sh is not None:
        table = _runs_named_by_sample(table, sh)
        if allow_unused_sheet_rows:  # e.g. scoring a few new patients listed in a larger sheet
            sh = _rows_for_runs(sh, table.runs)
    progress(f"quantifying proteins ({method})", 0, 1)
    return quantify(table, sh, method=method, fasta=fasta, n_jobs=n_jobs)


#: roll-ups whose value for one run does not depend on the other runs quantified with it
SINGLE_SAMPLE_QUANT = ("top3", "top_n", "sum", "ibaq", "spectral_count")


def scoring_quant_method(signature, table, path) -> str:
    """The roll-up to apply to new samples for ``signature``, or ScoringRefused when it cannot be reproduced.

    A signature trained on precursor-level input records its roll-up; only within-sample roll-ups (top-N, sum,
    iBAQ, spectral counts) give one new run the same value alone as in a batch. A signature trained on
    protein-level quantities needs protein-level input quantified the same way.
    """
    from .errors import ScoringRefused

    if table.level == "protein":
        return "sum"  # protein-level input: only pivoted
    training = getattr(signature, "training", None) or {}
    method = training.get("quant_method")
    if method is None:
        raise ScoringRefused([f"the signature was trained on protein-level quantities but {Path(path).name} is "
                              f"{table.level}-level"], path=path,
                             hint="give protein-level input quantified as the training data was")
    if method not in SINGLE_SAMPLE_QUANT:
        raise ScoringRefused([f"the signature was trained on {method} quantities, which depend on the other runs "
                              f"quantified together, so one new run cannot be quantified the same way"], path=path,
                             hint="rebuild the panel from precursor-level input with panel.quant_method top3")
    return str(method)


def _runs_named_by_sample(table, sheet):
    """Our own matrices (MATRIX.tsv) name columns by the sheet's ``sample``; map them back to its ``run``."""
    t = sheet.table
    runs, by_sample = set(map(str, t["run"])), dict(zip(t.index.astype(str), t["run"].astype(str), strict=True))
    data_runs = table.runs
    if data_runs and not any(r in runs for r in data_runs) and all(r in by_sample for r in data_runs):
        return table.with_runs_renamed({r: by_sample[r] for r in data_runs})
    return table


def _rows_for_runs(sheet, runs):
    """The sheet restricted to rows whose run matches one of ``runs`` (unmatched data runs still fail later)."""
    from .samples import SampleSheet, run_basename, run_stem

    keys = set(runs) | {run_basename(r) for r in runs} | {run_stem(r) for r in runs}
    t = sheet.table
    keep = [r in keys or run_basename(r) in keys or run_stem(r) in keys for r in t["run"].astype(str)]
    if not any(keep):
        return sheet
    return SampleSheet.from_frame(t[keep].reset_index(), path=sheet.path)

