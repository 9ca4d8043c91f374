"""Applying any locked signature: the one entry point for scoring, whatever the signature's kind.

The decisions about a signature live here, not in the commands that read files:

- :func:`quant_method_for`: which protein roll-up new samples need so that they are quantified exactly as the
  training samples were (or :class:`~proteomics.errors.ScoringRefused` when that cannot be reproduced);
- :func:`wants_specimen_inputs`: whether scoring needs one input per specimen, joined by subject;
- :func:`score_signature`: stratifier → subgroup assignment (:func:`proteomics.stratify.assign`), multi-specimen
  panel → :func:`~proteomics.panel.multispecimen.score_multi`, single-specimen panel →
  :func:`~proteomics.panel.score.score`.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from ..dataset import Dataset
from ..errors import ScoringRefused
from ..signature import Signature
from ..stratify import assign
from .multispecimen import score_multi
from .score import score

__all__ = ["SINGLE_SAMPLE_QUANT", "quant_method_for", "is_multi_specimen", "wants_specimen_inputs",
           "score_signature"]

#: roll-ups whose value for one run does not depend on the other runs quantified with it
SINGLE_SAMPLE_QUANT = ("top3", "top_n", "sum", "ibaq", "spectral_count")


def quant_method_for(signature: Signature, level: str, path=None) -> str:
    """The roll-up to apply to new samples of ``level`` (the input's level: precursor, peptide, protein …) for
    ``signature``, or :class:`ScoringRefused` when it cannot be reproduced.

    Protein-level input is only pivoted (``sum`` of one value per protein and run), and only for a signature
    trained on protein-level quantities: one trained on precursor-level input records its roll-up, and a
    protein matrix made by any other (or an unknown) roll-up is not on its scale, so it is refused. Only
    within-sample roll-ups (top-N, sum, iBAQ, spectral counts) give one new run the same value alone as in a
    batch."""
    training = getattr(signature, "training", None) or {}
    method = training.get("quant_method")
    name = Path(path).name if path is not None else "the input"
    if level == "protein":
        if method is not None:
            raise ScoringRefused([f"the signature was trained on {training.get('input_level') or 'precursor'}-level "
                                  f"data rolled up to proteins by {method}, but {name} is already a protein "
                                  "matrix: its values come from another (or an unknown) roll-up and are not on "
                                  "the training scale"], path=path,
                                 hint=f"score the {training.get('input_level') or 'precursor'}-level search-engine "
                                      "output (e.g. DIA-NN report.tsv) instead: the signature applies its roll-up")
        return "sum"
    if method is None:
        raise ScoringRefused([f"the signature was trained on protein-level quantities but {name} is "
                              f"{level}-level"], path=path,
                             hint="give protein-level input quantified as the training data was")
    if method not in SINGLE_SAMPLE_QUANT:
        raise ScoringRefused([f"the signature was trained on {method} quantities, which depend on the other runs "
                              f"quantified together, so one new run cannot be quantified the same way"], path=path,
                             hint="rebuild the panel from precursor-level input with panel.quant_method top3")
    return str(method)


def is_multi_specimen(signature: Signature) -> bool:
    """True for a panel built on several specimens of the same subjects (``specimen:protein`` features)."""
    return signature.kind == "panel" and bool(getattr(signature, "specimens", ()))


def wants_specimen_inputs(signature: Signature, also=()) -> bool:
    """Whether scoring needs one Dataset per specimen: a panel given more specimens (``also``) or built on several."""
    return signature.kind == "panel" and (bool(also) or is_multi_specimen(signature))


def score_signature(signature: Signature, data: Dataset | Mapping[str, Dataset]) -> pd.DataFrame:
    """Score (or assign, or refuse) new samples with any locked ``signature``.

    ``data``: one Dataset (samples × proteins, log2), or {specimen: Dataset} for a multi-specimen panel (joined
    by the sheet's ``subject``; one row per subject). Returns the table ``proteomics score`` writes: one row per
    sample in input order (a stratifier gives ``cluster``; a panel ``probability`` and ``category``). Raises
    :class:`ScoringRefused` when nothing can be scored."""
    datasets = dict(data) if isinstance(data, Mapping) else None
    if signature.kind == "stratifier":
        if datasets is not None:
            if len(datasets) != 1:
                raise ScoringRefused(["a stratifier scores one specimen at a time"],
                                     hint="give one input, without --also")
            data = next(iter(datasets.values()))
        return assign(signature, data)
    if datasets is not None and (is_multi_specimen(signature) or len(datasets) > 1):
        return score_multi(signature, datasets).table
    if datasets is not None:
        data = next(iter(datasets.values()))
    return score(signature, data).table
