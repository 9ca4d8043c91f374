"""The run configuration's models: every key of ``proteomics run CONFIG``, with its default, declared once
(the ``panel`` and ``stratify`` sections extend :class:`~proteomics.config.panel.PanelSettings` and
:class:`~proteomics.config.stratify.StratifySettings`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, PrivateAttr, field_validator

from ..choices import (
    BATCH_METHODS,
    DE_MODELS,
    DETECTION_TESTS,
    FDR_CHOICES,
    FORMATS,
    IMPUTE_METHODS,
    NORMALIZE_METHODS,
    PANEL_QUANT_METHODS,
    QUANT_METHODS,
    SCALES,
    literal,
)
from ..errors import InputError
from ..guard import check_name
from .base import Strict
from .panel import PanelSettings
from .stratify import StratifySettings

__all__ = ["SPECIMENS", "InputsConfig", "ReadConfig", "QuantifyConfig", "NormalizeConfig", "ImputeConfig",
           "BatchConfig", "PreprocessConfig", "DEConfig", "PanelConfig", "StratifyConfig", "OutputConfig",
           "RunConfig"]

SPECIMENS = ("serum", "plasma", "BAL", "sputum", "tissue", "other")


class InputsConfig(Strict):
    """Input files. Relative paths are resolved against the config file's folder."""

    data: Path
    sheet: Path | None = None  # required in a config file (checked by config_from_dict); optional for `score`
    format: literal(FORMATS) = "auto"
    fasta: Path | None = None
    scale: literal(SCALES) = "auto"


class ReadConfig(Strict):
    """``read``: what the readers keep (q-value cut-off on precursors and protein groups, contaminants)."""

    fdr: float = Field(0.01, gt=0, le=1, description="precursor and protein-group q-value cut-off")
    keep_contaminants: bool = False


class QuantifyConfig(Strict):
    """``quantify``: the protein roll-up (``quant.METHODS``) of precursor/peptide-level input → log2 protein values."""

    #: auto = MaxLFQ up to quant.AUTO_MAX_RUNS samples, trace alignment (linear in runs) above
    method: literal(QUANT_METHODS) = "auto"
    min_ratio_count: int = Field(1, ge=1)
    top_n: int = Field(3, ge=1)


class NormalizeConfig(Strict):
    """``preprocess.normalize``: per-sample normalisation of log2 values (``preprocess.STEPS`` normalize_*)."""

    #: mode (default): robust mode normalisation, offsets from the proteins that do not change
    method: literal(NORMALIZE_METHODS) = "mode"
    reference_proteins: list[str] = Field(default_factory=list)

    @field_validator("reference_proteins")
    @classmethod
    def _unique(cls, v):
        if len(set(v)) != len(v):
            raise ValueError("reference_proteins has duplicates")
        return v


class ImputeConfig(Strict):
    """``preprocess.impute``: imputation of missing log2 values (``shift``/``width`` in SDs of each sample)."""

    method: literal(IMPUTE_METHODS) = "none"
    shift: float = Field(1.8, ge=0)
    width: float = Field(0.3, gt=0)
    k: int = Field(10, ge=1)


class BatchConfig(Strict):
    """``preprocess.batch``: batch correction (ComBat) protecting ``covariates``."""

    method: literal(BATCH_METHODS) = "none"
    column: str = "batch"
    covariates: list[str] = Field(default_factory=lambda: ["condition"])


class PreprocessConfig(Strict):
    """``preprocess``: the chain run and the single commands apply to samples × proteins (log2): filters,
    normalisation, batch correction, imputation (see ``proteomics.stages.preprocess_steps``)."""

    remove_contaminants: bool = True
    min_valid_fraction: float = Field(0.7, ge=0, le=1)
    min_valid_per_group: bool = True
    #: at least this many valid values (within one group when min_valid_per_group)
    min_valid_count: int = Field(0, ge=0)
    min_peptides: int = Field(1, ge=1)
    normalize: NormalizeConfig = NormalizeConfig()
    impute: ImputeConfig = ImputeConfig()
    batch: BatchConfig = BatchConfig()


class DEConfig(Strict):
    """``de``: moderated t per contrast (``group`` levels, ``covariates`` additive, ``block`` random effect);
    log2 fold changes; ``q_threshold`` calls significance after the ``fdr`` correction."""

    enabled: bool = True
    group: str = "condition"
    contrasts: list[str] = Field(default_factory=lambda: ["cancer-control"], min_length=1)
    covariates: list[str] = Field(default_factory=list)
    block: str | None = None
    trend: bool = False
    robust: bool = False
    legacy: bool = False
    #: hybrid: moderated t + a detection test for proteins seen in one group only (one FDR family);
    #: limma: R limma alone; dpc: the detection-aware model (group designs only)
    model: literal(DE_MODELS) = "hybrid"
    #: the detection test: None = "model" with hybrid, "none" with limma
    detection: literal(DETECTION_TESTS) | None = None
    fdr: literal(FDR_CHOICES) = "bh"
    q_threshold: float = Field(0.05, gt=0, le=1)



class PanelConfig(PanelSettings):
    """The ``panel`` section: every :class:`PanelSettings` key plus what a run decides around the panel."""

    enabled: bool = True
    label: str = "condition"
    positive: str = "cancer"
    #: roll-up for the panel's features from precursor-level input: within-sample methods only, so one new
    #: patient's run is quantified alone exactly as in training (MaxLFQ values depend on the other runs)
    quant_method: literal(PANEL_QUANT_METHODS) = "top3"
    permutations: int = Field(0, ge=0, description="label permutations (the leakage alarm)")


class StratifyConfig(StratifySettings):
    """The ``stratify`` section: every :class:`StratifySettings` key plus whether it runs and the largest k."""

    enabled: bool = False
    k_max: int = Field(6, ge=2)


class OutputConfig(Strict):
    """``output``: results folder, pseudonymised sample ids, an extra AnnData (h5ad) matrix."""

    dir: Path | None = None
    pseudonymise: bool = False
    anndata: bool = False


class RunConfig(Strict):
    """The whole ``proteomics run`` configuration (see configs/*.yaml for commented examples)."""

    name: str = "run"
    seed: int = Field(0, ge=0, lt=2**63)
    engine: Literal["local", "dask"] = "local"
    scheduler: str | None = None
    dask_workdir: Path | None = Field(None, description="engine dask: folder for the job's files; an interrupted "
                                      "job resumes from its finished parts when run again (None: temporary)")
    n_jobs: int = Field(1, ge=1)
    specimen: str | None = None
    inputs: InputsConfig
    read: ReadConfig = ReadConfig()
    quantify: QuantifyConfig = QuantifyConfig()
    preprocess: PreprocessConfig = PreprocessConfig()
    de: DEConfig = DEConfig()
    panel: PanelConfig = PanelConfig()
    stratify: StratifyConfig = StratifyConfig()
    output: OutputConfig = OutputConfig()
    source: Path | None = Field(None, exclude=True, description="the YAML file this came from")
    _resolved: dict[str, str] = PrivateAttr(default_factory=dict)

    @property
    def input_resolution(self) -> dict[str, str]:
        """For each relative input path, what it was resolved against: "config folder" or "working directory"."""
        return dict(self._resolved)

    @field_validator("name")
    @classmethod
    def _plain_name(cls, v):
        try:
            return check_name(v, key="name")
        except InputError as exc:  # pydantic reports it with the key's line
            raise ValueError(exc.message) from None

    @field_validator("specimen")
    @classmethod
    def _specimen(cls, v):
        if v is None:
            return v
        low = {s.lower(): s for s in SPECIMENS}
        if v.lower() not in low:
            raise ValueError(f"unknown specimen {v!r}; allowed: {', '.join(SPECIMENS)}")
        return low[v.lower()]

    def echo(self) -> dict[str, Any]:
        """The configuration as plain JSON values (paths as given after resolution)."""
        return self.model_dump(mode="json", exclude={"source"})

