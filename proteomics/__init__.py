"""proteomics: respiratory proteomics from search-engine output to locked, validated protein signatures.

The curated public API (heavy submodules are imported on first use, so ``import proteomics`` is cheap)::

    read(path, format="auto", ...)                 -> QuantTable      (proteomics.io; READERS: every reader by name)
    SampleSheet.read(path)                         -> SampleSheet     (proteomics.samples)
    quantify(table, sheet, method="auto")          -> Dataset         (proteomics.quant; samples × proteins, log2;
                                                                       METHODS: every roll-up by name)
    STEPS["normalize_median"]() …                  ProteomicsTransformer (sklearn; proteomics.preprocess)
    sample_qc(ds), protein_qc(ds)                  QC tables (proteomics.qc)
    moderated_t(ds, "cancer-control", ...)         -> DEResult        (proteomics.stats)
    build_panel(ds, label, positive, ...)          -> PanelResult     (proteomics.panel; .cv: NestedCVResult)
    Signature.load(path); score(signature, ds)     -> ScoreResult     (one row per sample: probability, category)
    score_signature(signature, ds)                 -> DataFrame       (any signature kind: panel, multi, stratifier)
    stratify(ds, k_max=6)                          -> StratifyResult  (proteomics.stratify)
    assign(stratifier, ds)                         -> DataFrame       (one row per sample: cluster, confidence)
"""

from importlib import import_module

from ._version import __version__
from .dataset import Dataset, Step
from .errors import InputError, ProteomicsError, ScoringRefused, SignatureError

_LAZY = {
    "read": "proteomics.io", "detect": "proteomics.io", "QuantTable": "proteomics.io", "READERS": "proteomics.io",
    "SampleSheet": "proteomics.samples",
    "quantify": "proteomics.quant", "METHODS": "proteomics.quant",
    "STEPS": "proteomics.preprocess", "ProteomicsTransformer": "proteomics.preprocess",
    "sample_qc": "proteomics.qc", "protein_qc": "proteomics.qc",
    "moderated_t": "proteomics.stats", "DEResult": "proteomics.stats",
    "build_panel": "proteomics.panel", "write_panel_outputs": "proteomics.panel", "Signature": "proteomics.signature",
    "score": "proteomics.panel", "validate": "proteomics.panel", "ScoreResult": "proteomics.panel",
    "NestedCVResult": "proteomics.panel", "score_signature": "proteomics.panel",
    "stratify": "proteomics.stratify", "assign": "proteomics.stratify",
    "load_config": "proteomics.config", "run": "proteomics.workflow",
}

__all__ = ["__version__", "Dataset", "Step", "InputError", "ProteomicsError", "ScoringRefused", "SignatureError",
           *sorted(_LAZY)]


def __getattr__(name: str):
    if name in _LAZY:
        value = getattr(import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'proteomics' has no attribute {name!r}")


def __dir__():
    return sorted(__all__)
