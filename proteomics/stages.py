"""Building blocks shared by ``run`` (workflow.py) and the single commands (commands.py): reading and
quantifying an input, the preprocessing chain, contrast checks. No maths here; the numbers come from the packages.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from . import io as pio
from ._version import __version__
from .config import RunConfig
from .dataset import Dataset, Step
from .errors import InputError
from .io.fasta import read_fasta
from .io.write import write_table, write_tsv
from .preprocess import make_step, step_key
from .quant import quantify
from .samples import SampleSheet, run_basename, run_stem
from .sheet_checks import check_contrast_groups
from .stats import DEResult
from .stats.differential import differential
from .stats.results import de_long_table

__all__ = ["Progress", "log_stages", "Inputs", "read_inputs", "quantify_inputs", "load_dataset", "read_options",
           "preprocess_steps", "safe_name",
           "sidecar_path", "write_protein_sidecar", "annotate_proteins", "Preprocessed", "preprocess", "run_de",
           "write_de", "panel_settings", "stratify_settings"]

log = logging.getLogger("proteomics")

#: progress(stage, done, total): the CLI turns these calls into progress bars; library code never prints.
Progress = Callable[[str, int, int], None]


def log_stages(progress: Progress | None = None) -> Progress:
    """``progress`` (or nothing) that also logs each new stage once at INFO (run.log's step-by-step lines)."""
    seen: set[str] = set()

    def cb(stage: str, done: int, total: int) -> None:
        if stage not in seen:
            seen.add(stage)
            log.info(stage)
        if progress is not None:
            progress(stage, done, total)

    return cb


def _no_progress(stage: str, done: int, total: int) -> None:
    return None


def preprocess_steps(cfg: RunConfig, *, impute: bool = True) -> list[tuple[str, Any]]:
    """The configured preprocessing transformers, in order (filters, normalisation, batch, imputation), as
    (STEPS key, unfitted step) pairs; every step of run and of the single commands is built here."""
    p = cfg.preprocess
    steps: list[tuple[str, Any]] = []

    def add(kind: str, method: str, **params) -> None:
        steps.append((step_key(kind, method), make_step(kind, method, **params)))

    if p.remove_contaminants:
        add("filter", "contaminants")
    if p.min_peptides > 1:
        add("filter", "min_peptides", min_peptides=p.min_peptides)
    if p.min_valid_fraction > 0 or p.min_valid_count > 0:
        add("filter", "min_valid", min_fraction=p.min_valid_fraction, per_group=p.min_valid_per_group,
            min_count=p.min_valid_count or None)
    norm = p.normalize.method
    if norm == "reference" and not p.normalize.reference_proteins:
        raise InputError("preprocess.normalize.method is 'reference' but reference_proteins is empty",
                         path=cfg.source, hint="list the normaliser protein groups under reference_proteins")
    if norm != "none":
        add("normalize", norm, **({"proteins": list(p.normalize.reference_proteins)} if norm == "reference" else {}))
    if p.batch.method != "none":
        add("batch", p.batch.method, batch_column=p.batch.column, covariates=list(p.batch.covariates))
    if impute and p.impute.method != "none":
        m = p.impute.method
        kw = {"downshift": {"shift": p.impute.shift, "width": p.impute.width, "seed": cfg.seed},
              "minprob": {"seed": cfg.seed}, "knn": {"k": p.impute.k}}.get(m, {})
        add("impute", m, **kw)
    return steps


@dataclass(frozen=True)
class Preprocessed:
    """The preprocessing chain's results: ``clean`` (every step), ``normalised`` (before imputation) and each
    intermediate Dataset by step name (``quantified`` first); all samples × proteins, log2."""
    clean: Dataset
    normalised: Dataset
    stages: dict


def preprocess(cfg: RunConfig, raw: Dataset, *, progress: Progress | None = None) -> Preprocessed:
    """Fit and apply :func:`preprocess_steps` to ``raw`` (samples × proteins, log2; groups from ``cfg.de.group``
    when the sheet has it); every intermediate Dataset keeps that shape convention."""
    (progress or _no_progress)("filtering, normalising, imputing", 0, 1)
    y = raw.samples[cfg.de.group].astype(str).to_numpy() if cfg.de.group in raw.samples else None
    clean = normalised = raw
    stages = {"quantified": raw}
    for name, step in preprocess_steps(cfg):
        n_in = clean.n_proteins
        clean = step.fit_transform(clean, y)
        if clean.n_proteins == 0:
            raise InputError(f"no protein is left after {name} ({n_in} protein(s) in, none kept)",
                             path=cfg.inputs.data, hint="check the input holds enough proteins and samples, or "
                                                        "relax preprocess.min_valid_fraction")
        stages[name] = clean
        if not name.startswith("impute_"):
            normalised = clean
    return Preprocessed(clean, normalised, stages)


def run_de(cfg: RunConfig, ds: Dataset, *, progress: Progress | None = None) -> list[DEResult]:
    """Differential abundance for every contrast of ``cfg.de`` on ``ds`` (samples × proteins, log2):
    :func:`proteomics.stats.differential.differential` with ``cfg.de.model`` (moderated t plus the detection
    test by default). Each result's table has ``gene`` and ``description`` after ``protein_group`` and is sorted
    by p-value (untestable rows last)."""
    progress = progress or _no_progress
    d = cfg.de
    for contrast in d.contrasts:
        check_contrast_groups(ds, d.group, contrast, cfg.inputs.sheet)
    progress(f"differential abundance: {', '.join(d.contrasts)}", 0, 1)
    res = differential(ds, list(d.contrasts), model=d.model, detection=d.detection, group=d.group,
                       covariates=tuple(d.covariates), block=d.block, trend=d.trend, robust=d.robust,
                       legacy=True if d.legacy else None, fdr=d.fdr, seed=cfg.seed)
    return [_annotated(r, ds) for r in res]


def _annotated(res: DEResult, ds: Dataset) -> DEResult:
    t = res.table.copy()
    prot = ds.proteins
    desc = prot["description"].reindex(t["protein_group"]) if "description" in prot.columns else None
    t.insert(t.columns.get_loc("gene") + 1, "description",
             "" if desc is None else desc.astype(object).where(desc.notna(), "").to_numpy())
    t = t.sort_values("p_value", kind="mergesort", na_position="last").reset_index(drop=True)
    return dataclasses.replace(res, table=t)


def write_de(results: list[DEResult], per_contrast: Callable[[str], Path], long: Path | None) -> None:
    """Write one table per contrast (``per_contrast(safe name)``) and the long table (``long``, if given), each in
    the format its suffix names."""
    for r in results:
        path = per_contrast(safe_name(r.contrast))
        if Path(path).suffix.lower() == ".tsv":
            r.to_tsv(path)
        else:  # the format its suffix names (.csv, .parquet, .xlsx)
            write_table(r.table, path)
    if long is not None:
        write_table(de_long_table(results), long)


def panel_settings(cfg: RunConfig) -> dict[str, Any]:
    """``build_panel`` settings of ``cfg``: the ``panel`` section, with the run's preprocessing chain (refitted in
    every training fold) and specimen unless the section sets its own."""
    p = cfg.panel
    settings = p.model_dump(exclude={"enabled", "label", "positive", "permutations", "quant_method"})
    if "preprocess" not in p.model_fields_set:
        settings["preprocess"] = [(name, step.get_params()) for name, step in preprocess_steps(cfg)]
    if "specimen" not in p.model_fields_set:
        settings["specimen"] = cfg.specimen
    return settings


def stratify_settings(cfg: RunConfig) -> dict[str, Any]:
    """``stratify`` settings of ``cfg``: the ``stratify`` section, with the run's preprocessing chain and specimen
    unless the section sets its own."""
    s = cfg.stratify
    settings = s.model_dump(exclude={"enabled", "k_max"})
    if "preprocess" not in s.model_fields_set:
        settings["preprocess"] = [[name, step.get_params()] for name, step in preprocess_steps(cfg)]
    if "specimen" not in s.model_fields_set:
        settings["specimen"] = cfg.specimen
    return settings


def safe_name(contrast: str) -> str:
    """A contrast as a file name: ``"cancer-control"`` → ``cancer_vs_control``; other characters → ``_``."""
    keep = "".join(c if c.isalnum() or c in "-_." else "_" for c in contrast.replace(" ", ""))
    return keep.replace("-", "_vs_", 1) if contrast.count("-") == 1 and "(" not in contrast else keep


@dataclass(frozen=True)
class Inputs:
    """What was read: the sample sheet (restricted to the configured specimen; None without a sheet) and the
    search-engine table (None with ``engine: dask``, whose workers read the file themselves)."""
    sheet: Any
    table: Any
    data: Path


def read_options(cfg: RunConfig) -> dict[str, Any]:
    """Reader options of ``cfg`` (q-value cut-off, contaminants, scale)."""
    opts: dict[str, Any] = {"fdr": cfg.read.fdr, "keep_contaminants": cfg.read.keep_contaminants}
    if cfg.inputs.scale != "auto":
        opts["scale"] = cfg.inputs.scale
    return opts


def read_inputs(cfg: RunConfig, *, allow_unused_sheet_rows: bool = False,
                progress: Progress | None = None) -> Inputs:
    """Read the sheet (``cfg.inputs.sheet``, rows of ``cfg.specimen``) and the data file (``cfg.inputs.data``).

    Everything that can fail on bad input fails here, before any output exists. A matrix we wrote ourselves
    (columns named by the sheet's ``sample``) is mapped back to the sheet's runs. ``allow_unused_sheet_rows``
    keeps only the sheet rows whose run is in the file (scoring a few patients listed in a larger sheet)."""
    progress = progress or _no_progress
    sheet = None
    if cfg.inputs.sheet is not None:
        progress("reading sample sheet", 0, 1)
        # only 'run' is required here: each stage checks the column it groups by (de.group, panel label …);
        # a sheet without a specimen column takes the config's / --specimen's
        sheet = SampleSheet.read(cfg.inputs.sheet, group=None, specimen=cfg.specimen)
        if cfg.specimen:
            sheet = sheet.subset(specimen=cfg.specimen)
    progress("reading search-engine output", 0, 1)
    table = None
    if cfg.engine == "local":
        table = pio.read(cfg.inputs.data, cfg.inputs.format, **read_options(cfg))
        if sheet is not None:
            table = _runs_named_by_sample(table, sheet)
            if allow_unused_sheet_rows:
                sheet = _rows_for_runs(sheet, table.runs)
    elif cfg.inputs.format == "auto":
        pio.detect(cfg.inputs.data)  # fail early on an unknown format
    return Inputs(sheet, table, Path(cfg.inputs.data))


def quantify_inputs(cfg: RunConfig, inputs: Inputs, *, method: str | None = None, drop_empty: bool = True,
                    progress: Progress | None = None) -> Dataset:
    """Roll ``inputs`` up to a protein Dataset (samples × proteins, log2) with ``cfg.quantify`` (or ``method``).

    Protein groups without a value in any sample are dropped unless ``drop_empty`` is false (scoring keeps
    them: a panel protein missing from a sample is a per-sample QC matter); the count is logged and recorded;
    gene names and descriptions of a matrix's sidecar (``MATRIX.proteins.tsv``) or of ``inputs.fasta`` are
    added to ``Dataset.proteins``. No protein at all is an InputError."""
    progress = progress or _no_progress
    method = method or cfg.quantify.method
    progress(f"quantifying proteins ({method})", 0, 1)
    qkw = {"min_ratio_count": cfg.quantify.min_ratio_count, "top_n": cfg.quantify.top_n,
           "fasta": cfg.inputs.fasta}
    if inputs.table is None:
        # here, not at the top: the dask engine (optional extra `dask`) loads only when it runs
        from .quant.distributed import quantify_dask

        raw = quantify_dask(inputs.data, inputs.sheet, format=cfg.inputs.format, method=method,
                            scheduler=cfg.scheduler, read_options=read_options(cfg), progress=progress,
                            workdir=cfg.dask_workdir, **qkw)
    else:
        stage = f"quantifying proteins ({method})"
        raw = quantify(inputs.table, inputs.sheet, method=method, n_jobs=cfg.n_jobs,
                       progress=lambda done, total: progress(stage, done, total), **qkw)
    quantified = ~np.isnan(raw.X).all(axis=0)
    if drop_empty and not quantified.all():
        log.info("%d protein groups have no value in any sample and are dropped", int((~quantified).sum()))
        raw = raw.subset(proteins=quantified).with_step(
            Step("drop_unquantified", {"n_dropped": int((~quantified).sum())}, __version__, raw.checksum()))
    if raw.n_proteins == 0:
        raise InputError("no protein was quantified in any sample", path=cfg.inputs.data,
                         hint="check the FDR cut-off (read.fdr) and that the sheet's runs match the file")
    return annotate_proteins(raw, inputs.data, cfg.inputs.fasta)


def load_dataset(cfg: RunConfig, *, method: str | None = None, allow_unused_sheet_rows: bool = False,
                 progress: Progress | None = None) -> Dataset:
    """:func:`read_inputs` then :func:`quantify_inputs`: any supported file (protein matrix, precursor report …)
    → protein Dataset (samples × proteins, log2) annotated by the sample sheet."""
    inputs = read_inputs(cfg, allow_unused_sheet_rows=allow_unused_sheet_rows, progress=progress)
    return quantify_inputs(cfg, inputs, method=method, progress=progress)


def sidecar_path(matrix: str | os.PathLike) -> Path:
    """``MATRIX.tsv`` (any suffix, optionally ``.gz``) → ``MATRIX.proteins.tsv``: the protein annotation beside
    a matrix (``protein_group`` then gene, description … one row per protein)."""
    p = Path(matrix)
    name = p.name[:-3] if p.name.endswith(".gz") else p.name
    stem = name.rsplit(".", 1)[0] if "." in name else name
    return p.with_name(f"{stem}.proteins.tsv")


def write_protein_sidecar(ds: Dataset, matrix: str | os.PathLike) -> Path:
    """Write ``ds.proteins`` (gene, description …) to :func:`sidecar_path` of ``matrix``; returns the path."""
    path = sidecar_path(matrix)
    write_tsv(ds.proteins.reset_index(), path)
    return path


def annotate_proteins(ds: Dataset, data: str | os.PathLike | None, fasta: str | os.PathLike | None) -> Dataset:
    """Add the columns of ``data``'s sidecar (when the file exists) and, from ``fasta``, ``description`` (and a
    missing ``gene``) by each group's first accession. Existing non-empty annotations are kept."""
    prot = ds.proteins
    extra = []
    side = sidecar_path(data) if data is not None else None
    if side is not None and side.is_file() and side != Path(data):
        t = pd.read_csv(side, sep="\t", dtype={"protein_group": str})
        t = t.apply(lambda c: c.fillna("") if c.dtype == object else c)
        if t.columns[:1].tolist() == ["protein_group"]:
            extra.append(t.drop_duplicates("protein_group").set_index("protein_group"))
    if fasta is not None:
        db = read_fasta(fasta).drop_duplicates("accession").set_index("accession")[["gene", "description"]]
        first = [str(g).split(";")[0].strip() for g in prot.index]
        extra.append(db.reindex(first).set_axis(prot.index))
    if not extra:
        return ds
    for t in extra:
        t = t.reindex(prot.index)
        for col in t.columns:
            if col not in prot.columns:
                prot[col] = t[col]
            elif prot[col].dtype == object:
                empty = prot[col].isna() | (prot[col].astype(str) == "")
                prot.loc[empty, col] = t.loc[empty, col]
    return ds.with_values(ds.X, proteins=prot)


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
    keys = set(runs) | {run_basename(r) for r in runs} | {run_stem(r) for r in runs}
    t = sheet.table
    keep = [r in keys or run_basename(r) in keys or run_stem(r) in keys for r in t["run"].astype(str)]
    if not any(keep):
        return sheet
    return SampleSheet.from_frame(t[keep].reset_index(), path=sheet.path)


