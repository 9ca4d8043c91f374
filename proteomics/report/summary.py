"""The report's opening summary (what ran, what was found, what to check) and path hygiene: the report shows
paths relative to the config file, never an absolute machine path."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from ..signature import permutation_p_text
from .calibration import calibration_summary
from .de_section import annotate
from .plots_de import display_names

__all__ = ["summary_lists", "relative_paths", "relpath"]

_ABS = re.compile(r"(?<![\w.~/-])(/(?:[^\s/<>\"',;:()\[\]{}=]+/)*[^\s/<>\"',;:()\[\]{}=]+)")


def relpath(path: str | os.PathLike, base: str | os.PathLike | None) -> str:
    """``path`` relative to folder ``base`` (POSIX separators); the bare file name when that fails."""
    p = Path(path)
    if not p.is_absolute():
        return p.as_posix()
    if base is None:
        return p.name
    try:
        return Path(os.path.relpath(p, Path(base).resolve())).as_posix()
    except ValueError:  # another drive (Windows)
        return p.name


def relative_paths(obj: Any, base: str | os.PathLike | None, skip: Sequence[str] = ("png",)) -> Any:
    """A copy of ``obj`` (dicts, lists, strings) in which every absolute path inside a string is replaced by
    its path relative to ``base`` (the config's folder). Keys in ``skip`` (embedded figures) are left alone."""
    if isinstance(obj, str):
        return _ABS.sub(lambda m: relpath(m.group(1), base) if m.group(1).count("/") >= 2 else m.group(1), obj)
    if isinstance(obj, Mapping):
        return {k: (v if k in skip else relative_paths(v, base, skip)) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return type(obj)(relative_paths(v, base, skip) for v in obj)
    return obj


def _genes(table: pd.DataFrame, n: int) -> str:
    top = table.sort_values("p_value", kind="stable").head(n)
    return ", ".join(display_names(top).tolist())


def summary_lists(*, ran: Mapping[str, Any], raw, clean, de_results, panel_result, level: str, source_format: str,
                  warnings: Sequence[str], base) -> dict[str, list[str]]:
    """Three short lists for the top of the report: what ran, what was found, what to check. ``ran`` is the run
    configuration as a plain dict (``RunConfig.echo()``); ``base`` the config's folder (paths are shown relative
    to it)."""
    inputs, de, pc = ran["inputs"], ran["de"], ran["panel"]
    q = de["q_threshold"]
    did = [f"Input: {relpath(inputs['data'], base)} ({source_format or 'detected format'}, {level} level), sheet "
           f"{relpath(inputs['sheet'], base)}; specimen {ran.get('specimen') or 'all'}; seed {ran['seed']}.",
           f"{raw.n_samples} samples; {raw.n_proteins} protein groups quantified ({ran['quantify']['method']}); "
           f"{clean.n_proteins} kept after filtering and tested for differential abundance."]
    found, check = [], []
    for r in de_results or []:
        t = r.table
        sig = t["q_value"].to_numpy(float) < q
        up = int((sig & (t["log2fc"].to_numpy(float) > 0)).sum())
        did.append(f"Differential abundance: {r.contrast} (moderated t, {de['fdr'].upper()} q-values).")
        if sig.any():
            found.append(f"{r.contrast}: {int(sig.sum())} of {len(t)} proteins at q < {q:g} ({up} up, "
                         f"{int(sig.sum()) - up} down); most significant: "
                         f"{_genes(annotate(t, clean.proteins)[sig], 5)}.")
        else:
            found.append(f"{r.contrast}: no protein at q < {q:g} among {len(t)} tested.")
    cal = calibration_summary(ran) if de_results else None
    if cal is not None and cal["held_05"][0] < cal["held_05"][1]:  # said where the count of hits is read
        held, n = cal["held_05"]
        check.append(f"q-values are nominal: on {n} public ground-truth contrasts this DE method's observed false "
                     f"discovery proportion at q < 0.05 was at most 5 % in {held} (median "
                     f"{100 * cal['median_fdp_05']:.1f} %; Methods). Confirm key proteins before acting on them.")
    if panel_result is not None:
        m, sig = panel_result.metrics, panel_result.signature
        training = getattr(sig, "training", {}) or {}
        did.append(f"Panel: {pc['label']} = {pc['positive']}, at most {pc['max_proteins']} proteins, nested CV "
                   f"{pc['outer_folds']}×{pc['outer_repeats']} outer / {pc['inner_folds']} inner folds, "
                   f"{training.get('n_candidate_proteins', '?')} candidate proteins "
                   f"({training.get('quant_method', ran['quantify']['method'])} roll-up, filtered inside each "
                   "fold).")
        ci = (f" (95% CI {m['auc_ci_low']:.2f}–{m['auc_ci_high']:.2f})" if m.get("auc_ci_low") is not None else "")
        found.append(f"Panel of {len(sig.proteins)} proteins, nested-CV AUC {m['auc']:.3f}{ci}; permutation p "
                     f"{permutation_p_text(m.get('permutation_p'), m.get('n_permutations'))}.")
        thr = dict(sig.thresholds or {})
        if "rule_out" in thr and "rule_in" in thr:
            found.append(f"Risk categories: low below probability {thr['rule_out']['probability']:.3g} (sensitivity "
                         f"target {pc['fixed_sensitivity']:g}), high from {thr['rule_in']['probability']:.3g} "
                         f"(specificity target {pc['fixed_specificity']:g}), intermediate between.")
        n_perm = int(m.get("n_permutations") or 0)
        if n_perm == 0:
            check.append("No label permutations were run: nothing checks the nested CV for leakage (set "
                         "panel.permutations, 3 for a leakage alarm, ≥ 19 for p ≤ 0.05).")
        elif n_perm < 19:
            check.append(f"Only {n_perm} label permutations: enough as a leakage alarm, too few for a permutation "
                         f"p-value (use panel.permutations ≥ 19 for p ≤ 0.05).")
    check.extend(warnings)
    if not check:
        check.append("Nothing flagged. Still look at the QC figures: intensity distributions, PCA by batch and "
                     "the p-value histogram.")
    return {"ran": did, "found": found, "check": check}
