"""The simulated cohort: subjects, their samples and every drawn truth (:class:`Cohort`, :func:`simulate_cohort`)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .catalogue import DEFAULT_SEED, N_GENERIC, SPECIMENS, catalogue
from .precursors import precursor_table, sample_abundance
from .proteins import library, specimen_proteins

__all__ = ["Cohort", "simulate_cohort"]


@dataclass(frozen=True)
class Cohort:
    """Everything the simulation drew, so tests can compare results with the truth.

    ``sheet``: one row per training run (run, sample, subject, specimen, condition, batch, age, sex,
    smoking, time, event). ``new_sheet``: the same for the new (scoring) patients.
    ``subjects``: one row per patient (index ``subject``), incl. ``hemolysed``, ``clotted``, ``subgroup``.
    ``truth``: one row per (specimen, protein): true_log2fc, changed, reference and covariate effects.
    ``abundance[specimen]``: samples × proteins, log2, complete (no missingness, no precursor noise).
    ``precursors[specimen]``: long table, one row per (run, precursor) incl. removed values:
    run, sample, protein_group, precursor_id, modified_sequence, stripped_sequence, charge,
    log2_expected, log2_intensity, status (detected | low_confidence | missing), q_value, pg_q_value.
    ``subgroups``: subject → planted subgroup label (0…k−1), or None; ``programmes``: the subgroup
    programme proteins and effects.
    """

    seed: int
    subjects: pd.DataFrame
    sheet: pd.DataFrame
    new_sheet: pd.DataFrame
    truth: pd.DataFrame
    proteins: dict
    abundance: dict
    precursors: dict
    subgroups: pd.Series | None
    programmes: pd.DataFrame


# ------------------------------------------------------------------------------------------ subjects

def draw_subjects(rng: np.random.Generator, n_patients: int, n_bal: int, n_sputum: int, n_subgroups: int,
              n_hemolysed: int, n_clotted: int = 1) -> pd.DataFrame:
    """One row per patient (index ``subject``): condition, age, sex, smoking (pack-years), batch, survival
    time/event, planted subgroup, hemolysed/clotted flags and which specimens were sampled."""
    if n_patients < 8 or n_patients % 2:
        raise ValueError("n_patients must be an even number ≥ 8")
    half = n_patients // 2
    ids = [f"P{i + 1:03d}" for i in range(n_patients)]
    cancer = np.zeros(n_patients, dtype=bool)
    cancer[rng.permutation(n_patients)[:half]] = True
    condition = np.where(cancer, "cancer", "control")
    age = np.where(cancer, rng.normal(66, 8, n_patients), rng.normal(62, 9, n_patients))
    age = np.clip(np.round(age), 40, 85).astype(int)
    sex = np.where(rng.random(n_patients) < 0.45, "female", "male")
    smoker = rng.random(n_patients) < np.where(cancer, 0.85, 0.55)
    packs = np.where(cancer, rng.gamma(3.0, 12.0, n_patients), rng.gamma(3.0, 7.0, n_patients))
    smoking = np.round(np.where(smoker, packs, 0.0), 1)
    batch = np.empty(n_patients, dtype=object)
    for is_cancer, n_first in ((True, round(half * 17 / 30)), (False, half - round(half * 17 / 30))):
        idx = rng.permutation(np.flatnonzero(cancer == is_cancer))
        batch[idx] = "2"
        batch[idx[:n_first]] = "1"
    subgroup = np.full(n_patients, -1)
    if n_subgroups:
        for is_cancer in (True, False):
            idx = rng.permutation(np.flatnonzero(cancer == is_cancer))
            subgroup[idx] = np.arange(idx.size) % n_subgroups
    hazard = np.where(cancer, 0.025, 0.004) * np.exp(0.6 * np.maximum(subgroup, 0))
    event_time = rng.exponential(1.0 / hazard)
    censor = rng.uniform(24, 60, n_patients)
    time = np.round(np.minimum(event_time, censor), 1)
    event = (event_time <= censor).astype(int)
    in_bal = np.zeros(n_patients, dtype=bool)
    in_sputum = np.zeros(n_patients, dtype=bool)
    for flags, n in ((in_bal, n_bal), (in_sputum, n_sputum)):
        for is_cancer in (True, False):
            idx = rng.permutation(np.flatnonzero(cancer == is_cancer))
            flags[idx[: n // 2 if is_cancer else n - n // 2]] = True
    hemolysed = np.zeros(n_patients, dtype=bool)
    hemolysed[rng.permutation(n_patients)[:n_hemolysed]] = True
    clotted = np.zeros(n_patients, dtype=bool)
    if n_clotted == 1:
        clotted[rng.choice(np.flatnonzero(~hemolysed))] = True
    elif n_clotted > 1:
        clotted[rng.permutation(np.flatnonzero(~hemolysed))[:n_clotted]] = True
    return pd.DataFrame({"condition": condition, "age": age, "sex": sex, "smoking": smoking, "batch": batch,
                         "time": time, "event": event, "subgroup": subgroup, "hemolysed": hemolysed,
                         "clotted": clotted, "in_BAL": in_bal, "in_sputum": in_sputum},
                        index=pd.Index(ids, name="subject"))


def new_subjects() -> pd.DataFrame:
    """Three new plasma patients: N001 cancer, N002 control, N003 unfit (hemolysed, low load, mostly missing)."""
    return pd.DataFrame({"condition": ["cancer", "control", "control"], "age": [67, 58, 71],
                         "sex": ["male", "female", "male"], "smoking": [45.0, 0.0, 20.0], "batch": ["3"] * 3,
                         "time": [np.nan] * 3, "event": [-1] * 3, "subgroup": [-1] * 3,
                         "hemolysed": [False, False, True], "clotted": [False] * 3, "in_BAL": [False] * 3,
                         "in_sputum": [False] * 3, "load": [0.0, 0.0, -5.0]},
                        index=pd.Index(["N001", "N002", "N003"], name="subject"))


def simulate_cohort(seed: int = DEFAULT_SEED, *, n_patients: int = 60, n_bal: int = 24, n_sputum: int = 24,
                    n_subgroups: int = 0, n_hemolysed: int = 3, n_clotted: int = 1, fraction_changed: float = 0.08,
                    batch_effects: bool = True, extra_proteins: int = 0,
                    specimens: tuple[str, ...] = SPECIMENS) -> Cohort:
    """Simulate the cohort (see the module docstring for the model). Same arguments → identical output.

    ``n_subgroups = k ≥ 2`` plants k patient subgroups with distinct protein programmes
    (``Cohort.subgroups`` holds the labels). A cohort without any group structure (for "no stable
    clustering" tests): ``fraction_changed=0, n_hemolysed=0, n_clotted=0, batch_effects=False``.
    ``extra_proteins`` adds that many generic (``SIM…``) proteins to every specimen (e.g. for
    4,000-protein benchmarks). The three new patients N001–N003 are always simulated (plasma only,
    batch 3) for the scoring demo.
    """
    if n_subgroups == 1 or n_subgroups < 0:
        raise ValueError("n_subgroups must be 0 (none) or ≥ 2")
    ss = np.random.SeedSequence(seed)
    r_subj, r_lib, r_gen, *r_spec = (np.random.default_rng(s) for s in ss.spawn(3 + 2 * len(SPECIMENS) + 1))
    r_prog = r_spec.pop()
    subj = draw_subjects(r_subj, n_patients, n_bal, n_sputum, n_subgroups, n_hemolysed, n_clotted)
    subj["load"] = 0.0
    new = new_subjects()
    cat = catalogue()
    n_generic = max(N_GENERIC.values()) + extra_proteins
    generic = pd.DataFrame({"protein_group": [f"SIM{i + 1:05d}" for i in range(n_generic)],
                            "gene": [f"SIM{i + 1:05d}" for i in range(n_generic)],
                            "entry": [f"SIM{i + 1:05d}_SIMUL" for i in range(n_generic)], "panel": "-",
                            "tier": r_gen.choice(["C", "D", "D", "E", "E", "E"], n_generic)})
    lib = library(r_lib, list(cat["protein_group"]) + list(generic["protein_group"]))
    proteins, abundance, precursors, prog_rows = {}, {}, {}, []
    prot_rngs = dict(zip(SPECIMENS, r_spec[: len(SPECIMENS)], strict=True))
    data_rngs = dict(zip(SPECIMENS, r_spec[len(SPECIMENS):], strict=True))
    for spec in SPECIMENS:
        proteins[spec] = specimen_proteins(prot_rngs[spec], spec, cat, generic, fraction_changed, extra_proteins)
    if n_subgroups:
        for spec in SPECIMENS:
            prot = proteins[spec]
            free = r_prog.permutation(np.flatnonzero(prot["free"].to_numpy()))
            size = max(6, round(0.05 * len(prot)))
            for g in range(n_subgroups):
                idx = free[g * size:(g + 1) * size]
                eff = np.round(r_prog.choice([-1.0, 1.0], idx.size, p=[0.3, 0.7]) * r_prog.uniform(1, 2, idx.size), 3)
                prog_rows += [(spec, prot["protein_group"].iloc[j], g, e) for j, e in zip(idx, eff, strict=True)]
    prog = pd.DataFrame(prog_rows, columns=["specimen", "protein_group", "subgroup", "effect"])
    sheet_rows = []
    for spec in specimens:
        flag = {"plasma": None, "BAL": "in_BAL", "sputum": "in_sputum"}[spec]
        s = subj if flag is None else subj[subj[flag]]
        if spec == "plasma":
            s = pd.concat([s, new])
        A = sample_abundance(data_rngs[spec], spec, proteins[spec], s, prog, batch_effects)
        runs = [f"{sub}_{spec}_b{b}" for sub, b in zip(s.index, s["batch"], strict=True)]
        precursors[spec] = precursor_table(data_rngs[spec], spec, proteins[spec], A, runs, lib)
        abundance[spec] = A
        for sub, run in zip(s.index, runs, strict=True):
            sheet_rows.append({"run": f"{run}.raw", "sample": f"{sub}_{spec}", "subject": sub, "specimen": spec,
                               "condition": s.loc[sub, "condition"] if sub in subj.index else "unknown",
                               "batch": s.loc[sub, "batch"], "age": int(s.loc[sub, "age"]),
                               "sex": s.loc[sub, "sex"], "smoking": float(s.loc[sub, "smoking"]),
                               "time": s.loc[sub, "time"], "event": int(s.loc[sub, "event"])})
    sheet_all = pd.DataFrame(sheet_rows)
    is_new = sheet_all["subject"].isin(new.index)
    sheet = sheet_all[~is_new].reset_index(drop=True)
    new_sheet = sheet_all[is_new].drop(columns=["time", "event"]).reset_index(drop=True)
    truth = pd.concat([proteins[s].assign(specimen=s) for s in specimens], ignore_index=True)
    truth = truth[["protein_group", "gene", "specimen", "true_log2fc", "changed", "reference", "panel",
                   "log10_abundance", "sd_bio", "age_effect_per_decade", "sex_effect_female",
                   "smoking_effect_per_10py", "n_precursors"]]
    truth = truth.rename(columns={"panel": "contamination_panel"})
    truth["contamination_panel"] = truth["contamination_panel"].map(
        {"ery": "erythrocyte", "plt": "platelet", "coag": "coagulation"}).fillna("")
    subjects = pd.concat([subj, new])
    subgroups = subj["subgroup"].rename("subgroup") if n_subgroups else None
    return Cohort(seed=seed, subjects=subjects, sheet=sheet, new_sheet=new_sheet, truth=truth,
                  proteins=proteins, abundance=abundance, precursors=precursors, subgroups=subgroups,
                  programmes=prog)
