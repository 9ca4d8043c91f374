"""Write a :class:`~proteomics.stratify.api.StratifyResult` to a folder (atomic, byte-identical on reruns).

Files: ``assignments.tsv`` (sample, cluster, confidence), ``stratify_metrics.json``, ``stratifier.json`` (the
locked Signature), ``assignments_all_k.tsv`` (the partition for every k tried: sample, k2, k3, …), and the
tables behind the plots: ``clusters.tsv``, ``consensus_matrix.tsv`` (chosen k, or the
best candidate k when no clustering is stable), ``consensus_cdf.tsv``, ``pca.tsv``, ``technical_associations.tsv``,
``clinical_associations.tsv``, ``cluster_vs_rest.tsv``, ``top_proteins.tsv`` and, with survival columns,
``km_curves.tsv`` and ``cox.tsv``. Floats are written in shortest round-trip form; no times or paths.
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from .._files import atomic_path, canonical_json, write_text
from ..errors import InputError

__all__ = ["write_stratify_outputs", "write_tsv"]


def write_tsv(df: pd.DataFrame, path: str | os.PathLike) -> None:
    """Tab-separated, LF, empty = missing, floats as shortest round-trip repr; written atomically."""
    with atomic_path(path) as tmp:
        df.to_csv(tmp, sep="\t", index=False, na_rep="", lineterminator="\n")


def write_stratify_outputs(result, outdir: str | os.PathLike) -> list[Path]:
    """Write every output of ``result`` into the existing folder ``outdir``; returns the paths written."""
    out = Path(outdir)
    if not out.is_dir():
        raise InputError("output folder does not exist", path=out, hint="create it first")
    written = []

    def tsv(df: pd.DataFrame, name: str) -> None:
        write_tsv(df, out / name)
        written.append(out / name)

    tsv(result.assignments[["sample", "cluster", "confidence"]], "assignments.tsv")
    write_text(out / "stratify_metrics.json", canonical_json(result.metrics))
    written.append(out / "stratify_metrics.json")
    result.stratifier.save(out / "stratifier.json")
    written.append(out / "stratifier.json")
    tsv(result.clusters, "clusters.tsv")
    by_k = pd.DataFrame({"sample": result.assignments["sample"].tolist()})
    for kk in sorted(result.labels_by_k):
        by_k[f"k{kk}"] = result.labels_by_k[kk]
    tsv(by_k, "assignments_all_k.tsv")
    k = result.metrics["k"] if result.metrics["k"] in result.consensus else result.metrics["k_best_candidate"]
    samples = result.assignments["sample"].tolist()
    cm = pd.DataFrame(result.consensus[k], columns=samples)
    cm.insert(0, "sample", samples)
    tsv(cm, "consensus_matrix.tsv")
    tsv(result.cdf, "consensus_cdf.tsv")
    tsv(result.pca, "pca.tsv")
    tsv(result.technical, "technical_associations.tsv")
    tsv(result.clinical, "clinical_associations.tsv")
    tsv(result.de, "cluster_vs_rest.tsv")
    tsv(result.top_proteins, "top_proteins.tsv")
    if len(result.km_curves):
        tsv(result.km_curves, "km_curves.tsv")
        tsv(result.cox, "cox.tsv")
    return written
