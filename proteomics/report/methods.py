"""The methods paragraph, generated from what actually ran (config + provenance + versions), and references."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import SimpleNamespace
from typing import Any

from ..config.panel import PanelSettings
from ..quant.rollup import AUTO_MAX_RUNS

__all__ = ["methods_paragraph", "REFERENCES"]

REFERENCES = {
    "maxlfq": "Cox J, Hein MY, Luber CA, Paron I, Nagaraj N, Mann M. Accurate proteome-wide label-free "
              "quantification by delayed normalization and maximal peptide ratio extraction, termed MaxLFQ. "
              "Mol Cell Proteomics. 2014;13(9):2513-2526.",
    "directlfq": "Ammar C, Schessner JP, Willems S, Michaelis AC, Mann M. Accurate label-free quantification by "
                 "directLFQ to compare unlimited numbers of proteomes. Mol Cell Proteomics. 2023;22(7):100581.",
    "median_polish": "Choi M, Chang CY, Clough T, et al. MSstats: an R package for statistical analysis of "
                     "quantitative mass spectrometry-based proteomic experiments. Bioinformatics. "
                     "2014;30(17):2524-2526.",
    "ibaq": "Schwanhäusser B, Busse D, Li N, et al. Global quantification of mammalian gene expression control. "
            "Nature. 2011;473:337-342.",
    "limma": "Smyth GK. Linear models and empirical Bayes methods for assessing differential expression in "
             "microarray experiments. Stat Appl Genet Mol Biol. 2004;3:Article3.",
    "limma_robust": "Phipson B, Lee S, Majewski IJ, Alexander WS, Smyth GK. Robust hyperparameter estimation "
                    "protects against hypervariable genes and improves power to detect differential expression. "
                    "Ann Appl Stat. 2016;10(2):946-963.",
    "dpc": "Li M, Smyth GK. Neither random nor censored: estimating intensity-dependent probabilities for missing "
           "values in label-free proteomics. Bioinformatics. 2023;39(5):btad200.",
    "limpa": "Li M, Cobbold SA, Smyth GK. Quantification and differential analysis of mass spectrometry "
             "proteomics data with probabilistic recovery of information from missing values. bioRxiv. 2025. "
             "doi:10.1101/2025.04.28.651125.",
    "bh": "Benjamini Y, Hochberg Y. Controlling the false discovery rate: a practical and powerful approach to "
          "multiple testing. J R Stat Soc B. 1995;57(1):289-300.",
    "storey": "Storey JD, Tibshirani R. Statistical significance for genomewide studies. PNAS. "
              "2003;100(16):9440-9445.",
    "by": "Benjamini Y, Yekutieli D. The control of the false discovery rate in multiple testing under "
          "dependency. Ann Stat. 2001;29(4):1165-1188.",
    "combat": "Johnson WE, Li C, Rabinovic A. Adjusting batch effects in microarray expression data using "
              "empirical Bayes methods. Biostatistics. 2007;8(1):118-127.",
    "perseus": "Tyanova S, Temu T, Sinitcyn P, et al. The Perseus computational platform for comprehensive "
               "analysis of (prote)omics data. Nat Methods. 2016;13:731-740.",
    "delong": "DeLong ER, DeLong DM, Clarke-Pearson DL. Comparing the areas under two or more correlated "
              "receiver operating characteristic curves: a nonparametric approach. Biometrics. "
              "1988;44(3):837-845.",
    "stability": "Meinshausen N, Bühlmann P. Stability selection. J R Stat Soc B. 2010;72(4):417-473.",
    "decision_curve": "Vickers AJ, Elkin EB. Decision curve analysis: a novel method for evaluating prediction "
                      "models. Med Decis Making. 2006;26(6):565-574.",
    "geyer": "Geyer PE, Voytik E, Treit PV, et al. Plasma proteome profiling to detect and avoid sample-related "
             "biases in biomarker studies. EMBO Mol Med. 2019;11(11):e10427.",
    "consensus": "Monti S, Tamayo P, Mesirov J, Golub T. Consensus clustering: a resampling-based method for "
                 "class discovery and visualization of gene expression microarray data. Mach Learn. "
                 "2003;52:91-118.",
    "pac": "Șenbabaoğlu Y, Michailidis G, Li JZ. Critical limitations of consensus clustering in class discovery. "
           "Sci Rep. 2014;4:6207.",
    "bagging": "Breiman L. Bagging predictors. Mach Learn. 1996;24(2):123-140.",
    "sklearn": "Pedregosa F, Varoquaux G, Gramfort A, et al. Scikit-learn: machine learning in Python. "
               "J Mach Learn Res. 2011;12:2825-2830.",
}

_QUANT_TEXT = {
    "maxlfq": "the MaxLFQ algorithm (pairwise median precursor ratios solved by least squares; minimum {mrc} "
              "ratios) [maxlfq]",
    "trace": "trace alignment (precursor offsets from pairwise median differences solved by weighted least "
             "squares, then a robust two-way Huber fit; linear in the number of runs, after the intensity traces "
             "of directLFQ) [directlfq]",
    "auto": "the MaxLFQ algorithm (pairwise median precursor ratios solved by least squares; minimum {mrc} "
            "ratios) [maxlfq] for up to {auto_max} samples and, above, trace alignment (precursor offsets from pairwise "
            "median differences, robust two-way Huber fit; linear in the number of runs) [directlfq]",
    "median_polish": "Tukey's median polish of log2 precursor intensities [median_polish]",
    "top3": "the mean of the three most intense precursors",
    "top_n": "the mean of the {top_n} most intense precursors",
    "ibaq": "iBAQ (summed intensity divided by the number of observable tryptic peptides) [ibaq]",
    "sum": "the sum of precursor intensities",
    "spectral_count": "spectral counts",
}


def _cite(text: str, used: list[str]) -> str:
    out = text
    for key in REFERENCES:
        tag = f"[{key}]"
        if tag in out:
            if key not in used:
                used.append(key)
            out = out.replace(tag, f"[{used.index(key) + 1}]")
    return out


def _view(value):
    """Nested dicts as read-only attribute namespaces (``ran["de"]["group"]`` read as ``cfg.de.group``)."""
    if isinstance(value, Mapping):
        return SimpleNamespace(**{str(k): _view(v) for k, v in value.items()})
    return value


def methods_paragraph(ran: Mapping[str, Any], versions: Mapping[str, str], *, level: str = "precursor",
                      source_format: str = "", de_done: bool = True, panel_done: bool = False,
                      stratify_done: bool = False, normalisation_note: str = "") -> tuple[str, list[str]]:
    """The methods text and its numbered reference list (in citation order). ``ran``: what ran, as the plain
    dict of the run configuration (``RunConfig.echo()``: sections ``read``, ``quantify``, ``preprocess``, ``de``,
    ``panel`` … with every key). ``normalisation_note`` says what the data showed about the normalisation
    (e.g. the share of proteins off the main peak)."""
    cfg = _view(ran)
    used: list[str] = []
    p = cfg.preprocess
    parts = []
    fmt = f" {source_format}" if source_format else ""
    if level == "protein":
        parts.append(f"Protein-group intensities were read from the{fmt} output"
                     f" (q-value cut-off {cfg.read.fdr:g} where reported).")
    else:
        q = _QUANT_TEXT.get(cfg.quantify.method, cfg.quantify.method).format(mrc=cfg.quantify.min_ratio_count,
                                                                           top_n=cfg.quantify.top_n,
                                                                           auto_max=AUTO_MAX_RUNS)
        parts.append(f"{level.capitalize()}-level intensities were read from the{fmt} output, filtered at "
                     f"{cfg.read.fdr:.0%} precursor and protein-group q-value, and rolled up to protein groups "
                     f"with {q}.")
    steps = []
    if p.remove_contaminants:
        steps.append("contaminant and decoy protein groups were removed")
    if p.min_valid_fraction > 0:
        where = "of at least one group" if p.min_valid_per_group else "overall"
        steps.append(f"protein groups quantified in fewer than {p.min_valid_fraction:.0%} of the samples {where} "
                     f"were discarded")
    norm = {"mode": "log2 intensities were normalised by robust mode normalisation (each sample's offset is the "
                    "main peak of its per-protein log-ratios against anchor samples, so proteins that change "
                    "together, even asymmetrically, do not shift it" + (f"; {normalisation_note}" if
                                                                         normalisation_note else "") + ")",
            "total": "log2 intensities were scaled to each sample's total intensity",
            "median": "log2 intensities were median-centred per sample",
            "quantile": "log2 intensities were quantile-normalised to a reference distribution learned from the "
                        "cohort",
            "vsn": "intensities were variance-stabilised (arcsinh transformation)",
            "reference": f"log2 intensities were normalised to the median of {len(p.normalize.reference_proteins)} "
                         f"reference proteins within each sample",
            "none": ""}.get(p.normalize.method, f"log2 intensities were normalised per sample ({p.normalize.method})")
    if norm:
        steps.append(norm)
    if p.batch.method == "combat":
        steps.append(f"batch effects ({p.batch.column}) were removed with parametric empirical-Bayes ComBat "
                     f"protecting {', '.join(p.batch.covariates) or 'no covariates'} [combat]")
    if p.impute.method == "downshift":
        steps.append(f"missing values were imputed from a down-shifted normal distribution (shift {p.impute.shift:g} "
                     f"SD, width {p.impute.width:g} SD, per sample) [perseus]")
    elif p.impute.method == "knn":
        steps.append(f"missing values were imputed by k-nearest neighbours (k = {p.impute.k})")
    elif p.impute.method == "minprob":
        steps.append("missing values were imputed with MinProb")
    else:
        steps.append("missing values were not imputed")
    parts.append("Then " + "; ".join(steps) + ".")
    if de_done:
        d = cfg.de
        design = "~0 + " + d.group + "".join(f" + {c}" for c in d.covariates)
        extra = []
        if d.trend:
            extra.append("an intensity-dependent prior variance trend")
        if d.robust:
            extra.append("robust hyperparameter estimation [limma_robust]")
        fdr = {"bh": "Benjamini-Hochberg [bh]", "storey": "Storey's q-value method [storey]",
               "by": "Benjamini-Yekutieli [by]"}[d.fdr]
        block = f", with {d.block} as a blocking factor (consensus within-block correlation)" if d.block else ""
        model = getattr(d, "model", "limma")
        detection = getattr(d, "detection", None) or ("model" if model == "hybrid" else "none")
        if model == "dpc":
            parts.append(
                "Differential abundance was tested with a detection-aware model [dpc] [limpa]: a logistic "
                "detection-probability curve in log2 intensity was fitted by maximum likelihood, each missing value "
                "was replaced by its posterior mean given non-detection with its posterior standard error, and "
                f"per-protein group means ({design}) were fitted with precision weights; residual variances from "
                "observed values only (a group entirely unobserved adds no degrees of freedom) were moderated by "
                "empirical Bayes with an intensity trend [limma]; "
                f"contrast{'s' if len(d.contrasts) > 1 else ''} {', '.join(d.contrasts)}; p-values were adjusted by "
                f"{fdr} and proteins with q < {d.q_threshold:g} called significant.")
        else:
            det = ""
            if detection != "none":
                how = ("a likelihood-ratio test under the fitted detection-probability curve [dpc], its null "
                       "distribution simulated from the fitted model" if detection == "model"
                       else "Fisher's exact test on detection counts")
                det = (f"; proteins seen in one group of a contrast and absent from the other were tested for "
                       f"differential detection with {how}, in the same multiple-testing family")
            parts.append(
                f"Differential abundance was tested per protein with a linear model ({design}{block}) and "
                f"empirical-Bayes moderated t statistics [limma]" + (f" with {' and '.join(extra)}" if extra else "")
                + ", fitting each protein on its observed samples" + det + "; "
                f"contrast{'s' if len(d.contrasts) > 1 else ''} {', '.join(d.contrasts)}; p-values were adjusted by "
                f"{fdr} and proteins with q < {d.q_threshold:g} called significant.")
    if panel_done:
        pc = cfg.panel
        sel = {"moderated_t": "moderated-t ranking",
               "l1_share": "ranking proteins by their share of the L1-penalised logistic regression model, "
                           "summed along its penalty path",
               "l1": "the L1-penalised logistic regression path",
               "elastic_net": "the elastic-net logistic regression path", "mrmr": "mRMR ranking",
               "stability": "stability selection [stability]",
               "rfe": "random-forest recursive feature elimination"}[pc.selector]
        if getattr(pc, "redundancy", "none") == "cluster":
            sel += " keeping one protein per cluster of correlated proteins"
        model = {"logistic": "penalised logistic regression", "random_forest": "a random forest",
                 "svm": "a linear support vector machine"}[pc.model]
        parts.append(
            "A panel" + (f" of at most {pc.max_proteins} proteins" if pc.max_proteins else "")
             + f" ({pc.label} = {pc.positive} vs the rest) was selected by {sel} and modelled with {model} "
             "[sklearn]; its size was chosen in the inner folds by "
             + ("the smallest size whose pooled out-of-fold AUC was within one standard error of the best size"
                if pc.size_rule == "one_se" else "the best pooled out-of-fold AUC (ties: the larger size)")
             + "; every learned step (filtering, normalisation, imputation, "
            "selection, model) was refitted inside each training fold of a nested cross-validation "
            f"({pc.outer_folds} outer folds × {pc.outer_repeats} repeats, {pc.inner_folds} inner folds"
            + (f", grouped by {pc.group_by}" if pc.group_by else "") + "). The AUC of the out-of-fold predictions is "
            "reported with a DeLong 95% confidence interval [delong], with calibration and decision-curve net "
            "benefit [decision_curve]"
            + (f", and compared with {pc.permutations} label permutations" if pc.permutations else "")
            + ". The final model was refitted on all samples and locked into a checksummed signature."
            + _panel_extras(ran, cfg, level))
    if stratify_done:
        parts.append("Patient subgroups were sought by consensus clustering [consensus] with the number of "
                     "clusters chosen by the proportion of ambiguous clustering (PAC) [pac] and compared with "
                     "protein-wise permuted data.")
    ver = ", ".join(f"{k} {v}" for k, v in versions.items() if k not in ("proteomics",) and v != "not installed")
    parts.append(f"All steps ran in proteomics {versions.get('proteomics', '')} ({ver}) with seed {cfg.seed}.")
    text = " ".join(parts)
    text = _cite(text, used)
    return text, [REFERENCES[k] for k in used]


def _panel_extras(ran: Mapping[str, Any], cfg, level: str) -> str:
    """What the panel did beyond the shared text: its own within-sample roll-up, and bagging."""
    pc = cfg.panel
    out = ""
    if level != "protein" and pc.quant_method != cfg.quantify.method:
        q = _QUANT_TEXT.get(pc.quant_method, pc.quant_method).format(mrc=cfg.quantify.min_ratio_count,
                                                                    top_n=cfg.quantify.top_n, auto_max=AUTO_MAX_RUNS)
        out += (f" The panel's protein values were rolled up within each sample alone, with {q} (not with the "
                f"run's {cfg.quantify.method}), so that one new patient's run is quantified exactly as in training.")
    keys = {k: v for k, v in dict(ran.get("panel") or {}).items() if k in PanelSettings.model_fields}
    bags = PanelSettings.model_validate(keys).bag_count()
    if bags:
        out += (f" The locked panel is bagged [bagging]: the union of the panels chosen on {bags} stratified "
                "subsamples of the samples (63.2% of each class), each keeping the panel chosen on all samples, and "
                "its model is the average of their logistic models' log-odds (the same procedure ran inside every "
                "training fold).")
    return out


def cite_list(keys: Sequence[str]) -> list[str]:
    """The full references of ``keys`` (unknown keys skipped), in the given order."""
    return [REFERENCES[k] for k in keys if k in REFERENCES]
