"""The signature commands of the ``proteomics`` command line: panel, validate, score, verify-signature, stratify
(registered on :data:`proteomics.cli_support.app` when :mod:`proteomics.cli` imports this module)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from .cli_support import FORMAT_HELP, Scale, _errors, _progress, _state, app, out_console
from .commands import panel_command, score_command, stratify_command, validate_command, verify_command


# -- panel / validate -------------------------------------------------------------------------------------------
@app.command(epilog="Example: proteomics panel sample_data/plasma/report.tsv.gz --sheet sample_data/sheet.csv --specimen "
                    "plasma --label condition --positive cancer --permutations 3 -o panel\n\nFrom precursors, so the "
                    "signature scores a new patient's precursor file alone.\n\n"
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
    format: Annotated[str, typer.Option("--format", help=FORMAT_HELP)] = "auto",
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
    baseline: Annotated[bool, typer.Option("--baseline", help="Also run the plain L1 and random-forest baselines "
                                                              "on the same outer folds (OUTDIR/baselines.json).")]
    = False,
):
    """Build a biomarker panel with nested cross-validation and lock it into a signature."""
    with _errors(), _progress() as cb:
        res = panel_command(input, sheet, label=label, positive=positive, output=output, config=config,
                            permutations=permutations, seed=seed, format=format, scale=scale.value,
                            specimen=specimen, n_jobs=n_jobs, force=force, progress=cb, also=also or (),
                            sign_key=sign_key, baseline=baseline)
        if not _state["quiet"]:
            m = res.metrics
            out_console.print(f"nested-CV AUC {m['auc']:.3f} (95% CI {m.get('auc_ci_low', float('nan')):.3f}–"
                              f"{m.get('auc_ci_high', float('nan')):.3f}); panel: {', '.join(res.signature.proteins)}")
            for name, b in (m.get("baselines") or {}).items():
                out_console.print(f"baseline {name}: AUC {b['auc']:.3f} with {b['size']:.0f} proteins")
            for w in res.warnings:
                out_console.print(f"[yellow]warning[/yellow]: {w}")
            out_console.print(f"wrote {output}/signature.json")


@app.command(epilog="Example: proteomics validate sample_data/plasma/report.tsv.gz --signature panel/signature.json "
                    "--sheet sample_data/sheet.csv --label condition --positive cancer -o validation\n\nThe training "
                    "cohort stands in for an independent one here.\n\n"
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
    format: Annotated[str, typer.Option("--format", help=FORMAT_HELP)] = "auto",
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
    with _errors(), _progress() as cb:
        metrics = validate_command(input, signature, sheet, label=label, positive=positive, output=output,
                                   format=format, scale=scale.value, force=force, progress=cb,
                                   specimen=specimen, also=also or (), allow_unsigned=allow_unsigned)
        if not _state["quiet"]:
            out_console.print(f"external AUC {metrics.get('auc', float('nan')):.3f}; wrote {output}")


# -- score / verify --------------------------------------------------------------------------------------------
@app.command(epilog="Example: proteomics score sample_data/new_patients/report.tsv.gz --signature "
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
    format: Annotated[str, typer.Option("--format", help=FORMAT_HELP)] = "auto",
    scale: Annotated[Scale, typer.Option("--scale")] = Scale.auto,
    also: Annotated[list[str] | None, typer.Option("--also", metavar="SPECIMEN=PATH",
                                                   help="Input of another specimen of the same subjects "
                                                        "(repeatable; multi-specimen signatures).")] = None,
    allow_unsigned: Annotated[bool, typer.Option("--allow-unsigned", help="Accept a signature without a "
                                                                        "signing block (old files); every output "
                                                                        "then carries a warning.")] = False,
):
    """Score new patients with a locked signature, or refuse with every reason."""
    with _errors():
        table, report = score_command(input, signature, output, sheet=sheet, specimen=specimen, format=format,
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
    format: Annotated[str, typer.Option("--format", help=FORMAT_HELP)] = "auto",
    scale: Annotated[Scale, typer.Option("--scale")] = Scale.auto,
    specimen: Annotated[str | None, typer.Option("--specimen")] = None,
    n_jobs: Annotated[int, typer.Option("--n-jobs")] = 1,
    force: Annotated[bool, typer.Option("--force")] = False,
    sign_key: Annotated[str | None, typer.Option("--sign-key", help="Private key (PEM file or key id from "
                                                                    "'proteomics keys list') that signs the "
                                                                    "signature; default: your key.")] = None,
):
    """Discover patient subgroups by consensus clustering, check them against null and batch, lock a stratifier."""
    with _errors(), _progress() as cb:
        res = stratify_command(input, sheet, output=output, k_max=k_max, config=config, seed=seed, format=format,
                               scale=scale.value, specimen=specimen, n_jobs=n_jobs, force=force, progress=cb,
                               sign_key=sign_key)
        if not _state["quiet"]:
            out_console.print(f"k = {res.metrics.get('k')}; wrote {output}")
