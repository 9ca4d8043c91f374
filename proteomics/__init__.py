"""proteomics: respiratory proteomics from search-engine output to locked, validated protein signatures."""

from ._version import __version__
from .dataset import Dataset, Step
from .errors import InputError, ProteomicsError, ScoringRefused, SignatureError

__all__ = ["__version__", "Dataset", "Step", "InputError", "ProteomicsError", "ScoringRefused", "SignatureError"]
