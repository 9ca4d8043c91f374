"""The specimen vocabulary (serum, plasma, BAL, sputum, tissue, other) and the spellings mapped onto it."""

from __future__ import annotations

import re

__all__ = ["SPECIMENS", "normalise_specimen", "specimen_from_sdrf", "norm_key"]

SPECIMENS = ("serum", "plasma", "BAL", "sputum", "tissue", "other")
_SPECIMEN_ALIASES = {
    "serum": "serum", "blood serum": "serum",
    "plasma": "plasma", "blood plasma": "plasma", "edta plasma": "plasma", "citrate plasma": "plasma",
    "heparin plasma": "plasma",
    "bal": "BAL", "balf": "BAL", "bal fluid": "BAL", "bronchoalveolar lavage": "BAL",
    "bronchoalveolar lavage fluid": "BAL", "broncho alveolar lavage": "BAL",
    "broncho alveolar lavage fluid": "BAL", "bronchial lavage": "BAL", "lavage fluid": "BAL",
    "sputum": "sputum", "induced sputum": "sputum",
    "tissue": "tissue", "lung tissue": "tissue", "tumor tissue": "tissue", "tumour tissue": "tissue",
    "biopsy": "tissue",
    "other": "other",
}


def norm_key(text: str) -> str:
    """Lower case, ``_``/``-`` as blanks, single blanks: the key spellings are compared by."""
    return re.sub(r"\s+", " ", re.sub(r"[_\-]+", " ", str(text).strip().lower()))


def normalise_specimen(value: str) -> str | None:
    """The vocabulary spelling (serum, plasma, BAL, sputum, tissue, other) of ``value``, or None if unknown."""
    return _SPECIMEN_ALIASES.get(norm_key(value))


def specimen_from_sdrf(value: str) -> str | None:
    """Map an SDRF organism part / specimen / sample type onto the vocabulary; None when nothing fits."""
    exact = normalise_specimen(value)
    if exact is not None:
        return exact
    key = norm_key(value)
    for words, target in ((("bronchoalveolar", "broncho alveolar", "lavage"), "BAL"), (("sputum",), "sputum"),
                          (("plasma",), "plasma"), (("serum",), "serum"),
                          (("tissue", "tumor", "tumour", "biopsy"), "tissue")):
        if any(w in key for w in words):
            return target
    return None
