"""``stratify``: discover patient subgroups, test that they are real, characterise them, lock a stratifier.

Steps (all learned on the given samples only):

1. preprocessing (``settings["preprocess"]``, default: no contaminants, ≥ 70 % valid values, median centring),
   then the features: the ``n_features`` most variable proteins (log2; at most ``max_feature_fraction`` of the
   proteins, so noise proteins do not swamp small panels) or a given list, as z-scores;
2. consensus clustering for k = 2..k_max (:mod:`.consensus`), PAC and silhouette (euclidean, z-space) per k;
3. null comparison: the same procedure on ``null_permutations`` copies of the feature matrix with every protein's
   values permuted across samples (no structure, same marginals). PAC shrinks with k even without structure, so k
   is chosen by the largest *PAC gain* = mean null PAC(k) − PAC(k) (within ``pac_tolerance``: larger silhouette),
   among partitions whose smallest cluster has ≥ ``min_cluster_fraction`` of the samples. Empirical p = (1 +
   #{null data sets whose largest gain ≥ the observed largest gain}) / (1 + permutations), a max-over-k test. The
   clustering is *stable* when p ≤ ``alpha`` and PAC(k) ≤ ``max_pac``; otherwise the result says "no stable
   clustering" and every sample is put in one group ``C1`` (k = 1);
4. association of clusters with batch / run order / specimen (warnings when they explain a cluster), with clinical
   columns, survival by cluster when ``time``/``event`` columns exist, cluster-vs-rest moderated t;
5. a locked stratifier (preprocessing state + standardisation + centroids) as a Signature of kind "stratifier".
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..dataset import Dataset
from ..errors import InputError
from . import associations as assoc
from .centroids import CentroidModel
from .characterise import cluster_vs_rest, top_proteins
from .consensus import cluster_stability, consensus_cdf, consensus_cluster, sample_confidence
from .features import FeatureSpace, fit_preprocess, select_features
from .settings import resolve_settings
from .stratifier import lock_stratifier

__all__ = ["StratifyResult", "stratify", "METRICS_SCHEMA", "METRICS_SCHEMA_VERSION"]

log = logging.getLogger(__name__)

METRICS_SCHEMA = "proteomics.stratify_metrics"
METRICS_SCHEMA_VERSION = 1
_RUN_ORDER = ("run_order", "injection_order", "acquisition_order", "order")
_NOT_CLINICAL = {"run", "sample", "subject", "specimen", "batch", *_RUN_ORDER}


@dataclass(frozen=True)
class StratifyResult:
    """Everything ``stratify`` found. Tables are pandas DataFrames; matrices are numpy arrays.

    assignments: sample, cluster ("C1".."Ck"), confidence (mean consensus with the own cluster, 0..1).
    metrics: the JSON-ready dict written to stratify_metrics.json (``k``, ``stable``, PAC/silhouette per k …).
    consensus: k → (n_samples × n_samples) consensus matrix, rows in assignment order.
    labels_by_k: k → cluster names for every k tried (for reporting all k).
    clusters: cluster, n, stability (mean within-cluster consensus), mean_confidence.
    cdf: k, consensus, cdf (consensus CDF curves); pca: sample, PC1, PC2, cluster (z-space PCA).
    technical, clinical: association tables; km_curves (group, time, n_risk, n_event, n_censor, survival);
    cox: hazard ratios vs C1; de: cluster-vs-rest moderated t (long); top_proteins: top_n per cluster.
    stratifier: the locked Signature (kind "stratifier"); features: the clustering proteins in order.
    """

    assignments: pd.DataFrame
    metrics: dict
    consensus: dict[int, np.ndarray]
    labels_by_k: dict[int, list[str]]
    clusters: pd.DataFrame
    cdf: pd.DataFrame
    pca: pd.DataFrame
    technical: pd.DataFrame
    clinical: pd.DataFrame
    km_curves: pd.DataFrame
    cox: pd.DataFrame
    de: pd.DataFrame
    top_proteins: pd.DataFrame
    stratifier: Any
    features: tuple[str, ...]
    warnings: tuple[str, ...] = field(default_factory=tuple)


def _names(k: int) -> tuple[str, ...]:
    return tuple(f"C{i + 1}" for i in range(k))


def _silhouette(Z: np.ndarray, labels: np.ndarray) -> float:
    from sklearn.metrics import silhouette_score

    n_lab = np.unique(labels).size
    if n_lab < 2 or n_lab >= Z.shape[0]:
        return float("nan")
    return float(silhouette_score(Z, labels, metric="euclidean"))


def _choose_k(pac: Mapping[int, float], sil: Mapping[int, float], tol: float) -> int:
    best = min(pac.values())
    cands = [k for k in sorted(pac) if pac[k] <= best + tol + 1e-12]
    return max(cands, key=lambda k: (np.nan_to_num(sil[k], nan=-2.0), -k))


def _permuted(Z: np.ndarray, ss: np.random.SeedSequence) -> np.ndarray:
    """Every column's values permuted across rows independently (protein-wise null)."""
    rng = np.random.default_rng(ss)
    idx = np.argsort(rng.random(Z.shape), axis=0, kind="stable")
    return np.take_along_axis(Z, idx, axis=0)


def _pca(Z: np.ndarray, n: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """Scores (samples × n) of the centred Z and explained-variance ratios; sign fixed (largest |loading| > 0)."""
    Zc = Z - Z.mean(axis=0)
    U, S, Vt = np.linalg.svd(Zc, full_matrices=False)
    n = min(n, S.size)
    signs = np.sign(Vt[np.arange(n), np.argmax(np.abs(Vt[:n]), axis=1)])
    signs[signs == 0] = 1.0
    scores = U[:, :n] * S[:n] * signs
    total = float((S ** 2).sum())
    ratio = (S[:n] ** 2) / total if total > 0 else np.zeros(n)
    if n < 2:
        scores = np.column_stack([scores, np.zeros((Z.shape[0], 2 - n))])
        ratio = np.concatenate([ratio, np.zeros(2 - n)])
    return scores, ratio


def _specimen(ds: Dataset, given: str | None) -> str | None:
    if given is not None:
        return str(given)
    if "specimen" in ds.samples.columns:
        vals = sorted(set(ds.samples["specimen"].dropna().astype(str)))
        if len(vals) == 1:
            return vals[0]
        if len(vals) > 1:
            raise InputError(f"the data mix specimens ({', '.join(vals)}); a stratifier is for one specimen",
                             column="specimen", hint="stratify one specimen at a time (--specimen TYPE)")
    return None


def _records(df: pd.DataFrame) -> list[dict]:
    return [{k: (None if isinstance(v, float) and not np.isfinite(v) else v) for k, v in r.items()}
            for r in df.to_dict("records")]


def stratify(ds: Dataset, *, k_max: int = 6, settings: dict | None = None, seed: int = 0, n_jobs: int = 1,
             progress: Callable[[int, int], None] | None = None) -> StratifyResult:
    """Consensus clustering of the samples of ``ds`` (samples × proteins, log2, NaN = missing) into subgroups.

    ``settings`` keys and defaults: :data:`proteomics.stratify.settings.DEFAULTS`. ``seed`` fixes every random
    draw (same inputs → identical result for any ``n_jobs``). ``progress(done, total)`` counts resamples, the
    null resamples included. Returns a frozen :class:`StratifyResult`.
    """
    s = resolve_settings(settings)
    if not isinstance(k_max, int | np.integer) or isinstance(k_max, bool) or k_max < 2:
        raise InputError(f"k_max must be an integer ≥ 2, got {k_max!r}", column="k_max")
    if ds.n_samples < 6:
        raise InputError(f"{ds.n_samples} samples are too few for clustering (need at least 6)",
                         hint="add samples")
    specimen = _specimen(ds, s["specimen"])
    warns: list[str] = []
    samples = ds.samples
    tech_cols = s["technical_columns"]
    if tech_cols is None:
        tech_cols = [c for c in ("batch", *_RUN_ORDER, "specimen") if c in samples.columns]
    if s["time_column"] in samples.columns and s["event_column"] in samples.columns:
        assoc.survival_inputs(samples, s["time_column"], s["event_column"])  # bad coding fails before clustering
    for key in ("technical_columns", "clinical_columns"):
        absent = [c for c in (s[key] or []) if c not in samples.columns]
        if absent:
            raise InputError(f"{key} not in the sample sheet: {', '.join(absent)}", column=key,
                             hint=f"choose from {', '.join(map(str, samples.columns))}")
    clean, fitted = fit_preprocess(ds, s["preprocess"])
    frame = clean.to_frame()
    n_feat = min(s["n_features"], max(2, int(np.ceil(s["max_feature_fraction"] * frame.shape[1]))))
    features = select_features(frame, n_feat, s["proteins"])
    space = FeatureSpace.fit(frame, features)
    Z, miss = space.transform(frame)
    if miss.mean() > 0:
        log.info("%.1f%% of feature values are missing; they count as the protein mean (z = 0)", 100 * miss.mean())
    n = Z.shape[0]
    ks = tuple(range(2, min(int(k_max), n - 1) + 1))
    reps, nreps, n_null = s["repeats"], s["null_repeats"], s["null_permutations"]
    total = reps + n_null * nreps
    root = np.random.SeedSequence(int(seed))
    real_ss, null_ss = root.spawn(2)

    def _prog(offset: int):
        if progress is None:
            return None
        return lambda done, _t: progress(offset + done, total)

    n_comp = int(k_max) if s["n_components"] == "auto" else s["n_components"]
    common = dict(algorithms=s["algorithms"], sample_fraction=s["sample_fraction"], n_components=n_comp,
                  feature_fraction=s["feature_fraction"], n_jobs=n_jobs, pac_range=(s["pac_lower"], s["pac_upper"]))
    cons = consensus_cluster(Z, ks, repeats=reps, seed=real_ss, progress=_prog(0), **common)
    sil = {k: _silhouette(Z, cons.labels[k]) for k in ks}
    min_size = max(2, int(np.ceil(s["min_cluster_fraction"] * n)))
    smallest = {k: int(np.bincount(cons.labels[k]).min()) for k in ks}
    eligible = [k for k in ks if smallest[k] >= min_size]
    if not eligible:
        lab2 = cons.labels[ks[0]]
        small = [sid for sid, c in zip(ds.sample_ids, lab2, strict=True) if np.sum(lab2 == c) < min_size]
        warns.append(f"every partition has a cluster smaller than {min_size} samples (outliers rather than "
                     f"subgroups?); at k = {ks[0]} the small cluster holds {', '.join(small[:10])}"
                     + (" …" if len(small) > 10 else ""))

    null_pac = np.empty((n_null, len(ks)))
    for b, child in enumerate(null_ss.spawn(n_null)):
        perm_ss, run_ss = child.spawn(2)
        nres = consensus_cluster(_permuted(Z, perm_ss), ks, repeats=nreps, seed=run_ss,
                                 progress=_prog(reps + b * nreps), **common)
        null_pac[b] = [nres.pac[k] for k in ks]
    obs = np.array([cons.pac[k] for k in ks])
    k_pvalue: dict[int, float | None] = {k: None for k in ks}
    if n_null and 1 / (1 + n_null) > s["alpha"]:
        warns.append(f"{n_null} null permutations cannot give p ≤ {s['alpha']}: no clustering can be called "
                     f"stable (use ≥ {int(np.ceil(1 / s['alpha'])) - 1})")
    if n_null:
        ref = null_pac.mean(axis=0)
        gain = ref - obs                       # how much more stable than structureless data, per k
        null_gain = (ref[None, :] - null_pac).max(axis=1)
        k_best = _choose_k({k: -g for k, g in zip(ks, gain, strict=True) if k in eligible or not eligible}, sil,
                           s["pac_tolerance"])
        observed = float(gain.max())
        p_value = float((1 + np.sum(null_gain >= observed - 1e-12)) / (1 + n_null))
        k_pvalue = {k: float((1 + np.sum(null_pac[:, j] <= obs[j] + 1e-12)) / (1 + n_null))
                    for j, k in enumerate(ks)}
    else:
        ref = np.full(len(ks), np.nan)
        gain = np.full(len(ks), np.nan)
        null_gain = np.array([])
        k_best = _choose_k({k: cons.pac[k] for k in (eligible or ks)}, sil, s["pac_tolerance"])
        observed, p_value = None, None
        warns.append("no null permutations were run; stability rests on the PAC threshold alone")
    stable = ((p_value is None or p_value <= s["alpha"]) and cons.pac[k_best] <= s["max_pac"]
              and bool(eligible))
    k = k_best if stable else 1
    if not stable:  # say which condition failed, not only the numbers
        why = ([f"every partition has a cluster smaller than {min_size} samples"] if not eligible else [])
        if p_value is not None and p_value > s["alpha"]:
            why.append(f"null p = {p_value:.3g} > {s['alpha']:g}")
        if cons.pac[k_best] > s["max_pac"]:
            why.append(f"PAC {cons.pac[k_best]:.3f} > {s['max_pac']:g}")
        warns.append(f"no stable clustering at the best k = {k_best} ({'; '.join(why)}); all samples are reported "
                     "as one group")
    names = _names(k)
    labels = cons.labels[k] if k > 1 else np.zeros(n, dtype=int)
    clusters = np.asarray(names)[labels]
    conf = sample_confidence(cons.consensus[k], labels) if k > 1 else np.ones(n)
    sids = clean.sample_ids
    assignments = pd.DataFrame({"sample": sids, "cluster": clusters, "confidence": conf})
    stab = cluster_stability(cons.consensus[k], labels) if k > 1 else np.array([1.0])
    cl_table = pd.DataFrame({"cluster": list(names), "n": np.bincount(labels, minlength=k),
                             "stability": stab,
                             "mean_confidence": [float(np.nanmean(conf[labels == i])) if (labels == i).any()
                                                 else np.nan for i in range(k)]})

    # -- is it real: technical association ------------------------------------------------------------------
    technical = assoc.association_table(clusters, samples, tech_cols) if k > 1 else \
        assoc.association_table(clusters, samples, [])
    if k > 1:
        warns += assoc.confounding_warnings(clusters, samples, technical, alpha=s["alpha"])

    # -- characterise -------------------------------------------------------------------------------------------
    tcol, ecol = s["time_column"], s["event_column"]
    clin_cols = s["clinical_columns"]
    if clin_cols is None:
        clin_cols = [c for c in samples.columns if c not in _NOT_CLINICAL and c not in set(tech_cols)
                     and c not in (tcol, ecol) and not str(c).startswith("__")]
    clinical = assoc.association_table(clusters, samples, clin_cols if k > 1 else [])
    km = pd.DataFrame(columns=["group", "time", "n_risk", "n_event", "n_censor", "survival"])
    cox = pd.DataFrame(columns=["cluster", "reference", "coef", "se", "hazard_ratio", "ci_low", "ci_high",
                                "p_value"])
    logrank = None
    if tcol in samples.columns and ecol in samples.columns and k > 1:
        km, cox, logrank = assoc.survival_summary(clusters, samples, tcol, ecol)
    de = pd.DataFrame(columns=["cluster", "protein_group"])
    if k > 1 and s["characterise"]:
        try:
            de = cluster_vs_rest(clean, clusters)
        except InputError as exc:  # characterisation is optional; the clustering stands without it
            warns.append(f"cluster-vs-rest statistics failed: {exc.message}")
    top = top_proteins(de, s["top_n"]) if len(de) else pd.DataFrame(columns=["cluster", "rank", "protein_group"])

    # -- plots as tables ------------------------------------------------------------------------------------------
    scores, ratio = _pca(Z)
    pca = pd.DataFrame({"sample": sids, "PC1": scores[:, 0], "PC2": scores[:, 1], "cluster": clusters})
    cdf_rows = []
    for kk in ks:
        grid, cdf = consensus_cdf(cons.consensus[kk])
        cdf_rows.append(pd.DataFrame({"k": kk, "consensus": grid, "cdf": cdf}))
    cdf_table = pd.concat(cdf_rows, ignore_index=True)

    # -- lock ---------------------------------------------------------------------------------------------------------
    model = CentroidModel.fit(Z, labels, names)
    pred, prob = model.predict(Z)
    agreement = float(np.mean(pred == labels))
    if agreement < 1.0:
        warns.append(f"the locked nearest-centroid stratifier reproduces {agreement:.1%} of the training "
                     "assignments (samples between clusters)")
    signature = lock_stratifier(fitted, space, model, specimen=specimen, settings=s,
                                training={"n_samples": n, "k": k, "stable": bool(stable), "seed": int(seed),
                                          "pac": cons.pac.get(k), "null_p": p_value,
                                          "training_agreement": agreement}).sealed()

    metrics = {
        "schema": METRICS_SCHEMA, "schema_version": METRICS_SCHEMA_VERSION,
        "k": int(k), "stable": bool(stable),
        "conclusion": (f"{k} stable subgroups" if stable else "no stable clustering"),
        "k_best_candidate": int(k_best), "ks": list(ks),
        "pac": {str(kk): cons.pac[kk] for kk in ks},
        "pac_by_algorithm": {a: {str(kk): v for kk, v in d.items()} for a, d in cons.pac_by_algorithm.items()},
        "silhouette": {str(kk): sil[kk] for kk in ks},
        "smallest_cluster": {str(kk): smallest[kk] for kk in ks}, "min_cluster_size": min_size,
        "null": {"permutations": n_null, "repeats": nreps,
                 "statistic": "largest PAC gain over k (mean null PAC minus observed PAC)",
                 "observed": observed, "null_values": null_gain.tolist(), "p_value": p_value, "alpha": s["alpha"],
                 "max_pac": s["max_pac"],
                 "null_mean_pac": {str(kk): float(v) for kk, v in zip(ks, ref, strict=True)},
                 "pac_gain": {str(kk): float(v) for kk, v in zip(ks, gain, strict=True)},
                 "p_value_by_k": {str(kk): v for kk, v in k_pvalue.items()}},
        "cluster_sizes": {nm: int(c) for nm, c in zip(names, np.bincount(labels, minlength=k), strict=True)},
        "cluster_stability": {nm: v for nm, v in zip(names, stab.tolist(), strict=True)},
        "technical_association": _records(technical),
        "clinical_association": _records(clinical),
        "logrank": logrank, "cox": _records(cox),
        "stratifier_training_agreement": agreement,
        "n_samples": int(n), "n_features": len(features),
        "features_from": "given list" if s["proteins"] is not None else "most variable",
        "algorithms": list(s["algorithms"]), "n_components": n_comp, "repeats": reps, "sample_fraction": s["sample_fraction"],
        "feature_fraction": s["feature_fraction"], "seed": int(seed), "specimen": specimen,
        "preprocess": [name for name, _ in fitted],
        "pca_explained_variance": ratio.tolist(),
        "warnings": list(warns),
    }
    for w in warns:
        log.warning(w)
    order = {kk: [f"C{i + 1}" for i in cons.labels[kk]] for kk in ks}
    return StratifyResult(assignments=assignments, metrics=metrics, consensus=dict(cons.consensus),
                          labels_by_k=order, clusters=cl_table, cdf=cdf_table, pca=pca, technical=technical,
                          clinical=clinical, km_curves=km, cox=cox, de=de, top_proteins=top,
                          stratifier=signature, features=tuple(features), warnings=tuple(warns))
