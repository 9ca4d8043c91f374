"""Patient stratification: consensus clustering into subgroups, null and batch checks, characterisation, and a
locked stratifier that assigns new patients.

Public API::

    stratify(ds, *, k_max=6, settings=None, seed=0, n_jobs=1, progress=None) -> StratifyResult
    write_stratify_outputs(result, outdir) -> list[Path]
    assign(signature, ds) -> DataFrame (sample, cluster, confidence, category, …, reasons)
    consensus_cluster(Z, ks, ...) -> ConsensusResult          (lower level)
"""

from .api import StratifyResult, stratify
from .consensus import ConsensusResult, consensus_cluster, pac_score
from .outputs import write_stratify_outputs
from .settings import DEFAULTS
from .stratifier import assign

__all__ = ["stratify", "StratifyResult", "write_stratify_outputs", "assign", "consensus_cluster",
           "ConsensusResult", "pac_score", "DEFAULTS"]
