"""SDRF-Proteomics files mapped onto the sheet columns (``run, sample, subject, specimen, condition`` …)."""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence

from ..errors import InputError
from .columns import close_names, is_missing
from .runs import run_stem
from .specimens import norm_key, specimen_from_sdrf

__all__ = ["sdrf_key", "is_sdrf", "from_sdrf"]

log = logging.getLogger(__name__)


def sdrf_key(name: str) -> str:
    """Canonical SDRF column key: lower case, single spaces, no spaces around the brackets."""
    key = re.sub(r"\s+", " ", name.strip().lower())
    return re.sub(r"\s*\[\s*", "[", re.sub(r"\s*\]", "]", key))


def is_sdrf(header: Sequence[str]) -> bool:
    """True when the header is SDRF-Proteomics (``source name`` plus ``comment[...]``/``characteristics[...]``)."""
    keys = {sdrf_key(h) for h in header}
    return "source name" in keys and any(k.startswith(("comment[", "characteristics[")) for k in keys)


def from_sdrf(header: list[str], rows: list[list[str]], lines: list[int], path: str):
    """Map SDRF columns onto sheet columns.

    - ``run`` ← ``comment[data file]``. Isobaric (multiplexed) files, where several rows share one data
      file with different ``comment[label]``, get ``run = <data file stem>_<label>`` and keep the
      file name in the covariate ``data file``.
    - ``sample`` ← ``source name``; when a source name occurs on several rows (technical replicates,
      fractions, channels) the rows get ``<source name>_rep<technical replicate>``, ``_frac<fraction>``
      and/or ``_<label>`` suffixes for the parts that differ, or ``_<run stem>`` if that is still not unique.
    - ``subject`` ← ``characteristics[individual]`` when available, else ``source name``.
    - ``specimen`` ← ``characteristics[organism part]`` / ``[specimen]`` / ``[sample type]`` /
      ``[tissue]`` mapped onto the vocabulary (plasma, serum, BAL, sputum, any tissue/tumour → tissue);
      anything else becomes ``other`` with a logged warning.
    - ``condition`` ← the first ``factor value[...]`` with more than one level (the first one if none varies).
    - ``batch`` ← ``characteristics[batch]`` or ``comment[batch]`` when present.
    - covariates: every other ``characteristics[x]`` (named ``x``), ``comment[technical replicate]``,
      ``comment[fraction identifier]`` (as ``fraction``), ``comment[label]`` and the other factor values,
      except columns that are entirely "not available"/"not applicable"/empty.
    """
    keys = [sdrf_key(h) for h in header]
    first: dict[str, int] = {}
    for i, k in enumerate(keys):
        first.setdefault(k, i)
    if "comment[data file]" not in first:
        close = close_names("comment[data file]", header)
        raise InputError("SDRF has no 'comment[data file]' column" + (f" (close: {close})" if close else ""),
                         path=path, line=1, column="comment[data file]",
                         hint="add the raw file name of every row as 'comment[data file]'")

    def col(key: str) -> list[str] | None:
        i = first.get(key)
        return None if i is None else [r[i] for r in rows]

    data_file = col("comment[data file]")
    source = col("source name")
    label = col("comment[label]")
    techrep = col("comment[technical replicate]")
    fraction = col("comment[fraction identifier]")
    src_name = {"run": header[first["comment[data file]"]], "sample": header[first["source name"]]}

    # run
    runs = list(data_file)
    multiplexed = False
    if label is not None and len(set(data_file)) < len(data_file) and len(set(zip(data_file, label, strict=True))) > len(
            set(data_file)):
        runs = [f"{run_stem(f)}_{lab}" for f, lab in zip(data_file, label, strict=True)]
        multiplexed = True
        log.info("%s: multiplexed SDRF: run = '<data file stem>_<label>'", path)
    # sample
    counts: dict[str, list[int]] = {}
    for i, s in enumerate(source):
        counts.setdefault(s, []).append(i)
    samples = list(source)
    for s, idx in counts.items():
        if len(idx) < 2 or not s:
            continue
        parts = {i: [s] for i in idx}
        for values, fmt in ((techrep, "rep{}"), (fraction, "frac{}"), (label, "{}")):
            if values is not None and len({values[i] for i in idx}) > 1:
                for i in idx:
                    parts[i].append(fmt.format(values[i]))
        names = {i: "_".join(parts[i]) for i in idx}
        if len(set(names.values())) < len(idx):
            names = {i: f"{s}_{run_stem(runs[i])}" for i in idx}
        for i in idx:
            samples[i] = names[i]
    # subject
    individual = col("characteristics[individual]")
    subjects = [ind if individual is not None and not is_missing(ind) else s
                for s, ind in zip(source, individual or [""] * len(rows), strict=True)]
    src_name["subject"] = header[first["characteristics[individual]"]] if individual else src_name["sample"]
    # specimen
    spec_key = next((k for k in ("characteristics[specimen]", "characteristics[sample type]",
                                 "characteristics[organism part]", "characteristics[tissue]") if k in first), None)
    raw_spec = col(spec_key) if spec_key else [""] * len(rows)
    material = col("material type") or [""] * len(rows)
    specimens, unknown = [], set()
    for value, mat in zip(raw_spec, material, strict=True):
        mapped = specimen_from_sdrf(value) or (specimen_from_sdrf(mat) if norm_key(mat) == "tissue" else None)
        if mapped is None:
            unknown.add(value)
            mapped = "other"
        specimens.append(mapped)
    if unknown:
        log.warning("%s: specimen type(s) %s are not serum/plasma/BAL/sputum/tissue; recorded as 'other'",
                    path, ", ".join(sorted(repr(u) for u in unknown)))
    src_name["specimen"] = header[first[spec_key]] if spec_key else "characteristics[organism part]"
    # condition
    factors = [k for k in first if k.startswith("factor value[")]
    if not factors:
        raise InputError("SDRF has no 'factor value[...]' column", path=path, line=1, column="factor value[...]",
                         hint="add a factor value column (e.g. 'factor value[disease]') holding each run's group")
    cond_key = next((k for k in factors if len(set(col(k))) > 1), factors[0])
    src_name["condition"] = header[first[cond_key]]
    out = {"run": runs, "sample": samples, "subject": subjects, "specimen": specimens, "condition": col(cond_key)}
    for bkey in ("characteristics[batch]", "comment[batch]"):
        if bkey in first:
            out["batch"] = col(bkey)
            src_name["batch"] = header[first[bkey]]
            break
    # covariates
    used = {"comment[data file]", "source name", cond_key, "characteristics[batch]", "comment[batch]"}
    extra: list[tuple[str, str]] = []
    for k in first:
        if k in used:
            continue
        m = re.fullmatch(r"characteristics\[(.+)\]", k)
        if m:
            extra.append((m.group(1), k))
        elif k == "comment[technical replicate]":
            extra.append(("technical replicate", k))
        elif k == "comment[fraction identifier]":
            extra.append(("fraction", k))
        elif k == "comment[label]":
            extra.append(("label", k))
        elif k.startswith("factor value["):
            extra.append((k, k))
    if multiplexed:
        out["data file"] = data_file
        src_name["data file"] = header[first["comment[data file]"]]
    for name, k in extra:
        values = col(k)
        if all(is_missing(v) for v in values):
            continue
        if name in out:
            name = k
        if name not in out:
            out[name] = values
            src_name[name] = header[first[k]]
    return out, src_name
