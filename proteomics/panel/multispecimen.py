"""Multi-specimen panels: join several specimens of the same patients (e.g. plasma and BAL) by subject.

``join_specimens`` turns one Dataset per specimen (samples × proteins, log2) into one Dataset with a row per
subject measured in EVERY specimen and a column ``"<specimen>:<protein_group>"`` per protein of each specimen.
The joined specimen is named by the specimen names sorted case-insensitively and joined by ``+``
(``"BAL+plasma"``); a panel built on it records that name as its ``specimen`` and the list as ``specimens``,
and ``score_multi`` refuses when one of them is absent.

Caveat: the default panel preprocessing normalises each sample by its median over all its features, i.e. over
both specimens at once; normalise each specimen on its own beforehand (or configure reference-protein
normalisation) when the specimens' loadings differ.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from ..dataset import Dataset, Step
from ..errors import InputError, ScoringRefused
from .score import score

log = logging.getLogger(__name__)

__all__ = ["join_specimens", "joined_specimen_name", "split_feature", "join_for_signature", "score_multi", "SEP",
           "PER_RUN_COLUMNS"]

SEP = ":"
#: sample-table columns that describe one run, not the subject: never checked for conflicts across specimens.
PER_RUN_COLUMNS = ("run", "sample", "specimen", "batch")


def joined_specimen_name(specimens: Sequence[str]) -> str:
    """``"BAL+plasma"``: the names sorted case-insensitively (then exactly), joined by ``+``."""
    return "+".join(sorted({str(s) for s in specimens}, key=lambda s: (s.lower(), s)))


def split_feature(name: str) -> tuple[str, str]:
    """``"BAL:P12345"`` → ``("BAL", "P12345")`` (split at the first ``:``)."""
    spec, sep, prot = str(name).partition(SEP)
    if not sep:
        raise InputError(f"feature {name!r} is not named '<specimen>{SEP}<protein_group>'")
    return spec, prot


def _check_names(datasets: Mapping[str, Dataset]) -> list[str]:
    names = [str(k) for k in datasets]
    if not names:
        raise InputError("no specimen given to join")
    bad = [n for n in names if not n or SEP in n or "+" in n]
    if bad:
        raise InputError(f"invalid specimen name(s) {', '.join(map(repr, bad))}",
                         hint=f"specimen names must be non-empty and contain neither '{SEP}' nor '+'")
    low = [n.lower() for n in names]
    dup = sorted({n for n in names if low.count(n.lower()) > 1})
    if dup:
        raise InputError(f"specimen given more than once: {', '.join(dup)}")
    return names


def _subjects(ds: Dataset, spec: str, by: str) -> pd.Series:
    s = ds.samples
    if by not in s.columns:
        raise InputError(f"the {spec} samples have no {by!r} column, so they cannot be joined by subject",
                         hint=f"add a {by!r} column to the sample sheet")
    sub = s[by]
    empty = sub.isna() | (sub.astype(str).str.strip() == "")
    if empty.any():
        raise InputError(f"{int(empty.sum())} {spec} sample(s) have no {by!r}: "
                         f"{', '.join(sub.index[empty.to_numpy()][:10])}", hint=f"fill the {by!r} column")
    sub = sub.astype(str).str.strip()
    dup = sub[sub.duplicated(keep=False)]
    if len(dup):
        first = dup.iloc[0]
        raise InputError(f"subject {first!r} has several {spec} samples "
                         f"({', '.join(dup.index[(dup == first).to_numpy()])})",
                         hint="keep one sample per subject and specimen (e.g. average technical replicates)")
    return sub


def join_specimens(datasets: Mapping[str, Dataset], by: str = "subject", *,
                   check: Sequence[str] | None = None) -> Dataset:
    """One row per subject measured in every specimen of ``datasets`` (specimen name → Dataset, samples ×
    proteins, log2); columns ``"<specimen>:<protein_group>"`` (log2, in the mapping's order, then each
    dataset's protein order).

    Rows follow the first specimen's sample order; the row id is the subject id. The sample table holds the
    subject-level annotations: the first specimen's row of each subject (gaps filled from the next specimens),
    ``specimen`` set to :func:`joined_specimen_name` and one ``"<specimen>:sample"`` column per specimen with the
    original sample id. Layers present in every specimen are joined the same way (others dropped, logged).
    Subjects missing a specimen are dropped (count logged and recorded in the Step).

    ``check``: annotation columns that must agree across the specimens of a subject (default: every column the
    specimens share except :data:`PER_RUN_COLUMNS`); a conflict is an InputError naming subject and column, as
    is the absence of any common subject.
    """
    names = _check_names(datasets)
    dss = [datasets[k] for k in datasets]
    subs = [_subjects(ds, n, by) for n, ds in zip(names, dss, strict=True)]
    common = set(subs[0])
    for s in subs[1:]:
        common &= set(s)
    order = [x for x in subs[0] if x in common]
    if not order:
        raise InputError(f"no subject has every specimen ({', '.join(names)}): nothing to join",
                         hint=f"the {by!r} values of the specimens' sample sheets must match")
    dropped = {n: int(len(s) - len(order)) for n, s in zip(names, subs, strict=True)}
    n_dropped = len(set().union(*map(set, subs)) - common)
    if n_dropped:
        log.info("join_specimens: %d subject(s) without every specimen (%s) dropped", n_dropped, ", ".join(names))
    # rows of each dataset in the joined subject order
    rows = [pd.Index(s.to_numpy()).get_indexer(order) for s in subs]
    tables = [ds.samples.iloc[r] for ds, r in zip(dss, rows, strict=True)]
    for t in tables:
        t.index = pd.Index(order, name="sample")
    shared = [c for c in tables[0].columns if all(c in t.columns for t in tables[1:])]
    cols = [c for c in shared if c not in PER_RUN_COLUMNS] if check is None else list(check)
    for c in cols:
        if not all(c in t.columns for t in tables):
            continue
        vals = np.column_stack([np.where(t[c].isna().to_numpy(), "", t[c].astype(str).str.strip().to_numpy())
                                for t in tables])
        bad = [i for i, row in enumerate(vals) if len(set(row) - {""}) > 1]
        if bad:
            sub = order[bad[0]]
            seen = ", ".join(f"{n}={v!r}" for n, v in zip(names, vals[bad[0]], strict=True))
            raise InputError(f"subject {sub!r} has conflicting {c!r} across specimens ({seen})"
                             + (f" and {len(bad) - 1} more subject(s)" if len(bad) > 1 else ""),
                             hint=f"correct the sample sheet so each subject has one {c!r}")
    samples = tables[0].copy()
    for t in tables[1:]:
        samples = samples.combine_first(t[[c for c in t.columns if c not in PER_RUN_COLUMNS]])
    samples = samples.reindex(index=order, columns=list(dict.fromkeys(
        list(tables[0].columns) + [c for t in tables[1:] for c in t.columns if c not in PER_RUN_COLUMNS])))
    joined = joined_specimen_name(names)
    samples["specimen"] = joined
    for n, ds, r in zip(names, dss, rows, strict=True):
        samples[f"{n}{SEP}sample"] = np.asarray(ds.sample_ids, dtype=object)[r]
    X = np.hstack([ds.X[r] for ds, r in zip(dss, rows, strict=True)])
    prot_frames = []
    for n, ds in zip(names, dss, strict=True):
        p = ds.proteins
        p.insert(0, "specimen", n)
        p.insert(1, "protein", p.index.astype(str))
        p.index = [f"{n}{SEP}{g}" for g in ds.protein_ids]
        prot_frames.append(p)
    proteins = pd.concat(prot_frames, axis=0, sort=False)
    lay_names = set(dss[0].layers)
    for ds in dss[1:]:
        lay_names &= set(ds.layers)
    lost = sorted(set().union(*(set(ds.layers) for ds in dss)) - lay_names)
    if lost:
        log.info("join_specimens: layer(s) %s not in every specimen, dropped", ", ".join(lost))
    layers = {k: np.hstack([ds.layers[k][r] for ds, r in zip(dss, rows, strict=True)]) for k in sorted(lay_names)}
    step = Step("join_specimens", {"specimens": names, "joined": joined, "by": by, "n_subjects": len(order),
                                   "n_subjects_dropped": n_dropped, "samples_dropped": dropped,
                                   "input_sha256": {n: ds.checksum() for n, ds in zip(names, dss, strict=True)}})
    history = tuple(h for ds in dss for h in ds.history) + (step,)
    return Dataset(X, samples, proteins, layers, history)


def _required(signature) -> list[str]:
    specs = list(getattr(signature, "specimens", ()) or ())
    if not specs and signature.specimen:
        specs = [str(signature.specimen)]
    return specs


def join_for_signature(signature, datasets: Mapping[str, Dataset], *, by: str = "subject",
                       check: Sequence[str] | None = ()) -> Dataset:
    """The Dataset a multi-specimen ``signature`` scores: the specimens it requires, taken from ``datasets``
    (name → samples × proteins, log2; names matched case-insensitively) and joined by ``by`` in the
    signature's order. Extra specimens are ignored (logged). Refuses (:class:`~proteomics.errors.ScoringRefused`)
    naming every required specimen that is absent, or when no subject has them all. A single-specimen
    signature gets its specimen's Dataset unchanged.
    """
    need = _required(signature)
    if not need:
        raise InputError(f"signature {signature.name!r} names no specimen", hint="use score() on one Dataset")
    given = {str(k).lower(): k for k in datasets}
    missing = [s for s in need if s.lower() not in given]
    if missing:
        raise ScoringRefused([f"required specimen {s!r} is absent (the signature needs "
                              f"{', '.join(need)})" for s in missing],
                             hint="give one input per specimen the signature was built on")
    extra = sorted(set(given) - {s.lower() for s in need})
    if extra:
        log.info("specimen(s) %s not used by the signature, ignored", ", ".join(extra))
    if not getattr(signature, "specimens", ()):  # a single-specimen signature: plain protein names
        return datasets[given[need[0].lower()]]
    try:
        return join_specimens({s: datasets[given[s.lower()]] for s in need}, by=by, check=check)
    except InputError as exc:
        if "no subject has every specimen" in str(exc):
            raise ScoringRefused([f"no subject has every required specimen ({', '.join(need)})"],
                                 hint=f"the {by!r} values must match across the specimens") from None
        raise


def score_multi(signature, datasets: Mapping[str, Dataset], *, by: str = "subject"):
    """Score subjects with a multi-specimen panel ``signature`` from one Dataset per specimen (name → samples ×
    proteins, log2; specimen names are matched case-insensitively).

    Refuses (:class:`~proteomics.errors.ScoringRefused`) naming every required specimen that is absent; extra
    specimens are ignored. Subjects lacking a required specimen are not scored (logged). Returns the
    :class:`~proteomics.panel.score.ScoreResult` of :func:`~proteomics.panel.score.score` on the joined
    Dataset (:func:`join_for_signature`): one row per subject (``sample`` = subject id).
    """
    return score(signature, join_for_signature(signature, datasets, by=by))
