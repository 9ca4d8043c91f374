"""Assemble figures (PNG + SVG in ``figures/``) and ``report.html`` from the results of a run.

Orchestrates plots from result tables only; no statistics are computed here beyond what a figure needs
(e.g. a PCA projection for display).
"""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from ..io.write import write_table
from ..preprocess.mode import ModeNormalizer, mode_diagnostics
from ..signature import permutation_p_text
from ..stats.results import contrast_file_stem
from . import plots, plots_de
from .calibration import calibration_figures
from .de_section import de_section
from .html import table_html, write_report
from .methods import methods_paragraph
from .summary import relative_paths, relpath, summary_lists

__all__ = ["build_run_report", "panel_figures", "stratify_figures", "panel_section", "stratify_section"]


def _save(fig, figdir: Path, stem: str, title: str, caption: str = "") -> dict:
    """Write PNG + SVG and return the report entry (the PNG just written, embedded; no second rendering)."""
    png = plots.save_figure(fig, figdir / stem)[0]
    fig.clear()
    return {"title": title, "caption": caption, "png": base64.b64encode(png.read_bytes()).decode("ascii")}


def _qc_section(stages: Mapping[str, Any], raw, normalised, qc_tables: Mapping[str, pd.DataFrame], figdir: Path,
                group: str) -> dict:
    figs, tables, warns = [], [], []
    sq = qc_tables.get("sample_qc")
    flagged: list[str] = []
    if sq is not None and len(sq):
        sq_idx = sq.set_index("sample") if "sample" in sq.columns else sq
        flag_cols = [c for c in sq_idx.columns if c.endswith("outlier") or c.endswith("_flag") or c == "flagged"]
        for c in flag_cols:
            flagged += [str(s) for s in sq_idx.index[sq_idx[c].fillna(False).astype(bool)]]
        flagged = list(dict.fromkeys(flagged))
        n_col = next((c for c in ("n_proteins", "n_identified", "proteins") if c in sq_idx.columns), None)
        counts = sq_idx[n_col] if n_col else pd.Series((~np.isnan(raw.X)).sum(axis=1), index=raw.sample_ids)
        figs.append(_save(plots.identifications_bar(counts, flagged), figdir, "qc_identifications",
                          "Identifications per sample", "Protein groups quantified per sample; red bars are "
                          "samples flagged by QC (outlier or contamination)."))
        sq_t = sq.reset_index() if "sample" not in sq.columns else sq
        tables.append({"title": "Per-sample QC", "html": table_html(sq_t, max_rows=None, sortable=True),
                       "file": "qc/sample_qc.tsv", "n_rows": len(sq_t), "collapsed": len(sq_t) > 15})
    if flagged:
        warns.append(f"{len(flagged)} sample(s) flagged by QC: {', '.join(flagged[:12])}"
                     + (" …" if len(flagged) > 12 else ""))
    figs.append(_save(plots.intensity_distributions({"before normalisation": raw.to_frame(),
                                                     "after normalisation": normalised.to_frame()}),
                      figdir, "qc_intensity_distributions", "Intensity distributions",
                      "Per-sample log2 intensities before and after normalisation (boxes: quartiles)."))
    groups = raw.samples[group].astype(str).tolist() if group in raw.samples else None
    figs.append(_save(plots.missingness_heatmap(raw.to_frame(), groups), figdir, "qc_missingness",
                      "Missing values", "Samples (rows, grouped by condition) × proteins (columns)."))
    figs.append(_save(plots_de.missingness_vs_intensity(raw.to_frame()), figdir, "qc_missingness_intensity",
                      "Missingness vs intensity", "Each dot a protein: share of samples where it is missing "
                      "against its mean log2 intensity where observed. Missingness that falls with intensity "
                      "means low values drop out (left-censored): impute by down-shift, or test only observed "
                      "values as here."))
    figs.append(_save(plots_de.correlation_heatmap(normalised.to_frame(), groups), figdir, "qc_sample_correlation",
                      "Sample correlation", "Pearson correlation of every pair of samples over the proteins both "
                      "quantified (normalised log2), clustered; a sample that correlates poorly with all others "
                      "is worth a look in the per-sample QC table."))
    for col in (group, "batch"):
        if col in normalised.samples:
            figs.append(_save(plots.pca_scatter(normalised.to_frame(), normalised.samples[col].astype(str).tolist(),
                                                f"PCA coloured by {col}"), figdir, f"qc_pca_{col}",
                              f"PCA by {col}", "Principal components of the normalised log2 matrix (proteins "
                                               "quantified in every sample)."))
    pq = qc_tables.get("protein_qc")
    if pq is not None:
        cv_cols = [c for c in pq.columns if c.lower().startswith("cv")]
        if cv_cols:
            cv = pq[cv_cols].copy() * 100.0  # protein_qc gives fractions
            cv.columns = ["all samples" if c == "cv" else c.replace("cv_", "").replace("_", " ") for c in cv_cols]
            figs.append(_save(plots.cv_distributions(cv), figdir, "qc_cv", "CV distributions",
                              "Coefficient of variation of each protein within each group (linear scale)."))
    cont = qc_tables.get("contamination")
    if cont is not None and len(cont):
        ci = cont.set_index("sample") if "sample" in cont.columns else cont
        idx_cols = [c for c in ci.columns if c.endswith("_index")] or \
            [c for c in ci.columns if ci[c].dtype.kind == "f" and not c.endswith("flag")]
        if idx_cols:
            figs.append(_save(plots.contamination_plot(ci[idx_cols]), figdir, "qc_contamination",
                              "Contamination indices", "Marker-panel indices (Geyer et al. 2019) per sample."))
        if "contamination_flag" in ci.columns:
            bad = [str(x) for x in ci.index[ci["contamination_flag"].fillna(False).astype(bool)]]
            if bad:
                warns.append(f"{len(bad)} sample(s) with a contamination flag (Geyer et al. 2019 marker panels): "
                             + ", ".join(bad[:12]))
        keep = [c for c in cont.columns if not c.endswith(("_share", "_n_markers"))]
        tables.append({"title": "Contamination indices", "html": table_html(cont[keep], max_rows=None,
                                                                               sortable=True),
                       "file": "qc/contamination.tsv", "n_rows": len(cont), "collapsed": len(cont) > 15})
    notes = [str(n) for n in qc_tables.get("notes", pd.DataFrame({"note": []}))["note"]] \
        if isinstance(qc_tables.get("notes"), pd.DataFrame) else []
    kpis = [{"label": "samples", "value": raw.n_samples}, {"label": "proteins quantified", "value": raw.n_proteins},
            {"label": "proteins after filtering", "value": normalised.n_proteins},
            {"label": "missing values", "value": f"{np.isnan(raw.X).mean():.1%}"}]
    return {"id": "qc", "title": "Quality control", "kpis": kpis, "figures": figs, "tables": tables,
            "warnings": warns, "notes": notes,
            "intro": "Identifications, missingness, intensity distributions, sample structure and contamination."}


def mode_normalisation_summary(stages: Mapping[str, Any]) -> dict | None:
    """When ``normalize_mode`` ran: per-sample offsets, the share of proteins off the main peak, samples whose
    log-ratios show two peaks of similar height, and the plotted curves. The step is refitted on the data it was
    fitted on (deterministic, so the same anchors and offsets). None when mode normalisation did not run."""
    names = list(stages)
    if "normalize_mode" not in names:
        return None
    before = stages[names[names.index("normalize_mode") - 1]]
    step = ModeNormalizer().fit(before)
    table, fits = mode_diagnostics(step, before)
    off = float(np.nanmedian(table["off_peak_fraction"])) if len(table) else float("nan")
    order = table.sort_values("off_peak_fraction", ascending=False, na_position="last")["sample"]
    curves = {s: (fits[s].grid, fits[s].density, fits[s].offset) for s in order}
    bimodal = table.loc[table["bimodal"], "sample"].tolist()
    note = (f"median {off:.0%} of proteins off the main peak" if np.isfinite(off) else "")
    return {"table": table, "curves": curves, "bimodal": bimodal, "note": note}


#: the mode-normalisation offsets table, written beside the report (path relative to the results folder)
MODE_OFFSETS_FILE = "qc/normalisation_offsets.tsv"


def _mode_figures(summary: dict, figdir: Path) -> tuple[list[dict], list[dict], list[str]]:
    figs = [_save(plots.mode_normalisation_plot(summary["curves"]), figdir, "qc_mode_normalisation",
                  "Mode normalisation", "Per-protein log2 ratios of each sample against the anchor it differs "
                  "from most, with the peak it was centred on (dashed); the samples with most proteins off the main "
                  f"peak are drawn ({summary['note']}).")]
    tab = summary["table"][["sample", "offset", "off_peak_fraction", "second_peak_ratio", "bimodal", "n"]]
    tables = [{"title": "Mode normalisation: per-sample offsets (log2)", "html": table_html(tab, max_rows=200),
               "file": MODE_OFFSETS_FILE, "n_rows": len(tab), "collapsed": len(tab) > 15, "data": tab}]
    warns = []
    if summary["bimodal"]:
        warns.append(f"{len(summary['bimodal'])} sample(s) whose log-ratios show two peaks of similar height "
                     f"(the 'unchanged' peak is ambiguous; check the mode-normalisation plot): "
                     + ", ".join(summary["bimodal"][:12]))
    return figs, tables, warns


def _get(obj, *names, default=None):
    for n in names:
        if isinstance(obj, Mapping) and n in obj:
            return obj[n]
        if hasattr(obj, n):
            return getattr(obj, n)
    return default


def panel_figures(res, outdir: Path, values=None, label: str | None = None) -> list[dict]:
    """ROC with CI band, calibration, selection frequency, decision curve, permutation histogram → files;
    with ``values`` (a Dataset holding the panel proteins) and ``label`` also boxplots of each panel protein."""
    outdir = Path(outdir)
    figs = []
    m = res.metrics
    curves = _get(res, "curves", default={}) or {}
    roc = _get(curves, "roc")
    if roc is not None and len(roc):
        band = _get(curves, "roc_band")
        figs.append(_save(plots.roc_curve_plot(roc["fpr"].to_numpy(), roc["tpr"].to_numpy(), float(m["auc"]),
                                               (m.get("auc_ci_low"), m.get("auc_ci_high"))
                                               if m.get("auc_ci_low") is not None else None, band),
                          outdir, "roc", "ROC curve", "Pooled out-of-fold predictions of the nested CV; "
                                                      "band: bootstrap 95% CI of sensitivity."))
    cal = _get(curves, "calibration")
    if cal is not None and len(cal):
        figs.append(_save(plots.calibration_plot(cal["mean_predicted"].to_numpy(), cal["observed"].to_numpy(),
                                                 cal["n"].to_numpy() if "n" in cal else None,
                                                 m.get("calibration_slope"), m.get("calibration_intercept")),
                          outdir, "calibration", "Calibration", "Observed frequency vs mean predicted probability "
                                                                "per bin of out-of-fold predictions."))
    sel = _get(res, "selection", default=None)
    if sel is not None and len(sel):
        freq = sel.set_index("protein_group")["frequency"]
        labels = sel.set_index("protein_group")["gene"].fillna("") if "gene" in sel else None
        if labels is not None:
            labels = pd.Series([g or p for p, g in labels.items()], index=labels.index)
        figs.append(_save(plots.selection_frequency_plot(freq, labels=labels), outdir, "selection_frequency",
                          "Selection frequency", "Fraction of outer training folds in which each protein "
                                                 "entered the panel."))
    dc = _get(curves, "decision_curve")
    if dc is not None and len(dc):
        figs.append(_save(plots.decision_curve_plot(dc), outdir, "decision_curve", "Decision curve",
                          "Net benefit of acting on the panel's probability vs treating everyone or no one."))
    if m.get("size_curve"):
        bagged = {"auc": m["auc"], "size": m["panel_size"], "bags": m["bags"]} if m.get("bags") else None
        figs.append(_save(plots.size_curve_plot(m["size_curve"], m.get("chosen_size"), m.get("baselines"), bagged),
                          outdir, "size_curve", "AUC against panel size", "Each size tuned and tested in the nested "
                          "CV (95% CI); square: the size rule's choice; "
                          + ("solid line: the bagged panel built at that size (the union of its subsamples' "
                             "panels); " if bagged else "") + "dashed: baselines on the same outer folds."))
    null = _get(res, "permutation_aucs", default=None)
    if null is not None and len(null):
        figs.append(_save(plots.permutation_plot(null, float(m["auc"]), None), outdir,
                          "permutations", "Label permutations", "Nested-CV AUC with shuffled labels (the "
                          "leakage alarm: should centre on 0.5); permutation p "
                          + permutation_p_text(m.get("permutation_p"), m.get("n_permutations")) + "."))
    if values is not None and label is not None and label in values.samples.columns:
        names = list(res.signature.proteins)
        present = [p for p in names if p in values.protein_ids]
        if present:
            ann = values.proteins.reindex(present)
            shown = plots_de.display_names(pd.DataFrame({"protein_group": present, **(
                {"gene": ann["gene"].to_numpy()} if "gene" in ann else {})})).tolist()
            figs.append(_save(plots_de.panel_boxplots(values.to_frame()[present], shown,
                                                      values.samples[label].astype(str).tolist()),
                              outdir, "panel_boxplots", "Panel proteins by group",
                              f"log2 abundance of each of the {len(present)} panel proteins by {label} "
                              "(normalised matrix of the differential-abundance analysis); every dot a sample."))
    return figs


def panel_section(res, figs: list[dict]) -> dict:
    """The panel section of the report (metrics, selection, figures) as a template context dict."""
    m = res.metrics
    kpis = [{"label": "nested-CV AUC", "value": f"{m['auc']:.3f}"}]
    if m.get("auc_ci_low") is not None:
        kpis.append({"label": "95% CI (DeLong)", "value": f"{m['auc_ci_low']:.3f}–{m['auc_ci_high']:.3f}"})
    if m.get("permutation_p") is not None:
        text = permutation_p_text(m["permutation_p"], m.get("n_permutations"))
        value, _, detail = text.partition(" (")
        kpis.append({"label": f"permutation p ({detail.rstrip(')')})" if detail else "permutation p",
                     "value": value})
    if m.get("brier") is not None:
        kpis.append({"label": "Brier score", "value": f"{m['brier']:.3f}"})
    sig = res.signature
    tables = []
    sel = _get(res, "selection", default=None)
    if sel is not None:
        tables.append({"title": "Selection frequency (top 20)", "html": table_html(sel.head(20), sortable=True),
                       "file": "panel/selection.tsv", "n_rows": min(20, len(sel))})
    rows = pd.DataFrame({"protein_group": list(sig.proteins)})
    if sel is not None and "gene" in sel.columns:
        rows["gene"] = sel.set_index("protein_group")["gene"].reindex(rows["protein_group"]).to_numpy()
    thr = dict(getattr(sig, "thresholds", {}) or {})
    tables.append({"title": "Locked signature", "html": table_html(rows), "file": "panel/signature.json"})
    if thr:
        trows = pd.DataFrame([{"threshold": k, **{c: v.get(c) for c in ("probability", "sensitivity", "specificity",
                                                                          "ppv", "npv")}}
                              for k, v in thr.items() if isinstance(v, Mapping)])
        tables.append({"title": "Risk-category thresholds (out-of-fold)", "html": table_html(trows),
                       "file": "panel/cv_metrics.json"})
    if m.get("size_curve"):
        kpis.append({"label": "panel size", "value": f"{m.get('panel_size')} ({m.get('size_rule')})"})
        tables.append({"title": "AUC against panel size", "html": table_html(pd.DataFrame(m["size_curve"])),
                       "file": "panel/cv_metrics.json"})
    if m.get("baselines"):
        rows = [{"method": "this panel", "auc": m["auc"], "auc_ci_low": m.get("auc_ci_low"),
                 "auc_ci_high": m.get("auc_ci_high"), "size": m.get("panel_size")}]
        rows += [{"method": k, **v} for k, v in m["baselines"].items()]
        tables.append({"title": "Baselines on the same outer folds", "html": table_html(pd.DataFrame(rows)),
                       "file": "panel/baselines.json"})
    notes = [f"Signature {getattr(sig, 'name', '')} version {getattr(sig, 'version', '')}, sha256 {sig.sha256}, "
             f"intended specimen {sig.specimen}."]
    if m.get("auc_definition"):
        notes.append(f"AUC: {m['auc_definition']}. Size rule: {m.get('size_rule_text', '')}.")
    if m.get("cap_cost"):
        c = m["cap_cost"]
        notes.append(f"The cap of {c['max_proteins']} proteins costs {c['auc_cost']:.3f} AUC: best "
                     f"{c['best_auc']:.3f} at size {c['best_size']} vs {c['best_auc_within_cap']:.3f} within the cap.")
    return {"id": "panel", "title": "Biomarker panel", "kpis": kpis, "figures": figs, "tables": tables,
            "warnings": list(_get(res, "warnings", default=[]) or []), "notes": notes,
            "intro": "Nested cross-validation: every learned step refitted inside each training fold."}


def stratify_figures(res, outdir: Path) -> list[dict]:
    """Draw the stratification figures (PNG + SVG) into ``outdir``; returns their records."""
    outdir = Path(outdir)
    figs = []
    a = res.assignments
    cons = _get(res, "consensus", default=None)
    k = res.metrics.get("k")
    if isinstance(cons, Mapping) and k not in cons:  # no stable clustering: show the best candidate anyway
        k = res.metrics.get("k_best_candidate")
    if isinstance(cons, Mapping) and k in cons:
        labels = res.labels_by_k.get(k, a["cluster"].tolist()) if hasattr(res, "labels_by_k") else a["cluster"]
        figs.append(_save(plots.consensus_heatmap(np.asarray(cons[k]), list(labels)), outdir, "consensus",
                          f"Consensus matrix (k = {k})", "How often two samples clustered together across "
                                                         "resamples, ordered by cluster."))
    pca = _get(res, "pca", default=None)
    if pca is not None and len(pca):
        frame = pca
        fig, ax = plots._fig(5, 4)
        cols, cmap = plots._colors(frame["cluster"].tolist())
        ax.scatter(frame["PC1"], frame["PC2"], c=cols, s=22)
        for lv, c in cmap.items():
            ax.scatter([], [], c=c, label=lv)
        ax.legend(frameon=False, fontsize=8)
        ax.set_xlabel("PC1")
        ax.set_ylabel("PC2")
        ax.set_title("PCA coloured by subgroup", loc="left")
        figs.append(_save(fig, outdir, "pca_clusters", "PCA by subgroup", ""))
    km = _get(res, "km_curves", default=None)
    if km is not None and len(km):
        figs.append(_save(plots.km_plot(km), outdir, "kaplan_meier", "Kaplan-Meier", "Event-free probability by "
                                                                                    "subgroup."))
    return figs


def stratify_section(res, figs: list[dict]) -> dict:
    """The stratification section of the report (k, PAC, null, figures) as a template context dict."""
    m = res.metrics
    kpis = [{"label": "chosen k", "value": m.get("k")},
            {"label": "conclusion", "value": m.get("conclusion", "")}]
    tables = [{"title": "Cluster sizes", "html": table_html(res.assignments["cluster"].value_counts()
                                                              .rename_axis("cluster").reset_index(name="n")),
               "file": "stratify/assignments.tsv"}]
    return {"id": "stratify", "title": "Patient subgroups", "kpis": kpis, "figures": figs, "tables": tables,
            "warnings": list(m.get("warnings", []) or []) or list(getattr(res, "warnings", ()) or ()),
            "intro": "Consensus clustering with a null comparison and batch-association checks."}


def build_run_report(outdir: Path, *, ran: Mapping[str, Any], stages: Mapping[str, Any], clean, qc_tables, de_results, panel_result,
                     strat_result, inputs, versions, warnings: Sequence[str], level: str = "precursor",
                     source_format: str = "") -> None:
    """Write ``figures/`` (PNG + SVG) and ``report.html`` into ``outdir``. ``ran``: what ran, as the plain dict
    of the run configuration (``RunConfig.echo()``)."""
    outdir = Path(outdir)
    figdir = outdir / "figures"
    figdir.mkdir(exist_ok=True)
    raw = stages["quantified"]
    normalised = [v for k, v in stages.items() if not k.startswith("impute_")][-1]
    sections = [_qc_section(stages, raw, normalised, qc_tables, figdir, ran["de"]["group"])]
    mode = mode_normalisation_summary(stages)
    if mode is not None:
        figs, tabs, warns = _mode_figures(mode, figdir)
        (outdir / "qc").mkdir(exist_ok=True)
        for t in tabs:
            write_table(t.pop("data"), outdir / t["file"])
        sections[0]["figures"] += figs
        sections[0]["tables"] += tabs
        sections[0]["warnings"] += warns
    group, q = ran["de"]["group"], ran["de"]["q_threshold"]
    groups = normalised.samples[group].astype(str).tolist() if group in normalised.samples else None
    if de_results:
        files = {r.contrast: f"de/{contrast_file_stem(r.contrast)}.tsv" for r in de_results}
        sections.append(de_section(de_results, figdir, _save, q=q, values=normalised.to_frame(),
                                   groups=groups, proteins=clean.proteins, files=files))
    if panel_result is not None:
        figs = panel_figures(panel_result, figdir, values=normalised, label=ran["panel"]["label"])
        sections.append(panel_section(panel_result, figs))
    if strat_result is not None:
        figs = stratify_figures(strat_result, figdir)
        sections.append(stratify_section(strat_result, figs))
    methods, refs = methods_paragraph(ran, versions, level=level, source_format=source_format,
                                      de_done=bool(de_results), panel_done=panel_result is not None,
                                      stratify_done=strat_result is not None,
                                      normalisation_note=mode["note"] if mode is not None else "")
    methods_figures, calibration_note = calibration_figures(ran, figdir, _save) if de_results else ([], "")
    summary = [{"label": "samples", "value": clean.n_samples},
               {"label": "proteins quantified", "value": raw.n_proteins},
               {"label": "proteins tested (after filtering)", "value": clean.n_proteins}]
    for r in de_results or []:
        summary.append({"label": f"significant ({r.contrast}, q < {q:g})",
                        "value": int((r.table["q_value"] < q).sum())})
    if panel_result is not None:
        summary.append({"label": f"panel AUC (nested CV, {len(panel_result.signature.proteins)} proteins)",
                        "value": f"{panel_result.metrics['auc']:.3f}"})
    config_file = next((i.get("path") for i in inputs if i.get("role") == "config"), None)
    base = Path(config_file).parent if config_file else None
    lists = summary_lists(ran=ran, raw=raw, clean=clean, de_results=de_results, panel_result=panel_result,
                          level=level, source_format=source_format, warnings=[*sections[0]["warnings"], *warnings],
                          base=base)
    inputs = [{**i, "path": relpath(i["path"], base) if i.get("path") else i.get("name", "")} for i in inputs]
    ctx = {"title": f"proteomics report: {ran['name']}",
           "subtitle": f"specimen {ran['specimen'] or 'all'} · {clean.n_samples} samples · seed {ran['seed']}",
           "summary": summary, "warnings": list(warnings), "sections": sections, "methods": methods,
           "methods_figures": methods_figures, "calibration_note": calibration_note,
           "references": refs, "inputs": inputs, "versions": versions,
           "steps": [{"name": s.name, "params": ", ".join(f"{k}={v}" for k, v in s.params.items())}
                     for s in clean.history],
           "config_yaml": yaml.safe_dump(dict(ran), sort_keys=False), **lists,
           "config_name": Path(config_file).name if config_file else ""}
    write_report(outdir / "report.html", relative_paths(ctx, base))
