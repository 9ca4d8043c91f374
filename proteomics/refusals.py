"""Codes of the per-sample refusal reasons of scoring (the ``reason_codes`` column of ``proteomics score``).

A refused sample's ``reasons`` column keeps the technical reason as free text with its numbers; ``reason_codes``
holds, in the same order and joined the same way (``"; "``), the code of the check that failed, so a reader (the
patient report's plain-language wording, :data:`proteomics.report.patient.PLAIN_REASONS`) never parses the text.
Whole-input refusals (:class:`~proteomics.errors.ScoringRefused`: specimen, absent panel proteins, roll-up) write
no table and carry no code.
"""

from __future__ import annotations

__all__ = ["LOW_COVERAGE", "CONSTANT_VALUES", "MISSING_PROTEINS", "OUT_OF_RANGE", "NON_FINITE_SCORE",
           "SAMPLE_REFUSAL_CODES"]

#: too few of the training proteins measured for the within-sample normalisation
LOW_COVERAGE = "low_coverage"
#: every measured panel protein has the same value (a placeholder or constant fill)
CONSTANT_VALUES = "constant_values"
#: more panel (or stratifier) proteins missing than the signature allows
MISSING_PROTEINS = "missing_proteins"
#: a panel protein outside the training range by more than the signature's margin (log2)
OUT_OF_RANGE = "out_of_range"
#: the model gave no finite score or probability
NON_FINITE_SCORE = "non_finite_score"

SAMPLE_REFUSAL_CODES = (LOW_COVERAGE, CONSTANT_VALUES, MISSING_PROTEINS, OUT_OF_RANGE, NON_FINITE_SCORE)
