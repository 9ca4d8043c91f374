"""Protein quantification: QuantTable (long, linear) → Dataset (samples × proteins, log2).

``quantify(table, sheet=None, method="maxlfq", ...)`` and the ``METHODS`` registry (maxlfq, median_polish,
top_n/top3, ibaq, sum, spectral_count, nsaf).
"""

from __future__ import annotations

from .maxlfq import maxlfq_block
from .median_polish import median_polish_block
from .rollup import METHODS, quantify

__all__ = ["quantify", "METHODS", "maxlfq_block", "median_polish_block"]
