"""Patient stratification: consensus clustering into subgroups, null and batch checks, characterisation, and a
locked stratifier that assigns new patients.

Public API::

    stratify(ds, *, k_max=6, settings=None, seed=0, n_jobs=1, progress=None) -> StratifyResult
    write_stratify_outputs(result, outdir) -> list[Path]
    assign(signature, ds) -> DataFrame (sample, cluster, confidence, category, …, reasons)
    consensus_cluster(Z, ks, ...) -> ConsensusResult          (lower level)

``settings`` keys, defaults and meaning: :data:`DEFAULTS` (``proteomics/stratify/settings.py``); the main ones are
``n_features`` (500), ``repeats`` (100), ``null_permutations`` (20), ``algorithms`` (k-means, Ward, diagonal GMM),
``preprocess`` (list of ``[STEPS name, params]``), ``alpha`` (0.05) and ``max_pac`` (0.3). Data are samples ×
proteins, log2, NaN = missing. Module map: ``consensus`` (resampling, PAC), ``_algorithms`` (vectorised k-means and
GMM), ``features`` (preprocessing, feature choice, z-scores), ``associations`` (batch/clinical tests, Kaplan-Meier,
Cox), ``characterise`` (cluster vs rest), ``centroids`` + ``stratifier`` (the locked model and ``assign``),
``api`` (``stratify``), ``outputs`` (files).
"""

from .api import StratifyResult, stratify
from .consensus import ConsensusResult, consensus_cluster, pac_score
from .outputs import write_stratify_outputs
from .settings import DEFAULTS
from .stratifier import assign

__all__ = ["stratify", "StratifyResult", "write_stratify_outputs", "assign", "consensus_cluster",
           "ConsensusResult", "pac_score", "DEFAULTS"]
