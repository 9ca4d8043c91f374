"""Small inline-SVG plots for the result and history pages (coordinates computed here, drawn by templates).

No JavaScript, no inline style (the Content-Security-Policy forbids it): the templates draw lines, rectangles
and circles from the numbers below. Units: protein values are log2 intensities after the signature's stored
preprocessing; probabilities are in [0, 1].
"""

from __future__ import annotations

from typing import Any

__all__ = ["protein_strip", "history_plot"]

W, H = 320, 36


def protein_strip(p: dict[str, Any]) -> dict[str, Any] | None:
    """One panel protein: training min–max line, mean ± SD box, mean tick, the patient's value as a dot."""
    pts = [v for v in (p.get("min"), p.get("max"), p.get("value")) if v is not None]
    if p.get("mean") is not None and p.get("sd") is not None:
        pts += [p["mean"] - p["sd"], p["mean"] + p["sd"]]
    if len(pts) < 2:
        return None
    lo, hi = min(pts), max(pts)
    pad = (hi - lo) * 0.08 or 1.0
    lo, hi = lo - pad, hi + pad

    def x(v):
        return round(10 + (W - 20) * (v - lo) / (hi - lo), 1)

    out: dict[str, Any] = {"w": W, "h": H, "lo": round(lo, 2), "hi": round(hi, 2)}
    if p.get("min") is not None and p.get("max") is not None:
        out["range"] = (x(p["min"]), x(p["max"]))
    if p.get("mean") is not None:
        out["mean"] = x(p["mean"])
        if p.get("sd") is not None:
            a, b = x(p["mean"] - p["sd"]), x(p["mean"] + p["sd"])
            out["box"] = (a, round(b - a, 1))
    if p.get("value") is not None:
        out["value"] = x(p["value"])
        inside = p.get("min") is None or (p["min"] <= p["value"] <= p["max"])
        out["outside"] = not inside
    return out


def history_plot(points: list[dict[str, Any]], thresholds: list[float]) -> dict[str, Any] | None:
    """Probability (with interval) of each earlier result over time; None with fewer than two results."""
    pts = [p for p in points if p.get("probability") is not None]
    if len(pts) < 2:
        return None
    w, h, left, top, bottom = 520, 200, 40, 10, 30
    n = len(pts)

    def y(v):
        return round(top + (h - top - bottom) * (1 - v), 1)

    def x(i):
        return round(left + 10 + (w - left - 80) * (i / (n - 1)), 1)

    marks = []
    for i, p in enumerate(pts):
        lo = p.get("prob_low") if p.get("prob_low") is not None else p["probability"]
        hi = p.get("prob_high") if p.get("prob_high") is not None else p["probability"]
        marks.append({"x": x(i), "y": y(p["probability"]), "ylo": y(lo), "yhi": y(hi), "label": p["label"]})
    line = " ".join(f"{m['x']},{m['y']}" for m in marks)
    return {"w": w, "h": h, "marks": marks, "line": line, "left": left, "bottom": h - bottom,
            "ticks": [{"v": v, "y": y(v)} for v in (0.0, 0.25, 0.5, 0.75, 1.0)],
            "thresholds": [{"v": round(t, 3), "y": y(t)} for t in thresholds]}
