"""Which protein groups are contaminants and which are decoys: one rule for the readers (``io``) and for the
``filter_contaminants`` preprocessing step.

The rule
--------
* A protein group (the tool's ``;``-separated group string) is a **contaminant** when *every* member accession is
  an entry of a contaminant database: it starts with ``CON__`` (MaxQuant), ``contam_`` / ``contaminant_``
  (FragPipe/Philosopher), ``Cont_`` (DIA-NN), ``CONTAM`` or ``cRAP`` (the cRAP database), case-insensitively.
* A group is a **decoy** when every member is a decoy entry: ``REV__`` (MaxQuant), ``rev_`` (FragPipe),
  ``DECOY_`` / ``decoy_``. Decoys are a separate rule (a decoy is never a real protein); a tool's own
  per-row decoy flag (MaxQuant ``Reverse = +``) counts as well.

Why "every member": in plasma and BAL, abundant real proteins share peptides with the bovine or human entries
of contaminant databases, and tools group them together: in the AlphaPeptStats liver-plasma MaxQuant
proteinGroups.txt, 75 of 2,611 groups mix real accessions with ``CON__`` entries, among them albumin
(``P02768;…;CON__P02768-1``), apolipoprotein A-I and complement C7. Such a group is a real plasma protein whose
evidence may include contaminant peptides; dropping it (the "one member is enough" rule, or MaxQuant's own
``Potential contaminant`` column, which flags such mixed groups) removes the most abundant plasma proteins. So a
group is a contaminant only when nothing in it is anything else, and the tools' contaminant columns are not used.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

__all__ = ["CONTAMINANT_PREFIXES", "DECOY_PREFIXES", "contaminant_mask", "decoy_mask", "prefix_mask"]

#: accession prefixes of contaminant-database entries (matched case-insensitively, leading blanks ignored)
CONTAMINANT_PREFIXES: tuple[str, ...] = ("CON__", "contam_", "contaminant_", "Cont_", "CONTAM", "cRAP")
#: accession prefixes of decoy entries (matched case-sensitively: ``rev_`` but not a gene called ``Rev_x``)
DECOY_PREFIXES: tuple[str, ...] = ("REV__", "rev_", "DECOY_", "decoy_")

_CONTAM_RE = re.compile(r"\s*(?:" + "|".join(map(re.escape, CONTAMINANT_PREFIXES)) + ")", re.IGNORECASE)
_DECOY_RE = re.compile(r"\s*(?:" + "|".join(map(re.escape, DECOY_PREFIXES)) + ")")


def _all_members(groups: Iterable[str] | pd.Series, pattern: re.Pattern) -> np.ndarray:
    """True where every ``;``-separated member of the group string matches ``pattern``; computed once per
    distinct group string; missing groups are False. Returns a bool array of len(groups)."""
    groups = pd.Series(groups) if not isinstance(groups, pd.Series) else groups
    if isinstance(groups.dtype, pd.CategoricalDtype):
        codes, uniques = groups.cat.codes.to_numpy(), groups.cat.categories
    else:
        codes, uniques = pd.factorize(groups.astype(object), use_na_sentinel=True)
    flags = np.fromiter((all(pattern.match(m.strip() or "x") for m in str(u).split(";")) for u in uniques),
                        dtype=bool, count=len(uniques))
    out = np.zeros(len(codes), dtype=bool)
    ok = codes >= 0
    out[ok] = flags[codes[ok]]
    return out


def contaminant_mask(groups: Iterable[str] | pd.Series) -> np.ndarray:
    """Bool array, one per group string: True when every member is a contaminant entry (module docstring)."""
    return _all_members(groups, _CONTAM_RE)


def decoy_mask(groups: Iterable[str] | pd.Series) -> np.ndarray:
    """Bool array, one per group string: True when every member is a decoy entry (module docstring)."""
    return _all_members(groups, _DECOY_RE)


def prefix_mask(groups: Iterable[str] | pd.Series, prefixes: Sequence[str]) -> np.ndarray:
    """The same "every member" rule for user-chosen ``prefixes`` (case-sensitive, as written)."""
    alternatives = "|".join(map(re.escape, prefixes)) if prefixes else "(?!)"  # (?!) never matches
    return _all_members(groups, re.compile(r"\s*(?:" + alternatives + ")"))
