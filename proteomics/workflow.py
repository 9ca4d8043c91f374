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
import shutil
import signal
import time
from collections.abc import Callable, Iterator, Mapping
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

__all__ = ["run", "RunSummary", "staged_output_dir", "package_versions", "preprocess_steps", "Progress"]

log = logging.getLogger("proteomics")

#: progress(stage, done, total): the CLI turns these calls into progress bars; library code never prints.
Progress = Callable[[str, int, int], None]

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


@contextlib.contextmanager
def staged_output_dir(out: Path, force: bool = False) -> Iterator[Path]:
    """Yield a hidden temporary folder beside ``out``; on success rename it to ``out``.

    Refuses an existing ``out`` unless ``force``. On any error, KeyboardInterrupt or SIGTERM the temporary
    folder is removed and ``out`` is left as it was.
    """
    out = Path(out)
    if out.exists() and not force:
        raise InputError("results folder already exists", path=out,
                         hint="choose another --out, or add --force to replace it")
    parent = out.parent if str(out.parent) else Path(".")
    try:
        parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(parent, f".{out.name}.partial-{os.getpid()}")
        if tmp.exists():
            shutil.rmtree(tmp)
        tmp.mkdir()
    except OSError as exc:
        raise InputError(f"cannot create the results folder ({exc.strerror})", path=out,
                         hint="choose a writable --out location") from None

    previous = None

    def _term(signum, frame):  # turn SIGTERM into an exception so the cleanup below runs
        raise KeyboardInterrupt(f"signal {signum}")

    try:
        previous = signal.signal(signal.SIGTERM, _term)
    except ValueError:  # not in the main thread
        previous = None
    try:
        yield tmp
        if out.exists():
            old = Path(parent, f".{out.name}.old-{os.getpid()}")
            os.replace(out, old)
            os.replace(tmp, out)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


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


def _write_tsv(df: pd.DataFrame, path: Path) -> None:
    from .io.write import write_tsv

    write_tsv(df, path)


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


def _safe_name(contrast: str) -> str:
    keep = "".join(c if c.isalnum() or c in "-_." else "_" for c in contrast.replace(" ", ""))
    return keep.replace("-", "_vs_", 1) if contrast.count("-") == 1 and "(" not in contrast else keep


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


# -- single commands (the CLI's subcommands other than `run`) ---------------------------------------------------
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


def quantify_file(input, sheet, *, format="auto", method="maxlfq", fasta=None, scale="auto", specimen=None,
                  n_jobs=1, engine="local", progress=None) -> Dataset:
    """``proteomics quantify``: input file → protein Dataset (log2)."""
    return load_dataset(input, sheet, format=format, method=method, fasta=fasta, scale=scale, specimen=specimen,
                        n_jobs=n_jobs, engine=engine, progress=progress)


def de_command(input, sheet, *, contrasts, output, group="condition", covariates=(), block=None, trend=False,
               robust=False, legacy=False, normalize="median", impute="none", keep_contaminants=False, min_valid=0,
               fdr="bh", format="auto", scale="auto", specimen=None, seed=0, progress=None) -> list:
    """``proteomics de``: moderated t for one or more contrasts; writes ``output`` (one contrast) or one file
    per contrast plus the long table at ``output`` (several)."""
    from .preprocess import STEPS
    from .stats import moderated_t
    from .stats.results import de_long_table

    ds = load_dataset(input, sheet, format=format, scale=scale, specimen=specimen,
                      keep_contaminants=keep_contaminants, progress=progress)
    for c in contrasts:
        check_contrast_groups(ds, group, c, sheet)
    y = ds.samples[group].astype(str).to_numpy()
    steps = []
    if not keep_contaminants:
        steps.append(STEPS["filter_contaminants"]())
    if min_valid > 0:
        steps.append(STEPS["filter_min_valid"](min_fraction=min(1.0, min_valid / max(1, ds.n_samples)),
                                               per_group=False))
    if normalize != "none":
        if f"normalize_{normalize}" not in STEPS:
            raise InputError(f"unknown --normalize {normalize!r}", hint="use median, quantile, vsn or none")
        steps.append(STEPS[f"normalize_{normalize}"]())
    if impute != "none":
        if f"impute_{impute}" not in STEPS:
            raise InputError(f"unknown --impute {impute!r}", hint="use downshift, minprob, knn or none")
        steps.append(STEPS[f"impute_{impute}"](**({"seed": seed} if impute in ("downshift", "minprob") else {})))
    for step in steps:
        ds = step.fit_transform(ds, y)
    results = []
    output = Path(output)
    for i, c in enumerate(contrasts):
        if progress:
            progress("differential abundance", i, len(contrasts))
        results.append(moderated_t(ds, c, group=group, covariates=tuple(covariates), block=block, trend=trend,
                                   robust=robust, legacy=True if legacy else None, fdr=fdr))
    if len(results) == 1:
        results[0].to_tsv(output)
    else:
        for r in results:
            r.to_tsv(output.with_name(f"{output.stem}.{_safe_name(r.contrast)}{output.suffix or '.tsv'}"))
        _write_tsv(de_long_table(results), output)
    return results


def _panel_settings_from_yaml(path) -> dict:
    """Read a panel YAML (keys of the config's ``panel`` section) and validate it."""
    import yaml

    from .config import PanelConfig

    if path is None:
        return PanelConfig().model_dump()
    from .config import config_from_dict

    text = Path(path).read_text(encoding="utf-8") if Path(path).is_file() else None
    if text is None:
        raise InputError("panel config not found", path=path, hint="check the --config path")
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise InputError(f"invalid YAML ({exc})", path=path) from None
    data = data.get("panel", data)
    cfg = config_from_dict({"inputs": {"data": ".", "sheet": "."}, "panel": data}, path=Path(path),
                           check_files=False, text=text)
    return cfg.panel.model_dump()


def panel_command(input, sheet, *, label, positive, output, config=None, permutations=0, seed=0, format="auto",
                  scale="auto", specimen=None, n_jobs=1, force=False, progress=None, also=()):
    """``proteomics panel``: nested CV + locked signature into folder ``output``.

    ``also``: more specimens of the same subjects as ``"SPECIMEN=PATH"`` strings (or a mapping); the inputs are
    joined by the sheet's ``subject`` into one multi-specimen panel (``specimen:protein`` features)."""
    from .panel import build_panel, write_panel_outputs

    settings = _panel_settings_from_yaml(config)
    settings.pop("enabled", None)
    method = settings.pop("quant_method")
    ds = load_dataset(input, sheet, format=format, scale=scale, specimen=specimen, method=method, progress=progress)
    if label not in ds.samples.columns:
        raise InputError(f"--label column {label!r} is not in the sample sheet", path=sheet,
                         hint=f"choose one of {', '.join(map(str, ds.samples.columns))}")
    settings["specimen"] = specimen or _single_specimen(ds)
    if also:
        ds = _join_also(ds, settings["specimen"], also, check=(label,),
                        load=lambda path, spec: load_dataset(path, sheet, format=format, scale=scale, specimen=spec,
                                                             method=method, progress=progress))
        settings["specimen"] = None  # build_panel names the joined specimen ("BAL+plasma")
    for k in ("label", "positive", "permutations"):
        settings.pop(k, None)
    cb = (lambda d, t: progress("panel nested CV", d, t)) if progress else None
    res = build_panel(ds, label, positive, settings=settings, seed=seed, n_permutations=permutations,
                      n_jobs=n_jobs, progress=cb)
    with staged_output_dir(Path(output), force=force) as tmp:
        write_panel_outputs(res, tmp)
        from .report.build import panel_figures

        panel_figures(res, tmp)
    return res


def parse_also(also) -> dict[str, str]:
    """``["BAL=bal.tsv", ...]`` (the CLI's repeated ``--also``) or a mapping → {specimen: path}."""
    if isinstance(also, Mapping):
        return {str(k): str(v) for k, v in also.items()}
    out: dict[str, str] = {}
    for item in also or ():
        spec, eq, path = str(item).partition("=")
        if not eq or not spec.strip() or not path.strip():
            raise InputError(f"--also {item!r} is not SPECIMEN=PATH", hint="e.g. --also BAL=bal/report.tsv")
        if spec.strip().lower() in {k.lower() for k in out}:
            raise InputError(f"--also gives specimen {spec.strip()!r} twice")
        out[spec.strip()] = path.strip()
    return out


def _specimen_inputs(ds: Dataset, specimen: str | None, also, load) -> dict[str, Dataset]:
    """{specimen: Dataset} for the main input (``ds``, specimen ``specimen``) and every ``--also`` input, each
    read by ``load(path, specimen)``."""
    if not specimen:
        raise InputError("the specimen of the main input is unknown", hint="give --specimen TYPE for INPUT when "
                                                                          "several specimens are combined")
    extra = parse_also(also)
    if str(specimen).lower() in {k.lower() for k in extra}:
        raise InputError(f"specimen {specimen!r} is given both as INPUT and with --also")
    return {str(specimen): ds, **{spec: load(path, spec) for spec, path in extra.items()}}


def _join_also(ds: Dataset, specimen: str | None, also, *, load, check=None) -> Dataset:
    from .panel.multispecimen import join_specimens

    return join_specimens(_specimen_inputs(ds, specimen, also, load), check=check)


def _single_specimen(ds: Dataset) -> str | None:
    if "specimen" in ds.samples.columns:
        vals = ds.samples["specimen"].astype(str).unique()
        if len(vals) == 1:
            return str(vals[0])
    return None


def validate_command(input, signature, sheet, *, label, positive, output, format="auto", scale="auto",
                     force=False, progress=None, specimen=None, also=()) -> dict:
    """``proteomics validate``: metrics of a locked signature on an independent labelled cohort.

    A multi-specimen signature needs one input per specimen: ``input`` (specimen ``specimen`` or the sheet's)
    and ``also`` (``"SPECIMEN=PATH"`` strings), joined by the sheet's ``subject``."""
    from .panel import validate
    from .panel.signature import Signature

    sig = Signature.load(signature)
    ds = load_dataset(input, sheet, format=format, scale=scale, signature=sig, allow_unused_sheet_rows=True,
                      progress=progress)
    if sig.kind == "panel" and (also or getattr(sig, "specimens", ())):
        from .panel.multispecimen import join_for_signature

        datasets = _specimen_inputs(
            ds, specimen or _single_specimen(ds), also,
            load=lambda path, spec: load_dataset(path, sheet, format=format, scale=scale, specimen=spec,
                                                 signature=sig, allow_unused_sheet_rows=True, progress=progress))
        ds = join_for_signature(sig, datasets, check=(label,))
    metrics = validate(sig, ds, label, positive)
    with staged_output_dir(Path(output), force=force) as tmp:
        write_text(tmp / "validation_metrics.json", canonical_json(metrics))
    return metrics


def score_command(input, signature, output, *, sheet=None, specimen=None, format="auto", scale="auto", also=()):
    """``proteomics score``: score (or refuse) each sample; writes the TSV and a printable patient report.

    A multi-specimen signature needs one input per specimen: ``input`` (specimen ``specimen`` or the sheet's)
    and ``also`` (``"SPECIMEN=PATH"`` strings), joined by the sheet's ``subject``; one row per subject."""
    from .panel.signature import Signature
    from .report.html import render_patient_report

    sig = Signature.load(signature)
    if sheet is None and specimen is None:
        raise InputError("the specimen of the samples is unknown", hint="give --sheet SHEET or --specimen TYPE")
    ds = load_dataset(input, sheet, format=format, scale=scale, signature=sig, allow_unused_sheet_rows=True)
    if specimen is not None:
        s = ds.samples
        s["specimen"] = specimen
        ds = ds.with_samples(s)
    if sig.kind == "stratifier":
        from .stratify import assign

        table = assign(sig, ds)
    elif also or getattr(sig, "specimens", ()):
        from .panel import score_multi

        if sheet is None:
            raise InputError("scoring several specimens needs --sheet (its 'subject' column joins them)")
        datasets = _specimen_inputs(
            ds, specimen or _single_specimen(ds), also,
            load=lambda path, spec: load_dataset(path, sheet, format=format, scale=scale, specimen=spec,
                                                 signature=sig, allow_unused_sheet_rows=True))
        table = score_multi(sig, datasets).table
    else:
        from .panel import score

        table = score(sig, ds).table
    output = Path(output)
    report = output.with_suffix(".html")
    html = render_patient_report(table.to_dict("records"), sig.summary())
    _write_tsv(table, output)
    write_text(report, html)
    return table, report


def verify_command(path) -> dict:
    """``proteomics verify-signature``: checksum + schema check; returns the summary to print."""
    from .panel.signature import Signature

    return Signature.verify(path)


def stratify_command(input, sheet, *, output, k_max=6, config=None, seed=0, format="auto", scale="auto",
                     specimen=None, n_jobs=1, force=False, progress=None):
    """``proteomics stratify``: consensus clustering into folder ``output``."""
    import yaml

    from .stratify import stratify, write_stratify_outputs

    settings = {}
    if config is not None:
        try:
            settings = yaml.safe_load(Path(config).read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise InputError(f"cannot read stratify config ({exc})", path=config) from None
        settings = settings.get("stratify", settings)
    ds = load_dataset(input, sheet, format=format, scale=scale, specimen=specimen, progress=progress)
    cb = (lambda d, t: progress("consensus clustering", d, t)) if progress else None
    res = stratify(ds, k_max=k_max, settings=settings, seed=seed, n_jobs=n_jobs, progress=cb)
    with staged_output_dir(Path(output), force=force) as tmp:
        write_stratify_outputs(res, tmp)
        from .report.build import stratify_figures

        stratify_figures(res, tmp)
    return res
