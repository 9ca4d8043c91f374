"""The sample sheet: which run is which sample, subject, specimen, condition, batch and covariates.

A sheet is a CSV or TSV file (delimiter sniffed from the header line; UTF-8, UTF-8 with BOM or
UTF-16 with BOM) with the required columns ``run, sample, subject, specimen, condition``, an optional
``batch`` and any further columns, kept as covariates (numeric when every non-empty value is a number).
SDRF-Proteomics files (``source name``, ``characteristics[...]``, ``comment[data file]``,
``factor value[...]``) are recognised from their header and mapped onto the same columns
(see :func:`proteomics.samples.sdrf.from_sdrf` for the exact rules).

:class:`SampleSheet` is validated on construction; every problem a user can fix is an
:class:`~proteomics.errors.InputError` naming the file, the 1-based line and the column, with a fix.
:meth:`SampleSheet.match_runs` maps the run names a search engine wrote onto sample ids by full
string, then basename, then stem (DESIGN.md, "Run names").

Modules: :mod:`.sheet` (SampleSheet), :mod:`.columns` (column validation), :mod:`.parse` (text → rows with
line numbers), :mod:`.sdrf` (SDRF mapping), :mod:`.runs` (run names), :mod:`.specimens` (vocabulary).
"""

from .columns import REQUIRED_COLUMNS
from .runs import run_basename, run_stem
from .sheet import SampleSheet
from .specimens import SPECIMENS, normalise_specimen

__all__ = ["SampleSheet", "SPECIMENS", "REQUIRED_COLUMNS", "normalise_specimen", "run_stem", "run_basename"]
