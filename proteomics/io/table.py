"""``QuantTable``: what every reader returns.

A long table, one row per (run, entity) with a **linear** intensity (NaN = not quantified). Canonical columns:
``run, level, entity_id, protein_group, intensity``; optional ``sequence, charge, q_value, gene, n_psm``;
tool-specific extras are prefixed ``src_``. ``level`` is one of ``psm, precursor, peptide, protein``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..errors import InputError

__all__ = ["QuantTable", "LEVELS", "REQUIRED_COLUMNS", "OPTIONAL_COLUMNS"]

LEVELS = ("psm", "precursor", "peptide", "protein")
REQUIRED_COLUMNS = ("run", "level", "entity_id", "protein_group", "intensity")
OPTIONAL_COLUMNS = ("sequence", "charge", "q_value", "gene", "n_psm", "contaminant", "decoy")


@dataclass(frozen=True)
class QuantTable:
    """Validated long quantitative table (see module docstring).

    ``data`` columns are canonical; ``format`` names the reader; ``path`` the file read;
    ``meta`` holds reader notes (filters applied, counts before/after, warnings).
    """

    data: pd.DataFrame
    format: str = "unknown"
    path: str = ""
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self):
        df = self.data
        where = self.path or None
        missing = [c for c in REQUIRED_COLUMNS if c not in df.columns]
        if missing:
            raise InputError(f"QuantTable lacks columns {missing}", path=where)
        bad = [c for c in df.columns if c not in REQUIRED_COLUMNS + OPTIONAL_COLUMNS and not c.startswith("src_")]
        if bad:
            raise InputError(f"QuantTable has non-canonical columns {bad} (prefix tool extras with 'src_')",
                             path=where)
        levels = set(pd.unique(df["level"].astype(str)))
        if not levels <= set(LEVELS):
            raise InputError(f"unknown level(s) {sorted(levels - set(LEVELS))}; allowed: {LEVELS}", path=where)
        if len(levels) > 1:
            raise InputError(f"a QuantTable holds one level, got {sorted(levels)}", path=where)
        if not pd.api.types.is_float_dtype(df["intensity"]):
            raise InputError("intensity column must be floating point", path=where)
        vals = df["intensity"].to_numpy()
        finite = vals[~np.isnan(vals)]
        if np.isinf(finite).any():
            raise InputError("infinite intensities", path=where, hint="intensities must be finite linear numbers")
        if (finite < 0).any():
            raise InputError("negative intensities in linear data", path=where,
                             hint="give linear intensities (or use --scale log2 for log2 values)")
        if df["protein_group"].isna().any() or df["run"].isna().any():
            raise InputError("rows without run or protein_group", path=where)

    @property
    def level(self) -> str:
        """The table's level: "precursor", "peptide", "protein" or "psm"."""
        return str(self.data["level"].iloc[0]) if len(self.data) else "protein"

    @property
    def runs(self) -> list[str]:
        """Run names in first-seen order."""
        return [str(r) for r in pd.unique(self.data["run"].astype(str))]

    @property
    def n_runs(self) -> int:
        """Number of distinct runs."""
        return len(self.runs)

    @property
    def n_proteins(self) -> int:
        """Number of distinct protein groups."""
        return int(self.data["protein_group"].nunique())

    def summary(self) -> dict[str, Any]:
        """What ``proteomics inspect --json`` prints."""
        return {"format": self.format, "level": self.level, "n_runs": self.n_runs,
                "n_proteins": self.n_proteins, "n_rows": int(len(self.data)), "runs": self.runs,
                **{k: v for k, v in self.meta.items() if isinstance(v, str | int | float | bool | list | dict)}}

    def with_runs_renamed(self, mapping: dict[str, str]) -> QuantTable:
        """A new table with ``run`` values renamed by ``mapping`` (old → new); other runs unchanged."""
        d = self.data.copy()
        d["run"] = d["run"].astype(str).map(lambda r: mapping.get(r, r))
        return QuantTable(d, self.format, self.path, dict(self.meta))
