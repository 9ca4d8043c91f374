"""Self-contained HTML reports (jinja2): the run report and the printable patient report.

Figures are embedded as base64 PNG, CSS is inline, and nothing is fetched from the network, so the file opens
from disk anywhere.
"""

from __future__ import annotations

import base64
import html as _html
import os
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from jinja2 import Environment, PackageLoader, select_autoescape

from .._files import write_text
from .._version import __version__
from .patient import plain_refusals
from .plots import figure_png_bytes

__all__ = ["render_report", "write_report", "figure_entry", "table_html", "render_patient_report"]


def _env() -> Environment:
    return Environment(loader=PackageLoader("proteomics.report", "templates"),
                       autoescape=select_autoescape(["html", "j2"]), trim_blocks=True, lstrip_blocks=True)


def figure_entry(fig, title: str, caption: str = "") -> dict[str, str]:
    """A figure for a report section (PNG embedded as base64)."""
    return {"title": title, "caption": caption, "png": base64.b64encode(figure_png_bytes(fig)).decode("ascii")}


def _fmt(v) -> str:
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return ""
    if isinstance(v, bool | np.bool_):
        return "yes" if v else "no"
    if isinstance(v, int | np.integer):
        return str(int(v))
    if isinstance(v, float | np.floating):
        a = abs(float(v))
        if a != 0 and (a < 1e-3 or a >= 1e5):
            return f"{float(v):.2e}"
        return f"{float(v):.3f}"
    return str(v)


_FLAG_NAMES = ("outlier", "_flag", "flagged", "refused")


def _is_flag_column(name: str, s: pd.Series) -> bool:
    """QC flags (``*_outlier``, ``*_flag``, ``flagged``, ``refused``): true cells are highlighted."""
    return any(str(name).endswith(f) for f in _FLAG_NAMES)


def _integer_column(s: pd.Series) -> bool:
    """Integer dtype, or floats that are all whole numbers (counts that went through a NaN-able column)."""
    if pd.api.types.is_bool_dtype(s.dtype):
        return False
    if pd.api.types.is_integer_dtype(s.dtype):
        return True
    if pd.api.types.is_float_dtype(s.dtype):
        v = s.to_numpy(float)
        v = v[np.isfinite(v)]
        return bool(len(v)) and bool(np.all(v == np.round(v))) and bool(np.all(np.abs(v) < 2**53))
    return False


def table_html(df: pd.DataFrame, max_rows: int | None = 30, *, sortable: bool = False, table_id: str = "",
               highlight: tuple[str, float] | None = None) -> str:
    """An escaped HTML table: numbers right-aligned (3 decimals; whole-number columns as integers), true flags
    highlighted (``class="flag"``). ``sortable``: headers sort on click (the report's small script), numeric
    cells carry their exact value in ``data-v``. ``highlight=(column, cut)``: rows with column < cut marked."""
    df = df if max_rows is None else df.head(max_rows)
    ints = {c for c in df.columns if _integer_column(df[c])}
    flags = {c for c in df.columns if _is_flag_column(c, df[c])}
    head = "".join(f"<th>{_html.escape(str(c))}</th>" for c in df.columns)
    hi = df[highlight[0]].to_numpy(float) < highlight[1] if highlight and highlight[0] in df.columns else None
    rows = []
    for i, rec in enumerate(df.itertuples(index=False)):
        cells = []
        for col, v in zip(df.columns, rec, strict=True):
            missing = v is None or (isinstance(v, float | np.floating) and np.isnan(v))
            if col in flags and not missing and str(v).lower() in ("true", "1", "yes", "1.0"):
                cells.append('<td class="flag">yes</td>')
                continue
            if col in ints and not missing and not isinstance(v, bool | np.bool_):
                v = int(v)
            num = isinstance(v, int | float | np.integer | np.floating) and not isinstance(v, bool | np.bool_)
            attrs = ' class="num"' if num else ""
            if sortable and num:
                attrs += f' data-v="{"" if missing else repr(float(v))}"'
            cells.append(f"<td{attrs}>{_html.escape(_fmt(v))}</td>")
        cls = ' class="hit"' if hi is not None and hi[i] else ""
        rows.append(f"<tr{cls}>" + "".join(cells) + "</tr>")
    tid = f' id="{_html.escape(table_id)}"' if table_id else ""
    tcls = ' class="sortable"' if sortable else ""
    return f"<table{tid}{tcls}><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def render_report(context: Mapping[str, Any]) -> str:
    """Render the run report. ``context`` keys: title, subtitle, summary (list of {label, value}), warnings,
    sections (list of {id, title, intro, kpis, warnings, figures, tables, notes}), methods, references, inputs
    (list of {role, name, sha256}), versions (dict), steps (list of {name, params}), config_yaml."""
    ctx = {"summary": [], "warnings": [], "sections": [], "references": [], "inputs": [], "versions": {},
           "steps": [], "config_yaml": "", "methods": "", "subtitle": "", "version": __version__,
           "ran": [], "found": [], "check": [], "config_name": ""}
    ctx.update(context)
    for s in ctx["sections"]:
        for key in ("kpis", "warnings", "figures", "tables", "notes"):
            s.setdefault(key, [])
        for t in s["tables"]:
            for key in ("file", "n_rows", "collapsed", "search", "scroll"):
                t.setdefault(key, None)
        s.setdefault("intro", "")
    return _env().get_template("report.html.j2").render(**ctx)


def write_report(path: str | os.PathLike, context: Mapping[str, Any]) -> None:
    """Render the report template with ``context`` and write it to ``path`` atomically."""
    write_text(path, render_report(context))


def _haemolysis(value: Any) -> dict[str, str] | None:
    """The page's sample-quality line from a ``haemolysis`` cell (``"<status>: <detail>"``); None when absent or
    not applicable."""
    text = "" if value is None or (isinstance(value, float) and np.isnan(value)) else str(value)
    status, _, detail = text.partition(": ")
    if not status or status == "not applicable":
        return None
    kind = {"possible haemolysis": "flag", "not flagged": "ok"}.get(status, "unchecked")
    return {"kind": kind, "status": status, "detail": detail}


def render_patient_report(rows: Sequence[Mapping[str, Any]], signature: Mapping[str, Any], *,
                          guide: Mapping[str, Any] | None = None) -> str:
    """One printable page per scored sample. ``rows`` are score-table records (sample, score, probability,
    prob_low, prob_high, category, qc_flags, reasons, reason_codes, haemolysis …); ``signature`` has name,
    version, kind, specimen, intended_use, sha256; ``guide`` is the "How to read this result" section
    (:func:`proteomics.report.patient.reading_guide`). A refused sample's reasons are shown in plain words with
    what to do (:func:`~proteomics.report.patient.plain_refusals`), the technical reason in small print."""
    patients = []
    for r in rows:
        cat = str(r.get("category", "") or "")
        refused = cat == "refused"
        out_rows = []
        for key, label in (("score", "Score"), ("probability", "Probability"), ("cluster", "Subgroup"),
                           ("confidence", "Confidence"), ("qc_flags", "QC flags"), ("warning", "Warning")):
            if key in r and r[key] is not None and str(r[key]) not in ("", "nan"):
                v = r[key]
                if key == "probability" and "prob_low" in r and r.get("prob_low") is not None:
                    v = f"{_fmt(v)} (95% interval {_fmt(r.get('prob_low'))}–{_fmt(r.get('prob_high'))})"
                out_rows.append((label, _fmt(v) if isinstance(v, float) else v))
        if refused:
            headline = "Refused: no result"
        elif "cluster" in r and r.get("cluster") not in (None, ""):
            headline = f"Subgroup {r['cluster']}"
        else:
            headline = f"Risk category: {cat or 'n/a'}"
        codes = r.get("reason_codes")
        patients.append({"sample": r.get("sample", ""), "specimen": r.get("specimen", ""), "refused": refused,
                         "refusals": plain_refusals(str(r.get("reasons", "") or ""),
                                                    "" if codes is None or codes != codes else str(codes))
                         if refused else [],
                         "rows": out_rows, "headline": headline, "haemolysis": _haemolysis(r.get("haemolysis")),
                         "category_class": (cat or "refused").lower().split()[0],
                         "refusal_text": "The input did not meet the conditions under which this signature was "
                                         "validated, so giving a number would be misleading."})
    return _env().get_template("patient.html.j2").render(patients=patients, signature=dict(signature),
                                                         guide=dict(guide or {}),
                                                         title=f"{signature.get('name', 'signature')} patient report",
                                                         version=__version__)
