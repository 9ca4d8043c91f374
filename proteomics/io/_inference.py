"""Protein inference by parsimony with razor assignment of shared peptides.

Input: the peptide → protein edges of accepted (target) identifications. Output: protein groups and, for
every peptide, the one group it counts for (its *razor* group).

1. **Indistinguishable proteins** (identical peptide sets) are merged into one group whose name is their
   accessions, sorted, joined by ``;``.
2. **Minimal set cover.** Groups holding a peptide no other group holds are *essential* and always kept.
   The peptides they leave uncovered are split into connected components (peptides linked through shared
   groups); each component is covered by the fewest groups, searched exactly when the component has at
   most :data:`EXACT_LIMIT` candidate groups and greedily (largest number of newly covered peptides first)
   otherwise. Ties between equally small covers prefer more peptides in total, then the alphabetically first
   group names, so the result never depends on input order.
3. **Razor assignment.** Each peptide is assigned to the kept group that contains it and has the most
   peptides; ties go to the alphabetically first group name.

Counts are plain numbers of distinct peptide strings; no scores are used, so the inference is reproducible.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

__all__ = ["Inference", "infer_protein_groups", "EXACT_LIMIT"]

EXACT_LIMIT = 12
"""Largest number of candidate groups in one connected component searched exactly (2**12 subsets)."""


@dataclass(frozen=True)
class Inference:
    """Result of :func:`infer_protein_groups`.

    ``razor``: Series indexed by peptide → protein_group string (one per input peptide).
    ``groups``: DataFrame, one row per kept group, sorted by name: ``protein_group``, ``n_proteins``,
    ``n_peptides`` (all peptides of the group), ``n_unique`` (peptides in no other kept group),
    ``n_razor`` (peptides assigned to it).
    ``members``: dict protein accession → protein_group for every accession (kept or not, ``None`` when the
    accession's group was not needed for the cover).
    """

    razor: pd.Series
    groups: pd.DataFrame
    members: dict


def infer_protein_groups(peptides, proteins) -> Inference:
    """Infer protein groups from aligned 1-D arrays of ``peptides`` and ``proteins`` (one edge per pair).

    Duplicated edges are ignored. Empty input gives empty results.
    """
    edges = pd.DataFrame({"peptide": np.asarray(peptides, dtype=object).astype(str),
                          "protein": np.asarray(proteins, dtype=object).astype(str)}).drop_duplicates()
    if edges.empty:
        return Inference(pd.Series(dtype=object, name="protein_group"),
                         pd.DataFrame(columns=["protein_group", "n_proteins", "n_peptides", "n_unique",
                                               "n_razor"]), {})
    pep_names = np.array(sorted(edges["peptide"].unique()), dtype=object)
    prot_names = np.array(sorted(edges["protein"].unique()), dtype=object)
    pi = np.searchsorted(pep_names, edges["peptide"].to_numpy())
    qi = np.searchsorted(prot_names, edges["protein"].to_numpy())

    # 1. indistinguishable proteins: same sorted peptide-index tuple
    order = np.lexsort((pi, qi))
    prot_peps: dict[int, list[int]] = {}
    for q, p in zip(qi[order].tolist(), pi[order].tolist(), strict=True):
        prot_peps.setdefault(q, []).append(p)
    by_set: dict[tuple[int, ...], list[str]] = {}
    for q, peps in prot_peps.items():
        by_set.setdefault(tuple(peps), []).append(prot_names[q])
    group_names = []
    group_peps = []
    for peps, accs in by_set.items():
        group_names.append(";".join(sorted(accs)))
        group_peps.append(peps)
    g_order = np.argsort(np.array(group_names, dtype=object), kind="stable")
    group_names = [group_names[i] for i in g_order]
    group_peps = [group_peps[i] for i in g_order]
    n_groups, n_peps = len(group_names), len(pep_names)
    g_size = np.array([len(p) for p in group_peps])

    rows = np.concatenate([np.full(len(p), g) for g, p in enumerate(group_peps)])
    cols = np.concatenate([np.asarray(p, dtype=int) for p in group_peps])
    inc = coo_matrix((np.ones(len(rows), dtype=np.int32), (rows, cols)), shape=(n_groups, n_peps)).tocsc()

    # 2. essential groups: those holding a peptide that maps to one group only
    per_pep = np.diff(inc.indptr)
    single = np.flatnonzero(per_pep == 1)
    keep = np.zeros(n_groups, dtype=bool)
    keep[inc.indices[inc.indptr[single]]] = True
    covered = np.asarray(inc[keep].sum(axis=0)).ravel() > 0 if keep.any() else np.zeros(n_peps, dtype=bool)
    if not covered.all():
        _cover_rest(inc.tocsr(), covered, keep, g_size, group_names)

    # 3. razor: among kept groups containing the peptide, most peptides, then first name
    kept_idx = np.flatnonzero(keep)
    e = pd.DataFrame({"g": rows, "p": cols})
    e = e[keep[e["g"].to_numpy()]]
    e["size"] = g_size[e["g"].to_numpy()]
    e = e.sort_values(["p", "size", "g"], ascending=[True, False, True], kind="stable")
    razor_g = e.drop_duplicates("p")
    razor = pd.Series(np.array(group_names, dtype=object)[razor_g["g"].to_numpy()],
                      index=pd.Index(pep_names[razor_g["p"].to_numpy()], name="peptide"), name="protein_group")
    kept_per_pep = e.groupby("p")["g"].transform("size").to_numpy()
    n_unique = np.bincount(e["g"].to_numpy()[kept_per_pep == 1], minlength=n_groups)
    n_razor = np.bincount(razor_g["g"].to_numpy(), minlength=n_groups)
    groups = pd.DataFrame({
        "protein_group": [group_names[g] for g in kept_idx],
        "n_proteins": [group_names[g].count(";") + 1 for g in kept_idx],
        "n_peptides": g_size[kept_idx],
        "n_unique": n_unique[kept_idx],
        "n_razor": n_razor[kept_idx],
    })
    members = {}
    for g, name in enumerate(group_names):
        for acc in name.split(";"):
            members[acc] = name if keep[g] else None
    return Inference(razor, groups, members)


def _cover_rest(inc_csr, covered: np.ndarray, keep: np.ndarray, g_size: np.ndarray, names: list[str]) -> None:
    """Add to ``keep`` (in place) a minimal set of groups covering the peptides not yet ``covered``."""
    todo = np.flatnonzero(~covered)
    cand = np.flatnonzero(~keep & (np.asarray(inc_csr[:, todo].sum(axis=1)).ravel() > 0))
    sub = inc_csr[cand][:, todo]  # candidate groups × uncovered peptides
    # connected components of the bipartite graph (groups first, then peptides)
    n_c, n_t = sub.shape
    from scipy.sparse import bmat
    adj = bmat([[None, sub], [sub.T, None]]).tocsr()
    _, labels = connected_components(adj, directed=False)
    g_lab, p_lab = labels[:n_c], labels[n_c:]
    sub = sub.tocsr()
    for lab in np.unique(p_lab):
        gs = np.flatnonzero(g_lab == lab)
        ps = np.flatnonzero(p_lab == lab)
        sets = {int(g): frozenset(sub.indices[sub.indptr[g]:sub.indptr[g + 1]].tolist()) for g in gs}
        target = frozenset(ps.tolist())
        # deterministic preference: more peptides overall, then name
        pref = sorted(sets, key=lambda g: (-g_size[cand[g]], names[cand[g]]))
        chosen = _exact_cover(pref, sets, target) if len(pref) <= EXACT_LIMIT else None
        if chosen is None:
            chosen = _greedy_cover(pref, sets, target)
        keep[cand[chosen]] = True


def _exact_cover(pref: list[int], sets: dict, target: frozenset) -> list[int] | None:
    for k in range(1, len(pref) + 1):
        for combo in itertools.combinations(pref, k):  # in preference order → first hit is the preferred cover
            if frozenset().union(*(sets[g] for g in combo)) >= target:
                return list(combo)
    return None  # pragma: no cover (the full candidate set always covers)


def _greedy_cover(pref: list[int], sets: dict, target: frozenset) -> list[int]:
    left, chosen = set(target), []
    while left:
        best = max(pref, key=lambda g: len(sets[g] & left))  # max keeps the first (preferred) on ties
        chosen.append(best)
        left -= sets[best]
    return chosen
