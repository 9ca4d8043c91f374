"""Protein quantification: QuantTable (long, linear) → Dataset (samples × proteins, log2).

``quantify(table, sheet=None, method="auto", ...)`` and the ``METHODS`` registry (auto, maxlfq, trace,
median_polish, top_n/top3, ibaq, sum, spectral_count, nsaf). ``auto`` is MaxLFQ up to ``AUTO_MAX_RUNS`` samples
and trace alignment (linear in runs) above.
"""

from __future__ import annotations

from .maxlfq import maxlfq_block
from .median_polish import median_polish_block
from .rollup import AUTO_MAX_RUNS, METHODS, MIN_RATIO_COUNT, SINGLE_RUN_METHODS, quantify, resolve_method
from .traces import trace_block

__all__ = ["quantify", "METHODS", "SINGLE_RUN_METHODS", "maxlfq_block", "median_polish_block", "trace_block", "resolve_method",
           "MIN_RATIO_COUNT", "AUTO_MAX_RUNS"]
