"""The signature commands of the ``proteomics`` command line: panel, validate, score, verify-signature, stratify
(registered on :data:`proteomics.cli_support.app` when :mod:`proteomics.cli` imports this module)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from . import cli_support as opt
from .cli_support import _errors, _progress, _state, app, out_console
from .commands import panel_command, score_command, stratify_command, validate_command, verify_command

#: how many items of a list the console shows (the files hold them all)
SHOWN_ITEMS = 10


def brief(value) -> str:
    """A value for the console: floats to 4 significant digits, long lists cut to :data:`SHOWN_ITEMS` with their
    count, dicts and lists recursively (the signature and metrics files keep every digit and item)."""
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {brief(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        shown = ", ".join(brief(v) for v in value[:SHOWN_ITEMS])
        return shown + (f", … ({len(value)} in all)" if len(value) > SHOWN_ITEMS else "")
    return str(value)

#: the examples' two-specimen cohort: plasma (INPUT) and BAL of the same subjects, joined by the sheet
TWO_SPECIMENS = ("sample_data/plasma/report.tsv.gz --specimen plasma --also BAL=sample_data/bal/report.tsv.gz "
                 "--sheet sample_data/sheet.csv")
LABELLED = "--label condition --positive cancer"


# -- panel / validate -------------------------------------------------------------------------------------------
@app.command(epilog=opt.examples(
    "proteomics panel sample_data/plasma/report.tsv.gz --sheet sample_data/sheet.csv --specimen plasma --label "
    "condition --positive cancer --permutations 3 -o panel",
    f"proteomics panel {TWO_SPECIMENS} {LABELLED} -o panel_plasma_bal",
    notes="From precursors, so the signature scores a new patient's precursor file alone. The second builds from "
          "several specimens of the same patients (joined by the sheet's subject; features specimen:protein; the "
          "signature then requires each specimen)."))
def panel(
    input: opt.InputArgument,
    sheet: opt.SheetOption,
    label: opt.LabelOption,
    positive: opt.PositiveOption,
    output: Annotated[Path, opt.output_option("Output folder.")],
    config: Annotated[Path | None, typer.Option("--config", help="Panel YAML (keys of the 'panel' section).")] = None,
    permutations: Annotated[int | None, typer.Option("--permutations", help="Label permutations (leakage alarm; "
                                                                          "default: the config's, 0).")] = None,
    seed: opt.SeedOption = None,
    format: opt.FormatOption = "auto",
    scale: opt.ScaleOption = opt.Scale.auto,
    specimen: opt.SpecimenOption = None,
    n_jobs: opt.NJobsOption = 1,
    force: opt.ForceOption = False,
    also: Annotated[list[str] | None, typer.Option("--also", metavar="SPECIMEN=PATH",
                                                   help="Another specimen of the same subjects (repeatable); "
                                                        "INPUT is then the --specimen one.")] = None,
    sign_key: opt.SignKeyOption = None,
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
                              f"{m.get('auc_ci_high', float('nan')):.3f}); panel: {brief(list(res.signature.proteins))}")
            for name, b in (m.get("baselines") or {}).items():
                out_console.print(f"baseline {name}: AUC {b['auc']:.3f} with {b['size']:.0f} proteins")
            for w in res.warnings:
                out_console.print(f"[yellow]warning[/yellow]: {w}")
            out_console.print(f"wrote {output}/signature.json")


@app.command(epilog=opt.examples(
    "proteomics validate sample_data/plasma/report.tsv.gz --signature panel/signature.json --sheet "
    "sample_data/sheet.csv --label condition --positive cancer -o validation",
    f"proteomics validate {TWO_SPECIMENS} --signature panel_plasma_bal/signature.json {LABELLED} "
    "-o validation_plasma_bal",
    notes="The training cohort stands in for an independent one here; the second validates a multi-specimen "
          "signature."))
def validate(
    input: Annotated[Path, typer.Argument(help="Independent cohort (any supported input file).")],
    signature: opt.SignatureOption,
    sheet: opt.SheetOption,
    label: opt.LabelOption,
    positive: opt.PositiveOption,
    output: Annotated[Path, opt.output_option("Output folder (metrics.json, scores.tsv, report.html).")],
    format: opt.FormatOption = "auto",
    scale: opt.ScaleOption = opt.Scale.auto,
    force: opt.ForceOption = False,
    specimen: Annotated[str | None, typer.Option("--specimen", help="Specimen of INPUT (multi-specimen "
                                                                    "signatures; default: the sheet's).")] = None,
    also: opt.AlsoOption = None,
    allow_unsigned: opt.AllowUnsignedOption = False,
):
    """External validation: score a labelled cohort with a locked signature, report metrics at its thresholds."""
    with _errors(), _progress() as cb:
        metrics = validate_command(input, signature, sheet, label=label, positive=positive, output=output,
                                   format=format, scale=scale.value, force=force, progress=cb,
                                   specimen=specimen, also=also or (), allow_unsigned=allow_unsigned)
        if not _state["quiet"]:
            out_console.print(f"external AUC {metrics.get('auc', float('nan')):.3f}; wrote {output}")


# -- score / verify --------------------------------------------------------------------------------------------
@app.command(epilog=opt.examples(
    "proteomics score sample_data/new_patients/report.tsv.gz --signature results/example_plasma/panel/signature.json "
    "--sheet sample_data/new_patients/sheet.csv -o scores.tsv",
    f"proteomics score {TWO_SPECIMENS} --signature panel_plasma_bal/signature.json -o scores_plasma_bal.tsv",
    notes="The second scores with a multi-specimen signature: one input per specimen, joined by the sheet's "
          "subject."))
def score(
    input: Annotated[Path, typer.Argument(help="New patient file(s): any supported input file.")],
    signature: opt.SignatureOption,
    output: Annotated[Path, opt.output_option("Scores TSV; a patient report HTML is written beside it.")],
    sheet: Annotated[Path | None, typer.Option("--sheet", help="Sample sheet (gives each sample's specimen).")] = None,
    specimen: Annotated[str | None, typer.Option("--specimen", help="Specimen of every sample (no sheet).")] = None,
    format: opt.FormatOption = "auto",
    scale: opt.ScaleOption = opt.Scale.auto,
    also: opt.AlsoOption = None,
    allow_unsigned: opt.AllowUnsignedOption = False,
    force: opt.ForceOption = False,
):
    """Score new patients with a locked signature, or refuse with every reason."""
    with _errors():
        table, report = score_command(input, signature, output, sheet=sheet, specimen=specimen, format=format,
                                      scale=scale.value, also=also or (), allow_unsigned=allow_unsigned,
                                      force=force)
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


@app.command("verify-signature",
             epilog=opt.examples("proteomics verify-signature results/example_plasma/panel/signature.json"))
def verify_signature(signature: Annotated[Path, typer.Argument(help="Signature JSON file.")]):
    """Check a signature's checksum, schema, content and Ed25519 signature by a trusted key; print its intended
    use and performance."""
    with _errors():
        info = verify_command(signature)
        out_console.print(f"[green]OK[/green] {signature}: checksum, schema, content and signature verified "
                          f"(signed by trusted key {info.get('signed_by')})")
        for k, v in info.items():
            out_console.print(f"  {k}: {brief(v)}", highlight=False)


# -- stratify ----------------------------------------------------------------------------------------------------
@app.command(epilog=opt.examples("proteomics stratify plasma.tsv --sheet sample_data/sheet.csv --specimen plasma "
                             "--k-max 5 -o strata"))
def stratify(
    input: opt.InputArgument,
    sheet: opt.SheetOption,
    output: Annotated[Path, opt.output_option("Output folder.")],
    k_max: Annotated[int | None, typer.Option("--k-max", help="Largest number of subgroups tried (default: the "
                                                              "--config file's or 6).")] = None,
    config: Annotated[Path | None, typer.Option("--config", help="Stratify YAML.")] = None,
    specimen: opt.SpecimenOption = None,
    format: opt.FormatOption = "auto",
    scale: opt.ScaleOption = opt.Scale.auto,
    seed: opt.SeedOption = None,
    sign_key: opt.SignKeyOption = None,
    n_jobs: opt.NJobsOption = 1,
    force: opt.ForceOption = False,
):
    """Discover patient subgroups by consensus clustering, check them against null and batch, lock a stratifier."""
    with _errors(), _progress() as cb:
        res = stratify_command(input, sheet, output=output, k_max=k_max, config=config, seed=seed, format=format,
                               scale=scale.value, specimen=specimen, n_jobs=n_jobs, force=force, progress=cb,
                               sign_key=sign_key)
        if not _state["quiet"]:
            out_console.print(f"k = {res.metrics.get('k')}; wrote {output}")
