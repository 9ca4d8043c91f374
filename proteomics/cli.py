"""The ``proteomics`` command line (typer). The only module that prints or shows progress.

Exit codes: 0 ok; 2 bad input, usage, a failed ``verify-signature`` or nothing scorable (one line per reason on
stderr, no traceback unless ``--debug``); 1 internal error.
"""

from __future__ import annotations

import contextlib
import json
import logging
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)

from ._version import __version__
from .choices import (
    FDR_CHOICES,
    FORMATS,
    IMPUTE_METHODS,
    NORMALIZE_METHODS,
    QUANT_METHODS,
    SCALES,
    choice_enum,
)
from .errors import InputError, ProteomicsError, ScoringRefused

app = typer.Typer(name="proteomics", no_args_is_help=True, add_completion=False, pretty_exceptions_show_locals=False, rich_markup_mode="rich",
                  context_settings={"help_option_names": ["-h", "--help"]},
                  help="Respiratory proteomics: from search-engine output to a locked, validated protein "
                       "signature.\n\nStart with [bold]proteomics run configs/example_plasma.yaml[/bold].")

_state = {"debug": False, "quiet": False, "verbose": False}
err_console = Console(stderr=True, highlight=False, soft_wrap=True)
out_console = Console(highlight=False, soft_wrap=True)


# Choices are generated from the registries (proteomics.choices), never typed out here.
Scale = choice_enum("Scale", SCALES)
QuantMethod = choice_enum("QuantMethod", QUANT_METHODS)
FDRMethod = choice_enum("FDRMethod", FDR_CHOICES)
Normalize = choice_enum("Normalize", NORMALIZE_METHODS)
Impute = choice_enum("Impute", IMPUTE_METHODS)
Format = choice_enum("Format", FORMATS)


def _value(choice):
    """An enum option's string value (None stays None: the config's default applies)."""
    return None if choice is None else choice.value


def _version(value: bool):
    if value:
        out_console.print(f"proteomics {__version__}")
        raise typer.Exit(0)


@app.callback()
def main(
    debug: Annotated[bool, typer.Option("--debug", help="Show full tracebacks on errors.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Only errors; no progress bars.")] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log every step to stderr.")] = False,
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Print the version and exit.")] = False,
):
    """Respiratory proteomics command line."""
    _state.update(debug=debug, quiet=quiet, verbose=verbose)
    level = logging.DEBUG if verbose else (logging.ERROR if quiet else logging.WARNING)
    logging.getLogger("proteomics").setLevel(logging.INFO if not quiet else logging.ERROR)
    if not logging.getLogger("proteomics").handlers or verbose:
        h = logging.StreamHandler(sys.stderr)
        h.setLevel(level)
        h.setFormatter(logging.Formatter("%(levelname)s: %(message)s"))
        logging.getLogger("proteomics").addHandler(h)


def _fail(lines: list[str], code: int = 2) -> None:
    for line in lines:
        err_console.print(f"[bold red]error:[/bold red] {line}", markup=True, highlight=False)
    raise typer.Exit(code)


@contextlib.contextmanager
def _errors() -> Iterator[None]:
    """Turn our exceptions into one-line messages with the contract's exit codes."""
    try:
        yield
    except typer.Exit:
        raise
    except ScoringRefused as exc:
        if _state["debug"]:
            raise
        _fail([f"{exc.path + ': ' if exc.path else ''}{r}" for r in exc.reasons] or [str(exc)])
    except ProteomicsError as exc:
        if _state["debug"]:
            raise
        _fail([str(exc)])
    except KeyboardInterrupt:
        err_console.print("interrupted: nothing was written")
        raise typer.Exit(130) from None
    except MemoryError:
        if _state["debug"]:
            raise
        _fail(["out of memory", "Fix: use engine: dask or a machine with more memory"], code=1)
    except Exception as exc:  # noqa: BLE001 - the contract: internal errors exit 1 with one line
        if _state["debug"]:
            raise
        _fail([f"internal error: {type(exc).__name__}: {exc} (rerun with --debug for the traceback and please "
               f"report it)"], code=1)


@contextlib.contextmanager
def _progress() -> Iterator[Callable[[str, int, int], None]]:
    """A progress callback (stage, done, total) drawn with rich unless --quiet or not a terminal."""
    if _state["quiet"]:
        yield lambda stage, done, total: None
        return
    columns = [SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn()]
    with Progress(*columns, console=err_console, transient=False,
                  disable=not err_console.is_terminal) as bar:
        tasks: dict[str, int] = {}
        last: list[str] = []

        def cb(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                if last and last[-1] in tasks:
                    t = tasks[last[-1]]
                    bar.update(t, completed=bar.tasks[t].total or 1)
                tasks[stage] = bar.add_task(stage, total=max(total, 1))
                last.append(stage)
                if not err_console.is_terminal and not _state["quiet"]:
                    logging.getLogger("proteomics").info(stage)
            bar.update(tasks[stage], completed=done, total=max(total, 1))

        yield cb
        for t in tasks.values():
            bar.update(t, completed=bar.tasks[t].total)


# -- run ------------------------------------------------------------------------------------------------
@app.command(epilog="Example: proteomics run configs/example_plasma.yaml --out results/plasma")
def run(
    config: Annotated[Path, typer.Argument(help="YAML config (see configs/).")],
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Results folder (default results/<name>).")] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace an existing results folder.")] = False,
    engine: Annotated[str | None, typer.Option("--engine", help="local or dask (overrides the config).")] = None,
):
    """Run the whole pipeline from a config: read, quantify, QC, differential abundance, panel, report."""
    from .config import load_config
    from .workflow import run as run_workflow

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
@app.command(epilog="Example: proteomics inspect sample_data/plasma/report.tsv --json")
def inspect(
    path: Annotated[Path, typer.Argument(help="Any supported input file (may be gzipped).")],
    format: Annotated[Format, typer.Option("--format", "-f", help="Reader (see `proteomics formats`); auto: detect.")] = Format.auto,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
):
    """Detect a file's format and summarise it (level, runs, proteins). Never modifies the file."""
    from .io import inspect as inspect_file

    with _errors():
        info = inspect_file(path, format=format.value)
        if as_json:
            out_console.print_json(json.dumps(info))
            return
        for key in ("format", "level", "n_runs", "n_proteins", "n_rows"):
            if key in info:
                out_console.print(f"{key:>11}: {info[key]}")
        runs = info.get("runs", [])
        out_console.print(f"{'runs':>11}: {', '.join(map(str, runs[:8]))}{' …' if len(runs) > 8 else ''}")


@app.command(epilog="Example: proteomics formats")
def formats():
    """List every reader and the files it takes."""
    from .io import formats as list_formats

    with _errors():
        for f in list_formats():
            out_console.print(f"[bold]{f['name']:<22}[/bold] {f.get('level', ''):<10} {f['files']}")


# -- quantify ---------------------------------------------------------------------------------------------------
@app.command(epilog="Example: proteomics quantify sample_data/plasma/report.tsv --sheet sample_data/sheet.csv "
                    "--method maxlfq -o plasma_matrix.tsv")
def quantify(
    input: Annotated[Path, typer.Argument(help="Precursor/peptide/protein-level input file.")],
    sheet: Annotated[Path, typer.Option("--sheet", help="Sample sheet (CSV/TSV or SDRF).")],
    output: Annotated[Path, typer.Option("-o", "--output", help="Protein matrix TSV to write.")],
    format: Annotated[Format, typer.Option("--format", help="Reader name; default: detect.")] = Format.auto,
    method: Annotated[QuantMethod, typer.Option(
        "--method", help="Protein roll-up method (auto: MaxLFQ up to 100 samples, trace alignment above).")
    ] = QuantMethod.auto,
    fasta: Annotated[Path | None, typer.Option("--fasta", help="FASTA (needed for iBAQ).")] = None,
    scale: Annotated[Scale, typer.Option("--scale", help="Input values: linear, log2 or auto.")] = Scale.auto,
    specimen: Annotated[str | None, typer.Option("--specimen", help="Use only these sheet rows.")] = None,
    n_jobs: Annotated[int, typer.Option("--n-jobs", help="Parallel workers.")] = 1,
    engine: Annotated[str, typer.Option("--engine", help="local or dask.")] = "local",
):
    """Roll precursors/peptides up to proteins and write a samples-by-protein log2 matrix (TSV)."""
    from .commands import quantify_file
    from .guard import check_outputs
    from .stages import sidecar_path, write_protein_sidecar

    with _errors(), _progress() as cb:
        check_outputs(inputs=[input, sheet, fasta, sidecar_path(input)], outputs=[output, sidecar_path(output)])
        ds = quantify_file(input, sheet, format=format.value, method=method.value, fasta=fasta, scale=scale.value,
                           specimen=specimen, n_jobs=n_jobs, engine=engine, progress=cb)
        ds.to_tsv(output)
        write_protein_sidecar(ds, output)
        if output.suffix != ".parquet" and not _state["quiet"]:
            out_console.print(f"wrote {output}: {ds.n_proteins} proteins × {ds.n_samples} samples (log2)")


# -- de ---------------------------------------------------------------------------------------------------------
@app.command(epilog='Example: proteomics de plasma_matrix.tsv --sheet sample_data/sheet.csv '
                    '--contrast "cancer-control" --covariate batch -o de.tsv')
def de(
    input: Annotated[Path, typer.Argument(help="Protein matrix or any supported input file.")],
    sheet: Annotated[Path, typer.Option("--sheet", help="Sample sheet.")],
    contrast: Annotated[list[str], typer.Option("--contrast", help='e.g. "cancer-control"; repeatable.')],
    output: Annotated[Path, typer.Option("-o", "--output", help="DE table TSV to write.")],
    group: Annotated[str, typer.Option("--group", help="Sheet column with the groups.")] = "condition",
    covariate: Annotated[list[str] | None, typer.Option("--covariate", help="Covariate column; repeatable.")] = None,
    block: Annotated[str | None, typer.Option("--block", help="Random-effect block column (e.g. subject).")] = None,
    trend: Annotated[bool, typer.Option("--trend", help="Intensity-dependent variance prior.")] = False,
    robust: Annotated[bool, typer.Option("--robust", help="Robust hyperparameter estimation.")] = False,
    legacy: Annotated[bool, typer.Option("--legacy", help="Match limma < 3.62 (legacy eBayes).")] = False,
    normalize: Annotated[Normalize | None, typer.Option("--normalize", help="Normalisation (default: the "
                                                                            "config's, median; median centring is "
                                                                            "idempotent on a normalised matrix).")] = None,
    impute: Annotated[Impute | None, typer.Option("--impute", help="Imputation (default: the config's, none).")] = None,
    keep_contaminants: Annotated[bool, typer.Option("--keep-contaminants")] = False,
    min_valid: Annotated[int | None, typer.Option("--min-valid", help="Min. valid values per protein over all "
                                                                      "samples (default: the config's rule, 70% "
                                                                      "of the samples of one group).")] = None,
    fdr: Annotated[FDRMethod, typer.Option("--fdr", help="Multiple-testing correction.")] = FDRMethod.bh,
    format: Annotated[Format, typer.Option("--format", help="Reader; auto: detect.")] = Format.auto,
    scale: Annotated[Scale, typer.Option("--scale")] = Scale.auto,
    specimen: Annotated[str | None, typer.Option("--specimen", help="Use only these sheet rows.")] = None,
    seed: Annotated[int | None, typer.Option("--seed", help="Random seed (default: the config's, 0).")] = None,
):
    """Differential abundance with limma-style moderated t statistics."""
    from .commands import de_command

    with _errors(), _progress() as cb:
        results = de_command(input, sheet, contrasts=contrast, output=output, group=group,
                             covariates=covariate or [], block=block, trend=trend, robust=robust, legacy=legacy,
                             normalize=_value(normalize), impute=_value(impute), keep_contaminants=keep_contaminants,
                             min_valid=min_valid, fdr=fdr.value, format=format.value, scale=scale.value,
                             specimen=specimen, seed=seed, progress=cb)
        if not _state["quiet"]:
            for r in results:
                n = int((r.table["q_value"] < 0.05).sum())
                out_console.print(f"{r.contrast}: {n} of {len(r.table)} proteins at q < 0.05")
            out_console.print(f"wrote {output}")


# -- panel / validate -------------------------------------------------------------------------------------------
@app.command(epilog="Example: proteomics panel plasma_matrix.tsv --sheet sample_data/sheet.csv --label condition "
                    "--positive cancer --permutations 20 -o panel_out\n\n"
                    "Several specimens of the same patients (joined by the sheet's subject; features "
                    "specimen:protein; the signature then requires each specimen): proteomics panel "
                    "sample_data/plasma/report.tsv.gz --specimen plasma --also BAL=sample_data/bal/report.tsv.gz "
                    "--sheet sample_data/sheet.csv --label condition --positive cancer -o panel_plasma_bal")
def panel(
    input: Annotated[Path, typer.Argument(help="Protein matrix or any supported input file.")],
    sheet: Annotated[Path, typer.Option("--sheet")],
    label: Annotated[str, typer.Option("--label", help="Sheet column with the outcome.")],
    positive: Annotated[str, typer.Option("--positive", help="Value of --label that is the positive class.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="Output folder.")],
    config: Annotated[Path | None, typer.Option("--config", help="Panel YAML (keys of the 'panel' section).")] = None,
    permutations: Annotated[int | None, typer.Option("--permutations", help="Label permutations (leakage alarm; "
                                                                          "default: the config's, 0).")] = None,
    seed: Annotated[int | None, typer.Option("--seed", help="Random seed (default: the config's, 0).")] = None,
    format: Annotated[Format, typer.Option("--format", help="Reader; auto: detect.")] = Format.auto,
    scale: Annotated[Scale, typer.Option("--scale")] = Scale.auto,
    specimen: Annotated[str | None, typer.Option("--specimen")] = None,
    n_jobs: Annotated[int, typer.Option("--n-jobs")] = 1,
    force: Annotated[bool, typer.Option("--force", help="Replace an existing output folder.")] = False,
    also: Annotated[list[str] | None, typer.Option("--also", metavar="SPECIMEN=PATH",
                                                   help="Another specimen of the same subjects (repeatable); "
                                                        "INPUT is then the --specimen one.")] = None,
    sign_key: Annotated[str | None, typer.Option("--sign-key", help="Private key (PEM file or key id from "
                                                                    "'proteomics keys list') that signs the "
                                                                    "signature; default: your key.")] = None,
):
    """Build a biomarker panel with nested cross-validation and lock it into a signature."""
    from .commands import panel_command

    with _errors(), _progress() as cb:
        res = panel_command(input, sheet, label=label, positive=positive, output=output, config=config,
                            permutations=permutations, seed=seed, format=format.value, scale=scale.value,
                            specimen=specimen, n_jobs=n_jobs, force=force, progress=cb, also=also or (),
                            sign_key=sign_key)
        if not _state["quiet"]:
            m = res.metrics
            out_console.print(f"nested-CV AUC {m['auc']:.3f} (95% CI {m.get('auc_ci_low', float('nan')):.3f}–"
                              f"{m.get('auc_ci_high', float('nan')):.3f}); panel: {', '.join(res.signature.proteins)}")
            for w in res.warnings:
                out_console.print(f"[yellow]warning[/yellow]: {w}")
            out_console.print(f"wrote {output}/signature.json")


@app.command(epilog="Example: proteomics validate cohort2.tsv --signature panel_out/signature.json "
                    "--sheet sheet2.csv --label condition --positive cancer -o validation\n\n"
                    "Multi-specimen signature: proteomics validate plasma2.tsv --specimen plasma --also "
                    "BAL=bal2.tsv --signature panel_plasma_bal/signature.json --sheet sheet2.csv --label condition "
                    "--positive cancer -o validation")
def validate(
    input: Annotated[Path, typer.Argument(help="Independent cohort (any supported input file).")],
    signature: Annotated[Path, typer.Option("--signature")],
    sheet: Annotated[Path, typer.Option("--sheet")],
    label: Annotated[str, typer.Option("--label")],
    positive: Annotated[str, typer.Option("--positive")],
    output: Annotated[Path, typer.Option("-o", "--output")],
    format: Annotated[Format, typer.Option("--format", help="Reader; auto: detect.")] = Format.auto,
    scale: Annotated[Scale, typer.Option("--scale")] = Scale.auto,
    force: Annotated[bool, typer.Option("--force")] = False,
    specimen: Annotated[str | None, typer.Option("--specimen", help="Specimen of INPUT (multi-specimen "
                                                                    "signatures; default: the sheet's).")] = None,
    also: Annotated[list[str] | None, typer.Option("--also", metavar="SPECIMEN=PATH",
                                                   help="Input of another specimen of the same subjects "
                                                        "(repeatable; multi-specimen signatures).")] = None,
    allow_unsigned: Annotated[bool, typer.Option("--allow-unsigned", help="Accept a signature without a "
                                                                        "signing block (old files); every output "
                                                                        "then carries a warning.")] = False,
):
    """External validation: score a labelled cohort with a locked signature, report metrics at its thresholds."""
    from .commands import validate_command

    with _errors(), _progress() as cb:
        metrics = validate_command(input, signature, sheet, label=label, positive=positive, output=output,
                                   format=format.value, scale=scale.value, force=force, progress=cb,
                                   specimen=specimen, also=also or (), allow_unsigned=allow_unsigned)
        if not _state["quiet"]:
            out_console.print(f"external AUC {metrics.get('auc', float('nan')):.3f}; wrote {output}")


# -- score / verify --------------------------------------------------------------------------------------------
@app.command(epilog="Example: proteomics score sample_data/new_patients/report.tsv --signature "
                    "results/example_plasma/panel/signature.json --sheet sample_data/new_patients/sheet.csv "
                    "-o scores.tsv\n\n"
                    "Multi-specimen signature (one input per specimen, joined by the sheet's subject): proteomics "
                    "score plasma.tsv --specimen plasma --also BAL=bal.tsv --sheet sheet.csv --signature "
                    "panel_plasma_bal/signature.json -o scores.tsv")
def score(
    input: Annotated[Path, typer.Argument(help="New patient file(s): any supported input file.")],
    signature: Annotated[Path, typer.Option("--signature", help="Locked signature JSON.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="Scores TSV; a patient report HTML is written "
                                                                "beside it.")],
    sheet: Annotated[Path | None, typer.Option("--sheet", help="Sample sheet (gives each sample's specimen).")] = None,
    specimen: Annotated[str | None, typer.Option("--specimen", help="Specimen of every sample (no sheet).")] = None,
    format: Annotated[Format, typer.Option("--format", help="Reader; auto: detect.")] = Format.auto,
    scale: Annotated[Scale, typer.Option("--scale")] = Scale.auto,
    also: Annotated[list[str] | None, typer.Option("--also", metavar="SPECIMEN=PATH",
                                                   help="Input of another specimen of the same subjects "
                                                        "(repeatable; multi-specimen signatures).")] = None,
    allow_unsigned: Annotated[bool, typer.Option("--allow-unsigned", help="Accept a signature without a "
                                                                        "signing block (old files); every output "
                                                                        "then carries a warning.")] = False,
):
    """Score new patients with a locked signature, or refuse with every reason."""
    from .commands import score_command

    with _errors():
        table, report = score_command(input, signature, output, sheet=sheet, specimen=specimen, format=format.value,
                                      scale=scale.value, also=also or (), allow_unsigned=allow_unsigned)
        if not _state["quiet"]:
            for rec in table.to_dict("records"):
                what = rec.get("cluster") if "cluster" in rec else rec.get("category")
                prob = rec.get("probability")
                extra = f" p={prob:.3f}" if isinstance(prob, float) and prob == prob else ""
                out_console.print(f"{rec['sample']}: {what}{extra}"
                                  + (f" ({rec['reasons']})" if rec.get("reasons") else ""))
            if "warning" in table.columns:
                out_console.print(f"[yellow]warning[/yellow]: {table['warning'].iloc[0]}")
            out_console.print(f"wrote {output} and {report}")


@app.command("verify-signature", epilog="Example: proteomics verify-signature results/example_plasma/panel/"
                                        "signature.json")
def verify_signature(signature: Annotated[Path, typer.Argument(help="Signature JSON file.")]):
    """Check a signature's checksum, schema, content and Ed25519 signature by a trusted key; print its intended
    use and performance."""
    from .commands import verify_command

    with _errors():
        info = verify_command(signature)
        out_console.print(f"[green]OK[/green] {signature}: checksum, schema, content and signature verified "
                          f"(signed by trusted key {info.get('signed_by')})")
        for k, v in info.items():
            out_console.print(f"  {k}: {v}")


# -- stratify ----------------------------------------------------------------------------------------------------
@app.command(epilog="Example: proteomics stratify plasma_matrix.tsv --sheet sample_data/sheet.csv --k-max 5 "
                    "-o strata")
def stratify(
    input: Annotated[Path, typer.Argument(help="Protein matrix or any supported input file.")],
    sheet: Annotated[Path, typer.Option("--sheet")],
    output: Annotated[Path, typer.Option("-o", "--output", help="Output folder.")],
    k_max: Annotated[int | None, typer.Option("--k-max", help="Largest number of subgroups tried (default: the "
                                                              "--config file's or 6).")] = None,
    config: Annotated[Path | None, typer.Option("--config", help="Stratify YAML.")] = None,
    seed: Annotated[int | None, typer.Option("--seed", help="Random seed (default: the config's, 0).")] = None,
    format: Annotated[Format, typer.Option("--format", help="Reader; auto: detect.")] = Format.auto,
    scale: Annotated[Scale, typer.Option("--scale")] = Scale.auto,
    specimen: Annotated[str | None, typer.Option("--specimen")] = None,
    n_jobs: Annotated[int, typer.Option("--n-jobs")] = 1,
    force: Annotated[bool, typer.Option("--force")] = False,
    sign_key: Annotated[str | None, typer.Option("--sign-key", help="Private key (PEM file or key id from "
                                                                    "'proteomics keys list') that signs the "
                                                                    "signature; default: your key.")] = None,
):
    """Discover patient subgroups by consensus clustering, check them against null and batch, lock a stratifier."""
    from .commands import stratify_command

    with _errors(), _progress() as cb:
        res = stratify_command(input, sheet, output=output, k_max=k_max, config=config, seed=seed, format=format.value,
                               scale=scale.value, specimen=specimen, n_jobs=n_jobs, force=force, progress=cb,
                               sign_key=sign_key)
        if not _state["quiet"]:
            out_console.print(f"k = {res.metrics.get('k')}; wrote {output}")


def _register_keys() -> None:
    from .cli_keys import register

    register(app, _errors, out_console)


_register_keys()

# -- the clinician's web service: serve, users, audit (proteomics/serve/cli.py) ---------------------------------
from .serve.cli import register as _register_serve  # noqa: E402

_register_serve(app)


if __name__ == "__main__":  # pragma: no cover
    app()
