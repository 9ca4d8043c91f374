"""Figures a proteomics user expects beside the volcano: p-value histogram, MA plot, clustered heatmap of the
significant proteins, sample-correlation heatmap, missingness against intensity, boxplots of panel proteins.

Every function takes plain tables (samples × proteins log2 frames with NaN = missing, DE tables) and returns a
``matplotlib.figure.Figure``; ``plots.save_figure`` writes them deterministically. Randomness (jitter) is seeded.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure

from .plots import _PALETTE, _RC, _colors, _fig

__all__ = ["volcano", "pvalue_histogram", "ma_plot", "clustered_heatmap", "correlation_heatmap",
           "missingness_vs_intensity", "panel_boxplots", "place_labels", "display_names", "UP", "DOWN"]

UP, DOWN, NS = "#d1495b", "#1b6ca8", "#b8bfc7"


def display_names(table: pd.DataFrame) -> pd.Series:
    """Gene name when known, else the first accession of the protein group (short labels for plots)."""
    first = table["protein_group"].astype(str).str.split(";").str[0]
    if "gene" in table:
        gene = table["gene"].astype(object).where(table["gene"].notna() & (table["gene"].astype(str) != ""))
        gene = gene.astype(object).map(lambda g: str(g).split(";")[0] if isinstance(g, str) else g)
        return gene.fillna(first).astype(str)
    return first


def _direction_colors(fc: np.ndarray, sig: np.ndarray) -> np.ndarray:
    return np.where(sig & (fc > 0), UP, np.where(sig & (fc < 0), DOWN, NS))


def place_labels(fig: Figure, ax, xs, ys, texts: Sequence[str], fontsize: float = 6.5) -> list:
    """Label points without overlap: each label tries offsets around its point (nearest first) and keeps the
    first whose box overlaps no placed label and stays inside the axes; a label that fits nowhere is left out.
    Freezes the figure layout (the layout engine would move the axes after placement). Returns the texts."""
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    fig.set_layout_engine("none")
    renderer = canvas.get_renderer()
    axbox = ax.get_window_extent(renderer)
    placed, boxes = [], []
    offsets = [(dx * r, dy * r) for r in (5, 11, 19, 30) for dx, dy in
               ((1, 1), (1, -1), (-1, 1), (-1, -1), (0, 1.4), (0, -1.6), (1.4, 0), (-1.4, 0))]
    for x, y, label in zip(xs, ys, texts, strict=True):
        for dx, dy in offsets:
            t = ax.annotate(label, (x, y), xytext=(dx, dy), textcoords="offset points", fontsize=fontsize,
                            ha="left" if dx >= 0 else "right", va="bottom" if dy >= 0 else "top",
                            arrowprops={"arrowstyle": "-", "color": "#777777", "lw": 0.4, "shrinkA": 0,
                                        "shrinkB": 1} if abs(dx) > 6 or abs(dy) > 6 else None)
            bb = t.get_window_extent(renderer).expanded(1.04, 1.1)
            inside = axbox.x0 <= bb.x0 and bb.x1 <= axbox.x1 and axbox.y0 <= bb.y0 and bb.y1 <= axbox.y1
            if inside and not any(bb.overlaps(b) for b in boxes):
                boxes.append(bb)
                placed.append(t)
                break
            t.remove()
    return placed


def volcano(table: pd.DataFrame, q: float = 0.05, fc: float = 1.0, label_top: int = 15, title: str = "") -> Figure:
    """Volcano: log2 fold change vs −log10 p. Up (q < ``q`` and log2fc > 0) red, down blue; dashed lines at
    ±``fc`` and at the p-value where q crosses ``q``; the most significant proteins labelled without overlap."""
    t = table.dropna(subset=["log2fc", "p_value"]).reset_index(drop=True)
    x = t["log2fc"].to_numpy(float)
    p = np.clip(t["p_value"].to_numpy(float), 1e-300, 1)
    y = -np.log10(p)
    sig = t["q_value"].to_numpy(float) < q
    fig, ax = _fig(6.0, 4.8)
    cols = _direction_colors(x, sig)
    for colour, name in ((NS, "not significant"), (DOWN, "down"), (UP, "up")):
        m = cols == colour
        ax.scatter(x[m], y[m], s=8 if colour == NS else 11, c=colour, linewidths=0, alpha=0.7 if colour == NS
                   else 0.95, label=f"{name} (n = {int(m.sum())})")
    if sig.any():
        ax.axhline(-np.log10(p[sig].max()), color="#777777", lw=0.7, ls="--")
        ax.text(ax.get_xlim()[0], -np.log10(p[sig].max()), f" q = {q:g}", fontsize=7, color="#555555",
                va="bottom")
    for v in (-fc, fc):
        ax.axvline(v, color="#999999", lw=0.7, ls=":")
    ax.axvline(0, color="#dddddd", lw=0.6)
    ax.set_xlabel("log2 fold change")
    ax.set_ylabel("−log10 p")
    ax.legend(frameon=False, fontsize=7.5, loc="upper left")
    ax.set_title(title or "Volcano", loc="left")
    names = display_names(t)
    order = np.argsort(p, kind="stable")
    order = [i for i in order if sig[i]][:label_top] or list(order[: min(5, len(order))])
    place_labels(fig, ax, x[order], y[order], [names.iloc[i][:16] for i in order])
    return fig


def pvalue_histogram(table: pd.DataFrame, title: str = "") -> Figure:
    """Histogram of raw p-values (20 bins). Under no change they are uniform: the dashed line is the
    height a uniform distribution of all tested proteins would have; a peak near 0 is the signal."""
    p = table["p_value"].to_numpy(float)
    p = p[np.isfinite(p)]
    fig, ax = _fig(5.0, 3.4)
    ax.hist(p, bins=np.linspace(0, 1, 21), color="#66a182", edgecolor="white", linewidth=0.5)
    ax.axhline(len(p) / 20, color="#555555", lw=0.8, ls="--", label="uniform (no change)")
    ax.set_xlim(0, 1)
    ax.set_xlabel("p-value")
    ax.set_ylabel("proteins")
    ax.legend(frameon=False, fontsize=8)
    ax.set_title(title or f"p-value distribution ({len(p)} proteins)", loc="left")
    return fig


def ma_plot(table: pd.DataFrame, q: float = 0.05, fc: float = 1.0, title: str = "") -> Figure:
    """MA plot: mean log2 abundance (``ave_expr``) vs log2 fold change; up red, down blue."""
    t = table.dropna(subset=["log2fc", "ave_expr"])
    x, y = t["ave_expr"].to_numpy(float), t["log2fc"].to_numpy(float)
    sig = t["q_value"].to_numpy(float) < q
    fig, ax = _fig(5.5, 3.8)
    cols = _direction_colors(y, sig)
    for colour in (NS, DOWN, UP):
        m = cols == colour
        ax.scatter(x[m], y[m], s=8, c=colour, linewidths=0, alpha=0.75)
    for v in (-fc, fc):
        ax.axhline(v, color="#999999", lw=0.7, ls=":")
    ax.axhline(0, color="#777777", lw=0.7)
    ax.set_xlabel("mean log2 abundance (A)")
    ax.set_ylabel("log2 fold change (M)")
    ax.set_title(title or "MA plot", loc="left")
    return fig


def _order(Z: np.ndarray, distances: bool = False) -> np.ndarray:
    """Leaf order of an average-linkage clustering of the rows of ``Z`` (NaN treated as the row mean, i.e. 0
    after standardising); ``distances``: ``Z`` is a square distance matrix."""
    from scipy.cluster.hierarchy import leaves_list, linkage
    from scipy.spatial.distance import squareform

    if len(Z) < 3:
        return np.arange(len(Z))
    if distances:
        D = np.nan_to_num((Z + Z.T) / 2, nan=float(np.nanmax(Z)) if np.isfinite(Z).any() else 1.0)
        np.fill_diagonal(D, 0.0)
        return leaves_list(linkage(squareform(np.clip(D, 0, None), checks=False), method="average"))
    filled = np.where(np.isnan(Z), 0.0, Z)
    return leaves_list(linkage(filled, method="average", metric="euclidean"))


def _group_strip(fig, ax, groups: Sequence[str], order: np.ndarray, horizontal: bool = True):
    """A colour strip above ``ax`` giving each sample's group (samples in ``order``), and its legend below."""
    cols, cmap = _colors([str(g) for g in groups])
    levels = list(cmap)
    idx = np.array([levels.index(str(groups[i])) for i in order])[None, :]
    strip = ax.inset_axes([0, 1.01, 1, 0.035]) if horizontal else ax.inset_axes([-0.04, 0, 0.03, 1])
    strip.imshow(idx if horizontal else idx.T, aspect="auto", interpolation="nearest",
                 cmap=ListedColormap([cmap[lv] for lv in levels]), vmin=-0.5, vmax=len(levels) - 0.5)
    strip.set_xticks([])
    strip.set_yticks([])
    for lv in levels:
        ax.scatter([], [], c=cmap[lv], marker="s", label=lv)
    ax.legend(frameon=False, fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.06), ncol=min(6, len(levels)))
    return strip


def clustered_heatmap(frame: pd.DataFrame, names: Sequence[str], groups: Sequence[str] | None = None,
                      title: str = "") -> Figure:
    """Row-standardised log2 abundances of the given proteins (``frame``: samples × proteins), proteins and
    samples ordered by average-linkage clustering; grey = missing; a colour strip shows each sample's group."""
    M = frame.to_numpy(float).T  # proteins × samples
    mu = np.nanmean(M, axis=1, keepdims=True)
    sd = np.nanstd(M, axis=1, keepdims=True)
    Z = (M - mu) / np.where(sd > 0, sd, 1.0)
    rows, cols = _order(Z), _order(Z.T)
    fig, ax = _fig(7.0, max(3.2, 0.13 * len(rows) + 1.6))
    cmap = matplotlib_cmap()
    im = ax.imshow(np.ma.masked_invalid(np.clip(Z[np.ix_(rows, cols)], -3, 3)), aspect="auto", cmap=cmap,
                   vmin=-3, vmax=3, interpolation="nearest")
    fig.colorbar(im, ax=ax, shrink=0.6, label="z-score (per protein)")
    ax.set_yticks(range(len(rows)), [str(names[i])[:18] for i in rows], fontsize=6 if len(rows) > 30 else 7)
    ax.set_xticks([])
    ax.set_xlabel(f"samples (n = {M.shape[1]}, clustered)")
    if groups is not None:
        _group_strip(fig, ax, list(groups), cols)
    ax.set_title(title or f"Significant proteins ({len(rows)})", loc="left", pad=14)
    return fig


def matplotlib_cmap():
    """The diverging colour map of the heatmaps (missing values grey)."""
    import matplotlib

    return matplotlib.colormaps["RdBu_r"].with_extremes(bad="#e6e6e6")


def correlation_heatmap(frame: pd.DataFrame, groups: Sequence[str] | None = None, min_shared: int = 10) -> Figure:
    """Pearson correlation between samples over the proteins both observed (at least ``min_shared``),
    samples ordered by clustering of 1 − r; a colour strip shows each sample's group."""
    r = frame.T.corr(method="pearson", min_periods=min_shared).to_numpy(float)
    order = _order(1 - r, distances=True)
    fig, ax = _fig(6.0, 5.2)
    lo = np.nanmin(r) if np.isfinite(r).any() else 0.0
    im = ax.imshow(r[np.ix_(order, order)], cmap="viridis", vmin=max(0.0, np.floor(lo * 20) / 20), vmax=1,
                   interpolation="nearest")
    fig.colorbar(im, ax=ax, shrink=0.75, label="Pearson r (log2)")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_xlabel(f"samples (n = {len(order)}, clustered)")
    if groups is not None:
        _group_strip(fig, ax, list(groups), order)
    ax.set_title(f"Sample correlation (median r {np.nanmedian(r[np.triu_indices_from(r, 1)]):.3f})", loc="left",
                 pad=14)
    return fig


def missingness_vs_intensity(frame: pd.DataFrame, n_bins: int = 10) -> Figure:
    """Per protein: fraction of samples missing vs mean observed log2 intensity, with the mean per intensity
    decile. A falling trend means values are missing because they are low (left-censored, MNAR)."""
    M = frame.to_numpy(float)
    miss = np.isnan(M).mean(axis=0)
    with np.errstate(all="ignore"):
        mean = np.nanmean(np.where(np.isnan(M), np.nan, M), axis=0)
    ok = np.isfinite(mean)
    fig, ax = _fig(5.5, 3.6)
    ax.scatter(mean[ok], miss[ok] * 100, s=7, c="#1b6ca8", alpha=0.5, linewidths=0)
    if ok.sum() >= n_bins:
        edges = np.quantile(mean[ok], np.linspace(0, 1, n_bins + 1))
        which = np.clip(np.searchsorted(edges, mean[ok], side="right") - 1, 0, n_bins - 1)
        centres = [np.median(mean[ok][which == b]) for b in range(n_bins) if (which == b).any()]
        level = [100 * miss[ok][which == b].mean() for b in range(n_bins) if (which == b).any()]
        ax.plot(centres, level, color=UP, lw=1.6, marker="o", ms=3, label="mean per intensity decile")
        ax.legend(frameon=False, fontsize=8)
    ax.set_xlabel("mean log2 intensity where observed")
    ax.set_ylabel("samples missing (%)")
    ax.set_ylim(-2, 102)
    ax.set_title("Missingness vs intensity", loc="left")
    return fig


def panel_boxplots(frame: pd.DataFrame, names: Sequence[str], groups: Sequence[str], ncol: int = 3) -> Figure:
    """One small box plot per panel protein (columns of ``frame``, log2) by group, with every sample as a
    point (seeded jitter)."""
    import matplotlib.pyplot as plt

    groups = [str(g) for g in groups]
    levels = sorted(set(groups))
    n = frame.shape[1]
    nrow = max(1, int(np.ceil(n / ncol)))
    rng = np.random.default_rng(0)
    with plt.rc_context(_RC):
        fig = Figure(figsize=(2.4 * min(n, ncol) + 0.6, 2.3 * nrow + 0.3), layout="constrained")
        axes = np.atleast_1d(fig.subplots(nrow, min(n, ncol), squeeze=False)).ravel()
        g = np.asarray(groups)
        for j, ax in enumerate(axes):
            if j >= n:
                ax.axis("off")
                continue
            v = frame.iloc[:, j].to_numpy(float)
            data = [v[(g == lv) & np.isfinite(v)] for lv in levels]
            ax.boxplot(data, widths=0.55, showfliers=False, patch_artist=True,
                       boxprops={"facecolor": "#eef2f6", "linewidth": 0.6}, medianprops={"color": "#333333"})
            for k, d in enumerate(data):
                ax.scatter(k + 1 + rng.uniform(-0.15, 0.15, len(d)), d, s=7, c=_PALETTE[k % len(_PALETTE)],
                           linewidths=0, alpha=0.8)
            ax.set_xticks(range(1, len(levels) + 1), levels, fontsize=7)
            ax.set_title(str(names[j])[:22], fontsize=8, loc="left")
            if j % ncol == 0:
                ax.set_ylabel("log2 abundance", fontsize=7)
        fig.suptitle("Panel proteins by group", fontsize=9)
    return fig
