"""The report's three lists: what the permutation count allows the reader to conclude."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from proteomics.report.summary import summary_lists


def _lists(n_perm: int) -> dict:
    ran = {"inputs": {"data": "d.tsv", "sheet": "s.csv"}, "de": {"q_threshold": 0.05, "fdr": "bh"},
           "panel": {"label": "condition", "positive": "case", "max_proteins": None, "outer_folds": 5,
                     "outer_repeats": 3, "inner_folds": 3, "fixed_sensitivity": 0.9, "fixed_specificity": 0.9},
           "quantify": {"method": "maxlfq"}, "seed": 0}
    data = SimpleNamespace(n_samples=20, n_proteins=100)
    sig = SimpleNamespace(proteins=["P1", "P2"], thresholds={}, training={"n_candidate_proteins": 100})
    metrics = {"auc": 0.9, "auc_ci_low": 0.8, "auc_ci_high": 1.0, "n_permutations": n_perm,
               "permutation_p": 1 / (n_perm + 1) if n_perm else None}
    return summary_lists(ran=ran, raw=data, clean=data, de_results=[], warnings=[], base=None, level="protein",
                         source_format="generic", panel_result=SimpleNamespace(metrics=metrics, signature=sig))


@pytest.mark.parametrize("n_perm, says", [(0, "No label permutations were run"),
                                          (3, "Only 3 label permutations: enough as a leakage alarm"),
                                          (19, None)])
def test_permutation_count_note(n_perm, says):
    notes = [c for c in _lists(n_perm)["check"] if "permutations" in c]
    if says is None:
        assert notes == []
    else:
        assert len(notes) == 1 and says in notes[0]


def test_nominal_q_caveat_follows_the_packaged_calibration():
    import pandas as pd

    from proteomics.report.calibration import calibration_summary

    ran = {"inputs": {"data": "d.tsv", "sheet": "s.csv"}, "de": {"q_threshold": 0.05, "fdr": "bh", "model": "hybrid"},
           "preprocess": {"normalize": {"method": "median"}}, "panel": {}, "quantify": {"method": "maxlfq"}, "seed": 0}
    data = SimpleNamespace(n_samples=20, n_proteins=3)
    table = pd.DataFrame({"protein_group": ["A", "B", "C"], "log2fc": [1.0, -1.0, 0.1], "q_value": [0.5, 0.6, 0.9]})
    lists = summary_lists(ran=ran, raw=data, clean=data, de_results=[SimpleNamespace(contrast="b-a", table=table)],
                          panel_result=None, level="protein", source_format="generic", warnings=[], base=None)
    held, n = calibration_summary(ran)["held_05"]
    caveats = [c for c in lists["check"] if c.startswith("q-values are nominal")]
    assert held < n and len(caveats) == 1 and f"at most 5 % in {held}" in caveats[0] and f"on {n} " in caveats[0]
    no_de = summary_lists(ran=ran, raw=data, clean=data, de_results=[], panel_result=None, level="protein",
                          source_format="generic", warnings=[], base=None)
    assert not any(c.startswith("q-values are nominal") for c in no_de["check"])
