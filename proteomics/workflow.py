"""Orchestration only (no maths): ``run(config)`` executes the whole pipeline into a results folder.

The folder is built under a hidden temporary name beside the destination and renamed into place at the end,
so an interrupted or failed run leaves no results folder behind. Tables and signatures hold no times or
paths, so reruns with the same inputs and config are byte-identical; ``run.json`` is the one place for times.
"""

from __future__ import annotations

import contextlib
import logging
import os
import platform
import time
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ._files import canonical_json, sha256_file, write_text
from ._version import __version__
from .config import RunConfig
from .dataset import Dataset, Step
from .errors import InputError
from .io.write import write_tsv as _write_tsv
from .stages import Progress, check_contrast_groups, preprocess_steps
from .stages import safe_name as _safe_name
from .staging import staged_output_dir

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


def _file_log(path: Path) -> logging.Handler:
    h = logging.FileHandler(path, encoding="utf-8")
    h.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    h.setLevel(logging.INFO)
    return h


def run(cfg: RunConfig, out: str | os.PathLike | None = None, *, force: bool = False,
        progress: Progress | None = None) -> RunSummary:
    """Run the whole pipeline described by ``cfg`` into ``out`` (default ``cfg.output.dir`` or
    ``results/<name>``). Returns a :class:`RunSummary`. Raises :class:`InputError` for bad input, before any
    results folder exists."""
    from . import io as pio
    from .samples import SampleSheet

    progress = progress or (lambda stage, done, total: None)
    out = Path(out) if out is not None else (cfg.output.dir or Path("results") / cfg.name)
    timer = _Timer()
    started = time.time()
    np.random.seed(cfg.seed % (2**32))  # belt and braces: every step also takes its own seed

    # Everything that can fail on bad input is checked before the folder is created.
    with timer("read_sheet"):
        progress("reading sample sheet", 0, 1)
        sheet = SampleSheet.read(cfg.inputs.sheet)
        if cfg.specimen:
            sheet = sheet.subset(specimen=cfg.specimen)
    with timer("read_data"):
        progress("reading search-engine output", 0, 1)
        opts: dict[str, Any] = {"fdr": cfg.read.fdr, "keep_contaminants": cfg.read.keep_contaminants}
        if cfg.inputs.scale != "auto":
            opts["scale"] = cfg.inputs.scale
        # the dask engine reads the file itself, partitioned; locally we read it here so bad input fails early
        table = pio.read(cfg.inputs.data, cfg.inputs.format, **opts) if cfg.engine == "local" else None
        if table is None and cfg.inputs.format == "auto":
            pio.detect(cfg.inputs.data)  # fail early on an unknown format
    if cfg.output.pseudonymise:
        key = os.environ.get("PROTEOMICS_PSEUDONYM_KEY")
        if not key:
            log.warning("PROTEOMICS_PSEUDONYM_KEY is not set: pseudonyms are keyed by the seed, so they are stable "
                        "but could be recomputed by someone who has the config")
        sheet = sheet.pseudonymised(salt=key or f"seed-{cfg.seed}", samples=True)

    with staged_output_dir(out, force=force) as tmp:
        handler = _file_log(tmp / "run.log")
        logging.getLogger("proteomics").addHandler(handler)
        try:
            summary = _run_stages(cfg, sheet, table, tmp, timer, progress)
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
        finally:
            logging.getLogger("proteomics").removeHandler(handler)
            handler.close()
    return summary


def _input_checksums(cfg: RunConfig) -> list[dict[str, str]]:
    rows = []
    for role in ("data", "sheet", "fasta"):
        p = getattr(cfg.inputs, role)
        if p is not None:
            rows.append({"role": role, "name": Path(p).name, "path": str(p), "sha256": sha256_file(p)})
    if cfg.source is not None:
        rows.append({"role": "config", "name": Path(cfg.source).name, "path": str(cfg.source),
                     "sha256": sha256_file(cfg.source)})
    return rows


def _read_steps(tmp: Path) -> list[dict]:
    import json

    p = tmp / "provenance.json"
    return json.loads(p.read_text()) if p.exists() else []


def _run_stages(cfg: RunConfig, sheet, table, tmp: Path, timer: _Timer, progress: Progress) -> RunSummary:
    from . import qc as pqc
    from .quant import quantify

    summary = RunSummary(out=tmp)
    for sub in ("qc", "de", "panel", "figures"):
        (tmp / sub).mkdir()

    with timer("quantify"):
        progress(f"quantifying proteins ({cfg.quantify.method})", 0, 1)
        qkw = {"min_ratio_count": cfg.quantify.min_ratio_count, "top_n": cfg.quantify.top_n,
               "fasta": cfg.inputs.fasta}
        if table is None:  # engine: dask
            from .quant.distributed import quantify_dask

            raw = quantify_dask(cfg.inputs.data, sheet, format=cfg.inputs.format, method=cfg.quantify.method,
                                scheduler=cfg.scheduler, read_options={"fdr": cfg.read.fdr,
                                                                       "keep_contaminants": cfg.read.keep_contaminants},
                                **qkw)
        else:
            raw = quantify(table, sheet, method=cfg.quantify.method, n_jobs=cfg.n_jobs, **qkw)
        quantified = ~np.isnan(raw.X).all(axis=0)
        if not quantified.all():
            log.info("%d protein groups have no value in any sample and are dropped", int((~quantified).sum()))
            raw = raw.subset(proteins=quantified).with_step(
                Step("drop_unquantified", {"n_dropped": int((~quantified).sum())}, __version__, raw.checksum()))
        if cfg.output.pseudonymise and "run" in raw.samples.columns:
            raw = raw.with_samples(raw.samples.drop(columns=["run"]))  # raw-file names often embed patient ids
        if raw.n_proteins == 0:
            raise InputError("no protein was quantified in any sample", path=cfg.inputs.data,
                             hint="check the FDR cut-off (read.fdr) and that the sheet's runs match the file")
    log.info("quantified %d samples × %d proteins", raw.n_samples, raw.n_proteins)

    with timer("preprocess"):
        progress("filtering, normalising, imputing", 0, 1)
        y = raw.samples[cfg.de.group].astype(str).to_numpy() if cfg.de.group in raw.samples else None
        clean = raw
        stages = {"quantified": raw}
        normalised = raw
        for name, step in preprocess_steps(cfg):
            clean = step.fit_transform(clean, y)
            stages[name] = clean
            if not name.startswith("impute_"):
                normalised = clean
    summary.n_samples, summary.n_proteins = clean.n_samples, clean.n_proteins
    clean.to_tsv(tmp / "protein_matrix.tsv")
    clean.to_parquet(tmp / "protein_matrix.parquet")
    raw.to_tsv(tmp / "qc" / "protein_matrix_unfiltered.tsv")
    if cfg.output.anndata:
        clean.to_anndata().write_h5ad(tmp / "protein_matrix.h5ad")
    write_text(tmp / "provenance.json", canonical_json([s.to_dict() for s in clean.history]))

    with timer("qc"):
        progress("quality control", 0, 1)
        qc_tables = _qc_tables(pqc, raw, normalised, group=cfg.de.group, specimen=cfg.specimen)
        for name, df in qc_tables.items():
            _write_tsv(df, tmp / "qc" / f"{name}.tsv")

    de_results = []
    if cfg.de.enabled:
        with timer("de"):
            de_results = _run_de(cfg, clean, tmp, progress)
            summary.n_significant = {r.contrast: int((r.table["q_value"] < cfg.de.q_threshold).sum())
                                     for r in de_results}

    panel_result = None
    if cfg.panel.enabled:
        with timer("panel"):
            panel_ds = raw
            if table is not None and table.level != "protein" and cfg.panel.quant_method != cfg.quantify.method:
                progress(f"quantifying panel features ({cfg.panel.quant_method}, within-sample)", 0, 1)
                panel_ds = quantify(table, sheet, method=cfg.panel.quant_method, top_n=cfg.quantify.top_n,
                                    fasta=cfg.inputs.fasta, n_jobs=cfg.n_jobs)
                if cfg.output.pseudonymise and "run" in panel_ds.samples.columns:
                    panel_ds = panel_ds.with_samples(panel_ds.samples.drop(columns=["run"]))
            panel_result = _run_panel(cfg, panel_ds, tmp, progress)
            summary.panel_auc = float(panel_result.metrics["auc"])
            summary.warnings.extend(panel_result.warnings)

    strat_result = None
    if cfg.stratify.enabled:
        with timer("stratify"):
            strat_result = _run_stratify(cfg, raw, tmp, progress)

    with timer("report"):
        progress("writing figures and report", 0, 1)
        from .report.build import build_run_report

        build_run_report(tmp, cfg=cfg, stages=stages, clean=clean, qc_tables=qc_tables, de_results=de_results,
                         panel_result=panel_result, strat_result=strat_result, inputs=_input_checksums(cfg),
                         versions=package_versions(), warnings=summary.warnings,
                         level=table.level if table is not None else "precursor",
                         source_format=table.format if table is not None else "")
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


def _run_de(cfg: RunConfig, ds: Dataset, tmp: Path, progress: Progress) -> list:
    from .stats import moderated_t
    from .stats.results import de_long_table

    d = cfg.de
    results = []
    for i, contrast in enumerate(d.contrasts):
        progress(f"differential abundance: {contrast}", i, len(d.contrasts))
        check_contrast_groups(ds, d.group, contrast, cfg.inputs.sheet)
        res = moderated_t(ds, contrast, group=d.group, covariates=tuple(d.covariates), block=d.block,
                          trend=d.trend, robust=d.robust, legacy=True if d.legacy else None, fdr=d.fdr)
        res.to_tsv(tmp / "de" / f"{_safe_name(contrast)}.tsv")
        results.append(res)
    _write_tsv(de_long_table(results), tmp / "de" / "de_long.tsv")
    return results


def _run_panel(cfg: RunConfig, ds: Dataset, tmp: Path, progress: Progress):
    from .panel import build_panel, write_panel_outputs

    p = cfg.panel
    settings = p.model_dump(exclude={"enabled", "label", "positive", "permutations", "quant_method"})
    settings["preprocess"] = [(name, step.get_params()) for name, step in preprocess_steps(cfg)]
    settings["specimen"] = cfg.specimen
    result = build_panel(ds, p.label, p.positive, settings=settings, seed=cfg.seed,
                         n_permutations=p.permutations, n_jobs=cfg.n_jobs,
                         progress=lambda done, total: progress("panel nested CV", done, total))
    write_panel_outputs(result, tmp / "panel")
    return result


def _run_stratify(cfg: RunConfig, ds: Dataset, tmp: Path, progress: Progress):
    from .stratify import stratify, write_stratify_outputs

    s = cfg.stratify
    (tmp / "stratify").mkdir(exist_ok=True)
    settings = {"n_features": s.n_features, "repeats": s.repeats, "null_permutations": s.null_permutations,
                "specimen": cfg.specimen,
                "preprocess": [[name, step.get_params()] for name, step in preprocess_steps(cfg)]}
    result = stratify(ds, k_max=s.k_max, settings=settings,
                      seed=cfg.seed, n_jobs=cfg.n_jobs,
                      progress=lambda done, total: progress("consensus clustering", done, total))
    write_stratify_outputs(result, tmp / "stratify")
    return result

