"""Biomarker panels: leakage-free nested CV, selection, metrics, locked signatures, scoring and validation.

Public API::

    build_panel(ds, label, positive, *, settings, seed=0, n_permutations=0, n_jobs=1, progress=None) -> PanelResult
    write_panel_outputs(result, outdir) -> dict[str, Path]
    Signature.load(path) / Signature.verify(path) / Signature.save(path)
    score(signature, ds, *, specimen=None) -> ScoreResult
    validate(signature, ds, label, positive) -> dict
"""

from .build import PanelResult, build_panel, write_panel_outputs
from .cv import NestedCVResult, nested_cv
from .score import ScoreResult, score, validate
from .settings import PanelSettings
from .signature import Signature, lock

__all__ = ["PanelResult", "build_panel", "write_panel_outputs", "NestedCVResult", "nested_cv", "ScoreResult",
           "score", "validate", "PanelSettings", "Signature", "lock"]
