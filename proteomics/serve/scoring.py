"""Scoring in a worker (process or thread), through the same code as ``proteomics score``.

:func:`score_file` runs in the worker pool, never on the event loop. It writes the signature bytes to a private
temporary folder, calls the CLI's own ``score`` command function on the stored upload (so the service cannot
drift from the CLI: same readers, same quantification, same refusals, same TSV bytes), and returns plain data:
the TSV text, its rows, every refusal reason, and each panel protein's value beside the training distribution
(display only; the score itself comes from the command). Error messages are returned with the stored file's
path replaced by the name the user uploaded, so no internal path reaches a page.
"""

from __future__ import annotations

import asyncio
import math
import multiprocessing
import tempfile
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path
from typing import Any

__all__ = ["score_file", "make_pool", "run_in_pool", "panel_values"]


def _score_command():
    """The function ``proteomics score`` calls (one engine for the CLI and the service)."""
    from ..commands import score_command

    return score_command


def _clean(text: str, replacements: dict[str, str]) -> str:
    for old, new in sorted(replacements.items(), key=lambda kv: -len(kv[0])):
        if old:
            text = text.replace(old, new)
    return text


def _num(x) -> float | None:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def panel_values(sig, input_path: str, specimen: str) -> list[dict[str, Any]]:
    """Each panel protein's value for the (first) sample after the signature's stored preprocessing (log2),
    beside its training mean, SD, minimum and maximum (from the signature), for the result page's plots.

    For a binary logistic model each row also has ``contribution``: the protein's term in the patient's log-odds,
    coefficient × (value − training mean) / training SD (a missing value counts as its fill value); rows are
    sorted by its size, largest first (None for other models, which keep the signature's order)."""
    from ..commands import scoring_dataset
    from ..signature import restore_steps

    model, qc = dict(sig.model), dict(sig.qc)
    mean = list(model.get("scale", {}).get("mean", []))
    sd = list(model.get("scale", {}).get("scale", []))
    lo, hi = list(qc.get("training_min", [])), list(qc.get("training_max", []))
    values: list[float | None] = [None] * len(sig.proteins)
    try:
        ds = scoring_dataset(input_path, sig)
        frame = ds.to_frame()
        steps = restore_steps(sig.steps)
        if steps:
            frame = frame.reindex(columns=list(steps[0].proteins_in_))
            for st in steps:
                frame = st.transform(frame)
        row = frame.reindex(columns=list(sig.proteins)).iloc[0]
        values = [_num(v) for v in row.to_numpy()]
    except Exception:  # noqa: BLE001 - display only; the result itself comes from the score command
        pass
    out = []
    weights = _linear_weights(model, len(sig.proteins))
    fill = list(model.get("fill", {}).get("values", []))
    for j, p in enumerate(sig.proteins):
        def at(seq, j=j):
            return _num(seq[j]) if j < len(seq) else None
        row = {"protein": p, "value": values[j], "mean": at(mean), "sd": at(sd), "min": at(lo), "max": at(hi),
               "contribution": None}
        x = values[j] if values[j] is not None else at(fill)
        if weights is not None and x is not None and row["mean"] is not None and row["sd"]:
            row["contribution"] = _num(weights[j] * (x - row["mean"]) / row["sd"])
        out.append(row)
    # a large (e.g. bagged) panel: the proteins that move this patient's score most come first
    return sorted(out, key=lambda r: -abs(r["contribution"]) if r["contribution"] is not None else 0.0)


def _linear_weights(model: dict, n: int) -> list[float] | None:
    """The coefficients on the standardised panel values of a binary logistic model (log-odds terms), else None
    (an SVM's terms would be of its uncalibrated margin, not of the log-odds)."""
    coef = model.get("coef")
    if not model.get("binary") or model.get("type") != "logistic" or not coef or len(coef[0]) != n:
        return None
    return [float(c) for c in coef[0]]


def score_file(input_path: str, input_name: str, signature_bytes: bytes, specimen: str, work_dir: str,
               trusted_keys: str | None = None) -> dict:
    """Score one stored upload (the caller verified the signature: checksum, schema, signing key, approved
    sha256). Returns ``{"outcome": "ok"|"refused", "tsv", "rows", "reasons", "panel"}``."""
    from ..errors import InputError, ScoringRefused
    from ..signature import Signature

    command = _score_command()
    extra = {"trusted_keys": trusted_keys}  # the command checks the signing key again, against the service's list

    names = {input_path: input_name, str(Path(input_path).parent): "", work_dir: ""}
    with tempfile.TemporaryDirectory(dir=work_dir) as tmp:
        sig_path = Path(tmp) / "signature.json"
        sig_path.write_bytes(signature_bytes)
        out = Path(tmp) / "scores.tsv"
        names.update({str(sig_path): "signature.json", tmp: ""})
        try:
            table, _report = command(input_path, sig_path, out, specimen=specimen, **extra)
        except ScoringRefused as exc:
            return {"outcome": "refused", "tsv": "", "rows": [], "panel": [],
                    "reasons": [_clean(r, names) for r in exc.reasons]}
        except InputError as exc:
            msg = exc.message + (f" (line {exc.line})" if exc.line else "")
            msg += f". Fix: {exc.hint}" if exc.hint else ""
            return {"outcome": "refused", "tsv": "", "rows": [], "panel": [], "reasons": [_clean(msg, names)]}
        tsv = out.read_text(encoding="utf-8")
    rows = [{k: (_num(v) if k in ("score", "probability", "prob_low", "prob_high") else ("" if v != v else v))
             for k, v in rec.items()} for rec in table.to_dict("records")]
    reasons = [r for rec in rows for r in str(rec.get("reasons") or "").split("; ") if r]
    ok = any(rec.get("category") != "refused" for rec in rows)
    sig = Signature.from_bytes(signature_bytes)
    return {"outcome": "ok" if ok else "refused", "tsv": tsv, "rows": rows, "reasons": reasons,
            "panel": panel_values(sig, input_path, specimen) if ok else []}


def make_pool(workers: int) -> Executor:
    """``workers`` spawned processes (CPU-bound scoring in parallel, isolated), or 4 threads when 0."""
    if workers <= 0:
        return ThreadPoolExecutor(max_workers=4, thread_name_prefix="score")
    return ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"))


async def run_in_pool(pool: Executor, *args) -> dict:
    """Await :func:`score_file` in ``pool`` (the event loop stays free)."""
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(pool, score_file, *args)
