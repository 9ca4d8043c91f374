"""Matplotlib figures (the only module that draws). Every function returns a ``matplotlib.figure.Figure``;
``save_figure`` writes PNG and SVG deterministically (no timestamps, fixed SVG id salt).

Inputs are plain tables/arrays, so the figures can be drawn from any stage's results.
"""

from __future__ import annotations

import io
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from .._files import atomic_path  # noqa: E402

__all__ = ["save_figure", "figure_png_bytes", "intensity_distributions", "missingness_heatmap", "pca_scatter",
           "cv_distributions", "identifications_bar", "volcano", "roc_curve_plot", "calibration_plot",
           "selection_frequency_plot", "decision_curve_plot", "consensus_heatmap", "km_plot", "pca_coordinates",
           "permutation_plot", "contamination_plot", "mode_normalisation_plot"]

_PALETTE = ["#1b6ca8", "#d1495b", "#66a182", "#edae49", "#6c4f9c", "#2e4057", "#8d96a3", "#00798c"]
_RC = {"svg.hashsalt": "proteomics", "font.size": 9, "axes.spines.top": False, "axes.spines.right": False,
       "figure.dpi": 100}


def _fig(w=6.0, h=4.0) -> tuple[Figure, plt.Axes]:
    with plt.rc_context(_RC):
        fig = Figure(figsize=(w, h), layout="constrained")
        ax = fig.add_subplot()
    return fig, ax


def save_figure(fig: Figure, stem: str | os.PathLike, formats: Sequence[str] = ("png", "svg")) -> list[Path]:
    """Write ``stem.png`` and ``stem.svg`` atomically; returns the paths."""
    out = []
    with plt.rc_context(_RC):
        for fmt in formats:
            path = Path(f"{stem}.{fmt}")
            meta = {"Date": None} if fmt == "svg" else {"Software": None}
            with atomic_path(path) as tmp:
                fig.savefig(tmp, format=fmt, dpi=110, metadata=meta)
            out.append(path)
    return out


def figure_png_bytes(fig: Figure) -> bytes:
    """``fig`` rendered as PNG bytes (deterministic: no software stamp)."""
    buf = io.BytesIO()
    with plt.rc_context(_RC):
        fig.savefig(buf, format="png", dpi=110, metadata={"Software": None})
    return buf.getvalue()


def _colors(labels: Sequence) -> tuple[list[str], dict]:
    levels = list(dict.fromkeys(str(v) for v in labels))
    cmap = {lv: _PALETTE[i % len(_PALETTE)] for i, lv in enumerate(levels)}
    return [cmap[str(v)] for v in labels], cmap


# -- QC ------------------------------------------------------------------------------------------------
def intensity_distributions(frames: Mapping[str, pd.DataFrame], title: str = "Intensity distributions") -> Figure:
    """Box plots of per-sample log2 intensities, one panel per stage (e.g. before / after normalisation).

    ``frames``: stage name → samples × proteins DataFrame (log2, NaN = missing).
    """
    n = len(frames)
    with plt.rc_context(_RC):
        fig = Figure(figsize=(max(6.0, 0.09 * max(len(f) for f in frames.values()) + 2), 2.6 * n),
                     layout="constrained")
        axes = fig.subplots(n, 1, squeeze=False)[:, 0]
        for ax, (name, frame) in zip(axes, frames.items(), strict=True):
            data = [row[~np.isnan(row)] for row in frame.to_numpy(float)]
            ax.boxplot(data, showfliers=False, widths=0.6, patch_artist=True,
                       boxprops={"facecolor": "#cfe0ee", "linewidth": 0.5}, medianprops={"color": "#d1495b"})
            ax.set_ylabel("log2 intensity")
            ax.set_title(name, loc="left")
            ax.set_xticks([])
        axes[-1].set_xlabel(f"samples (n = {len(next(iter(frames.values())))})")
        fig.suptitle(title)
    return fig


def missingness_heatmap(frame: pd.DataFrame, groups: Sequence | None = None, max_proteins: int = 400) -> Figure:
    """Heatmap of missing (dark) vs observed cells: samples × proteins, proteins sorted by missingness."""
    miss = frame.isna().to_numpy()
    order = np.argsort(miss.mean(axis=0), kind="stable")
    if len(order) > max_proteins:
        order = order[np.linspace(0, len(order) - 1, max_proteins).astype(int)]
    rows = np.arange(miss.shape[0])
    if groups is not None:
        rows = np.argsort(np.asarray([str(g) for g in groups]), kind="stable")
    fig, ax = _fig(7, 4)
    ax.imshow(miss[np.ix_(rows, order)], aspect="auto", cmap="Greys", interpolation="nearest", vmin=0, vmax=1)
    ax.set_xlabel(f"proteins (sorted by missingness; {miss.mean():.1%} missing overall)")
    ax.set_ylabel("samples" + (" (sorted by group)" if groups is not None else ""))
    ax.set_title("Missing values (black = missing)", loc="left")
    return fig


def pca_coordinates(frame: pd.DataFrame, n_components: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """PCA scores of samples on proteins observed in every sample (centred). Returns (scores, explained ratio)."""
    X = frame.to_numpy(float)
    X = X[:, ~np.isnan(X).any(axis=0)]
    if X.shape[1] < 2 or X.shape[0] < 3:
        return np.zeros((frame.shape[0], n_components)), np.zeros(n_components)
    X = X - X.mean(axis=0)
    U, S, _ = np.linalg.svd(X, full_matrices=False)
    k = min(n_components, len(S))
    scores = U[:, :k] * S[:k]
    # sign convention: largest |loading| positive, so plots are stable
    scores *= np.where(scores[np.abs(scores).argmax(axis=0), range(k)] < 0, -1, 1)
    var = S**2 / np.sum(S**2)
    return scores, var[:k]


def pca_scatter(frame: pd.DataFrame, labels: Sequence, title: str) -> Figure:
    """PCA (complete proteins) of samples, coloured by ``labels``."""
    scores, var = pca_coordinates(frame)
    fig, ax = _fig(5, 4)
    cols, cmap = _colors(labels)
    ax.scatter(scores[:, 0], scores[:, 1], c=cols, s=22, edgecolor="white", linewidth=0.5)
    for lv, c in cmap.items():
        ax.scatter([], [], c=c, label=lv)
    ax.legend(frameon=False, fontsize=8)
    ax.set_xlabel(f"PC1 ({var[0]:.0%})" if len(var) else "PC1")
    ax.set_ylabel(f"PC2 ({var[1]:.0%})" if len(var) > 1 else "PC2")
    ax.set_title(title, loc="left")
    return fig


def cv_distributions(cv: pd.DataFrame) -> Figure:
    """Histograms of per-protein CVs (%), one line per column of ``cv`` (e.g. one per condition)."""
    fig, ax = _fig(5.5, 3.5)
    for i, col in enumerate(cv.columns):
        v = cv[col].to_numpy(float)
        v = v[np.isfinite(v)]
        if len(v):
            ax.hist(v, bins=40, histtype="step", color=_PALETTE[i % len(_PALETTE)],
                    label=f"{col} (median {np.median(v):.1f}%)")
    ax.set_xlabel("coefficient of variation (%) on linear intensities")
    ax.set_ylabel("proteins")
    ax.legend(frameon=False, fontsize=8)
    ax.set_title("Protein CV per group", loc="left")
    return fig


def identifications_bar(counts: pd.Series, flagged: Sequence[str] = ()) -> Figure:
    """Proteins identified per sample; flagged samples in red."""
    fig, ax = _fig(max(6.0, 0.08 * len(counts) + 2), 3.2)
    flagged = set(map(str, flagged))
    cols = ["#d1495b" if str(s) in flagged else "#1b6ca8" for s in counts.index]
    ax.bar(range(len(counts)), counts.to_numpy(), color=cols, width=0.8)
    ax.set_xticks([])
    ax.set_xlabel(f"samples (n = {len(counts)}; red = QC flag)")
    ax.set_ylabel("proteins quantified")
    ax.set_title("Identifications per sample", loc="left")
    return fig


def contamination_plot(indices: pd.DataFrame, flags: pd.DataFrame | None = None) -> Figure:
    """Contamination indices per sample (one line per index)."""
    fig, ax = _fig(max(6.0, 0.08 * len(indices) + 2), 3.2)
    for i, col in enumerate(indices.columns):
        ax.plot(range(len(indices)), indices[col].to_numpy(float), marker="o", ms=2.5, lw=0.8,
                color=_PALETTE[i % len(_PALETTE)], label=col)
    ax.set_xticks([])
    ax.set_xlabel("samples")
    ax.set_ylabel("index")
    ax.legend(frameon=False, fontsize=8)
    ax.set_title("Contamination indices", loc="left")
    return fig


# -- DE --------------------------------------------------------------------------------------------------
def volcano(table: pd.DataFrame, q: float = 0.05, label_top: int = 12, title: str = "") -> Figure:
    """Volcano plot: log2fc vs −log10 p; significant (q < ``q``) in red; top proteins labelled by gene."""
    t = table.dropna(subset=["log2fc", "p_value"])
    fig, ax = _fig(5.5, 4.5)
    sig = t["q_value"].to_numpy(float) < q
    y = -np.log10(np.clip(t["p_value"].to_numpy(float), 1e-300, 1))
    ax.scatter(t["log2fc"][~sig], y[~sig], s=7, c="#8d96a3", alpha=0.6, linewidths=0)
    ax.scatter(t["log2fc"][sig], y[sig], s=9, c="#d1495b", linewidths=0, label=f"q < {q} (n = {int(sig.sum())})")
    name = t["gene"].fillna(t["protein_group"]) if "gene" in t else t["protein_group"]
    top = np.argsort(t["p_value"].to_numpy(float), kind="stable")[:label_top]
    for i in top:
        ax.annotate(str(name.iloc[i])[:18], (t["log2fc"].iloc[i], y[i]), fontsize=6.5, xytext=(3, 2),
                    textcoords="offset points")
    ax.axvline(0, color="#cccccc", lw=0.6)
    ax.set_xlabel("log2 fold change")
    ax.set_ylabel("−log10 p")
    ax.legend(frameon=False, fontsize=8, loc="upper left")
    ax.set_title(title or "Volcano", loc="left")
    return fig


# -- panel -----------------------------------------------------------------------------------------------
def roc_curve_plot(fpr: np.ndarray, tpr: np.ndarray, auc: float, ci: tuple[float, float] | None = None,
                   band: pd.DataFrame | None = None) -> Figure:
    """ROC curve of out-of-fold predictions; ``band`` (columns fpr, tpr_low, tpr_high) shades a CI band."""
    fig, ax = _fig(4.5, 4.2)
    if band is not None and len(band):
        ax.fill_between(band["fpr"], band["tpr_low"], band["tpr_high"], color="#cfe0ee", step="post",
                        label="95% CI band")
    label = f"AUC {auc:.3f}" + (f" (95% CI {ci[0]:.3f}–{ci[1]:.3f})" if ci else "")
    ax.step(fpr, tpr, where="post", color="#1b6ca8", lw=1.6, label=label)
    ax.plot([0, 1], [0, 1], ls="--", color="#aaaaaa", lw=0.8)
    ax.set_xlabel("1 − specificity")
    ax.set_ylabel("sensitivity")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.01)
    ax.legend(frameon=False, loc="lower right", fontsize=8)
    ax.set_title("ROC (nested CV, out-of-fold)", loc="left")
    return fig


def calibration_plot(pred: np.ndarray, obs: np.ndarray, counts: np.ndarray | None = None,
                     slope: float | None = None, intercept: float | None = None) -> Figure:
    """Calibration: mean predicted vs observed frequency per bin."""
    fig, ax = _fig(4.5, 4.2)
    ax.plot([0, 1], [0, 1], ls="--", color="#aaaaaa", lw=0.8)
    sizes = 12 if counts is None else 8 + 40 * np.asarray(counts) / max(1, np.max(counts))
    ax.scatter(pred, obs, s=sizes, color="#d1495b", zorder=3)
    ax.plot(pred, obs, color="#d1495b", lw=0.8)
    if slope is not None:
        ax.text(0.02, 0.95, f"slope {slope:.2f}, intercept {intercept:.2f}", transform=ax.transAxes, fontsize=8)
    ax.set_xlabel("predicted probability")
    ax.set_ylabel("observed frequency")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_title("Calibration (out-of-fold)", loc="left")
    return fig


def selection_frequency_plot(freq: pd.Series, top: int = 25, labels: pd.Series | None = None) -> Figure:
    """Horizontal bars: fraction of outer folds selecting each protein (top ``top``)."""
    f = freq.sort_values(ascending=False, kind="stable").head(top)[::-1]
    fig, ax = _fig(5.5, 0.22 * len(f) + 1.2)
    names = [str(labels.get(i, i)) if labels is not None else str(i) for i in f.index]
    ax.barh(range(len(f)), f.to_numpy(float), color="#66a182")
    ax.set_yticks(range(len(f)), [n[:30] for n in names], fontsize=7)
    ax.set_xlim(0, 1)
    ax.set_xlabel("selection frequency across outer folds")
    ax.set_title("Stability of the selected proteins", loc="left")
    return fig


def decision_curve_plot(curve: pd.DataFrame) -> Figure:
    """Net benefit vs threshold probability: model, treat all, treat none (columns threshold, model, all)."""
    fig, ax = _fig(5, 3.8)
    ax.plot(curve["threshold"], curve["model"], color="#1b6ca8", label="panel")
    if "all" in curve:
        ax.plot(curve["threshold"], curve["all"], color="#edae49", label="treat all")
    ax.axhline(0, color="#888888", lw=0.8, label="treat none")
    top = np.nanmax(curve["model"].to_numpy(float)) if len(curve) else 0.1
    ax.set_ylim(-0.05, max(0.05, top * 1.15))
    ax.set_xlabel("threshold probability")
    ax.set_ylabel("net benefit")
    ax.legend(frameon=False, fontsize=8)
    ax.set_title("Decision curve", loc="left")
    return fig


def permutation_plot(null_aucs: Sequence[float], auc: float, p: float | None) -> Figure:
    """Histogram of nested-CV AUCs under shuffled labels, with the real AUC marked."""
    fig, ax = _fig(5, 3.4)
    ax.hist(np.asarray(null_aucs, float), bins=min(20, max(5, len(null_aucs) // 2)), color="#8d96a3")
    ax.axvline(auc, color="#d1495b", lw=1.5, label=f"real AUC {auc:.3f}" + (f", p = {p:.3g}" if p is not None else ""))
    ax.set_xlabel("AUC with shuffled labels")
    ax.set_ylabel("permutations")
    ax.legend(frameon=False, fontsize=8)
    ax.set_title("Label-permutation check", loc="left")
    return fig


def size_curve_plot(curve: Sequence[Mapping], chosen=None, baselines: Mapping | None = None,
                    bagged: Mapping | None = None) -> Figure:
    """Nested-CV AUC (95% CI) against panel size (points in grid order, "unrestricted" last), the size rule's
    choice marked, baselines as horizontal lines labelled with their size; ``bagged`` ({auc, size, bags}): the
    bagged panel built at the chosen size, as a solid line."""
    fig, ax = _fig(6, 3.6)
    x = np.arange(len(curve))
    auc = np.array([c["auc"] for c in curve], float)
    lo = np.array([c["auc_ci_low"] if c.get("auc_ci_low") is not None else np.nan for c in curve], float)
    hi = np.array([c["auc_ci_high"] if c.get("auc_ci_high") is not None else np.nan for c in curve], float)
    ax.fill_between(x, lo, hi, color="#a9c6e8", alpha=0.6, lw=0, label="95% CI")
    ax.plot(x, auc, "o-", color="#2e5c8a", ms=4, label="nested-CV AUC")
    labels = [str(c["size"]) if c["size"] != "unrestricted" else "all" for c in curve]
    if chosen is not None and chosen in [c["size"] for c in curve]:
        i = [c["size"] for c in curve].index(chosen)
        ax.plot([x[i]], [auc[i]], "s", color="#d1495b", ms=8, label=f"size rule: {labels[i]}")
    if bagged:
        ax.axhline(bagged["auc"], lw=1.5, color="#d1495b",
                   label=f"bagged panel ({bagged['auc']:.3f}, {bagged['size']:.0f} proteins, {bagged['bags']} subsamples)")
    for j, (name, b) in enumerate((baselines or {}).items()):
        ax.axhline(b["auc"], ls="--", lw=1, color=["#6a994e", "#bc6c25", "#7b2cbf", "#555555"][j % 4],
                   label=f"{name} ({b['auc']:.3f}, {b['size']:.0f} proteins)")
    ax.set_xticks(x, labels)
    ax.set_xlabel("panel size (proteins)")
    ax.set_ylabel("AUC")
    ax.legend(frameon=False, fontsize=7, loc="lower right")
    ax.set_title("Accuracy against panel size", loc="left")
    return fig


# -- stratify ----------------------------------------------------------------------------------------------
def consensus_heatmap(matrix: np.ndarray, labels: Sequence) -> Figure:
    """Consensus matrix with samples ordered by cluster."""
    order = np.argsort(np.asarray([str(x) for x in labels]), kind="stable")
    fig, ax = _fig(4.8, 4.2)
    im = ax.imshow(np.asarray(matrix)[np.ix_(order, order)], cmap="Blues", vmin=0, vmax=1, interpolation="nearest")
    fig.colorbar(im, ax=ax, shrink=0.8, label="consensus")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title("Consensus matrix (ordered by cluster)", loc="left")
    return fig


def km_plot(curves: pd.DataFrame) -> Figure:
    """Kaplan-Meier step curves; ``curves`` has columns group, time, survival."""
    fig, ax = _fig(5, 3.6)
    for i, (g, d) in enumerate(curves.groupby("group", sort=True)):
        ax.step(d["time"], d["survival"], where="post", color=_PALETTE[i % len(_PALETTE)], label=str(g))
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("time")
    ax.set_ylabel("event-free probability")
    ax.legend(frameon=False, fontsize=8)
    ax.set_title("Kaplan-Meier by subgroup", loc="left")
    return fig


def mode_normalisation_plot(curves: Mapping[str, tuple[np.ndarray, np.ndarray, float]],
                            max_samples: int = 12) -> Figure:
    """Log-ratio densities (log2, one line per sample: ``(grid, density, chosen peak)``) with the peak each
    sample was centred on (dashed). At most ``max_samples`` samples are drawn, in the order given."""
    fig, ax = _fig(6.5, 3.8)
    for k, (name, (grid, dens, peak)) in enumerate(list(curves.items())[:max_samples]):
        if len(grid) == 0:
            continue
        c = _PALETTE[k % len(_PALETTE)]
        ax.plot(grid, dens, color=c, lw=1, label=str(name))
        ax.axvline(peak, color=c, lw=0.8, ls="--")
    ax.set_xlabel("log2 ratio to the anchor sample (per protein)")
    ax.set_ylabel("density")
    ax.set_title("Mode normalisation: log-ratio distributions and chosen peaks")
    if curves:
        ax.legend(fontsize=6, ncol=2, loc="upper right")
    return fig
