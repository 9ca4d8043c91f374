"""pepXML reader (TPP format; parsed with ``pyteomics.pepxml``).

Output: spectral counts per protein group per run (level ``protein``; or ``level='psm'``), see
:mod:`._psm` for the filter → inference → count steps. What is taken from the file:

- PSMs: the ``search_hit`` of ``hit_rank`` 1 of every ``spectrum_query``;
- run: the ``msms_run_summary`` holding the query: the last component of its ``base_name`` (without the
  ``raw_data`` extension when present);
- proteins: ``protein`` and every ``alternative_protein``; decoys by accession prefix (``DECOY_``, ``REV_``,
  ``rev_``, ``XXX_``, option ``decoy_prefixes``);
- score: the iProphet probability, else the PeptideProphet probability (higher is better), else the
  ``search_score`` named by option ``score``, else the first of ``expect`` (lower is better), ``hyperscore``,
  ``xcorr``, ``ionscore``;
- filter: target-decoy q-values when decoys are present and every PSM has the score; else the
  (i/Peptide)Prophet probability ``>= min_probability`` (default 0.9) when probabilities are present (a
  PSM without one fails); else none (warned).
"""

from __future__ import annotations

import io
import re

import numpy as np
import pandas as pd

from ..errors import InputError
from . import _psm
from ._values import check_fdr, check_options
from .base import Peek
from .table import QuantTable

__all__ = ["read_pepxml", "sniff_pepxml"]

_SEARCH_SCORES = (("expect", False), ("hyperscore", True), ("xcorr", True), ("ionscore", True))


def sniff_pepxml(p: Peek) -> float:
    """1.0 for XML whose root element is ``<msms_pipeline_analysis>``."""
    return 1.0 if "<msms_pipeline_analysis" in p.text[:8192] else 0.0


def read_pepxml(path, *, fdr: float = 0.01, score: str | None = None, higher_better: bool | None = None,
                min_probability: float = 0.9, level: str = "protein", decoy_prefixes=_psm.DECOY_PREFIXES,
                keep_contaminants: bool = False, **options) -> QuantTable:
    """Read a pepXML file (optionally gzipped) into spectral counts (see module docstring)."""
    from pyteomics import pepxml

    check_options(path, options)
    fdr = check_fdr(path, fdr)
    data, summaries = _psm.scan_xml(path, "msms_pipeline_analysis", "pepXML", collect="msms_run_summary",
                                    count="spectrum_query")
    run_of_query = []
    for attrs, n in summaries:
        run_of_query.extend([_run_name(attrs)] * n)
    rows: list[tuple] = []
    with _psm.warnings_to_log(path):
        try:
            for i, sq in enumerate(pepxml.read(io.BytesIO(data), read_schema=False, use_index=False)):
                run = run_of_query[i] if i < len(run_of_query) else "run"
                spec = str(sq.get("spectrum", sq.get("index", i)))
                for hit in sq.get("search_hit", []) or []:
                    if int(hit.get("hit_rank", 1) or 1) != 1:
                        continue
                    prob = _probability(hit)
                    scores = {k: float(v) for k, v in (hit.get("search_score") or {}).items()
                              if isinstance(v, int | float)}
                    for prot in hit.get("proteins", []) or []:
                        rows.append((run, spec, hit.get("peptide"), sq.get("assumed_charge"), prot.get("protein"),
                                     prob, scores))
        except Exception as exc:  # pyteomics raises many types on structurally wrong files
            raise InputError(f"cannot read pepXML ({type(exc).__name__}: {exc})", path=path,
                             hint="check the file is a complete pepXML export") from None
    if not rows:
        raise InputError("no search_hit with a protein found in any spectrum_query", path=path,
                         hint="give a pepXML file holding search results")
    probs = np.array([np.nan if r[5] is None else r[5] for r in rows], dtype=float)
    has_prob = bool(np.isfinite(probs).any())
    if score is None and has_prob:
        score_name, higher, values = "probability", True, probs
    else:
        score_name, higher = _choose(rows, score, higher_better, path)
        values = np.array([r[6].get(score_name, np.nan) if score_name else np.nan for r in rows], dtype=float)
    passed = np.where(np.isfinite(probs), (probs >= min_probability).astype(float), 0.0) if has_prob \
        else np.full(len(rows), np.nan)
    psms = pd.DataFrame({
        "run": [r[0] for r in rows], "psm": [r[1] for r in rows], "sequence": [r[2] for r in rows],
        "charge": pd.to_numeric(pd.Series([r[3] for r in rows], dtype=object), errors="coerce"),
        "accession": [r[4] for r in rows], "score": values, "decoy": False, "passed": passed})
    return _psm.psms_to_quant(psms, path=path, fmt="pepxml", fdr=fdr, higher_better=higher,
                              score_name=score_name, threshold_name=f"(i/Peptide)Prophet probability >= "
                              f"{min_probability:g}", decoy_prefixes=decoy_prefixes, level=level,
                              keep_contaminants=keep_contaminants,
                              meta={"score": score_name, "score_higher_is_better": higher})


def _run_name(attrs: dict) -> str:
    """Last path component of ``base_name`` (POSIX or Windows separators), minus the ``raw_data`` extension
    or a trailing ``.gz``/``.pep.xml`` when present (TPP writes ``base_name`` without an extension)."""
    name = re.split(r"[\\/]", str(attrs.get("base_name", "") or "").strip().rstrip("\\/"))[-1]
    for suffix in (".gz", str(attrs.get("raw_data", "") or ""), ".pep.xml", ".pepXML"):
        if suffix and name.lower().endswith(suffix.lower()) and len(name) > len(suffix):
            name = name[: -len(suffix)]
    return name or "run"


def _probability(hit: dict) -> float | None:
    """iProphet probability if present, else PeptideProphet probability, else None."""
    found = {}
    for res in hit.get("analysis_result", []) or []:
        for k in ("interprophet_result", "peptideprophet_result"):
            if k in res and "probability" in res[k]:
                found[k] = float(res[k]["probability"])
    return found.get("interprophet_result", found.get("peptideprophet_result"))


def _choose(rows, score, higher_better, path):
    present = set()
    for r in rows:
        present.update(r[6])
    if score is not None:
        if score not in present:
            raise InputError(f"search_score {score!r} not found", path=path,
                             hint=f"choose one of {sorted(present) or 'none (no search_score elements)'}")
        hb = dict(_SEARCH_SCORES).get(score, True) if higher_better is None else higher_better
        return score, bool(hb)
    for name, hb in _SEARCH_SCORES:
        if name in present:
            return name, hb if higher_better is None else bool(higher_better)
    return None, True
