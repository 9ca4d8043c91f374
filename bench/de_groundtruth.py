"""Differential abundance against known mixing ratios: every ground-truth data set in ../shared/data, every method.

    python bench/de_groundtruth.py [--only NAME[,NAME]] [--out bench/out/de_groundtruth]

Truth comes only from the documented mixing designs (SOURCES.md), never from our own output:

* ProteoBench HYE subsets (A/B: human 1, yeast 2, E. coli 0.25): yeast and E. coli proteins are true changes,
  human proteins are true nulls; protein groups mixing species are left out of the counts (but tested).
* UPS1 in Chlamydomonas (Progenesis peptides; 25/50/100 fmol): UPS proteins change, Chlamydomonas is constant.
* Yeast cysteine peptides in Chlamydomonas (50 vs 100 ng): yeast features change, Chlamydomonas is constant.
* E. coli in MCF7, TMT10 (7.5/15/45 µg E. coli in 70 µg human): E. coli change, human constant.

Each data set is read and quantified by the product (readers + default roll-up), except formats we have no
reader for (AlphaPept, Sage, AlphaDIA: parsed here into a QuantTable, then quantified by the product) and the
derived peptide/feature tables (UPS1, yeast: peptides rolled up by the product from a QuantTable; yeast features
tested as they are). Methods, all on the same protein matrix:

* ``ours (default)``: the product's defaults (``proteomics de``/``run``: contaminant filter, ≥ 70 % valid values
  in at least one group, mode normalisation, moderated t + detection test), via ``stages.preprocess``/``run_de``;
* ``limma raw``: moderated t on the raw log2 matrix; ``limma median``: after median centring;
  ``Welch median``: Welch t after median centring;
* every combination of our options: normalisation (median, mode) × model (limma, dpc) × detection test.

Measures per contrast: proteins tested, true changes found and observed FDP at q < 0.01 and q < 0.05, the
partial AUC up to a false-positive rate of 0.05 (normalised to 1; untested proteins rank last), and wall time.
Writes ``results.json``, ``table.md`` and ``calibration.png`` (nominal q against observed FDP) to ``--out``.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SHARED = ROOT.parent / "shared" / "data"

from proteomics.dataset import Dataset  # noqa: E402
from proteomics.io.table import QuantTable  # noqa: E402
from proteomics.quant import quantify  # noqa: E402
from proteomics.samples import SampleSheet  # noqa: E402

Q_GRID = (0.001, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2)
SPECIES = ("HUMAN", "YEAST", "ECOLI")


# -- data sets ----------------------------------------------------------------------------------------------
def _species(text) -> str | None:
    found = {sp for part in str(text).replace(",", ";").split(";") for sp in SPECIES if part.strip().endswith("_" + sp)}
    return found.pop() if len(found) == 1 else None


def _sheet(runs, tmp: Path, condition) -> SampleSheet:
    path = tmp / f"sheet_{abs(hash(tuple(runs)))}.tsv"
    pd.DataFrame({"run": runs, "sample": runs, "subject": runs, "specimen": "other",
                  "condition": [condition(r) for r in runs]}).to_csv(path, sep="\t", index=False)
    return SampleSheet.read(path)


def _hye_condition(run: str) -> str:
    return "A" if "Condition_A" in run or "cond_A" in run else "B"


#: QuantTable and sheet of the data sets quantified here (for ``quantify --method dpc``), by their Dataset id
TABLES: dict[int, tuple[QuantTable, SampleSheet]] = {}


def _quantify(table: QuantTable, sheet: SampleSheet) -> Dataset:
    ds = quantify(table, sheet)
    TABLES[id(ds)] = (table, sheet)
    return ds


def _hye_from_table(table: QuantTable, tmp: Path, names: dict | None = None, condition=_hye_condition):
    ds = _quantify(table, _sheet(table.runs, tmp, condition))
    names = names or {}
    truth = np.array([{"HUMAN": 0.0, "YEAST": 1.0, "ECOLI": 1.0}.get(_species(names.get(p, p)), np.nan)
                      for p in ds.protein_ids])
    return ds, {"A-B": truth}


def _long(df, run, entity, protein, intensity, level="precursor") -> QuantTable:
    d = pd.DataFrame({"run": df[run].astype(str), "level": level, "entity_id": df[entity].astype(str),
                      "protein_group": df[protein].astype(str), "intensity": df[intensity].astype(float)})
    d = d[d["intensity"] > 0].groupby(["run", "level", "entity_id", "protein_group"], as_index=False,
                                      observed=True)["intensity"].max()
    return QuantTable(d, format="bench_local")


def _wide_to_long(df, runs, entity_col, protein_col):
    m = df.melt(id_vars=[entity_col, protein_col], value_vars=runs, var_name="run", value_name="intensity")
    return _long(m, "run", entity_col, protein_col, "intensity")


def hye_reader(file, names_from=None):
    def load(tmp):
        from proteomics import io

        path = SHARED / "proteobench_hye" / file
        table = io.read(path)
        names = None
        if names_from:
            nm = pd.read_csv(path, sep="\t", usecols=list(names_from)).drop_duplicates()
            names = dict(zip(nm[names_from[0]].astype(str), nm[names_from[1]].astype(str), strict=False))
        cond = _hye_condition
        if file.endswith("msstats_in.csv"):
            raw = pd.read_csv(path, usecols=["Run", "Condition"]).drop_duplicates()
            lab = dict(zip(raw["Run"].astype(str), raw["Condition"].astype(str), strict=False))
            cond = lambda r: "A" if "A" in lab[str(r)] else "B"  # noqa: E731
        return _hye_from_table(table, tmp, names, cond)
    return load


def hye_alphapept(tmp):
    d = pd.read_csv(SHARED / "proteobench_hye" / "AlphaPept_subset.csv", low_memory=False)
    d = d[~d["decoy"].astype(bool)]
    d["prec"] = d["sequence"].astype(str) + "/" + d["charge"].astype(str)
    return _hye_from_table(_long(d, "shortname", "prec", "protein", "ms1_int_sum_apex_dn"), tmp)


def hye_sage(tmp):
    d = pd.read_csv(SHARED / "proteobench_hye" / "sage_sample_input_lfq.tsv", sep="\t")
    d = d[d["q_value"] <= 0.01]
    d["prec"] = d["peptide"].astype(str) + "/" + d["charge"].astype(str)
    runs = [c for c in d.columns if c.startswith("LFQ_")]
    return _hye_from_table(_wide_to_long(d, runs, "prec", "proteins"), tmp)


def hye_alphadia(tmp):
    d = pd.read_csv(SHARED / "proteobench_hye" / "AlphaDIA_1.10_sample.tsv", sep="\t")
    d = d[d["decoy"] == 0]
    d["prec"] = d["mod_seq_charge_hash"].astype(str)
    runs = [c for c in d.columns if c.startswith("LFQ_")]
    return _hye_from_table(_wide_to_long(d, runs, "prec", "genes"), tmp)


def _peptides_to_dataset(path, tmp, condition, changed_marker):
    d = pd.read_csv(path, sep="\t")
    d["protein"] = d["identifier"].str.split("--").str[0].str.split("|").str[0]
    runs = [c for c in d.columns if c not in ("identifier", "protein")]
    table = _wide_to_long(d, runs, "identifier", "protein")
    table = QuantTable(table.data.assign(level="peptide"), format="bench_local")
    ds = _quantify(table, _sheet(table.runs, tmp, condition))
    return ds, np.array([1.0 if changed_marker in p.lower() else 0.0 for p in ds.protein_ids])


def ups1(tmp):
    ds, truth = _peptides_to_dataset(SHARED / "baldur_ups1_chlamy_progenesis" / "derived" / "ups.derived.tsv", tmp,
                                     lambda r: r.split("_")[0], "ups")
    return ds, {"fmol50-fmol25": truth, "fmol100-fmol50": truth, "fmol100-fmol25": truth}


def yeast_cys(tmp):
    d = pd.read_csv(SHARED / "baldur_ups1_chlamy_progenesis" / "derived" / "yeast.derived.tsv", sep="\t")
    runs = [c for c in d.columns if c != "identifier"]
    X = np.log2(d[runs].where(d[runs] > 0).to_numpy(dtype=float)).T
    s = pd.DataFrame({"condition": [r.split("_")[0] for r in runs]}, index=runs)
    ds = Dataset(X, s, pd.DataFrame(index=d["identifier"].astype(str).to_numpy()))
    truth = np.array([0.0 if p.startswith("Cre") else 1.0 for p in ds.protein_ids])
    return ds, {"ng100-ng50": truth}


TMT_GROUPS = {"126C": "ug7", "127N": "ug7", "127C": "ug7", "128N": "ug15", "128C": "ug15", "129N": "ug15",
              "129C": "ug15", "130N": "ug45", "130C": "ug45", "131N": "ug45"}


def ecoli_tmt(tmp):
    path = SHARED / "pwilmart_pxd013277_ecoli_tmt_spikein" / "grouped_protein_summary_TMT_9.txt"
    d = pd.read_csv(path, sep="\t", skiprows=4, low_memory=False)
    d = d[d["Filter"].fillna("").str.strip() == ""]
    cols = {c: c.split("_")[1] for c in d.columns if c.startswith("TotInt_") and c.split("_")[1] in TMT_GROUPS}
    X = np.log2(d[list(cols)].where(d[list(cols)] > 0).to_numpy(dtype=float)).T
    names = list(cols.values())
    s = pd.DataFrame({"condition": [TMT_GROUPS[c] for c in names]}, index=names)
    ds = Dataset(X, s, pd.DataFrame(index=d["Accession"].astype(str).to_numpy()))
    sp = [_species(p) for p in ds.protein_ids]
    truth = np.array([{"HUMAN": 0.0, "ECOLI": 1.0}.get(x, np.nan) for x in sp])
    return ds, {"ug15-ug7": truth, "ug45-ug7": truth, "ug45-ug15": truth}


DATASETS = {
    "HYE DIA-NN 1.9 (DIA)": hye_reader("DIANN_1.9_beta_sample_report.tsv", ("Protein.Group", "Protein.Names")),
    "HYE FragPipe (DIA)": hye_reader("Fragpipe_combined_ion.tsv"),
    "HYE MSFragger-DIA (DIA)": hye_reader("MSFraggerDIA_sample_test.tsv", ("Protein.Group", "Protein.Names")),
    "HYE MaxDIA (DIA)": hye_reader("MaxDIA_sample_test.txt"),
    "HYE AlphaDIA (DIA)": hye_alphadia,
    "HYE MaxQuant 2.5.1 (DDA)": hye_reader("MaxQuant_2_5_1_evidence_sample.txt"),
    "HYE MaxQuant (DDA)": hye_reader("MaxQuant_evidence_sample.txt"),
    "HYE FragPipe (DDA)": hye_reader("FragPipe_MSFragger_combined_ion.tsv"),
    "HYE AlphaPept (DDA)": hye_alphapept,
    "HYE Sage (DDA)": hye_sage,
    "UPS1 in Chlamydomonas (Progenesis)": ups1,
    "yeast Cys in Chlamydomonas (features)": yeast_cys,
    "E. coli in MCF7 (TMT10)": ecoli_tmt,
}

#: ground-truth files in ../shared/data that cannot be scored, and why (listed in the table)
NOT_SCORABLE = {
    "HYE Proteome Discoverer PeptideGroups": "no species in the trimmed file's accessions/descriptions",
    "iq Bruderer 2015 spike-ins": "12 spike-in proteins only, amounts known for one (P12799): no true nulls, so no FDP",
    "Spectronaut HYE demo (SpectroPipeR)": "2 protein groups in 16 rows",
    "HYE124 SWATH (MSstatsConvert)": "one protein (Spectronaut) / 5 proteins (DIA-Umpire)",
    "MSstats DDARawData": "spike-in concentrations not given in the repository",
    "HYE quantms MSstats input": "100 rows for 98 proteins: no protein has two values in a group (no residual df)",
}


# -- methods ------------------------------------------------------------------------------------------------
def _ours(normalize=None, **de):
    """The product's ``de``: config defaults (``proteomics de``/``run``) with the given overrides."""
    def run(ds, contrasts):
        from proteomics.commands import command_config
        from proteomics.stages import preprocess, run_de

        pre = {"normalize": {"method": normalize}} if normalize else None
        cfg = command_config("unused", None, preprocess=pre,
                             de={"contrasts": list(contrasts), **{k: v for k, v in de.items() if v is not None}})
        return run_de(cfg, preprocess(cfg, ds).clean)
    return run


def _limma(normalize):
    def run(ds, contrasts):
        from proteomics.preprocess import STEPS
        from proteomics.stats.limma import moderated_t

        if normalize:
            ds = STEPS[f"normalize_{normalize}"]().fit_transform(ds)
        return moderated_t(ds, contrasts)
    return run


def _welch(ds, contrasts):
    from proteomics.preprocess import STEPS
    from proteomics.stats.tests import welch_t

    ds = STEPS["normalize_median"]().fit_transform(ds)
    return [welch_t(ds, c) for c in contrasts]


METHODS = {
    "ours (default)": _ours(),
    "limma raw": _limma(None),
    "limma median": _limma("median"),
    "Welch median": _welch,
    "median + limma + detection": _ours(normalize="median", detection="model"),
    "mode + limma": _ours(normalize="mode", model="limma"),
    "mode + limma + detection": _ours(normalize="mode", detection="model"),
    "mode + limma + binomial detection": _ours(normalize="mode", detection="binomial"),
    "median + dpc": _ours(normalize="median", model="dpc"),
    "mode + dpc": _ours(normalize="mode", model="dpc"),
    "quantify dpc + mode + dpc": "requantify",
}

#: bench methods that are product configurations, by their calibration key (``report.calibration.method_key``)
PRODUCT_KEYS = {
    "ours (default)": "mode+hybrid+model",
    "median + limma + detection": "median+hybrid+model",
    "mode + limma": "mode+limma+none",
    "mode + limma + binomial detection": "mode+hybrid+binomial",
    "median + dpc": "median+dpc+none",
    "mode + dpc": "mode+dpc+none",
}


# -- measures -----------------------------------------------------------------------------------------------
def score(table: pd.DataFrame, truth: np.ndarray) -> dict:
    q = table["q_value"].to_numpy(dtype=float)
    p = table["p_value"].to_numpy(dtype=float)
    known = np.isfinite(truth)
    pos = known & (truth == 1)
    neg = known & (truth == 0)
    out = {"tested": int(np.isfinite(p).sum()), "n_true": int(pos.sum()), "n_null": int(neg.sum())}
    # tested = proteins of the input with a p-value (filtered or untestable proteins have none)
    for thr in (0.01, 0.05):
        call = np.nan_to_num(q, nan=2.0) < thr
        tp, fp = int((call & pos).sum()), int((call & neg).sum())
        out[f"tp_{thr}"] = tp
        out[f"fdp_{thr}"] = fp / (tp + fp) if tp + fp else 0.0
    out["calibration"] = {}
    for thr in Q_GRID:
        call = np.nan_to_num(q, nan=2.0) < thr
        tp, fp = int((call & pos).sum()), int((call & neg).sum())
        out["calibration"][str(thr)] = fp / (tp + fp) if tp + fp else None
    out["pauc_0.05"] = partial_auc(np.nan_to_num(p, nan=2.0)[known], pos[known])
    return out


def partial_auc(p: np.ndarray, pos: np.ndarray, fpr_max: float = 0.05) -> float | None:
    """Area under the ROC curve (proteins ranked by p, ascending) up to ``fpr_max``, divided by ``fpr_max``."""
    n_pos, n_neg = int(pos.sum()), int((~pos).sum())
    if n_pos == 0 or n_neg == 0:
        return None
    order = np.argsort(p, kind="stable")
    ps, lab = p[order], pos[order]
    # group ties: step once per distinct p
    last = np.r_[ps[1:] != ps[:-1], True]
    tpr = np.cumsum(lab)[last] / n_pos
    fpr = np.cumsum(~lab)[last] / n_neg
    fpr = np.r_[0.0, fpr]
    tpr = np.r_[0.0, tpr]
    cut = np.searchsorted(fpr, fpr_max, side="right")
    xs = np.r_[fpr[:cut], fpr_max]
    ys = np.r_[tpr[:cut], np.interp(fpr_max, fpr, tpr)]
    return float(np.trapezoid(ys, xs) / fpr_max)


def run(only=None, out_dir: Path | None = None) -> dict:
    logging.basicConfig(level=logging.ERROR)
    results: dict = {}
    with tempfile.TemporaryDirectory() as t:
        tmp = Path(t)
        for name, load in DATASETS.items():
            if only and not any(o.lower() in name.lower() for o in only):
                continue
            try:
                ds, truths = load(tmp)
            except FileNotFoundError as exc:
                results[name] = {"skipped": f"absent: {exc}"}
                continue
            entry = {"n_samples": ds.n_samples, "n_proteins": ds.n_proteins,
                     "missing": float(np.isnan(np.asarray(ds.X)).mean()), "methods": {}}
            contrasts = list(truths)
            if not results or all("methods" not in v for v in results.values()):
                try:  # warm-up (imports, first-call overheads) so the first timed method is not penalised
                    METHODS["ours (default)"](ds, contrasts)
                except Exception:  # noqa: BLE001 - reported below when it fails for real
                    pass
            for mname, method in METHODS.items():
                t0 = time.perf_counter()
                try:
                    if method == "requantify":  # precursor-level dpc quantification, then the dpc model
                        if id(ds) not in TABLES:
                            entry["methods"][mname] = {"error": "protein/feature-level input: no precursors"}
                            continue
                        table, sheet = TABLES[id(ds)]
                        res = _ours(normalize="mode", model="dpc")(quantify(table, sheet, method="dpc"), contrasts)
                    else:
                        res = method(ds, contrasts)
                except Exception as exc:  # a method that cannot handle a data set is reported, not fatal
                    entry["methods"][mname] = {"error": f"{type(exc).__name__}: {exc}"}
                    continue
                wall = time.perf_counter() - t0
                res = res if isinstance(res, list) else [res]
                per = {}
                for r in res:
                    # every protein of the input counts: one a method filters out is simply not found
                    tab = r.table.drop_duplicates("protein_group").set_index("protein_group") \
                        .reindex(ds.protein_ids)
                    per[r.contrast] = score(tab, np.asarray(truths[r.contrast], dtype=float))
                entry["methods"][mname] = {"wall_s": wall, "contrasts": per}
            results[name] = entry
            print(f"{name}: done", flush=True)
    results["not_scorable"] = NOT_SCORABLE
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / "results.json").write_text(json.dumps(results, indent=1, default=float))
        (out_dir / "table.md").write_text(markdown(results))
        calibration_plot(results, out_dir / "calibration.png")
    return results


def export_calibration(results: dict, path: Path, measured: str) -> dict:
    """Write the calibration points of the product configurations (``PRODUCT_KEYS``) as the report's packaged
    ``de_calibration.json``: per method, per data set × contrast, the observed FDP at every nominal q."""
    methods: dict = {}
    for mname, key in PRODUCT_KEYS.items():
        points = []
        for name, entry in results.items():
            if name == "not_scorable" or mname not in entry.get("methods", {}):
                continue
            for contrast, s in entry["methods"][mname].get("contrasts", {}).items():
                if s["n_true"] and s["n_null"]:
                    points.append({"dataset": name, "contrast": contrast, "fdp": s["calibration"]})
        methods[key] = {"label": "the default (mode normalisation, moderated t + detection test)"
                        if mname == "ours (default)" else mname, "points": points}
    data = {"schema": 1, "measured": measured, "command": "python bench/de_groundtruth.py --export-calibration",
            "q_grid": [str(q) for q in Q_GRID], "methods": methods}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    return data


def _fmt(v, pct=False):
    if v is None:
        return "–"
    return f"{100 * v:.1f} %" if pct else (f"{v:.3f}" if isinstance(v, float) else str(v))


def markdown(results: dict) -> str:
    lines = ["| data set | contrast | method | tested | true found q<0.01 | FDP q<0.01 | true found q<0.05 | "
             "FDP q<0.05 | pAUC(0.05) | time |", "|---|---|---|---:|---:|---:|---:|---:|---:|---:|"]
    for name, entry in results.items():
        if name == "not_scorable" or "methods" not in entry:
            continue
        for mname, m in entry["methods"].items():
            if "error" in m:
                lines.append(f"| {name} | | {mname} | error: {m['error'][:80]} | | | | | | |")
                continue
            for con, s in m["contrasts"].items():
                lines.append(f"| {name} | {con} | {mname} | {s['tested']} | {s['tp_0.01']}/{s['n_true']} | "
                             f"{_fmt(s['fdp_0.01'], True)} | {s['tp_0.05']}/{s['n_true']} | {_fmt(s['fdp_0.05'], True)}"
                             f" | {_fmt(s['pauc_0.05'])} | {m['wall_s']:.2f} s |")
    lines += ["", "Not scorable (ground-truth files in ../shared/data without the truth needed for an FDP):", ""]
    lines += [f"- {k}: {v}" for k, v in results.get("not_scorable", {}).items()]
    return "\n".join(lines) + "\n"


def calibration_plot(results: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    show = ("ours (default)", "limma raw", "limma median", "Welch median", "mode + dpc")
    fig, ax = plt.subplots(figsize=(5.5, 5))
    for k, mname in enumerate(show):
        xs, ys = [], []
        for name, entry in results.items():
            if name == "not_scorable" or "methods" not in entry or mname not in entry["methods"]:
                continue
            for s in entry["methods"][mname].get("contrasts", {}).values():
                for q, f in s["calibration"].items():
                    if f is not None:
                        xs.append(float(q))
                        ys.append(f)
        if xs:
            jitter = 1 + 0.04 * (k - 2)
            ax.scatter(np.array(xs) * jitter, ys, s=10, alpha=0.6, label=mname)
    ax.plot([1e-3, 0.2], [1e-3, 0.2], "k--", lw=1, label="FDP = q")
    ax.set_xscale("log")
    ax.set_xlabel("nominal q-value threshold")
    ax.set_ylabel("observed false discovery proportion")
    ax.set_title("FDR calibration on ground-truth data sets")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def speed(n_samples: int = 1000, n_proteins: int = 10000, seed: int = 0) -> dict:
    """Wall time of today's moderated t (limma alone) against the hybrid default and the dpc model on one
    simulated matrix (samples × proteins, two groups, intensity-dependent missingness)."""
    from scipy.special import expit

    from proteomics.stats.differential import differential
    from proteomics.stats.limma import moderated_t

    rng = np.random.default_rng(seed)
    mu = rng.normal(21, 2.5, n_proteins)
    Y = mu[None, :] + rng.normal(0, 0.5, (n_samples, n_proteins))
    Y[n_samples // 2:, : n_proteins // 10] += 1.0
    X = np.where(rng.random(Y.shape) < expit(-20 + Y), Y, np.nan)
    s = pd.DataFrame({"condition": ["A"] * (n_samples // 2) + ["B"] * (n_samples - n_samples // 2)},
                     index=[f"s{i}" for i in range(n_samples)])
    ds = Dataset(X, s, pd.DataFrame(index=[f"p{j}" for j in range(n_proteins)]))
    out = {"n_samples": n_samples, "n_proteins": n_proteins, "missing": float(np.isnan(X).mean())}
    for name, fn in (("moderated_t", lambda: moderated_t(ds, "B-A")),
                     ("hybrid (default)", lambda: differential(ds, "B-A")),
                     ("dpc", lambda: differential(ds, "B-A", model="dpc"))):
        t0 = time.perf_counter()
        fn()
        out[name] = time.perf_counter() - t0
    out["ratio_hybrid"] = out["hybrid (default)"] / out["moderated_t"]
    out["ratio_dpc"] = out["dpc"] / out["moderated_t"]
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", default="", help="comma-separated substrings of data-set names")
    ap.add_argument("--out", default=str(ROOT / "bench" / "out" / "de_groundtruth"))
    ap.add_argument("--speed", action="store_true", help="time the models on 1,000 samples × 10,000 proteins")
    ap.add_argument("--export-calibration", action="store_true",
                    help="also write proteomics/report/data/de_calibration.json (the run report's calibration figure)")
    ap.add_argument("--from-results", default="", help="re-export from an earlier results.json instead of running")
    a = ap.parse_args(argv)
    if a.speed:
        print(json.dumps(speed(), indent=1))
        return
    only = [s for s in a.only.split(",") if s]
    if a.from_results:
        res = json.loads(Path(a.from_results).read_text())
    else:
        res = run(only or None, Path(a.out))
        print(markdown(res))
    if a.export_calibration:
        export_calibration(res, ROOT / "proteomics" / "report" / "data" / "de_calibration.json",
                           time.strftime("%Y-%m-%d"))


if __name__ == "__main__":
    main()
