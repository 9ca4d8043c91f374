"""The single commands (every CLI subcommand except ``run``): quantify, de, panel, validate, score,
verify-signature and stratify.

Each turns its options into a :class:`~proteomics.config.RunConfig` (:func:`command_config`; an option not given
takes the config's default, so a command computes exactly what ``run`` computes with the same settings) and goes
through the stages ``run`` uses (:mod:`proteomics.stages`): one read-and-quantify path, one preprocessing chain,
one DE loop.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from ._files import canonical_json, never_replace, write_text
from .config import RunConfig, command_config_from_dict, load_section
from .dataset import Dataset
from .errors import InputError
from .guard import check_outputs
from .io.write import write_table
from .panel import (
    build_panel,
    quant_method_for,
    score_signature,
    validate,
    wants_specimen_inputs,
    write_panel_outputs,
)
from .panel.build import check_class_sizes
from .panel.multispecimen import join_for_signature, join_specimens
from .qc import haemolysis_check
from .report.build import panel_figures, stratify_figures
from .report.html import render_patient_report
from .report.patient import reading_guide
from .sheet_checks import check_contrast_groups, check_sheet_columns
from .signature import UNSIGNED_WARNING, Signature
from .signing import load_signing_key, sign_signature
from .stages import (
    Progress,
    load_dataset,
    panel_settings,
    preprocess,
    quantify_inputs,
    read_inputs,
    run_de,
    safe_name,
    sidecar_path,
    stratify_settings,
    write_de,
)
from .staging import staged_output_dir
from .stratify import stratify, write_stratify_outputs

__all__ = ["command_config", "quantify_file", "de_command", "panel_command", "parse_also", "validate_command",
           "score_command", "scoring_dataset", "verify_command", "stratify_command"]


def command_config(input, sheet=None, *, specimen: str | None = None, seed: int | None = None,
                   n_jobs: int | None = None, engine: str | None = None, format: str | None = None,
                   scale: str | None = None, fasta=None, **sections: Mapping[str, Any] | None) -> RunConfig:
    """The run configuration of a single command: ``input``/``sheet`` as ``inputs.data``/``inputs.sheet`` and
    every option given (not None) at its config key; ``sections`` are config sections (``quantify={...}``,
    ``de={...}`` …). Options left out take the config's defaults. Paths are kept as given."""
    def given(d: Mapping[str, Any] | None) -> dict[str, Any]:
        return {k: v for k, v in (d or {}).items() if v is not None}

    data: dict[str, Any] = given({"specimen": specimen, "seed": seed, "n_jobs": n_jobs, "engine": engine})
    data["inputs"] = given({"data": str(input), "sheet": None if sheet is None else str(sheet), "format": format,
                            "scale": scale, "fasta": None if fasta is None else str(fasta)})
    for name, section in sections.items():
        if isinstance(section, Mapping):
            section = {k: (given(v) if isinstance(v, Mapping) else v) for k, v in given(section).items()}
        if section:
            data[name] = section
    return command_config_from_dict(data)


def quantify_file(input, sheet, *, format=None, method=None, fasta=None, scale=None, specimen=None,
                  n_jobs=None, engine=None, min_ratio_count=None, progress: Progress | None = None) -> Dataset:
    """``proteomics quantify``: input file → protein Dataset (samples × proteins, log2), quantified as ``run``
    quantifies (protein groups without any value dropped)."""
    cfg = command_config(input, sheet, format=format, scale=scale, fasta=fasta, specimen=specimen, n_jobs=n_jobs,
                         engine=engine, quantify={"method": method, "min_ratio_count": min_ratio_count})
    return load_dataset(cfg, progress=progress)


def de_command(input, sheet, *, contrasts, output, group=None, covariates=None, block=None, trend=None,
               robust=None, legacy=None, normalize=None, impute=None, keep_contaminants=None, min_valid=None,
               fdr=None, format=None, scale=None, specimen=None, seed=None, method=None, model=None, detection=None,
               force=False, progress: Progress | None = None) -> list:
    """``proteomics de``: differential abundance (``model``: hybrid, limma or dpc) for one or more contrasts;
    writes ``output`` (one contrast) or one file per contrast plus the long table at ``output`` (several). The
    preprocessing is ``run``'s chain with the config's defaults; ``min_valid`` (a count of valid values within
    at least one group, so proteins seen in one group only reach the detection test) replaces the
    valid-fraction rule when given."""
    cfg = command_config(
        input, sheet, format=format, scale=scale, specimen=specimen, seed=seed, quantify={"method": method},
        read={"keep_contaminants": keep_contaminants},
        preprocess={"remove_contaminants": None if keep_contaminants is None else not keep_contaminants,
                    "normalize": {"method": normalize}, "impute": {"method": impute}},
        de={"contrasts": list(contrasts), "group": group, "covariates": None if covariates is None else list(covariates),
            "block": block, "trend": trend, "robust": robust, "legacy": legacy, "fdr": fdr, "model": model,
            "detection": detection})
    output = Path(output)
    side = [_contrast_path(output, safe_name(c)) for c in contrasts] if len(contrasts) > 1 else []
    check_outputs(inputs=_inputs(input, sheet), outputs=[output, *side], force=force)
    ds = load_dataset(cfg, progress=progress)
    check_sheet_columns(ds, {**{c: "--covariate" for c in cfg.de.covariates or ()}, cfg.de.block: "--block"}, sheet)
    for c in cfg.de.contrasts:
        check_contrast_groups(ds, cfg.de.group, c, sheet)
    if min_valid is not None:
        if min_valid < 0:
            raise InputError(f"--min-valid {min_valid} is negative", hint="give a count of valid values ≥ 0")
        pre = cfg.preprocess.model_copy(update={"min_valid_fraction": 0.0, "min_valid_count": int(min_valid),
                                                "min_valid_per_group": True})
        cfg = cfg.model_copy(update={"preprocess": pre})
    results = run_de(cfg, preprocess(cfg, ds, progress=progress).clean, progress=progress)
    with never_replace([] if force else [output, *side]):
        if len(results) == 1:
            write_de(results, lambda name: output, None)
        else:
            write_de(results, lambda name: _contrast_path(output, name), output)
    return results


def _contrast_path(output: Path, name: str) -> Path:
    return output.with_name(f"{output.stem}.{name}{output.suffix or '.tsv'}")


def _inputs(*paths) -> list:
    """The paths a command reads: the given ones plus the protein sidecar a matrix input brings along."""
    out = [p for p in paths if p is not None]
    if paths and paths[0] is not None and sidecar_path(paths[0]).exists():
        out.append(sidecar_path(paths[0]))
    return out


def panel_command(input, sheet, *, label, positive, output, config=None, permutations=None, seed=None,
                  format=None, scale=None, specimen=None, n_jobs=None, force=False, progress: Progress | None = None,
                  also=(), sign_key=None, baseline=False):
    """``proteomics panel``: nested CV + locked signature into folder ``output``, with ``run``'s preprocessing
    chain and the panel settings of ``config`` (a panel YAML) or the config's defaults.

    ``also``: more specimens of the same subjects as ``"SPECIMEN=PATH"`` strings (or a mapping); the inputs are
    joined by the sheet's ``subject`` into one multi-specimen panel (``specimen:protein`` features).
    ``sign_key``: private key (PEM path or own key id) that signs the signature; None = the user's default.
    ``baseline``: also run the plain L1 and random-forest baselines on the same outer folds (baselines.json)."""
    check_outputs(inputs=[*_inputs(input, sheet, config), *parse_also(also).values()], folders=[output], force=force)
    key = load_signing_key(sign_key)
    section = load_section(config, "panel") if config is not None else {}
    section.update(label=label, positive=positive)
    if permutations is not None:
        section["permutations"] = permutations
    if baseline:
        section["baseline"] = True
    cfg = command_config(input, sheet, format=format, scale=scale, specimen=specimen, seed=seed, n_jobs=n_jobs,
                         panel=section)
    method = cfg.panel.quant_method
    ds = load_dataset(cfg, method=method, progress=progress)
    check_sheet_columns(ds, {label: "--label"}, sheet)
    check_class_sizes(ds, label, source=sheet)
    settings = panel_settings(cfg)
    settings["specimen"] = specimen or _single_specimen(ds)
    if also:
        ds = _join_also(ds, settings["specimen"], also, check=(label,),
                        load=lambda path, spec: load_dataset(_for_input(cfg, path, spec), method=method,
                                                             progress=progress))
        settings["specimen"] = None  # build_panel names the joined specimen ("BAL+plasma")
    cb = (lambda d, t: progress("panel nested CV", d, t)) if progress else None
    res = build_panel(ds, label, positive, settings=settings, seed=cfg.seed, n_permutations=cfg.panel.permutations,
                      n_jobs=cfg.n_jobs, progress=cb)
    res = replace(res, signature=sign_signature(res.signature, key=key))
    with staged_output_dir(Path(output), force=force) as tmp:
        write_panel_outputs(res, tmp)
        panel_figures(res, tmp)
    return res


def _for_input(cfg: RunConfig, path, specimen: str | None) -> RunConfig:
    """``cfg`` for another input file of the same sheet (``--also``), restricted to ``specimen``."""
    return cfg.model_copy(update={"inputs": cfg.inputs.model_copy(update={"data": Path(path)}), "specimen": specimen})


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
    return join_specimens(_specimen_inputs(ds, specimen, also, load), check=check)


def _single_specimen(ds: Dataset) -> str | None:
    if "specimen" in ds.samples.columns:
        vals = ds.samples["specimen"].astype(str).unique()
        if len(vals) == 1:
            return str(vals[0])
    return None


def scoring_dataset(input, signature: Signature, *, sheet=None, format=None, scale=None,
                    progress: Progress | None = None) -> Dataset:
    """New samples of ``input`` (samples × proteins, log2) quantified as ``signature`` needs (see
    :func:`proteomics.panel.quant_method_for`); the sheet's rows without a run in the file are ignored."""
    return _scoring_dataset(command_config(input, sheet, format=format, scale=scale), signature, progress)


def _scoring_dataset(cfg: RunConfig, signature: Signature, progress: Progress | None = None) -> Dataset:
    """New samples quantified with the roll-up ``signature`` needs (every protein kept, so a panel protein
    missing from a sample is a per-sample QC matter, not an absent protein)."""
    inputs = read_inputs(cfg, allow_unused_sheet_rows=True, progress=progress)
    method = quant_method_for(signature, inputs.table.level, cfg.inputs.data) if inputs.table is not None else None
    return quantify_inputs(cfg, inputs, method=method, drop_empty=False, progress=progress)


def validate_command(input, signature, sheet, *, label, positive, output, format=None, scale=None,
                     force=False, progress: Progress | None = None, specimen=None, also=(),
                     allow_unsigned=False) -> dict:
    """``proteomics validate``: metrics of a locked signature on an independent labelled cohort.

    A multi-specimen signature needs one input per specimen: ``input`` (specimen ``specimen`` or the sheet's)
    and ``also`` (``"SPECIMEN=PATH"`` strings), joined by the sheet's ``subject``."""
    check_outputs(inputs=[*_inputs(input, signature, sheet), *parse_also(also).values()], folders=[output],
                  force=force)
    sig = Signature.load_trusted(signature, allow_unsigned=allow_unsigned)
    cfg = command_config(input, sheet, format=format, scale=scale)
    ds = _scoring_dataset(cfg, sig, progress)
    if wants_specimen_inputs(sig, also):
        datasets = _specimen_inputs(ds, specimen or _single_specimen(ds), also,
                                    load=lambda path, spec: _scoring_dataset(_for_input(cfg, path, spec), sig,
                                                                             progress))
        ds = join_for_signature(sig, datasets, check=(label,))
    metrics = validate(sig, ds, label, positive)
    if not sig.signing:
        metrics["warning"] = UNSIGNED_WARNING
    with staged_output_dir(Path(output), force=force) as tmp:
        write_text(tmp / "validation_metrics.json", canonical_json(metrics))
    return metrics


def score_command(input, signature, output, *, sheet=None, specimen=None, format=None, scale=None, also=(),
                  allow_unsigned=False, trusted_keys=None, force=False):
    """``proteomics score``: score (or refuse) each sample; writes the TSV and a printable patient report.

    The table gets a last ``haemolysis`` column (:func:`_haemolysis`) after the scoring columns (and ``warning``).

    A multi-specimen signature needs one input per specimen: ``input`` (specimen ``specimen`` or the sheet's)
    and ``also`` (``"SPECIMEN=PATH"`` strings), joined by the sheet's ``subject``; one row per subject.
    The signature must be signed by a trusted key (``trusted_keys``: a folder of trusted keys, default the
    user's); ``allow_unsigned`` accepts an unsigned one and writes a warning into every output."""
    output = Path(output)
    report = output.with_suffix(".html")
    check_outputs(inputs=[*_inputs(input, signature, sheet), *parse_also(also).values()], outputs=[output, report],
                  force=force)
    sig = Signature.load_trusted(signature, allow_unsigned=allow_unsigned, trusted_keys=trusted_keys)
    if sheet is None and specimen is None:
        raise InputError("the specimen of the samples is unknown", hint="give --sheet SHEET or --specimen TYPE")
    cfg = command_config(input, sheet, format=format, scale=scale)
    ds = _scoring_dataset(cfg, sig)
    if specimen is not None:
        s = ds.samples
        s["specimen"] = specimen
        ds = ds.with_samples(s)
    if wants_specimen_inputs(sig, also):
        if sheet is None:
            raise InputError("scoring several specimens needs --sheet (its 'subject' column joins them)")
        table = score_signature(sig, _specimen_inputs(
            ds, specimen or _single_specimen(ds), also,
            load=lambda path, spec: _scoring_dataset(_for_input(cfg, path, spec), sig)))
    else:
        table = score_signature(sig, ds)
    summary = sig.summary()
    if not sig.signing:
        table["warning"] = UNSIGNED_WARNING
        summary["warning"] = UNSIGNED_WARNING
    table["haemolysis"] = _haemolysis(ds, table, joined=wants_specimen_inputs(sig, also))
    html = render_patient_report(table.to_dict("records"), summary, guide=reading_guide(sig))
    with never_replace([] if force else [output, report]):
        write_table(table, output)  # the format its suffix names
        write_text(report, html)
    return table, report


def _haemolysis(ds: Dataset, table, *, joined: bool) -> list[str]:
    """The ``haemolysis`` column: each scored sample's erythrocyte index judged against the plasma/serum samples
    scored with it (:func:`proteomics.qc.haemolysis_check`; signatures store no training reference for it).
    Rows of a multi-specimen score are subjects, not samples: not checked."""
    if joined:
        return ["not checked: rows are subjects joined over several specimens"] * len(table)
    status = haemolysis_check(ds)
    return [status.get(s, "not checked: sample not in the input") for s in table["sample"].astype(str)]


def verify_command(path, *, trusted_keys=None) -> dict:
    """``proteomics verify-signature``: checksum, schema, content and the Ed25519 signature of a trusted key;
    returns the summary to print."""
    return Signature.load_trusted(path, trusted_keys=trusted_keys).summary()


def stratify_command(input, sheet, *, output, k_max=None, config=None, seed=None, format=None, scale=None,
                     specimen=None, n_jobs=None, force=False, progress: Progress | None = None, sign_key=None):
    """``proteomics stratify``: consensus clustering into folder ``output`` with ``run``'s preprocessing chain
    (unless the stratify YAML ``config`` lists its own ``preprocess``); the stratifier is signed with ``sign_key``
    (PEM path or own key id; None = the user's default key)."""
    check_outputs(inputs=_inputs(input, sheet, config), folders=[output], force=force)
    key = load_signing_key(sign_key)
    section = load_section(config, "stratify") if config is not None else {}
    cfg = command_config(input, sheet, format=format, scale=scale, specimen=specimen, seed=seed, n_jobs=n_jobs,
                         stratify={**section, "k_max": k_max if k_max is not None else section.get("k_max")})
    ds = load_dataset(cfg, progress=progress)
    settings = stratify_settings(cfg)
    cb = (lambda d, t: progress("consensus clustering", d, t)) if progress else None
    res = stratify(ds, k_max=cfg.stratify.k_max, settings=settings, seed=cfg.seed, n_jobs=cfg.n_jobs, progress=cb)
    res = replace(res, stratifier=sign_signature(res.stratifier, key=key))
    with staged_output_dir(Path(output), force=force) as tmp:
        write_stratify_outputs(res, tmp)
        stratify_figures(res, tmp)
    return res
