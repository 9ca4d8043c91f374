"""Biomarker panels: leakage-free nested CV, selection, metrics, locked signatures, scoring and validation.

Public API::

    build_panel(ds, label, positive, *, settings, seed=0, n_permutations=0, n_jobs=1, progress=None) -> PanelResult
    write_panel_outputs(result, outdir) -> dict[str, Path]
    Signature.load(path) / Signature.verify(path) / Signature.save(path)
    score(signature, ds, *, specimen=None) -> ScoreResult
    validate(signature, ds, label, positive) -> dict
    join_specimens(datasets: Mapping[str, Dataset], by="subject", *, check=None) -> Dataset
    score_multi(signature, datasets: Mapping[str, Dataset], *, by="subject") -> ScoreResult
    score_signature(signature, ds or {specimen: ds}) -> DataFrame   any kind: panel, multi-specimen, stratifier
    quant_method_for(signature, level, path) -> str                  the roll-up new samples need
"""

from ..signature import Signature
from .apply import quant_method_for, score_signature, wants_specimen_inputs
from .build import PanelResult, build_panel, write_panel_outputs
from .cv import NestedCVResult, nested_cv
from .multispecimen import join_specimens, score_multi
from .score import ScoreResult, score, validate
from .settings import PanelSettings
from .signature import lock

__all__ = ["PanelResult", "build_panel", "write_panel_outputs", "NestedCVResult", "nested_cv", "ScoreResult",
           "score", "validate", "PanelSettings", "Signature", "lock",
           "join_specimens", "score_multi", "score_signature", "quant_method_for", "wants_specimen_inputs"]
