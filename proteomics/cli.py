"""The ``proteomics`` command line (typer): run, inspect, formats, quantify, de here; the signature commands in
cli_signatures.py, shared options and the error contract in cli_support.py. Only the cli modules print or show progress.

Exit codes: 0 ok; 2 bad input, usage, a failed ``verify-signature`` or nothing scorable (one line per reason on
stderr, no traceback unless ``--debug``); 1 internal error.
"""


from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from . import cli_support as opt
from ._files import never_replace
from .choices import DE_MODELS, DETECTION_TESTS, IMPUTE_METHODS, NORMALIZE_METHODS
from .cli_support import (  # noqa: F401 - app and main are this module's public names (the console script)
    FORMAT_HELP,
    FDRMethod,
    QuantMethod,
    Scale,
    _errors,
    _progress,
    _state,
    app,
    examples,
    main,
    out_console,
    output_option,
)
from .commands import de_command, quantify_file
from .config import load_config
from .errors import InputError
from .guard import check_outputs
from .io import formats as list_formats
from .io import inspect as inspect_file
from .quant.rollup import AUTO_MAX_RUNS
from .stages import sidecar_path, write_protein_sidecar
from .workflow import run as run_workflow


# -- run ------------------------------------------------------------------------------------------------
@app.command(epilog=examples("proteomics run configs/example_plasma.yaml",
                             notes="Results go to results/<config file name>/; --out DIR chooses another folder."))
def run(
    config: Annotated[Path, typer.Argument(help="YAML config (see configs/).")],
    out: Annotated[Path | None, output_option("Results folder (default results/<config file name>).")] = None,
    force: opt.ForceOption = False,
    engine: Annotated[str | None, typer.Option("--engine", help="local or dask (overrides the config).")] = None,
):
    """Run the whole pipeline from a config: read, quantify, QC, differential abundance, panel, report."""
    with _errors():
        cfg = load_config(config)
        if engine is not None:
            if engine not in ("local", "dask"):
                raise InputError(f"unknown engine {engine!r}", hint="use --engine local or --engine dask")
            cfg = cfg.model_copy(update={"engine": engine})
        with _progress() as cb:
            summary = run_workflow(cfg, out, force=force, progress=cb)
        if not _state["quiet"]:
            out_console.print(f"[green]done[/green]: {summary.n_samples} samples × {summary.n_proteins} proteins")
            for c, n in summary.n_significant.items():
                out_console.print(f"  {c}: {n} proteins at q < {cfg.de.q_threshold}")
            if summary.panel_auc is not None:
                out_console.print(f"  panel nested-CV AUC {summary.panel_auc:.3f}")
            for w in summary.warnings:
                out_console.print(f"  [yellow]warning[/yellow]: {w}")
            out_console.print(f"  report: {summary.out / 'report.html'}")


# -- inspect / formats -------------------------------------------------------------------------------------
@app.command(epilog=examples("proteomics inspect sample_data/plasma/report.tsv.gz --json"))
def inspect(
    path: Annotated[Path, typer.Argument(help="Any supported input file (may be gzipped).")],
    format: Annotated[str, typer.Option("--format", "-f", help=FORMAT_HELP)] = "auto",
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
):
    """Detect a file's format and summarise it (level, runs, proteins). Never modifies the file."""
    with _errors():
        info = inspect_file(path, format=format)
        if as_json:
            out_console.print_json(json.dumps(info))
            return
        for key in ("format", "level", "n_runs", "n_proteins", "n_rows"):
            if key in info:
                out_console.print(f"{key:>11}: {info[key]}")
        runs = info.get("runs", [])
        out_console.print(f"{'runs':>11}: {', '.join(map(str, runs[:8]))}{' …' if len(runs) > 8 else ''}")


@app.command(epilog=examples("proteomics formats"))
def formats():
    """List every reader and the files it takes."""
    with _errors():
        rows = list_formats()
        width = max(len(f["name"]) for f in rows)
        for f in rows:
            out_console.print(f"[bold]{f['name']:<{width}}[/bold]  {f.get('level', ''):<10} {f['files']}")


# -- quantify ---------------------------------------------------------------------------------------------------
@app.command(epilog=examples("proteomics quantify sample_data/plasma/report.tsv.gz --sheet sample_data/sheet.csv "
                             "--specimen plasma -o plasma.tsv",
                             "proteomics quantify sample_data/plasma/report.tsv.gz --sheet sample_data/sheet.csv "
                             "--specimen plasma -o plasma.h5ad",
                             notes="The suffix of -o picks the format: .tsv .csv .parquet .xlsx .h5ad."))
def quantify(
    input: Annotated[Path, typer.Argument(help="Precursor/peptide/protein-level input file.")],
    sheet: opt.SheetOption,
    output: Annotated[Path, output_option("Protein matrix to write; the suffix picks the format: .tsv .csv "
                                          ".parquet .xlsx .h5ad.")],
    format: opt.FormatOption = "auto",
    method: Annotated[QuantMethod, typer.Option(
        "--method", help=f"Protein roll-up method (auto: MaxLFQ up to {AUTO_MAX_RUNS} samples, trace alignment "
                         "above).")
    ] = QuantMethod.auto,
    fasta: Annotated[Path | None, typer.Option("--fasta", help="FASTA (needed for iBAQ).")] = None,
    scale: opt.ScaleOption = Scale.auto,
    specimen: opt.SpecimenOption = None,
    n_jobs: opt.NJobsOption = 1,
    engine: Annotated[str, typer.Option("--engine", help="local or dask.")] = "local",
    force: opt.ForceOption = False,
):
    """Roll precursors/peptides up to proteins and write a log2 protein matrix: one row per protein group, one
    column per sample (proteins × samples; gene annotation in MATRIX.proteins.tsv beside a text matrix)."""
    with _errors(), _progress() as cb:
        from .io.write import DATASET_SUFFIXES, output_suffix, write_dataset

        suffix = output_suffix(output, dataset=True)  # the format follows the suffix; unknown: exit 2, no work
        side = [sidecar_path(output)] if suffix in DATASET_SUFFIXES[:2] else []  # only text matrices get one
        check_outputs(inputs=[input, sheet, fasta, sidecar_path(input)], outputs=[output, *side], force=force)
        ds = quantify_file(input, sheet, format=format, method=method.value, fasta=fasta, scale=scale.value,
                           specimen=specimen, n_jobs=n_jobs, engine=engine, progress=cb)
        with never_replace([] if force else [output, *side]):
            write_dataset(ds, output)
            if suffix in DATASET_SUFFIXES[:2]:  # text matrices carry their annotation in a sidecar
                write_protein_sidecar(ds, output)
        if output.suffix != ".parquet" and not _state["quiet"]:
            out_console.print(f"wrote {output}: {ds.n_proteins} proteins × {ds.n_samples} samples (log2)")


# -- de ---------------------------------------------------------------------------------------------------------
@app.command(epilog=examples('proteomics de plasma.tsv --sheet sample_data/sheet.csv --specimen plasma '
                             '--contrast "cancer-control" --covariate batch -o de.tsv'))
def de(
    input: Annotated[Path, typer.Argument(help="Protein matrix or any supported input file.")],
    sheet: opt.SheetOption,
    contrast: Annotated[list[str], typer.Option("--contrast", help='e.g. "cancer-control"; repeatable.')],
    output: Annotated[Path, output_option("DE table to write (.tsv .csv .parquet .xlsx).")],
    group: Annotated[str, typer.Option("--group", help="Sheet column with the groups.")] = "condition",
    covariate: Annotated[list[str] | None, typer.Option("--covariate", help="Covariate column; repeatable.")] = None,
    block: Annotated[str | None, typer.Option("--block", help="Random-effect block column (e.g. subject).")] = None,
    trend: Annotated[bool, typer.Option("--trend", help="Intensity-dependent variance prior.")] = False,
    robust: Annotated[bool, typer.Option("--robust", help="Robust hyperparameter estimation.")] = False,
    legacy: Annotated[bool, typer.Option("--legacy", help="Match limma < 3.62 (legacy eBayes).")] = False,
    normalize: Annotated[str | None, typer.Option("--normalize", help=f"{'|'.join(NORMALIZE_METHODS)} (default: "
                                                                      "the config's, mode: robust mode "
                                                                      "normalisation).")] = None,
    impute: Annotated[str | None, typer.Option("--impute", help=f"{'|'.join(IMPUTE_METHODS)} (default: the "
                                                                "config's, none).")] = None,
    keep_contaminants: Annotated[bool, typer.Option("--keep-contaminants", help="Keep contaminant and decoy "
                                                                       "proteins (removed by default).")] = False,
    min_valid: Annotated[int | None, typer.Option("--min-valid", help="Min. valid values per protein within at "
                                                                      "least one group (default: the config's "
                                                                      "rule, 70% of the samples of one group).")]
    = None,
    model: Annotated[str | None, typer.Option("--model", help=f"{'|'.join(DE_MODELS)} (default hybrid: moderated t plus "
                                                              "a detection test for proteins seen in one group "
                                                              "only; limma: R limma alone; dpc: detection-aware "
                                                              "model).")] = None,
    detection: Annotated[str | None, typer.Option("--detection", help=f"{'|'.join(DETECTION_TESTS)}: the detection test "
                                                                      "(default: model with hybrid, none with "
                                                                      "limma).")] = None,
    fdr: Annotated[FDRMethod, typer.Option("--fdr", help="Multiple-testing correction.")] = FDRMethod.bh,
    format: opt.FormatOption = "auto",
    scale: opt.ScaleOption = Scale.auto,
    specimen: opt.SpecimenOption = None,
    seed: opt.SeedOption = None,
    force: opt.ForceOption = False,
):
    """Differential abundance: moderated t plus a detection test for proteins seen in one group only (or the
    detection-aware dpc model), after robust mode normalisation."""
    with _errors(), _progress() as cb:
        results = de_command(input, sheet, contrasts=contrast, output=output, group=group,
                             covariates=covariate or [], block=block, trend=trend, robust=robust, legacy=legacy,
                             normalize=normalize, impute=impute, keep_contaminants=keep_contaminants,
                             min_valid=min_valid, fdr=fdr.value, format=format, scale=scale.value,
                             specimen=specimen, seed=seed, model=model, detection=detection, force=force,
                             progress=cb)
        if not _state["quiet"]:
            for r in results:
                n = int((r.table["q_value"] < 0.05).sum())
                out_console.print(f"{r.contrast}: {n} of {len(r.table)} proteins at q < 0.05")
            out_console.print(f"wrote {output}")


# -- panel, validate, score, verify-signature, stratify (proteomics/cli_signatures.py) ----------------------------
from . import cli_signatures  # noqa: E402,F401 - registers its commands on app, after de (the --help order)


def _register_keys() -> None:
    from .cli_keys import register

    register(app, _errors, out_console)


_register_keys()

# -- the clinician's web service: serve, users, audit (proteomics/serve/cli.py) ---------------------------------
from .serve.cli import register as _register_serve  # noqa: E402

_register_serve(app)


if __name__ == "__main__":  # pragma: no cover
    app()
