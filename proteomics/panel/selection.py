"""The registry of panel selectors and models: names → estimators (the CLI/config choices come from here).

Selectors (``SELECTORS``; modules ``selectors``, ``sparse``, ``redundancy``)
--------------------------------------------------------------------------
``l1_share``     (default) proteins by their share of the L1 logistic model along its path; size tuned
``l1``           L1 logistic path at one penalty, tuned over penalty × panel size (multivariate)
``elastic_net``  the same path with l1_ratio 0.5 (saga, warm starts)
``moderated_t``  univariate: |moderated t| (two classes) or moderated F
``mrmr``         minimum redundancy – maximum relevance on the moderated statistic
``stability``    stability selection (Meinshausen & Bühlmann 2010)
``rfe``          random-forest importance with recursive elimination

``REDUNDANCY`` wraps any of them: ``none`` or ``cluster`` (one representative per cluster of proteins with
|r| ≥ threshold). Models (``MODELS``, module ``models``): ``logistic``, ``random_forest``, ``svm``.
"""

from __future__ import annotations

from ..config.panel import PATH_SELECTORS
from ..errors import InputError
from .models import MODELS, PanelFill, make_model
from .redundancy import ClusterRepresentatives, MRMRSelector
from .selectors import ModeratedTSelector, RFESelector, rank_statistic
from .sparse import L1PathSelector, L1Selector, L1ShareSelector
from .stability import StabilitySelector

__all__ = ["SELECTORS", "REDUNDANCY", "PATH_SELECTORS", "make_selector", "MODELS", "make_model", "PanelFill",
           "selector_for", "ModeratedTSelector", "L1Selector", "L1PathSelector", "L1ShareSelector",
           "StabilitySelector", "RFESelector",
           "MRMRSelector", "ClusterRepresentatives", "rank_statistic"]

SELECTORS = {"l1_share": L1ShareSelector, "l1": L1PathSelector, "elastic_net": L1PathSelector,
             "moderated_t": ModeratedTSelector,
             "mrmr": MRMRSelector, "stability": StabilitySelector, "rfe": RFESelector}
REDUNDANCY = ("none", "cluster")


def make_selector(name: str, k: int | None, *, seed: int = 0, options: dict | None = None,
                  penalty: float | None = None, redundancy: str = "none", redundancy_threshold: float = 0.8,
                  path: tuple[float, ...] | None = None):
    """A fresh selector by name (see ``SELECTORS``), keeping ``k`` proteins (None = unrestricted).

    ``penalty`` places a path selector on its path (multiple of c_min); ``path`` is the grid ``l1_share`` walks
    (unless ``options`` give ``penalty_path``); ``redundancy="cluster"`` wraps the selector in
    :class:`ClusterRepresentatives` with ``redundancy_threshold``.
    """
    opts = dict(options or {})
    if name not in SELECTORS:
        raise InputError(f"unknown selector {name!r}", hint=f"use one of {', '.join(SELECTORS)}")
    if redundancy not in REDUNDANCY:
        raise InputError(f"unknown redundancy option {redundancy!r}", hint=f"use one of {', '.join(REDUNDANCY)}")
    if name == "elastic_net":
        opts.setdefault("l1_ratio", 0.5)
    if name in ("stability", "rfe"):
        opts.setdefault("seed", seed)
    if name in PATH_SELECTORS and penalty is not None:
        opts["penalty"] = float(penalty)
    if name == "l1_share" and path is not None:
        opts.setdefault("penalty_path", tuple(float(p) for p in path))
    try:
        sel = SELECTORS[name](k=k, **opts)
    except TypeError as exc:
        raise InputError(f"bad option for selector {name!r} ({exc})") from None
    if redundancy == "cluster":
        return ClusterRepresentatives(sel, k=k, threshold=redundancy_threshold)
    return sel


def selector_for(settings, k: int | None, *, seed: int = 0, penalty: float | None = None):
    """The selector a :class:`~proteomics.config.panel.PanelSettings` describes (name, options, redundancy, the
    path grid), keeping ``k`` proteins, at ``penalty`` for a path selector."""
    return make_selector(settings.selector, k, seed=seed, options=dict(settings.selector_options), penalty=penalty,
                         redundancy=settings.redundancy, redundancy_threshold=settings.redundancy_threshold,
                         path=settings.penalty_grid)
