"""The differential-abundance section of the run report: per contrast a volcano, a p-value histogram and an MA
plot; one clustered heatmap of the significant proteins; and the full, searchable, sortable DE table (every
tested protein, gene names, q-values) linked to its TSV."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from . import plots_de
from .html import table_html

__all__ = ["de_section", "annotate", "safe_stem"]

#: columns of the report's DE table, in order (those present)
DE_COLUMNS = ("protein_group", "gene", "description", "log2fc", "ci_low", "ci_high", "ave_expr", "t", "p_value",
              "q_value", "n_obs")


def safe_stem(contrast: str) -> str:
    """A contrast name made safe as a file name or HTML id (non-alphanumerics → ``_``)."""
    return "".join(ch if ch.isalnum() else "_" for ch in contrast)


def annotate(table: pd.DataFrame, proteins: pd.DataFrame | None) -> pd.DataFrame:
    """The DE table with ``gene``/``description`` from the protein annotation when it lacks them."""
    t = table.copy()
    if proteins is not None:
        for col in ("gene", "description"):
            if col not in t.columns and col in proteins.columns:
                t[col] = proteins[col].reindex(t["protein_group"].astype(str)).astype(object).to_numpy()
    return t


def de_section(results: Sequence, figdir: Path, save, *, q: float, fc: float = 1.0,
               values: pd.DataFrame | None = None, groups: Sequence[str] | None = None,
               proteins: pd.DataFrame | None = None, files: dict[str, str] | None = None) -> dict:
    """Figures and tables of the DE section.

    ``results``: DEResult objects; ``save(fig, figdir, stem, title, caption)`` writes a figure and returns its
    report entry; ``values``: samples × proteins log2 frame (normalised, not imputed) for the heatmap;
    ``groups``: each sample's group; ``files``: contrast → the TSV path relative to the report."""
    figs, tables, kpis = [], [], []
    files = files or {}
    sig_union: dict[str, float] = {}
    for r in results:
        t = annotate(r.table, proteins)
        qv = t["q_value"].to_numpy(float)
        sig = qv < q
        up = int((sig & (t["log2fc"].to_numpy(float) > 0)).sum())
        kpis.append({"label": f"{r.contrast}: q < {q:g} (up / down)", "value": f"{int(sig.sum())} ({up} / "
                                                                             f"{int(sig.sum()) - up})"})
        stem = safe_stem(r.contrast)
        figs.append(save(plots_de.volcano(t, q=q, fc=fc, title=f"Volcano: {r.contrast}"), figdir,
                         f"de_volcano_{stem}", f"Volcano plot, {r.contrast}",
                         f"Red: up, blue: down (q < {q:g}); dotted lines: fold change ±{2 ** fc:g}× "
                         f"(log2 ±{fc:g}); dashed line: the p-value at which q reaches {q:g}. The most significant "
                         f"proteins are labelled by gene."))
        figs.append(save(plots_de.pvalue_histogram(t, title=f"p-values: {r.contrast}"), figdir,
                         f"de_pvalues_{stem}", f"p-value histogram, {r.contrast}",
                         "Flat at the dashed line where proteins do not change; a peak near 0 is the signal. A peak "
                         "near 1 or a hump in the middle points to a mis-specified model."))
        figs.append(save(plots_de.ma_plot(t, q=q, fc=fc, title=f"MA plot: {r.contrast}"), figdir,
                         f"de_ma_{stem}", f"MA plot, {r.contrast}",
                         "Fold change against mean abundance: changes should not depend on abundance."))
        for pg, qq in zip(t["protein_group"].astype(str), qv, strict=True):
            if qq < q:
                sig_union[pg] = min(qq, sig_union.get(pg, 1.0))
        cols = [c for c in DE_COLUMNS if c in t.columns]
        full = t.sort_values(["p_value", "protein_group"], kind="stable", na_position="last")[cols]
        tables.append({"title": f"All proteins, {r.contrast}", "n_rows": len(full),
                       "html": table_html(full, max_rows=None, sortable=True, table_id=f"de_{stem}",
                                          highlight=("q_value", q)),
                       "search": f"de_{stem}", "file": files.get(r.contrast), "scroll": True})
    if values is not None and sig_union:
        keep = [p for p in sorted(sig_union, key=lambda p: (sig_union[p], p)) if p in values.columns][:60]
        if len(keep) >= 2:
            ann = annotate(pd.DataFrame({"protein_group": keep}), proteins)
            names = plots_de.display_names(ann).tolist()
            figs.append(save(plots_de.clustered_heatmap(values[keep], names, groups), figdir,
                             "de_heatmap_significant", "Heatmap of the significant proteins",
                             f"{len(keep)} proteins with q < {q:g} (the 60 most significant at most), z-scored "
                             "per protein; proteins and samples ordered by average-linkage clustering; grey = "
                             "missing; the strip on top gives each sample's group."))
    n_tested = int(np.max([len(r.table) for r in results])) if results else 0
    return {"id": "de", "title": "Differential abundance", "kpis": kpis, "figures": figs, "tables": tables,
            "intro": f"Moderated t statistics per protein (limma-style empirical Bayes), or the detection-aware model, "
                     f"on {n_tested} proteins; proteins seen in one group only are tested for differential detection "
                     "(column test) and have no fold change, so they are not in the volcano plot. "
                     "Click a column header to sort, type in the box to filter; the TSV holds the same table."}
