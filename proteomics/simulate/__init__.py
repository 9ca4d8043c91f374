"""A simulated respiratory proteomics cohort (lung cancer vs control) with known truth.

What it is
----------
A *statistical* model, not a mass-spectrometry simulator. It draws log2 protein abundances for
patients' plasma, bronchoalveolar lavage (BAL) and sputum samples from a hierarchical normal model,
spreads each protein over precursors with fixed response factors, removes values by an
intensity-dependent (MNAR) plus a random (MCAR) missingness process, and writes what DIA-NN
(precursor ``report.tsv``) and MaxQuant (``proteinGroups.txt``) would have written. Every effect is
known and returned, so tests can check that the pipeline recovers it.

The model (log2 scale; ``i`` = sample, ``p`` = protein, ``k`` = precursor)
---------------------------------------------------------------------------
``A[i,p] = m[p] + sd_bio[p]·z[i,p] + fc[p]·cancer[i] + covariates[i,p] + contamination[i,p]
          + subgroup[i,p] + batch[b(i),p] + load[i]``

- ``m[p]``: specimen-specific mean abundance from an abundance tier per protein (hand-assigned from
  the typical ranking of plasma/BAL/sputum proteins: albumin ≈ 10^11.2, then tiers 10^10.2 … 10^7.0,
  ±N(0, 0.25) in log10), giving ~4.5 orders of magnitude in plasma; BAL and sputum are shifted down.
- ``sd_bio[p]``: between-patient SD, log-normal around 0.6 log2 (acute-phase proteins 1.0,
  immunoglobulins 0.5, the stable *reference* proteins 0.1).
- ``fc[p]``: the true cancer-vs-control log2 fold change; non-zero for ``fraction_changed`` of the
  proteins of each specimen (|fc| uniform in [0.5, 1.5], mostly positive for known marker candidates),
  zero otherwise. Written to ``truth.tsv``.
- covariates: a few proteins per specimen depend on age (per decade), sex (female) and smoking
  (per 10 pack-years). Smoking is more common in cancer patients, as in real cohorts, so these
  proteins differ marginally between groups even though their direct (adjusted) effect ``fc`` is 0.
- contamination (plasma only; marker panels of Geyer et al. 2019, EMBO Mol Med 11:e10427): every
  sample carries a random erythrocyte (SD 0.3), platelet (SD 0.4) and coagulation (SD 0.15) level
  added to its panel's proteins; ``n_hemolysed`` samples get +4.5 log2 on the erythrocyte panel and
  one sample is partially clotted (−2 log2 on the coagulation panel).
- ``subgroup``: with ``n_subgroups = k`` patients are split (balanced within condition) into k groups,
  each with its own programme of proteins shifted by ±U(1, 2) log2 (planted endotypes).
- ``batch``: two batches, each protein shifted by ∓δ_p/2 with δ_p ~ N(0, 0.3), plus +0.4 log2
  overall in batch 2; batches are mildly unbalanced between conditions (17/13 vs 13/17).
- ``load``: per-run loading/ionisation factor N(0, 0.3) (what normalisation removes).

Precursors: protein ``p`` has ``n_p`` precursors, heavy-tailed and increasing with abundance
(log-normal, 1…30), each with a fixed response factor r_k ~ N(0, 1) log2 and run noise N(0, 0.2):
``log2 Precursor.Quantity = A[i,p] − log2(n_p) + r_k + ε``. Peptide sequences are random
tryptic-like strings (they are not the real peptides of these proteins).

Missingness: a precursor value is removed with probability Φ((T − x)/0.9) (x = its expected log2
intensity, T = the ``mnar_quantile`` quantile of all expected values of the specimen) plus 3 %
completely at random. Some removed values near the threshold, and some protein groups identified by a
single precursor, are written anyway with a q-value between 1 % and 5 %, so readers must filter.

What is not realistic: peptide sequences, retention times, scores and q-values are random; there is
no peptide sharing between proteins (each group has its own precursors); ``PG.MaxLFQ`` is a simple
stand-in (median of precursor log-ratios to each precursor's median across runs), not the MaxLFQ
algorithm; MaxQuant columns are derived from the same precursors (DDA-specific behaviour such as
match-between-runs is not modelled); correlation between proteins exists only through the shared
sample factors above.

Modules: :mod:`.catalogue` (named proteins, package data ``catalogue.tsv``, per-specimen constants),
:mod:`.proteins` (per-specimen proteins and effects), :mod:`.precursors` (sample and precursor noise model),
:mod:`.cohort` (:func:`simulate_cohort`), :mod:`.diann` and :mod:`.maxquant` (tool-style tables),
:mod:`.bundle` (sheets, truth, ``sample_data/``, :func:`to_dataset`), :mod:`.large` (benchmark reports),
:mod:`.lfq_truth` (precursor cohorts with known protein truth under two noise models, for roll-up accuracy).
"""

from .bundle import to_dataset, write_bundle, write_sheet_csv, write_sheet_sdrf, write_truth
from .catalogue import DEFAULT_SEED, SPECIMENS, catalogue
from .cohort import Cohort, simulate_cohort
from .diann import diann_report_frame, write_diann_report
from .large import write_large_diann_report
from .lfq_truth import simulate_lfq
from .maxquant import maxquant_protein_groups_frame, write_maxquant_protein_groups

__all__ = ["DEFAULT_SEED", "SPECIMENS", "Cohort", "catalogue", "simulate_cohort", "diann_report_frame",
           "write_diann_report", "write_maxquant_protein_groups", "write_sheet_csv", "write_sheet_sdrf",
           "write_truth", "write_bundle", "write_large_diann_report", "simulate_lfq", "to_dataset",
           "maxquant_protein_groups_frame"]
