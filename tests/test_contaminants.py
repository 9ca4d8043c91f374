"""The one contaminant/decoy rule (proteomics.contaminants) on a real plasma MaxQuant proteinGroups.txt, where
real plasma proteins are grouped with contaminant-database entries."""

from __future__ import annotations

import pandas as pd

from proteomics.contaminants import contaminant_mask, decoy_mask, prefix_mask
from proteomics.preprocess import ContaminantFilter, is_contaminant
from tests.conftest import need_shared


def _plasma_groups() -> pd.Series:
    path = need_shared("alphastats_liver_plasma_maxquant", "proteinGroups.txt")
    return pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False, usecols=["Protein IDs"])["Protein IDs"]


def test_plasma_groups_mixing_real_and_contaminant_entries_are_kept():
    ids = _plasma_groups()
    con = contaminant_mask(ids)
    members = ids.str.split(";")
    n_only_con = int(members.map(lambda m: all(a.startswith("CON__") for a in m)).sum())
    n_any_con = int(members.map(lambda m: any(a.startswith("CON__") for a in m)).sum())
    assert len(ids) == 2611 and int(con.sum()) == n_only_con == 39 and n_any_con == 114  # counted by hand rule
    albumin = ids.str.contains(r"(?:^|;)P02768(?:;|$)")       # serum albumin, with CON__P02768-1 in its group
    assert albumin.sum() == 1 and "CON__P02768-1" in ids[albumin].iloc[0] and not con[albumin.to_numpy()].any()
    assert int(decoy_mask(ids).sum()) == int(members.map(lambda m: all(a.startswith("REV__") for a in m)).sum())


def test_filter_step_and_readers_share_the_rule():
    ids = _plasma_groups().drop_duplicates()  # the file repeats two group strings
    assert (is_contaminant(ids.tolist()) == (contaminant_mask(ids) | decoy_mask(ids))).all()
    frame = pd.DataFrame([[20.0] * len(ids)], columns=ids.tolist())
    kept = ContaminantFilter().fit_transform(frame)
    assert kept.shape[1] == len(ids) - int((contaminant_mask(ids) | decoy_mask(ids)).sum())


def test_crap_counts_and_prefixes_are_all_members():
    groups = ["cRAP001", "CRAP002;contam_P1", "P1;cRAP003", "Cont_X", "REV__A;rev_B", "REV__A;P2", "P3"]
    assert contaminant_mask(groups).tolist() == [True, True, False, True, False, False, False]
    assert decoy_mask(groups).tolist() == [False, False, False, False, True, False, False]
    assert prefix_mask(groups, ("P",)).tolist() == [False, False, False, False, False, False, True]
    assert prefix_mask(groups, ()).tolist() == [False] * 7
