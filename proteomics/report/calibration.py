"""How well the chosen DE method's q-values held on ground-truth data: the methods section's calibration figure.

The points come from ``report/data/de_calibration.json``, written by ``bench/de_groundtruth.py
--export-calibration`` from its run over every ground-truth data set in ``../shared/data`` (known mixing ratios:
ProteoBench HYE subsets, UPS1 in Chlamydomonas, E. coli in MCF7 TMT, ...). They are measurements of the method
on those benchmarks, not of this run's data: a run has no truth. Each point is one data set and contrast: the
observed false discovery proportion (false calls / all calls, truth from the mixing design) among proteins with
q below a nominal level.

A method is named by the product settings that define it: ``<normalisation>+<model>+<detection test>``
(``mode+hybrid+model`` is the default), the same key for the bench and the report.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["CALIBRATION_FILE", "SCHEMA_VERSION", "method_key", "load_calibration", "calibration_summary",
           "calibration_plot", "calibration_figures"]

CALIBRATION_FILE = Path(__file__).parent / "data" / "de_calibration.json"
SCHEMA_VERSION = 1


def method_key(normalize: str | None, model: str, detection: str | None) -> str:
    """The calibration key of a DE configuration (``detection`` None means the model's own default)."""
    if detection is None:
        detection = "model" if model == "hybrid" else "none"
    return f"{normalize or 'none'}+{model}+{detection}"


@lru_cache(maxsize=1)
def load_calibration(path: str | None = None) -> dict[str, Any]:
    """The packaged calibration measurements (``{"schema", "measured", "command", "q_grid", "methods"}``)."""
    data = json.loads(Path(path or CALIBRATION_FILE).read_text(encoding="utf-8"))
    if data.get("schema") != SCHEMA_VERSION:
        raise ValueError(f"{path or CALIBRATION_FILE}: calibration schema {data.get('schema')!r}, "
                         f"expected {SCHEMA_VERSION}")
    return data


def calibration_summary(ran: Mapping[str, Any], data: Mapping[str, Any] | None = None) -> dict[str, Any] | None:
    """The measured points of the DE method ``ran`` (the run's config dict) used, or None when not measured.

    Returns ``{"key", "label", "measured", "q_grid", "points": [{"dataset", "contrast", "fdp": {q: value}}],
    "n_sets", "median_fdp_05", "held_05"}``; ``held_05`` counts the data set × contrast points whose observed FDP
    at q < 0.05 was at most 5 % (among points with at least one call).
    """
    data = data if data is not None else load_calibration()
    de = ran.get("de", {})
    norm = (ran.get("preprocess", {}).get("normalize") or {}).get("method")
    key = method_key(norm, de.get("model", "hybrid"), de.get("detection"))
    entry = data.get("methods", {}).get(key)
    if entry is None:
        return None
    at05 = [p["fdp"].get("0.05") for p in entry["points"]]
    at05 = [v for v in at05 if v is not None]
    return {"key": key, "label": entry["label"], "measured": data["measured"], "q_grid": data["q_grid"],
            "points": entry["points"], "n_sets": len({p["dataset"] for p in entry["points"]}),
            "median_fdp_05": float(np.median(at05)) if at05 else None,
            "held_05": (sum(v <= 0.05 for v in at05), len(at05))}


def calibration_plot(summary: Mapping[str, Any]):
    """Nominal q (log scale) against observed FDP, one line per data set × contrast, and the line FDP = q."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.6, 4.6))
    grid = [float(q) for q in summary["q_grid"]]
    for p in summary["points"]:
        ys = [p["fdp"].get(str(q)) for q in summary["q_grid"]]
        xs = [x for x, y in zip(grid, ys, strict=True) if y is not None]
        ys = [y for y in ys if y is not None]
        if xs:
            ax.plot(xs, ys, marker="o", ms=3, lw=1, alpha=0.7, label=f"{p['dataset']} {p['contrast']}")
    ax.plot([grid[0], grid[-1]], [grid[0], grid[-1]], "k--", lw=1.2, label="FDP = q (calibrated)")
    ax.set_xscale("log")
    ax.set_xlabel("nominal q-value threshold")
    ax.set_ylabel("observed false discovery proportion")
    ax.set_ylim(-0.02, 1.02)
    ax.set_title(f"FDR calibration of {summary['label']}", fontsize=10)
    ax.legend(fontsize=5.5, ncol=2, loc="upper left")
    fig.tight_layout()
    return fig


def calibration_figures(ran: Mapping[str, Any], figdir: Path, save) -> tuple[list[dict], str]:
    """The methods section's calibration figure (``save(fig, figdir, stem, title, caption)`` → report entry)
    and its sentence, for the DE method of ``ran`` (the run's config dict)."""
    cal = calibration_summary(ran)
    if cal is None:
        return [], ("No ground-truth calibration has been measured for this combination of normalisation, "
                    "model and detection test; the default's is in bench/README.md.")
    held, n = cal["held_05"]
    med = cal["median_fdp_05"]
    note = (f"FDR calibration of this method, measured on {cal['n_sets']} public ground-truth data sets "
            f"({len(cal['points'])} contrasts with known true changes and true nulls; {cal['measured']}): the "
            f"observed false discovery proportion at q < 0.05 was at most 5 % in {held} of {n} contrasts "
            f"(median {100 * med:.1f} %). On several DIA and TMT spike-in sets every method tested, limma "
            "included, exceeded the nominal level, so treat q-values near the threshold with care.")
    fig = save(calibration_plot(cal), figdir, "methods_fdr_calibration", "FDR calibration on ground-truth data",
                "Nominal q-value threshold against the observed false discovery proportion of this DE method on "
                "public benchmark data sets with known mixing ratios (bench/de_groundtruth.py); points above the "
                "dashed line mean more false calls than the q-value promises. Measured on those data sets, not "
                "on this run.")
    return [fig], note
