"""From peptide-spectrum matches (PSMs) to per-run spectral counts per protein group.

Shared by the mzIdentML, pepXML and mzTab (PSM section) readers. Each reader builds a long PSM table with
one row per (PSM, protein accession) and these columns:

``run`` (str), ``psm`` (identifier of the spectrum match, unique within the run), ``sequence`` (stripped
peptide), ``charge`` (int or NaN), ``accession`` (str), ``score`` (float, NaN when absent),
``decoy`` (bool: the file flags this accession/evidence as decoy), ``passed`` (float 1/0, or NaN when the
search engine gave no threshold).

:func:`psms_to_quant` then

1. flags a PSM as decoy when *all* its accessions are decoys (file flag, or an accession starting with one
   of :data:`DECOY_PREFIXES`);
2. filters PSMs: with decoys and a score on every PSM, target-decoy q-values (pyteomics
   ``auxiliary.qvalues``, FDR = decoys / targets above the threshold, formula 1) and ``q ≤ fdr``; otherwise
   the engine's own threshold (``passed``); failing that, no filter, with a logged warning and a note in
   ``QuantTable.meta['warnings']``;
3. infers protein groups by parsimony with razor peptides (:mod:`._inference`) from the accepted target PSMs;
4. with target-decoy scores, applies a *picked* protein FDR (Savitski et al. 2015): each accession is scored
   by its best PSM, a target and its decoy (same accession after the prefix) compete and only the better one
   (the decoy on ties) enters the q-value calculation; groups with no member at ``q ≤ fdr`` are dropped;
5. counts PSMs per (run, razor group).

Output: level ``protein`` (default) with ``intensity`` = ``n_psm`` = number of accepted PSMs (a linear count),
``entity_id`` = ``protein_group``, ``q_value`` = the group's best picked protein q-value (NaN without
decoys), ``src_n_peptides`` distinct peptides in that run. Or level ``psm`` (``level='psm'``): one row per
accepted PSM, ``intensity`` 1.0, its razor group, ``sequence``, ``charge`` and PSM ``q_value``.
"""

from __future__ import annotations

import contextlib
import gzip
import io
import logging
import os
import warnings

import numpy as np
import pandas as pd

from .._text import decode_text
from ..contaminants import contaminant_mask
from ..errors import InputError
from ._inference import infer_protein_groups
from ._values import check_fdr, finish
from .base import peek
from .table import QuantTable

__all__ = ["DECOY_PREFIXES", "psms_to_quant", "PSM_COLUMNS", "read_bytes", "read_text", "scan_xml",
           "warnings_to_log"]

log = logging.getLogger(__name__)

DECOY_PREFIXES = ("DECOY_", "REV_", "rev_", "XXX_")
PSM_COLUMNS = ("run", "psm", "sequence", "charge", "accession", "score", "decoy", "passed")


@contextlib.contextmanager
def warnings_to_log(path):
    """Turn Python warnings raised inside the block (pyteomics/pandas notices) into log records, once each,
    so library code never writes to stderr itself."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield
    for msg in dict.fromkeys(str(w.message) for w in caught):
        log.info("%s: %s", path, msg)


def read_bytes(path) -> bytes:
    """Whole file as bytes, un-gzipped, with InputErrors for missing, empty, or broken gzip files."""
    p = peek(path)  # raises the standard errors (not found, directory, empty, bad gzip, .gz not gzip)
    try:
        if p.gzipped:
            return _gunzip_bounded(path)
        with open(path, "rb") as fh:
            return fh.read()
    except (OSError, EOFError) as exc:
        raise InputError(f"corrupt or truncated gzip file ({exc})", path=path,
                         hint="re-export or re-compress it") from None


#: a gzip that decompresses to more than this many times its size (and past 64 MiB) is refused (a gzip bomb);
#: real exports compress 5–30×
MAX_GZIP_RATIO = 200


def _gunzip_bounded(path) -> bytes:
    limit = max(64 * 2**20, MAX_GZIP_RATIO * os.stat(path).st_size)
    chunks, total = [], 0
    with gzip.open(path, "rb") as fh:
        while block := fh.read(1 << 22):
            total += len(block)
            if total > limit:
                raise InputError(f"decompresses to more than {MAX_GZIP_RATIO}× its size (a gzip bomb?)", path=path,
                                 hint="give the uncompressed export or a normally compressed file")
            chunks.append(block)
    return b"".join(chunks)


def read_text(path) -> str:
    """Whole file as text (:func:`proteomics._text.decode_text`: UTF-8 or UTF-16, byte-order mark dropped;
    Latin-1 when not UTF-8)."""
    return decode_text(read_bytes(path), path, latin1=True, hint="give the text export")


def _strip_prefix(acc: str, prefixes) -> str:
    for p in prefixes:
        if acc.startswith(p):
            return acc[len(p):]
    return acc


def psms_to_quant(psms: pd.DataFrame, *, path, fmt: str, fdr: float = 0.01, higher_better: bool = True,
                  score_name: str | None = None, threshold_name: str = "engine threshold",
                  decoy_prefixes=DECOY_PREFIXES, level: str = "protein", keep_contaminants: bool = False,
                  meta: dict | None = None) -> QuantTable:
    """Filter, infer and count ``psms`` (long table described in the module docstring) into a QuantTable.

    ``fdr`` is the PSM- and protein-level false discovery rate (default 0.01); ``higher_better`` says how the
    ``score`` column sorts; ``level`` is ``'protein'`` (spectral counts) or ``'psm'``. Groups whose accessions
    are all contaminants (``CON__``, ``contam_``, ``cRAP`` …) are dropped unless ``keep_contaminants=True``
    (then kept with a ``contaminant`` flag).
    """
    meta = dict(meta or {})
    warnings: list[str] = list(meta.pop("warnings", []))
    if level not in ("protein", "psm"):
        raise InputError(f"level must be 'protein' or 'psm', got {level!r}", path=path,
                         hint="pass level='protein' for spectral counts")
    fdr = check_fdr(path, fdr)
    df = psms.loc[:, list(PSM_COLUMNS)].copy()
    df = df[df["accession"].notna() & (df["accession"].astype(str) != "")]
    df = df[df["sequence"].notna() & (df["sequence"].astype(str) != "")]
    if df.empty:
        raise InputError(f"no peptide-spectrum matches with a protein accession found in this {fmt} file",
                         path=path, hint="export the search results with PSMs and protein references")
    df["accession"] = df["accession"].astype(str)
    df["run"] = df["run"].astype(str)
    df["psm"] = df["psm"].astype(str)
    prefixes = tuple(decoy_prefixes)
    df["decoy"] = df["decoy"].fillna(False).astype(bool) | df["accession"].str.startswith(prefixes)

    key = ["run", "psm", "sequence"]
    grouped = df.groupby(key, sort=False)
    p = grouped.agg(charge=("charge", "first"), score=("score", "max" if higher_better else "min"),
                    passed=("passed", "max"), decoy=("decoy", "all")).reset_index()
    n_total = len(p)
    has_decoys = bool(p["decoy"].any())
    scored = bool(p["score"].notna().all())
    p["q_value"] = np.nan
    if has_decoys and scored:
        p["q_value"] = _qvalues(p, higher_better)
        accepted = p[(p["q_value"] <= fdr) & ~p["decoy"]]
        psm_filter = f"target-decoy PSM q-value <= {fdr:g} (score {score_name or 'score'})"
    elif p["passed"].notna().any():
        accepted = p[(p["passed"].fillna(0) > 0) & ~p["decoy"]]
        psm_filter = threshold_name
        if has_decoys:
            warnings.append("decoys present but not every PSM has a score: used the search engine's own "
                            f"threshold ({threshold_name}) instead of target-decoy q-values")
    else:
        accepted = p[~p["decoy"]]
        psm_filter = "none"
        warnings.append("no decoys and no search-engine threshold: PSMs were not filtered")
    for w in warnings:
        log.warning("%s: %s", path, w)
    if accepted.empty:
        raise InputError(f"no PSM passes the filter ({psm_filter})", path=path,
                         hint="check the file holds target identifications, or raise fdr")

    # inference on target accessions of accepted PSMs
    acc_edges = df.merge(accepted[key], on=key)
    acc_edges = acc_edges[~acc_edges["decoy"]]
    inf = infer_protein_groups(acc_edges["sequence"].to_numpy(), acc_edges["accession"].to_numpy())
    accepted = accepted.assign(protein_group=accepted["sequence"].map(inf.razor))
    accepted = accepted[accepted["protein_group"].notna()]

    group_q = pd.Series(np.nan, index=inf.groups["protein_group"])
    protein_filter = "none"
    if has_decoys and scored:
        prot_q = _picked_protein_q(df, p, prefixes, higher_better)
        members = inf.groups[["protein_group"]].assign(acc=inf.groups["protein_group"].str.split(";"))
        members = members.explode("acc")
        group_q = members.assign(q=members["acc"].map(prot_q)).groupby("protein_group")["q"].min()
        ok = group_q[group_q <= fdr].index
        accepted = accepted[accepted["protein_group"].isin(ok)]
        protein_filter = f"picked protein q-value <= {fdr:g}"
        if accepted.empty:
            raise InputError(f"no protein group passes the picked protein FDR of {fdr:g}", path=path,
                             hint="raise fdr or check the decoy prefix")

    contam = contaminant_mask(accepted["protein_group"])
    n_contam = int(accepted.loc[contam, "protein_group"].nunique())
    if keep_contaminants:
        accepted = accepted.assign(contaminant=contam)
    else:
        accepted = accepted[~contam]
        if accepted.empty:
            raise InputError("only contaminant proteins pass the filters", path=path,
                             hint="pass keep_contaminants=True to keep them")
    meta.update({"n_contaminant_groups": n_contam, "psm_filter": psm_filter, "protein_filter": protein_filter, "fdr": float(fdr),
                 "n_psms_total": int(n_total), "n_decoy_psms": int(p["decoy"].sum()),
                 "n_psms_accepted": int(len(accepted)),
                 "n_protein_groups": int(accepted["protein_group"].nunique()),
                 "inference": "parsimony (minimal set cover) with razor peptides",
                 "quantity": "spectral count (accepted PSMs per run and protein group, linear)"})
    if warnings:
        meta["warnings"] = warnings
    if level == "psm":
        out = pd.DataFrame({
            "run": accepted["run"].to_numpy(), "level": "psm",
            "entity_id": (accepted["run"] + "|" + accepted["psm"] + "|" + accepted["sequence"]).to_numpy(),
            "protein_group": accepted["protein_group"].to_numpy(), "intensity": 1.0,
            "sequence": accepted["sequence"].to_numpy(),
            "charge": pd.to_numeric(accepted["charge"], errors="coerce").to_numpy(dtype=float),
            "q_value": accepted["q_value"].to_numpy(dtype=float), "n_psm": 1})
        if keep_contaminants:
            out["contaminant"] = accepted["contaminant"].to_numpy(dtype=bool)
    else:
        counts = accepted.groupby(["run", "protein_group"], sort=False).agg(
            n_psm=("psm", "size"), src_n_peptides=("sequence", "nunique")).reset_index()
        out = pd.DataFrame({
            "run": counts["run"], "level": "protein", "entity_id": counts["protein_group"],
            "protein_group": counts["protein_group"], "intensity": counts["n_psm"].astype(float),
            "q_value": counts["protein_group"].map(group_q).astype(float),
            "n_psm": counts["n_psm"].astype(int), "src_n_peptides": counts["src_n_peptides"].astype(int)})
        if keep_contaminants:
            out["contaminant"] = contaminant_mask(out["protein_group"])
    return finish(_order(out), level=level, fmt=fmt, path=path, meta=meta)


def _order(out: pd.DataFrame) -> pd.DataFrame:
    """Runs in first-seen order, then protein_group/entity_id alphabetically (deterministic)."""
    run_order = {r: i for i, r in enumerate(pd.unique(out["run"]))}
    out = out.assign(_r=out["run"].map(run_order))
    out = out.sort_values(["_r", "protein_group", "entity_id"], kind="stable").drop(columns="_r")
    return out.reset_index(drop=True)


def _qvalues(p: pd.DataFrame, higher_better: bool) -> np.ndarray:
    """Target-decoy q-values in row order of ``p`` (columns ``score``, ``decoy``), by pyteomics
    ``auxiliary.qvalues`` with formula 1: q = min over thresholds at or below the score of #decoy / #target."""
    from pyteomics import auxiliary as aux

    n = len(p)
    rec = np.rec.fromarrays([np.arange(n), p["score"].to_numpy(dtype=float), p["decoy"].to_numpy(dtype=bool)],
                            names=["i", "score", "decoy"])
    res = aux.qvalues(rec, key="score", is_decoy="decoy", reverse=higher_better, formula=1, full_output=True)
    q = np.empty(n, dtype=float)
    q[res["i"]] = res["q"]
    return q


def _picked_protein_q(df: pd.DataFrame, p: pd.DataFrame, prefixes, higher_better: bool) -> pd.Series:
    """Picked protein FDR: q-value per target accession (index) from best-PSM protein scores."""
    key = ["run", "psm", "sequence"]
    scored = df.drop(columns=["score"]).merge(p[key + ["score"]], on=key)
    agg = "max" if higher_better else "min"
    prot = scored.groupby("accession")["score"].agg(agg).to_frame()
    prot["decoy"] = scored.groupby("accession")["decoy"].all()
    prot["pair"] = [_strip_prefix(a, prefixes) if d else a for a, d in zip(prot.index, prot["decoy"], strict=True)]
    sign = -1.0 if higher_better else 1.0
    # within a pair keep the better; decoy first on ties (conservative)
    prot = prot.assign(_s=sign * prot["score"], _t=~prot["decoy"]).sort_values(["pair", "_s", "_t"], kind="stable")
    picked = prot[~prot["pair"].duplicated()]
    q = _qvalues(picked, higher_better)
    return pd.Series(q, index=picked.index)[~picked["decoy"].to_numpy()]


def scan_xml(path, root: str, fmt: str, *, collect: str | None = None, count: str | None = None):
    """Check that ``path`` is well-formed XML whose root element is ``root`` (streaming, lxml).

    Returns ``(data, runs)``: the un-gzipped bytes, and for every ``collect`` element (in document order) a
    tuple ``(attributes dict, number of <count> elements inside it)``. Errors are InputErrors with the line.
    """
    from lxml import etree

    data = read_bytes(path)
    runs: list[list] = []
    depth_stack: list[bool] = []
    seen_root = False
    try:
        for event, el in etree.iterparse(io.BytesIO(data), events=("start", "end"), huge_tree=True,
                                         resolve_entities=False, no_network=True):
            name = etree.QName(el).localname if isinstance(el.tag, str) else ""
            if event == "start":
                if not seen_root:
                    seen_root = True
                    if name != root:
                        raise InputError(f"root element is <{name}>, not <{root}>: not a {fmt} file",
                                         path=path, line=el.sourceline,
                                         hint=f"give a {fmt} file (root <{root}>) or choose the right --format")
                if collect and name == collect:
                    runs.append([dict(el.attrib), 0])
                elif count and name == count and runs:
                    runs[-1][1] += 1
                depth_stack.append(True)
            else:
                depth_stack.pop()
                if depth_stack:  # keep memory bounded: drop finished subtrees (root stays)
                    el.clear(keep_tail=False)
    except etree.XMLSyntaxError as exc:
        line = exc.lineno if exc.lineno and exc.lineno > 0 else None
        raise InputError(f"XML is not well-formed ({exc.msg})", path=path, line=line,
                         column=(exc.position[1] if line and exc.position else None),
                         hint="the file may be truncated or edited; re-export it") from None
    if not seen_root:
        raise InputError("no XML elements found", path=path, line=1, hint=f"give a {fmt} file")
    return data, [tuple(r) for r in runs]
