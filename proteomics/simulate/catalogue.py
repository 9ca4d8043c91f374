"""The protein catalogue and the per-specimen constants of the simulated cohort.

The catalogue (named plasma/BAL/sputum proteins with contamination panels and abundance tiers) is the package data
file ``catalogue.tsv`` next to this module.
"""

from __future__ import annotations

from importlib import resources

import pandas as pd

__all__ = ["DEFAULT_SEED", "SPECIMENS", "TIER_LOG10", "OFFSET_LOG10", "N_GENERIC", "MNAR_QUANTILE", "ACUTE_PHASE",
           "catalogue"]

DEFAULT_SEED = 20261123
SPECIMENS = ("plasma", "BAL", "sputum")
#: log10 abundance of each tier (S = albumin)
TIER_LOG10 = {"S": 11.2, "A": 10.2, "B": 9.4, "C": 8.6, "D": 7.8, "E": 7.0}
#: log10 shift of every protein per specimen
OFFSET_LOG10 = {"plasma": 0.0, "BAL": -0.7, "sputum": -0.4}
#: generic (SIM…) proteins per specimen
N_GENERIC = {"plasma": 76, "BAL": 90, "sputum": 150}
#: quantile of the expected log2 intensities where MNAR missingness is centred
MNAR_QUANTILE = {"plasma": 0.16, "BAL": 0.2, "sputum": 0.22}
ACUTE_PHASE = {"CRP", "SAA1;SAA2", "LBP", "SAA4", "HP", "ORM1"}


def catalogue() -> pd.DataFrame:
    """The protein catalogue: protein_group, gene, entry, panel and the abundance tier per specimen (all str)."""
    text = resources.files(__package__).joinpath("catalogue.tsv").read_text(encoding="utf-8")
    lines = [ln for ln in text.splitlines() if ln and not ln.startswith("#")]
    header = lines[0].split("\t")
    rows = [ln.split("\t") for ln in lines[1:]]
    return pd.DataFrame(rows, columns=header)
