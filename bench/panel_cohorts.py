"""Panel bench on real cohorts: our default panel (and fixed sizes) against the plain L1 and random-forest
baselines on the same outer folds.

    nice -n 10 python bench/panel_cohorts.py [--cohorts covid,cirrhosis,nafld_or_cirrhosis] [--permutations 5]
                                             [--out bench/out/panel] [--seed 0]
                                             [--variant NAME='{"selector": "moderated_t", ...}' ...]

Cohorts (need ../shared/data beside the checkout):
  covid              PeCorA COVID-19 plasma, COVID vs non-COVID, built exactly as notebook 04 (MaxLFQ, 103 vs 26)
  cirrhosis          AlphaPeptStats liver plasma (MaxQuant LFQ), liver cirrhosis vs healthy (10 vs 10)
  nafld_or_cirrhosis the same, NAFLD or cirrhosis vs healthy (20 vs 10)
Further contrasts of the liver cohort (not run by default; name them in --cohorts), to test generality:
  t2d                T2D with or without NAFLD vs healthy (18 vs 10)
  nafld              NAFLD with or without T2D vs healthy (20 vs 10)
  any_liver_or_t2d   any of NAFLD, T2D, both, cirrhosis vs healthy (38 vs 10)
  cirrhosis_vs_nafld cirrhosis vs NAFLD with or without T2D (10 vs 20)
  bal                lung-repair BALF (the one real BAL set), mechanical ventilation vs CPAP (8 vs 4)
The liver proteinGroups.txt drops trailing empty fields on most rows, which our MaxQuant reader refuses
("row has 52 fields but the header has 55"); the bench reads its ``LFQ intensity`` columns with pandas (zeros =
missing, Reverse / Potential contaminant / Only identified by site rows dropped, log2).

Measures per method: headline AUC (mean over repeats of the pooled out-of-fold AUC) with DeLong 95% CI, panel
size (mean over outer folds), selection stability (mean pairwise Jaccard index of the outer folds' panels),
calibration slope and Brier score of the out-of-fold probabilities averaged over repeats, CPU seconds (process
time, one core), and for our default the label-permutation AUC (mean ± SD).

``--variant NAME=JSON`` (repeatable) also runs the nested CV with those panel settings (keys of
``PanelSettings`` over the defaults) on the same outer folds, as the row "variant NAME": how alternatives to
the default were measured side by side.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
import warnings
from itertools import combinations
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
COHORTS = ("covid", "cirrhosis", "nafld_or_cirrhosis")
FIXED = (5, 10, 20, "unrestricted")


def load_covid():
    import proteomics as pt

    base = SHARED / "pecora_covid_iprg" / "derived"
    labels = pd.read_csv(base / "Covid_peptides_samples.derived.tsv", sep="\t")
    name = labels["variable"].str.replace("LFQ.intensity.", "", regex=False)
    sheet = pt.SampleSheet.from_frame(pd.DataFrame({
        "run": labels["variable"], "sample": name, "subject": name, "specimen": "plasma",
        "condition": labels["Condition"],
        "covid_vs_nonco": labels["Condition"].where(labels["Condition"].isin(["COVID", "NONCO"]), "")}))
    ds = pt.quantify(pt.read(base / "Covid_peptides_wide.derived.tsv"), sheet, method="maxlfq", min_ratio_count=1)
    lab = ds.samples["covid_vs_nonco"].astype(str)
    keep = lab.isin(["COVID", "NONCO"]).to_numpy()
    return ds.to_frame()[keep], lab[keep].to_numpy(), "COVID"


_HEALTHY, _NAFLD, _CIRRHOSIS = "healthy", "non-alcoholic fatty liver disease", "liver cirrhosis"
_T2D, _T2D_NAFLD = "type 2 diabetes mellitus", "type 2 diabetes mellitus|non-alcoholic fatty liver disease"
#: liver plasma contrasts: (cases, controls) by the metadata's ``disease`` (10 healthy, 10 NAFLD, 10 T2D with NAFLD,
#: 10 cirrhosis, 8 T2D); the first two are the issue's cohorts, the others (``--cohorts``) test generality
LIVER = {"cirrhosis": ([_CIRRHOSIS], [_HEALTHY]),
         "nafld_or_cirrhosis": ([_CIRRHOSIS, _NAFLD], [_HEALTHY]),
         "t2d": ([_T2D, _T2D_NAFLD], [_HEALTHY]),
         "nafld": ([_NAFLD, _T2D_NAFLD], [_HEALTHY]),
         "any_liver_or_t2d": ([_NAFLD, _CIRRHOSIS, _T2D, _T2D_NAFLD], [_HEALTHY]),
         "cirrhosis_vs_nafld": ([_CIRRHOSIS], [_NAFLD, _T2D_NAFLD])}
EXTRA = (*(c for c in LIVER if c not in COHORTS), "bal")


def load_bal():
    """The one real BAL set: ventilation (8) vs CPAP (4) patients, linear abundances → log2 (empty = missing;
    rows without a gene symbol or with a repeated one are dropped)."""
    base = SHARED / "lung_repair_balf"
    X = pd.read_csv(base / "protein_abundance.derived.tsv", sep="\t", index_col="gene").astype(float)
    X = X[X.index.notna() & ~X.index.duplicated(keep=False)]  # rows without a gene or repeating one: dropped
    X = np.log2(X.where(X > 0)).T
    sheet = pd.read_csv(base / "sheet.derived.csv").set_index("sample").loc[X.index]
    return X, sheet["condition"].astype(str).to_numpy(), "ventilation"


def load(name: str):
    """(samples × proteins log2, labels, positive class) of a cohort by name."""
    return load_covid() if name == "covid" else load_bal() if name == "bal" else load_liver(name)


def load_liver(which: str):
    base = SHARED / "alphastats_liver_plasma_maxquant"
    df = pd.read_csv(base / "proteinGroups.txt", sep="\t", quoting=csv.QUOTE_NONE, dtype=str)
    for col in ("Only identified by site", "Reverse", "Potential contaminant"):
        df = df[df[col].fillna("").str.strip() != "+"]
    df = df[~df["Protein IDs"].duplicated(keep=False)]
    lfq = [c for c in df.columns if c.startswith("LFQ intensity ")]
    X = df.set_index("Protein IDs")[lfq].astype(float)
    X = np.log2(X.where(X > 0)).T
    X.index = [c.replace("LFQ intensity ", "") for c in X.index]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # openpyxl: unknown extension
        meta = pd.read_excel(base / "metadata.xlsx").set_index("sample").loc[X.index]
    d = meta["disease"].astype(str)
    cases, controls = LIVER[which]
    keep = d.isin([*cases, *controls]).to_numpy()
    control = "healthy" if controls == [_HEALTHY] else "control"
    return X[keep], np.where(d[keep].isin(cases), "disease", control), "disease"


def jaccard(sets) -> float:
    sets = [set(s) for s in sets]
    if len(sets) < 2:
        return float("nan")
    return float(np.mean([len(a & b) / max(1, len(a | b)) for a, b in combinations(sets, 2)]))


def _calibration(folds, key, y01, sample_ids):
    from proteomics.panel import metrics as M

    pos = {s: i for i, s in enumerate(sample_ids)}
    tot, cnt = np.zeros(y01.size), np.zeros(y01.size)
    for f in folds:
        pr = f.proba if key == "default" else f.size_proba[key]
        idx = [pos[s] for s in f.test_samples]
        tot[idx] += pr[:, 1]
        cnt[idx] += 1
    p = tot / np.maximum(cnt, 1)
    return {**M.calibration_slope_intercept(y01, p), "brier": M.brier(y01, p)}


def bench_cohort(name: str, *, seed: int, permutations: int, variants: dict | None = None) -> dict:
    from proteomics.panel.baselines import run_baselines
    from proteomics.panel.cv import nested_cv
    from proteomics.panel.settings import coerce_settings

    X, y, positive = load(name)
    settings = coerce_settings({})
    y01 = (y == positive).astype(int)
    ids = [str(s) for s in X.index]
    def ours(s):
        t0 = time.process_time()
        cv = nested_cv(X, y, positive=positive, settings=s, seed=seed)
        row = {"auc": cv.auc, **_ci(cv), "size": float(np.mean([len(f.selected) for f in cv.folds])),
               "stability": jaccard([f.selected for f in cv.folds]), **_calibration(cv.folds, "default", y01, ids),
               "cpu_s": time.process_time() - t0,
               "chosen_sizes": [("unrestricted" if f.k is None else f.k) for f in cv.folds]}
        return cv, row

    rows = {}
    cv, rows["ours (default)"] = ours(settings)
    for pt in cv.size_curve:
        if pt["size"] in FIXED:
            key = None if pt["size"] == "unrestricted" else pt["size"]
            rows[f"ours, size {pt['size']}"] = {
                "auc": pt["auc"], "auc_ci_low": pt["auc_ci_low"], "auc_ci_high": pt["auc_ci_high"],
                "size": pt["mean_panel_size"], "stability": jaccard([f.size_selected[key] for f in cv.folds]),
                **_calibration(cv.folds, key, y01, ids), "cpu_s": None}
    for vname, v in (variants or {}).items():
        rows[f"variant {vname}"] = ours(coerce_settings(v))[1]
    base = run_baselines(X, y, positive=positive, settings=settings, seed=seed)
    for m, b in base["methods"].items():
        rows[m] = {k: b[k] for k in ("auc", "auc_ci_low", "auc_ci_high", "size")}
        rows[m].update({k: b.get(k) for k in ("calibration_slope", "brier")})
        rows[m]["stability"] = None
        rows[m]["cpu_s"] = base["cpu_seconds"][m]
    perm = None
    if permutations:
        t0 = time.process_time()
        null = nested_cv(X, y, positive=positive, settings=settings, seed=seed, n_permutations=permutations)
        perm = {"n": permutations, "mean": float(np.mean(null.permutation_aucs)),
                "sd": float(np.std(null.permutation_aucs, ddof=1)) if permutations > 1 else None,
                "aucs": list(null.permutation_aucs), "cpu_s": time.process_time() - t0}
    return {"cohort": name, "n": int(len(y)), "n_positive": int(y01.sum()), "n_proteins": int(X.shape[1]),
            "methods": rows, "size_curve": list(cv.size_curve), "permutation": perm}


def _ci(cv) -> dict:
    from proteomics.panel.curve import pooled_auc

    parts = []
    ids = list(dict.fromkeys(cv.oof["sample"]))
    index = {s: i for i, s in enumerate(ids)}
    lab = cv.oof.drop_duplicates("sample").set_index("sample")["label"].reindex(ids).to_numpy()
    for f in cv.folds:
        parts.append((f.repeat, [index[s] for s in f.test_samples], f.proba))
    d = pooled_auc(parts, lab, cv.classes, cv.positive)
    return {"auc_ci_low": d["auc_ci_low"], "auc_ci_high": d["auc_ci_high"]}


def _f(x, nd=3):
    return "–" if x is None or (isinstance(x, float) and not np.isfinite(x)) else f"{x:.{nd}f}"


def markdown(results: list[dict]) -> str:
    out = ["| cohort | method | AUC (95% CI) | size | stability (Jaccard) | calibration slope | Brier | CPU s |",
           "|---|---|---|---:|---:|---:|---:|---:|"]
    for r in results:
        coh = f"{r['cohort']} ({r['n_positive']} vs {r['n'] - r['n_positive']})"
        for m, v in r["methods"].items():
            out.append(f"| {coh} | {m} | {_f(v['auc'])} ({_f(v['auc_ci_low'])}–{_f(v['auc_ci_high'])}) | "
                       f"{_f(v['size'], 1)} | {_f(v['stability'], 2)} | {_f(v.get('calibration_slope'), 2)} | "
                       f"{_f(v.get('brier'))} | {_f(v['cpu_s'], 1)} |")
        p = r.get("permutation")
        if p:
            out.append(f"| {coh} | ours (default), labels permuted ×{p['n']} | {_f(p['mean'])} ± {_f(p['sd'])} "
                       f"(mean ± SD) | | | | | {_f(p['cpu_s'], 1)} |")
    return "\n".join(out) + "\n"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cohorts", default=",".join(COHORTS))
    ap.add_argument("--permutations", type=int, default=5)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=str(ROOT / "bench" / "out" / "panel"))
    ap.add_argument("--variant", action="append", default=[], metavar="NAME=JSON",
                    help="also run ours with these panel settings (JSON object) on the same folds")
    a = ap.parse_args(argv)
    variants = {}
    for item in a.variant:
        name, _, text = item.partition("=")
        try:
            variants[name.strip()] = dict(json.loads(text))
        except (ValueError, TypeError) as exc:
            ap.error(f"--variant {item!r}: give NAME={{JSON object}} ({exc})")
    from proteomics.errors import InputError
    from proteomics.panel.settings import coerce_settings

    for name, v in variants.items():  # refuse a bad key before minutes of nested CV, not after
        try:
            coerce_settings(v)
        except InputError as exc:
            ap.error(f"--variant {name}: {exc}")
    cohorts = [c.strip() for c in a.cohorts.split(",") if c.strip()]
    bad = [c for c in cohorts if c not in (*COHORTS, *EXTRA)]
    if bad:
        ap.error(f"unknown cohort(s) {bad}; choose from {', '.join((*COHORTS, *EXTRA))}")
    if not SHARED.exists():
        print(f"{SHARED} is absent: the panel bench needs ../shared/data", file=sys.stderr)
        return 2
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    results = []
    for c in cohorts:
        print(f"cohort {c} …", file=sys.stderr, flush=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            results.append(bench_cohort(c, seed=a.seed, permutations=a.permutations, variants=variants))
        (out / f"{c}.json").write_text(json.dumps(results[-1], indent=1, default=float))
    md = markdown(results)
    (out / "table.md").write_text(md)
    print(md)
    return 0


if __name__ == "__main__":
    sys.exit(main())
