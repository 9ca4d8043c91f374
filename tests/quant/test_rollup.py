"""Roll-up methods on closed-form cases, an independent loop implementation, and the Dataset contract."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from proteomics.errors import InputError
from proteomics.io.table import QuantTable
from proteomics.quant import METHODS, maxlfq_block, median_polish_block, quantify
from proteomics.samples import SampleSheet


def _table(rows, level="precursor") -> QuantTable:
    df = pd.DataFrame(rows, columns=["run", "entity_id", "protein_group", "intensity"])
    df["level"] = level
    df["intensity"] = df["intensity"].astype(float)
    return QuantTable(df[["run", "level", "entity_id", "protein_group", "intensity"]])


def _naive_maxlfq(V: np.ndarray, min_ratio_count: int) -> np.ndarray:
    """Direct transcription of Cox et al. 2014 with loops and numpy.linalg.lstsq (K × S log2 → S log2)."""
    K, S = V.shape
    edges, ratios = [], []
    for a in range(S):
        for b in range(a + 1, S):
            both = np.isfinite(V[:, a]) & np.isfinite(V[:, b])
            if both.sum() >= min_ratio_count:
                edges.append((a, b))
                ratios.append(np.median(V[both, b] - V[both, a]))
    out = np.full(S, np.nan)
    # connected components by union-find
    parent = list(range(S))

    def find(x):
        while parent[x] != x:
            x = parent[x]
        return x

    for a, b in edges:
        parent[find(a)] = find(b)
    nodes = {a for e in edges for a in e}
    for root in {find(x) for x in nodes}:
        comp = sorted(x for x in nodes if find(x) == root)
        pos = {s: i for i, s in enumerate(comp)}
        rows, rhs = [], []
        for (a, b), r in zip(edges, ratios, strict=True):
            if a in pos:
                row = np.zeros(len(comp))
                row[pos[b]], row[pos[a]] = 1.0, -1.0
                rows.append(row)
                rhs.append(r)
        rows.append(np.ones(len(comp)))  # fix the level: mean 0
        rhs.append(0.0)
        w = np.linalg.lstsq(np.array(rows), np.array(rhs), rcond=None)[0]
        total = np.nansum(np.exp2(V[:, comp]))
        out[comp] = w + np.log2(total / np.exp2(w).sum())
    return out


def test_maxlfq_recovers_additive_profile_exactly():
    rng = np.random.default_rng(3)
    w = rng.normal(0, 1, 8)
    a = rng.normal(20, 2, 5)
    V = a[:, None] + w[None, :]
    V[rng.random(V.shape) < 0.3] = np.nan
    V[:3, :] = a[:3, None] + w[None, :]  # keep every sample connected
    out = maxlfq_block(V[None], min_ratio_count=2)[0]
    assert np.allclose(out - out[0], w - w[0], atol=1e-12)
    assert np.isclose(np.exp2(out).sum(), np.nansum(np.exp2(V)), rtol=1e-12)  # Cox rescaling


@pytest.mark.parametrize("mrc", [1, 2, 3])
def test_maxlfq_matches_loop_implementation(mrc):
    rng = np.random.default_rng(mrc)
    V = rng.normal(20, 1.5, (40, 6, 9))
    V[rng.random(V.shape) < 0.45] = np.nan
    V[0, :, :4] = np.nan  # protein 0: samples 0-3 empty
    V[1, :3, :5] = np.nan
    V[1, 3:, 5:] = np.nan  # protein 1: two disconnected components
    fast = maxlfq_block(V, min_ratio_count=mrc)
    slow = np.vstack([_naive_maxlfq(v, mrc) for v in V])
    assert np.array_equal(np.isnan(fast), np.isnan(slow))
    assert np.nanmax(np.abs(fast - slow)) < 1e-9


def test_maxlfq_min_ratio_count_and_isolated_samples():
    V = np.array([[[20.0, 21.0, np.nan, 22.0]]])  # one entity
    assert np.isnan(maxlfq_block(V, 2)).all()
    one = maxlfq_block(V, 1)[0]
    assert np.allclose(one[[0, 1, 3]], [20, 21, 22]) and np.isnan(one[2])


def test_median_polish_additive_closed_form():
    r = np.array([0.0, 1.0, -0.5, 2.0])  # run effects
    c = np.array([20.0, 22.0, 25.0])  # entity effects
    V = (c[:, None] + r[None, :])[None]  # (1, K entities, S runs)
    out = median_polish_block(V)[0]
    assert np.allclose(out - out[0], r - r[0], atol=1e-12)
    assert np.isclose(out[0], 22.0)  # overall + run effect = median entity + r_0
    V2 = V.copy()
    V2[0, 2, 1] = np.nan
    V2[0, :, 3] = np.nan
    out2 = median_polish_block(V2)[0]
    assert np.isnan(out2[3]) and np.allclose(out2[:3] - out2[0], r[:3] - r[0], atol=1e-12)


def test_top3_and_sum_closed_form():
    rows = [("r1", f"e{i}", "P1", v) for i, v in enumerate([8.0, 4.0, 2.0, 1.0, 16.0])]
    rows += [("r2", "e0", "P1", 2.0), ("r2", "e1", "P1", 6.0), ("r2", "e9", "P2", 0.0)]
    t = _table(rows)
    top3 = quantify(t, method="top3").to_frame()
    assert np.isclose(top3.loc["r1", "P1"], np.log2((16 + 8 + 4) / 3)) and np.isclose(top3.loc["r2", "P1"], 2.0)
    s = quantify(t, method="sum").to_frame()
    assert np.isclose(s.loc["r1", "P1"], np.log2(31.0)) and np.isnan(s.loc["r2", "P2"])  # zero = missing
    assert np.isclose(quantify(t, method="top_n", top_n=1).to_frame().loc["r1", "P1"], 4.0)


def test_quantify_dataset_contract_with_sheet():
    rows = [(r, e, p, v) for r, e, p, v in [
        ("D:\\x\\run_b.raw", "AAK2", "P1;P2", 100.0), ("D:\\x\\run_b.raw", "CCK2", "P1;P2", 50.0),
        ("D:\\x\\run_a.raw", "AAK2", "P1;P2", 200.0), ("D:\\x\\run_a.raw", "CCK2", "P1;P2", 100.0),
        ("D:\\x\\run_a.raw", "DDR2", "P3", 10.0), ("D:\\x\\run_a.raw", "DDR2", "P3", 6.0)]]
    t = _table(rows)
    sheet = SampleSheet.from_frame(pd.DataFrame({
        "sample": ["sA", "sB"], "run": ["run_a", "run_b"], "subject": ["1", "2"],
        "specimen": ["plasma", "plasma"], "condition": ["ctrl", "case"], "age": [50, 60]}))
    ds = quantify(t, sheet, method="maxlfq", min_ratio_count=2)
    assert ds.sample_ids == ["sA", "sB"] and ds.protein_ids == ["P1;P2", "P3"]
    assert list(ds.samples["condition"]) == ["ctrl", "case"] and "age" in ds.samples
    assert ds.layers["n_peptides"].tolist() == [[2, 1], [2, 0]]
    assert ds.proteins["n_peptides_total"].tolist() == [2, 1]
    X = ds.to_frame()
    assert np.isclose(X.loc["sA", "P1;P2"] - X.loc["sB", "P1;P2"], 1.0)
    assert np.isnan(X.loc["sA", "P3"])  # one entity: no ratio pair with min_ratio_count 2
    assert np.isclose(quantify(t, sheet, method="sum").to_frame().loc["sA", "P3"], 4.0)  # duplicates summed: 16
    assert ds.history[-1].name == "quantify" and ds.history[-1].params["method"] == "maxlfq"


def test_protein_level_is_pivoted_and_bad_method_refused():
    t = _table([("r1", "P1", "P1", 8.0), ("r2", "P1", "P1", 32.0), ("r2", "P2", "P2", 2.0)], level="protein")
    ds = quantify(t)
    assert np.isclose(ds.to_frame().loc["r2", "P1"], 5.0) and np.isnan(ds.to_frame().loc["r1", "P2"])
    assert "n_peptides" not in ds.layers
    with pytest.raises(InputError, match="unknown quantification method"):
        quantify(t, method="magic")
    assert {"maxlfq", "median_polish", "top3", "top_n", "ibaq", "sum", "spectral_count", "nsaf"} <= set(METHODS)


def test_spectral_count_ibaq_nsaf(tmp_path):
    psm = pd.DataFrame({"run": ["r1", "r1", "r1", "r2"], "level": "psm", "entity_id": ["s1", "s2", "s3", "s4"],
                        "protein_group": ["sp|P1|A_HUMAN", "sp|P1|A_HUMAN", "sp|P2|B_HUMAN", "sp|P2|B_HUMAN"],
                        "intensity": [np.nan, 4.0, 8.0, 2.0], "sequence": ["PEPTIDEK", "PEPTIDEK", "AAAAAAK", "AAAAAAK"],
                        "charge": [2, 3, 2, 2]})
    t = QuantTable(psm)
    sc = quantify(t, method="spectral_count").to_frame()
    assert sc.loc["r1", "sp|P1|A_HUMAN"] == 1.0 and np.isnan(sc.loc["r2", "sp|P1|A_HUMAN"])
    fasta = tmp_path / "db.fasta"
    # P1: 2 tryptic peptides of 6-30 residues; P2: length 20, 1 observable peptide
    fasta.write_text(">sp|P1|A_HUMAN x\nMAAAAAAKCCCCCCCRDD\n>sp|P2|B_HUMAN y\nGGGGGGGGGGGGGGGGGGGK\n")
    ib = quantify(t, method="ibaq", fasta=fasta).to_frame()
    assert np.isclose(ib.loc["r1", "sp|P1|A_HUMAN"], np.log2(4.0 / 2)) and np.isclose(ib.loc["r1", "sp|P2|B_HUMAN"], 3.0)
    ns = quantify(t, method="nsaf", fasta=fasta).to_frame()
    saf = np.array([2 / 18, 1 / 20])
    assert np.allclose(ns.loc["r1"].to_numpy(), np.log2(saf / saf.sum()))
    with pytest.raises(InputError, match="FASTA"):
        quantify(t, method="ibaq")


def test_n_jobs_gives_identical_results():
    rng = np.random.default_rng(0)
    rows = []
    for p in range(300):
        for e in range(1 + p % 7):
            for r in range(6):
                if rng.random() > 0.3:
                    rows.append((f"r{r}", f"P{p}_e{e}", f"P{p}", float(2 ** rng.normal(20, 2))))
    t = _table(rows)
    a = quantify(t, method="maxlfq", n_jobs=1)
    b = quantify(t, method="maxlfq", n_jobs=2)
    assert a.X.tobytes() == b.X.tobytes()
