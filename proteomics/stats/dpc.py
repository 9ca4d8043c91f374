"""The detection probability curve, for the statistics stage (the code lives in
:mod:`proteomics.quant.dpc_curve`, below both quant and stats, because ``quantify --method dpc`` uses it too)."""

from ..quant.dpc_curve import (
    DetectionCurve,
    DPCFit,
    detect_prob,
    fit_detection_curve,
    max_loglik_mu,
    posterior_fill,
)

__all__ = ["DetectionCurve", "DPCFit", "fit_detection_curve", "detect_prob", "posterior_fill", "max_loglik_mu"]
