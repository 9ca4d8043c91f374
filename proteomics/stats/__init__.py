"""stats stage: design matrices, limma-style moderated statistics, classical tests, FDR, DE results."""

from .design import Design, contrast_matrix, make_design, parse_contrast
from .fdr import adjust, bh, by, storey
from .limma import contrasts_fit, ebayes, lm_fit, moderated_t, squeeze_var
from .results import DEResult, de_long_table
from .tests import anova, welch_t, wilcoxon

__all__ = ["Design", "make_design", "parse_contrast", "contrast_matrix", "lm_fit", "contrasts_fit", "ebayes",
           "squeeze_var", "moderated_t", "adjust", "bh", "by", "storey", "DEResult", "de_long_table",
           "welch_t", "wilcoxon", "anova"]
