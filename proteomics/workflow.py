"""Orchestration only (no maths): ``run(config)`` executes the whole pipeline into a results folder.

The folder is built under a hidden temporary name beside the destination and renamed into place at the end,
so an interrupted or failed run leaves no results folder behind. Tables and signatures hold no times or
paths, so reruns with the same inputs and config are byte-identical; ``run.json`` is the one place for times.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import os
import platform
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from importlib import metadata
from pathlib import Path

import numpy as np
import pandas as pd

from . import qc as pqc
from ._files import canonical_json, sha256_file, write_text
from ._version import __version__
from .config import RunConfig
from .dataset import Dataset
from .guard import check_outputs
from .io.write import write_dataset
from .io.write import write_tsv as _write_tsv
from .panel import build_panel, write_panel_outputs
from .panel.build import check_class_sizes
from .report.build import build_run_report
from .sheet_checks import check_config_against_sheet
from .signing import load_signing_key, sign_signature
from .stages import (
    Inputs,
    Progress,
    log_stages,
    panel_settings,
    preprocess,
    quantify_inputs,
    read_inputs,
    run_de,
    stratify_settings,
    write_de,
    write_protein_sidecar,
)
from .staging import staged_output_dir
from .stratify import stratify, write_stratify_outputs

__all__ = ["run", "RunSummary", "package_versions"]

log = logging.getLogger("proteomics")

_DEPENDENCIES = ("numpy", "pandas", "scipy", "statsmodels", "scikit-learn", "pyteomics", "pyarrow", "matplotlib",
                 "pyyaml", "pydantic", "jinja2", "joblib", "lxml", "psims")


def package_versions() -> dict[str, str]:
    """Versions of Python, this package and its dependencies (for run.json and the report)."""
    out = {"python": platform.python_version(), "proteomics": __version__}
    for name in _DEPENDENCIES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


@dataclass
class RunSummary:
    """What ``run`` did: the output folder, headline numbers and warnings (for the CLI's last lines)."""
    out: Path
    n_samples: int = 0
    n_proteins: int = 0
    n_significant: dict[str, int] = field(default_factory=dict)
    panel_auc: float | None = None
    warnings: list[str] = field(default_factory=list)


class _Timer:
    def __init__(self):
        self.times: dict[str, float] = {}

    @contextlib.contextmanager
    def __call__(self, name: str):
        t0 = time.perf_counter()
        try:
            yield
        finally:
            self.times[name] = round(time.perf_counter() - t0, 3)


class _ToCallers(logging.Handler):
    """Passes a record on to the root logger's handlers, as propagation would (used while the package logger is
    lowered to INFO for run.log, so the caller's own handlers still see only what they saw before)."""

    def emit(self, record: logging.LogRecord) -> None:
        for h in logging.getLogger().handlers:
            if record.levelno >= h.level:
                h.handle(record)


@contextlib.contextmanager
def _run_log(path: Path) -> Iterator[logging.Handler]:
    """run.log: every INFO record of the package logger for the block, even when the caller's logging is quieter
    (nothing configured from Python, ``--quiet``); the caller's handlers see exactly what they saw before."""
    h = logging.FileHandler(path, encoding="utf-8")
    h.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))  # no times: reruns are identical
    h.setLevel(logging.INFO)
    logger = logging.getLogger("proteomics")
    level, propagate, before = logger.level, logger.propagate, logger.getEffectiveLevel()
    added = [h]
    if before > logging.INFO:
        logger.setLevel(logging.INFO)
        if propagate:
            logger.propagate = False
            added.append(_ToCallers(before))
    for a in added:
        logger.addHandler(a)
    try:
        yield h
    finally:
        for a in added:
            logger.removeHandler(a)
        logger.setLevel(level)
        logger.propagate = propagate
        h.close()


def run(cfg: RunConfig, out: str | os.PathLike | None = None, *, force: bool = False,
        progress: Progress | None = None) -> RunSummary:
    """Run the whole pipeline described by ``cfg`` into ``out`` (default ``cfg.output.dir`` or
    ``results/<name>``). Returns a :class:`RunSummary`. Raises :class:`InputError` for bad input, before any
    results folder exists."""
    progress = progress or log_stages()  # the CLI's own callback logs its stages
    out = Path(out) if out is not None else default_output_dir(cfg)
    check_outputs(inputs=[cfg.inputs.data, cfg.inputs.sheet, cfg.inputs.fasta, cfg.source], folders=[out],
                  force=force)
    load_signing_key()  # signatures are signed with the user's default key: fail now if it is unusable
    timer = _Timer()
    started = time.time()
    np.random.seed(cfg.seed % (2**32))  # belt and braces: every step also takes its own seed

    # Everything that can fail on bad input is checked before the folder is created.
    with timer("read"):
        inputs = read_inputs(cfg, progress=progress)
    check_config_against_sheet(cfg, inputs.sheet)
    if cfg.output.pseudonymise:
        key = os.environ.get("PROTEOMICS_PSEUDONYM_KEY")
        if not key:
            log.warning("PROTEOMICS_PSEUDONYM_KEY is not set: pseudonyms are keyed by the seed, so they are stable "
                        "but could be recomputed by someone who has the config")
        inputs = dataclasses.replace(inputs, sheet=inputs.sheet.pseudonymised(salt=key or f"seed-{cfg.seed}",
                                                                              samples=True))

    with staged_output_dir(out, force=force) as tmp:
        with _run_log(tmp / "run.log") as handler:
            summary = _run_stages(cfg, inputs, tmp, timer, progress)
            for w in summary.warnings:  # as the console shows them at the end; into run.log only
                handler.handle(logging.makeLogRecord({"name": "proteomics", "levelno": logging.WARNING,
                                                      "levelname": "WARNING", "msg": w}))
            summary.out = out
            run_info = {
                "schema": "proteomics.run", "schema_version": 1, "proteomics_version": __version__,
                "config": cfg.echo(), "config_file": str(cfg.source) if cfg.source else None,
                "inputs": _input_checksums(cfg), "versions": package_versions(), "seed": cfg.seed,
                "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started)),
                "finished": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                "durations_s": timer.times, "summary": {"n_samples": summary.n_samples,
                                                         "n_proteins": summary.n_proteins,
                                                         "n_significant": summary.n_significant,
                                                         "panel_auc": summary.panel_auc},
                "warnings": summary.warnings, "steps": _read_steps(tmp),
            }
            write_text(tmp / "run.json", canonical_json(run_info))
    return summary


def default_output_dir(cfg: RunConfig) -> Path:
    """``output.dir``, else ``results/<config file stem>`` (so a copied config never collides with the
    example's results), else ``results/<name>``."""
    if cfg.output.dir:
        return Path(cfg.output.dir)
    return Path("results") / (Path(cfg.source).stem if cfg.source else cfg.name)


def _input_checksums(cfg: RunConfig) -> list[dict[str, str]]:
    rows = []
    for role in ("data", "sheet", "fasta"):
        p = getattr(cfg.inputs, role)
        if p is not None:
            rows.append({"role": role, "name": Path(p).name, "path": str(p), "sha256": sha256_file(p),
                         "resolved_against": cfg.input_resolution.get(role, "absolute path")})
    if cfg.source is not None:
        rows.append({"role": "config", "name": Path(cfg.source).name, "path": str(cfg.source),
                     "sha256": sha256_file(cfg.source)})
    return rows


def _read_steps(tmp: Path) -> list[dict]:
    p = tmp / "provenance.json"
    return json.loads(p.read_text()) if p.exists() else []


def _without_runs(cfg: RunConfig, ds: Dataset) -> Dataset:
    """Pseudonymised runs drop the ``run`` column (raw-file names often embed patient ids)."""
    if cfg.output.pseudonymise and "run" in ds.samples.columns:
        return ds.with_samples(ds.samples.drop(columns=["run"]))
    return ds


def _run_stages(cfg: RunConfig, inputs: Inputs, tmp: Path, timer: _Timer, progress: Progress) -> RunSummary:
    summary = RunSummary(out=tmp)
    for sub in ("qc", "de", "panel", "figures"):
        (tmp / sub).mkdir()

    with timer("quantify"):
        raw = _without_runs(cfg, quantify_inputs(cfg, inputs, progress=progress))
    log.info("quantified %d samples × %d proteins", raw.n_samples, raw.n_proteins)

    with timer("preprocess"):
        pre = preprocess(cfg, raw, progress=progress)
        clean, normalised, stages = pre.clean, pre.normalised, pre.stages
    summary.n_samples, summary.n_proteins = clean.n_samples, clean.n_proteins
    clean.to_tsv(tmp / "protein_matrix.tsv")
    write_protein_sidecar(clean, tmp / "protein_matrix.tsv")
    clean.to_parquet(tmp / "protein_matrix.parquet")
    raw.to_tsv(tmp / "qc" / "protein_matrix_unfiltered.tsv")
    if cfg.output.anndata:
        write_dataset(clean, tmp / "protein_matrix.h5ad")  # AnnData; provenance as JSON strings in uns
    write_text(tmp / "provenance.json", canonical_json([s.to_dict() for s in clean.history]))

    with timer("qc"):
        progress("quality control", 0, 1)
        qc_tables = _qc_tables(pqc, raw, normalised, group=cfg.de.group, specimen=cfg.specimen)
        for name, df in qc_tables.items():
            _write_tsv(df, tmp / "qc" / f"{name}.tsv")

    de_results = []
    if cfg.de.enabled:
        with timer("de"):
            de_results = run_de(cfg, clean, progress=progress)
            write_de(de_results, lambda name: tmp / "de" / f"{name}.tsv", tmp / "de" / "de_long.tsv")
            summary.n_significant = {r.contrast: int((r.table["q_value"] < cfg.de.q_threshold).sum())
                                     for r in de_results}

    panel_result = None
    if cfg.panel.enabled:
        with timer("panel"):
            panel_ds = raw
            table = inputs.table
            if table is not None and table.level != "protein" and cfg.panel.quant_method != cfg.quantify.method:
                progress(f"quantifying panel features ({cfg.panel.quant_method}, within-sample)", 0, 1)
                panel_ds = _without_runs(cfg, quantify_inputs(cfg, inputs, method=cfg.panel.quant_method))
            panel_result = _run_panel(cfg, panel_ds, tmp, progress)
            summary.panel_auc = float(panel_result.metrics["auc"])
            summary.warnings.extend(panel_result.warnings)

    strat_result = None
    if cfg.stratify.enabled:
        with timer("stratify"):
            strat_result = _run_stratify(cfg, raw, tmp, progress)

    with timer("report"):
        progress("writing figures and report", 0, 1)

        build_run_report(tmp, ran=cfg.echo(), stages=stages, clean=clean, qc_tables=qc_tables, de_results=de_results,
                         panel_result=panel_result, strat_result=strat_result, inputs=_input_checksums(cfg),
                         versions=package_versions(), warnings=summary.warnings,
                         level=inputs.table.level if inputs.table is not None else "precursor",
                         source_format=inputs.table.format if inputs.table is not None else "")
    return summary


def _qc_tables(pqc, raw: Dataset, normalised: Dataset, *, group: str, specimen: str | None) -> dict:
    """The QC tables of a run: per-sample QC, per-protein QC and (when the specimen has them) contamination."""
    tables: dict[str, pd.DataFrame] = {}
    if hasattr(pqc, "sample_qc"):
        tables["sample_qc"] = pqc.sample_qc(raw)
    if hasattr(pqc, "protein_qc"):
        tables["protein_qc"] = pqc.protein_qc(normalised, group=group)
    if hasattr(pqc, "contamination_qc"):
        cont = pqc.contamination_qc(raw, specimen=specimen)
        if cont is not None and len(cont):
            tables["contamination"] = cont
    if hasattr(pqc, "specimen_notes"):
        notes = pqc.specimen_notes(specimen)
        if notes:
            tables["notes"] = pd.DataFrame({"note": notes})
    return tables


def _run_panel(cfg: RunConfig, ds: Dataset, tmp: Path, progress: Progress):
    p = cfg.panel
    if p.label in ds.samples.columns:
        check_class_sizes(ds, p.label, source=cfg.inputs.sheet)
    result = build_panel(ds, p.label, p.positive, settings=panel_settings(cfg), seed=cfg.seed,
                         n_permutations=p.permutations, n_jobs=cfg.n_jobs,
                         progress=lambda done, total: progress("panel nested CV", done, total))
    result = replace(result, signature=sign_signature(result.signature))
    write_panel_outputs(result, tmp / "panel")
    return result


def _run_stratify(cfg: RunConfig, ds: Dataset, tmp: Path, progress: Progress):
    s = cfg.stratify
    (tmp / "stratify").mkdir(exist_ok=True)
    settings = stratify_settings(cfg)
    result = stratify(ds, k_max=s.k_max, settings=settings,
                      seed=cfg.seed, n_jobs=cfg.n_jobs,
                      progress=lambda done, total: progress("consensus clustering", done, total))
    result = replace(result, stratifier=sign_signature(result.stratifier))
    write_stratify_outputs(result, tmp / "stratify")
    return result

