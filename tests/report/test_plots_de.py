"""The DE/QC figures: honest content (counts, colours, thresholds), labels that do not overlap, deterministic
files, and report tables that format integers as integers and highlight flags."""

from __future__ import annotations

import hashlib
import itertools

import numpy as np
import pandas as pd
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg

from proteomics.report import plots, plots_de
from proteomics.report.html import table_html


def _de_table(n=300, seed=0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    fc = np.r_[rng.normal(0, 0.2, n - 30), rng.choice([-1.5, 1.5], 30) + rng.normal(0, 0.2, 30)]
    p = np.r_[rng.uniform(0, 1, n - 30), 10 ** -rng.uniform(4, 12, 30)]
    order = np.argsort(p)
    q = np.empty(n)
    q[order] = np.minimum.accumulate((p[order] * n / np.arange(1, n + 1))[::-1])[::-1]
    return pd.DataFrame({"protein_group": [f"P{i:05d};Q{i}" for i in range(n)], "gene": [f"GENE{i}" for i in range(n)],
                         "log2fc": fc, "ave_expr": rng.normal(25, 2, n), "p_value": p, "q_value": q})


def test_volcano_labels_never_overlap_and_colours_follow_direction():
    t = _de_table()
    fig = plots_de.volcano(t, q=0.05, label_top=25)
    ax = fig.axes[0]
    renderer = FigureCanvasAgg(fig).get_renderer()
    boxes = [a.get_window_extent(renderer) for a in ax.texts if a.get_text().startswith("GENE")]
    assert len(boxes) >= 10
    for a, b in itertools.combinations(boxes, 2):
        assert not a.overlaps(b)
    sig = t["q_value"] < 0.05
    n_up, n_down = int((sig & (t["log2fc"] > 0)).sum()), int((sig & (t["log2fc"] < 0)).sum())
    labels = [h.get_label() for h in ax.get_legend().legend_handles]
    assert f"up (n = {n_up})" in labels and f"down (n = {n_down})" in labels
    colours = {tuple(np.round(c.get_facecolor()[0][:3], 3)) for c in ax.collections if len(c.get_offsets())}
    assert len(colours) == 3  # up, down and not significant differ
    # the dashed q line sits at the largest significant p-value
    hline = [ln for ln in ax.lines if ln.get_linestyle() == "--"]
    assert hline and hline[0].get_ydata()[0] == pytest.approx(-np.log10(t.loc[sig, "p_value"].max()))


def test_pvalue_histogram_counts_every_pvalue():
    t = _de_table()
    fig = plots_de.pvalue_histogram(t)
    heights = [p.get_height() for p in fig.axes[0].patches]
    assert len(heights) == 20 and sum(heights) == len(t)


def test_figures_are_byte_identical_across_calls(tmp_path):
    t = _de_table()
    rng = np.random.default_rng(1)
    frame = pd.DataFrame(rng.normal(20, 1, (12, 8)), index=[f"s{i}" for i in range(12)],
                         columns=[f"P{j}" for j in range(8)])
    frame.iloc[0, 0] = np.nan
    groups = ["a"] * 6 + ["b"] * 6
    makers = {"volcano": lambda: plots_de.volcano(t), "ma": lambda: plots_de.ma_plot(t),
              "heat": lambda: plots_de.clustered_heatmap(frame, list(frame.columns), groups),
              "corr": lambda: plots_de.correlation_heatmap(frame, groups, min_shared=3),
              "miss": lambda: plots_de.missingness_vs_intensity(frame),
              "box": lambda: plots_de.panel_boxplots(frame.iloc[:, :4], list(frame.columns[:4]), groups)}
    for name, make in makers.items():
        digests = []
        for k in range(2):
            paths = plots.save_figure(make(), tmp_path / f"{name}{k}")
            digests.append([hashlib.sha256(p.read_bytes()).hexdigest() for p in paths])
        assert digests[0] == digests[1], name


def test_missingness_trend_is_computed_from_the_data():
    """Low-intensity proteins missing more often: the decile means must fall with intensity."""
    rng = np.random.default_rng(2)
    mean = np.linspace(18, 30, 200)
    X = mean[None, :] + rng.normal(0, 0.5, (40, 200))
    X[rng.random(X.shape) < np.clip((24 - mean) / 8, 0, 1)[None, :]] = np.nan
    fig = plots_de.missingness_vs_intensity(pd.DataFrame(X))
    trend = [ln for ln in fig.axes[0].lines if ln.get_label().startswith("mean per")][0]
    y = trend.get_ydata()
    assert y[0] > 40 and y[-1] == 0 and np.all(np.diff(y) <= 1e-9)


def test_table_integers_and_flags():
    df = pd.DataFrame({"sample": ["a", "b"], "n_proteins": [300.0, np.nan], "median": [1.23456, 2.0],
                       "contamination_flag": [True, False], "in_signature": [True, False]})
    html = table_html(df, sortable=True)
    assert ">300<" in html and "300.000" not in html
    assert '<td class="flag">yes</td>' in html and html.count('class="flag"') == 1  # only the QC flag column
    assert ">1.235<" in html and 'data-v="1.23456"' in html
    assert html.startswith('<table class="sortable"><thead>')
