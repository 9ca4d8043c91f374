"""The single commands (every CLI subcommand except ``run``): quantify, de, panel, validate, score,
verify-signature and stratify. Each reads its input through :func:`proteomics.stages.load_dataset`."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from ._files import canonical_json, write_text
from .dataset import Dataset
from .errors import InputError
from .io.write import write_tsv as _write_tsv
from .stages import check_contrast_groups, load_dataset
from .stages import safe_name as _safe_name
from .staging import staged_output_dir

__all__ = ["quantify_file", "de_command", "panel_command", "parse_also", "validate_command", "score_command",
           "verify_command", "stratify_command"]


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
    from .signature import Signature

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
    from .report.html import render_patient_report
    from .signature import Signature

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
    from .signature import Signature

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
