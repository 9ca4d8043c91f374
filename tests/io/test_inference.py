"""Protein inference (parsimony + razor) on hand-made cases, brute-force minimality, and q-values.

Expected groups below are worked out by hand from the definitions in ``proteomics/io/_inference.py``;
minimality is checked against an exhaustive search; target-decoy q-values against a plain numpy count.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from proteomics.io._inference import infer_protein_groups
from proteomics.io._psm import _qvalues
from proteomics.samples import run_stem


def _infer(mapping: dict[str, str]):
    """mapping protein → peptides string, e.g. {'P1': 'abc'}."""
    peps, prots = [], []
    for prot, pp in mapping.items():
        for p in pp:
            peps.append(p)
            prots.append(prot)
    return infer_protein_groups(peps, prots)


def test_indistinguishable_proteins_form_one_group():
    inf = _infer({"P2": "ab", "P1": "ab", "P3": "c"})
    assert sorted(inf.groups["protein_group"]) == ["P1;P2", "P3"]
    assert inf.razor.to_dict() == {"a": "P1;P2", "b": "P1;P2", "c": "P3"}


def test_subset_protein_is_dropped():
    inf = _infer({"P1": "abc", "P2": "b"})
    assert list(inf.groups["protein_group"]) == ["P1"]
    assert inf.members["P2"] is None
    assert set(inf.razor) == {"P1"}


def test_shared_peptide_goes_to_group_with_most_peptides():
    inf = _infer({"P1": "abc", "P2": "cd"})
    assert inf.razor["c"] == "P1"
    g = inf.groups.set_index("protein_group")
    assert g.loc["P1", "n_razor"] == 3 and g.loc["P2", "n_razor"] == 1
    assert g.loc["P1", "n_unique"] == 2 and g.loc["P2", "n_unique"] == 1


def test_razor_tie_goes_to_first_name():
    inf = _infer({"B": "bc", "A": "ac"})
    assert inf.razor["c"] == "A"


def test_essential_groups_beat_greedy_choice():
    # greedy would take the largest set A first and end with 3 groups; the minimal cover is {B, C}
    inf = _infer({"A": "1234", "B": "125", "C": "346"})
    assert sorted(inf.groups["protein_group"]) == ["B", "C"]


def test_cycle_without_unique_peptides_uses_two_groups_deterministically():
    inf = _infer({"P3": "ca", "P2": "bc", "P1": "ab"})
    assert sorted(inf.groups["protein_group"]) == ["P1", "P2"]
    assert inf.razor.to_dict() == {"a": "P1", "b": "P1", "c": "P2"}


def test_empty_input():
    inf = infer_protein_groups([], [])
    assert inf.razor.empty and inf.groups.empty


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 6), st.integers(0, 7)), min_size=1, max_size=25), st.randoms())
def test_cover_is_minimal_complete_and_order_free(edges, rnd):
    peps = [f"pep{p}" for p, _ in edges]
    prots = [f"P{q}" for _, q in edges]
    inf = infer_protein_groups(peps, prots)
    sets: dict[str, set] = {}
    for p, q in zip(peps, prots, strict=True):
        sets.setdefault(q, set()).add(p)
    # every peptide is assigned to a kept group holding it
    kept = list(inf.groups["protein_group"])
    for pep, grp in inf.razor.items():
        assert grp in kept
        assert any(pep in sets[acc] for acc in grp.split(";"))
    assert set(inf.razor.index) == set(peps)
    # brute force: no smaller set of (indistinguishable-merged) groups covers all peptides
    distinct = {frozenset(s) for s in sets.values()}
    universe = set(peps)
    smallest = next(k for k in range(1, len(distinct) + 1)
                    if any(set().union(*c) >= universe for c in itertools.combinations(distinct, k)))
    assert len(kept) == smallest
    # shuffling the input changes nothing
    order = list(range(len(peps)))
    rnd.shuffle(order)
    again = infer_protein_groups([peps[i] for i in order], [prots[i] for i in order])
    assert again.razor.sort_index().equals(inf.razor.sort_index())
    pd.testing.assert_frame_equal(again.groups, inf.groups)


def test_target_decoy_qvalues_match_plain_count():
    rng = np.random.default_rng(7)
    score = rng.normal(size=300) + np.r_[np.full(200, 2.0), np.zeros(100)]
    decoy = np.r_[np.zeros(200, bool), np.ones(100, bool)]
    p = pd.DataFrame({"score": score, "decoy": decoy})
    q = _qvalues(p, higher_better=True)
    # independent: sort descending, FDR = cumulative decoys / cumulative targets, q = running min from below
    order = np.argsort(-score, kind="stable")
    d = np.cumsum(decoy[order])
    t = np.cumsum(~decoy[order])
    fdr = d / np.maximum(t, 1)
    qq = np.minimum.accumulate(fdr[::-1])[::-1]
    expected = np.empty_like(qq)
    expected[order] = qq
    np.testing.assert_allclose(q, expected)
    # lower-is-better gives the same answer on the negated score
    np.testing.assert_allclose(_qvalues(p.assign(score=-score), higher_better=False), expected)


def test_run_stem():
    assert run_stem("file://c:/users/x/run_01.mzML") == "run_01"
    assert run_stem(r"D:\raw\KL_Try_001_a.raw") == "KL_Try_001_a"
    assert run_stem("/data/sample.mzML.gz") == "sample"
    assert run_stem("proteinscape://host/Fraction_X") == "Fraction_X"


def test_picked_protein_fdr_by_hand():
    from proteomics.io._psm import DECOY_PREFIXES, _picked_protein_q

    # accession → best PSM score (higher is better); each accession has one PSM here
    scores = {"T1": 10, "T2": 9, "DECOY_T2": 9.5, "T3": 8, "DECOY_T4": 7, "T4": 6, "T5": 5, "DECOY_T5": 5}
    df = pd.DataFrame({"run": "r", "psm": list(scores), "sequence": [f"S{a}" for a in scores],
                       "accession": list(scores), "score": list(scores.values()),
                       "decoy": [a.startswith("DECOY_") for a in scores]})
    p = df[["run", "psm", "sequence", "score"]]
    q = _picked_protein_q(df, p, DECOY_PREFIXES, higher_better=True)
    # picked: T1 (10, T), DECOY_T2 (9.5, beats T2), T3 (8), DECOY_T4 (7, beats T4), DECOY_T5 (tie → decoy)
    # FDR down the list: T1 0/1, D 1/1, T3 1/2, D 2/2, D 3/2 → q(T1) = 0, q(T3) = 0.5
    assert q.to_dict() == {"T1": 0.0, "T3": 0.5}


def test_greedy_branch_for_large_components(monkeypatch):
    import proteomics.io._inference as inference

    monkeypatch.setattr(inference, "EXACT_LIMIT", 0)  # force the greedy cover
    # cycle P1 {a,b}, P2 {b,c}, P3 {c,a}: greedy takes P1 (first of equals), then P2 covers c
    inf = _infer({"P3": "ca", "P2": "bc", "P1": "ab"})
    assert sorted(inf.groups["protein_group"]) == ["P1", "P2"]
    # Q1 (a) and Q3 (e) are essential; c is left, held by Q2 (3 peptides) and Q4 (1): both cover one new
    # peptide, so the larger group Q2 is preferred; Q4 is dropped
    inf = _infer({"Q1": "ab", "Q2": "bcd", "Q3": "de", "Q4": "c"})
    assert sorted(inf.groups["protein_group"]) == ["Q1", "Q2", "Q3"]
    assert inf.razor["c"] == "Q2" and inf.razor["b"] == "Q2" and inf.razor["d"] == "Q2"
