"""The stratification's settings (``stratify`` section of a run config, a ``--config STRATIFY.yaml``, or
``proteomics.stratify.stratify``'s ``settings``): every key and its default, declared once.

Adding a stratify setting is one edit here. Choices from a registry (``algorithms``) and the parsing of
``preprocess`` are checked by :func:`proteomics.stratify.settings.resolve_settings`.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator

from .base import PRESENCE_FILTER, Strict

__all__ = ["StratifySettings", "STRATIFY_PREPROCESS"]

#: default preprocessing before clustering (all single-sample safe, so the stratifier can be locked): drop
#: contaminants/decoys, keep proteins quantified in ≥ 70 % of samples, median-centre each sample.
STRATIFY_PREPROCESS: tuple[tuple[str, dict], ...] = (("filter_contaminants", {}), PRESENCE_FILTER,
                                                     ("normalize_median", {}))


def _unit(default: float, description: str):
    return Field(default, ge=0.0, le=1.0, description=description)


class StratifySettings(Strict):
    """Settings of :func:`proteomics.stratify.stratify` (consensus clustering and the locked stratifier)."""

    n_features: int = Field(500, ge=2, le=10**7, description="most variable proteins used for clustering …")
    max_feature_fraction: float = _unit(0.25, "… but at most this fraction of the proteins left after preprocessing")
    proteins: list[str | int] | None = Field(None, description="an explicit protein list (overrides n_features)")
    repeats: int = Field(100, ge=5, le=10**6, description="consensus resamples")
    sample_fraction: float = Field(0.8, ge=0.1, le=1.0)
    feature_fraction: float = Field(0.8, ge=0.1, le=1.0)
    algorithms: list[str] | str | None = Field(None, description="clustering algorithms (None: all)")
    n_components: int | Literal["auto", "none"] | None = Field(
        "auto", description='principal components each resample is clustered on ("auto" = k_max, None = all)')
    null_permutations: int = Field(20, ge=0, le=10**5,
                                   description="protein-wise permuted data sets for the null PAC distribution")
    null_repeats: int | None = Field(None, ge=5, le=10**6, description="resamples per null data set (None = repeats)")
    alpha: float = _unit(0.05, "empirical p needed to call a clustering stable")
    max_pac: float = _unit(0.3, "and the PAC of the chosen k must not exceed this")
    pac_lower: float = _unit(0.1, "lower bound of the PAC window")
    pac_upper: float = _unit(0.9, "upper bound of the PAC window")
    pac_tolerance: float = _unit(0.02, "k within this PAC of the best compete on silhouette")
    min_cluster_fraction: float = _unit(0.1, "partitions with a smaller cluster (outliers) are not chosen")
    preprocess: list[Any] = Field(default_factory=lambda: [list(s) for s in STRATIFY_PREPROCESS])
    technical_columns: list[str | int] | str | None = Field(
        None, description="None = batch, run order and specimen columns found in the sheet")
    clinical_columns: list[str | int] | str | None = Field(None, description="None = every other annotation column")
    time_column: str = "time"
    event_column: str = "event"
    top_n: int = Field(10, ge=1, le=10**6, description="top proteins per cluster")
    min_confidence: float = _unit(0.5, "below this a new patient's assignment is 'uncertain'")
    max_missing_fraction: float = _unit(0.5, "above this fraction of missing features a new patient is refused")
    specimen: str | None = Field(None, description="specimen the stratifier is for (default: the data's single one)")
    characterise: bool = Field(True, description="cluster-vs-rest moderated statistics")

    @model_validator(mode="after")
    def _pac_window(self):
        if self.pac_lower >= self.pac_upper:
            raise ValueError("pac_lower must be below pac_upper")
        if isinstance(self.n_components, int) and not isinstance(self.n_components, bool) and self.n_components < 1:
            raise ValueError("n_components must be ≥ 1, 'auto' or none")
        return self
