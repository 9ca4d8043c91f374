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
"""

from __future__ import annotations

import gzip
import io
import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ._files import atomic_path, sha256_bytes, write_bytes
from .dataset import Dataset, Step

__all__ = ["DEFAULT_SEED", "SPECIMENS", "Cohort", "catalogue", "simulate_cohort", "diann_report_frame",
           "write_diann_report", "write_maxquant_protein_groups", "write_sheet_csv", "write_sheet_sdrf",
           "write_truth", "write_bundle", "write_large_diann_report", "to_dataset",
           "maxquant_protein_groups_frame"]

DEFAULT_SEED = 20261123
SPECIMENS = ("plasma", "BAL", "sputum")
_TIER_LOG10 = {"S": 11.2, "A": 10.2, "B": 9.4, "C": 8.6, "D": 7.8, "E": 7.0}
_OFFSET_LOG10 = {"plasma": 0.0, "BAL": -0.7, "sputum": -0.4}
_N_GENERIC = {"plasma": 76, "BAL": 90, "sputum": 150}
_MNAR_QUANTILE = {"plasma": 0.16, "BAL": 0.2, "sputum": 0.22}
_ACUTE_PHASE = {"CRP", "SAA1;SAA2", "LBP", "SAA4", "HP", "ORM1"}
_RAW_DIR = "D:\\cohort\\raw\\"

# accession(s) gene(s) UniProt entry name(s) panel plasma-tier BAL-tier sputum-tier
# panel: ery/plt/coag = contamination marker panels (Geyer et al. 2019); ref = stable reference candidate;
# mk = lung-cancer marker candidate (preferred when choosing changed proteins); tiers S>A>B>C>D>E, '-' = absent
_CATALOGUE = """
P02768 ALB ALBU_HUMAN - S S A
P01857 IGHG1 IGHG1_HUMAN - A A B
P02787 TF TRFE_HUMAN - A A B
P00738 HP HPT_HUMAN mk A B C
P02671 FGA FIBA_HUMAN coag A D E
P02675 FGB FIBB_HUMAN coag A C D
P02679 FGG FIBG_HUMAN coag A D E
P01023 A2M A2MG_HUMAN - A C D
P01009 SERPINA1 A1AT_HUMAN - A A B
P02647 APOA1 APOA1_HUMAN - A B C
P01834 IGKC IGKC_HUMAN - A A A
P01024 C3 CO3_HUMAN - A B C
P01876 IGHA1 IGHA1_HUMAN - A A A
P04114 APOB APOB_HUMAN - B E -
P02652 APOA2 APOA2_HUMAN - B C D
P02765 AHSG FETUA_HUMAN ref B C D
P02763 ORM1 A1AG1_HUMAN mk B C D
P19652 ORM2 A1AG2_HUMAN - C D E
P02790 HPX HEMO_HUMAN ref B C D
P02774 GC VTDB_HUMAN ref B C D
P01871 IGHM IGHM_HUMAN - B C D
P01859 IGHG2 IGHG2_HUMAN - B B C
P01860 IGHG3 IGHG3_HUMAN - B C D
P01861 IGHG4 IGHG4_HUMAN - C C D
P01877 IGHA2 IGHA2_HUMAN - B B B
P0C0L4;P0C0L5 C4A;C4B CO4A_HUMAN;CO4B_HUMAN - B C D
P00450 CP CERU_HUMAN - B C D
P02749 APOH APOH_HUMAN ref B D E
P08603 CFH CFAH_HUMAN - B C D
P00747 PLG PLMN_HUMAN ref B D E
P19823 ITIH2 ITIH2_HUMAN ref B D E
Q14624 ITIH4 ITIH4_HUMAN mk B D E
P01042 KNG1 KNG1_HUMAN ref B D E
P04004 VTN VTNC_HUMAN ref B D E
P10909 CLU CLUS_HUMAN - B C D
P01011 SERPINA3 AACT_HUMAN mk B C C
P02760 AMBP AMBP_HUMAN - B C D
P02656 APOC3 APOC3_HUMAN - B D E
P02766 TTR TTHY_HUMAN - B C D
P02753 RBP4 RET4_HUMAN - B D E
P01019 AGT ANGT_HUMAN - B D E
P02649 APOE APOE_HUMAN - C D E
P04217 A1BG A1BG_HUMAN ref B D E
P04196 HRG HRG_HUMAN ref B D E
P01008 SERPINC1 ANT3_HUMAN ref B D E
P06396 GSN GELS_HUMAN - B C D
P02751 FN1 FINC_HUMAN - B C D
P00751 CFB CFAB_HUMAN - B C D
P06727 APOA4 APOA4_HUMAN - B D E
P43652 AFM AFAM_HUMAN ref B D E
P19827 ITIH1 ITIH1_HUMAN ref B D E
Q06033 ITIH3 ITIH3_HUMAN - C E -
P02750 LRG1 A2GL_HUMAN mk C D E
O43866 CD5L CD5L_HUMAN - C D -
P00734 F2 THRB_HUMAN coag C E -
P12259 F5 FA5_HUMAN coag D - -
P04003 C4BPA C4BPA_HUMAN - C D E
P01031 C5 CO5_HUMAN - C D E
P07357 C8A CO8A_HUMAN - C E -
P07358 C8B CO8B_HUMAN - C E -
P07360 C8G CO8G_HUMAN - D E -
P02748 C9 CO9_HUMAN - C D E
P00736 C1R C1R_HUMAN - C E -
P09871 C1S C1S_HUMAN - C E -
P02745 C1QA C1QA_HUMAN - C D E
P02746 C1QB C1QB_HUMAN - C D E
P02747 C1QC C1QC_HUMAN - C D E
P05156 CFI CFAI_HUMAN - C E -
P05155 SERPING1 IC1_HUMAN - C D E
P05546 SERPIND1 HEP2_HUMAN - C E -
P08697 SERPINF2 A2AP_HUMAN - C E -
P29622 SERPINA4 KAIN_HUMAN - C E -
P08185 SERPINA6 CBG_HUMAN - C E -
P05543 SERPINA7 THBG_HUMAN - C E -
P36955 SERPINF1 PEDF_HUMAN - C E -
P05090 APOD APOD_HUMAN - C D E
P02654 APOC1 APOC1_HUMAN - C E -
P02655 APOC2 APOC2_HUMAN - D E -
O95445 APOM APOM_HUMAN - C E -
O14791 APOL1 APOL1_HUMAN - C E -
P08519 LPA APOA_HUMAN - C - -
P00739 HPR HPTR_HUMAN - C E -
P00748 F12 FA12_HUMAN coag C E -
P05160 F13B F13B_HUMAN coag C - -
P00488 F13A1 F13A_HUMAN coag D - -
P27169 PON1 PON1_HUMAN - C E -
P04180 LCAT LCAT_HUMAN - D - -
P15169 CPN1 CBPN_HUMAN - C E -
P22792 CPN2 CPN2_HUMAN - C E -
Q96IY4 CPB2 CBPB2_HUMAN - C E -
P03952 KLKB1 KLKB1_HUMAN - C E -
Q14520 HABP2 HABP2_HUMAN - C E -
P07225 PROS1 PROS_HUMAN - C E -
P20742 PZP PZP_HUMAN - C E -
O75882 ATRN ATRN_HUMAN - C E -
P43251 BTD BTD_HUMAN - C E -
O75636 FCN3 FCN3_HUMAN - C E -
P11226 MBL2 MBL2_HUMAN - D - -
Q16610 ECM1 ECM1_HUMAN - C E -
P23142 FBLN1 FBLN1_HUMAN - C E -
O00391 QSOX1 QSOX1_HUMAN - C E -
Q15582 TGFBI BGH3_HUMAN - C D E
Q96PD5 PGLYRP2 PGRP2_HUMAN - C E -
P00746 CFD CFAD_HUMAN - C E -
P13671 C6 CO6_HUMAN - C E -
P10643 C7 CO7_HUMAN - C E -
P06681 C2 CO2_HUMAN - C E -
Q03591 CFHR1 FHR1_HUMAN - C E -
P36980 CFHR2 FHR2_HUMAN - D - -
P27918 CFP PROP_HUMAN - D - -
P25311 AZGP1 ZA2G_HUMAN - C D D
P14151 SELL LYAM1_HUMAN - D - -
P18428 LBP LBP_HUMAN mk C E -
P35542 SAA4 SAA4_HUMAN - C E -
P02741 CRP CRP_HUMAN mk C D E
P0DJI8;P0DJI9 SAA1;SAA2 SAA1_HUMAN;SAA2_HUMAN mk C D E
P02743 APCS SAMP_HUMAN - C E -
P05452 CLEC3B TETN_HUMAN - C E -
P04278 SHBG SHBG_HUMAN - D - -
P35858 IGFALS ALS_HUMAN - C E -
P17936 IGFBP3 IBP3_HUMAN - D - -
Q04756 HGFAC HGFA_HUMAN - D - -
P55058 PLTP PLTP_HUMAN - D - -
P11597 CETP CETP_HUMAN - E - -
Q8NBP7 PCSK9 PCSK9_HUMAN - E - -
Q15848 ADIPOQ ADIPO_HUMAN - C E -
Q9NZP8 C1RL C1RL_HUMAN - D - -
P08709 F7 FA7_HUMAN coag E - -
P00740 F9 FA9_HUMAN coag D - -
P00742 F10 FA10_HUMAN coag D - -
P03951 F11 FA11_HUMAN coag E - -
P04275 VWF VWF_HUMAN coag C E -
P04070 PROC PROC_HUMAN - D - -
P22891 PROZ PROZ_HUMAN - D - -
P05154 SERPINA5 IPSP_HUMAN - D - -
Q9UK55 SERPINA10 ZPI_HUMAN - D - -
P48740 MASP1 MASP1_HUMAN - D - -
O00187 MASP2 MASP2_HUMAN - E - -
P06276 BCHE CHLE_HUMAN - D - -
Q16853 AOC3 AOC3_HUMAN - D - -
P26927 MST1 HGFL_HUMAN - D - -
P08571 CD14 CD14_HUMAN - C C D
Q86VB7 CD163 C163A_HUMAN - D D -
Q08380 LGALS3BP LG3BP_HUMAN mk C C D
P22105 TNXB TENX_HUMAN - D - -
P49747 COMP COMP_HUMAN - D - -
Q92954 PRG4 PRG4_HUMAN - D - -
Q15113 PCOLCE PCOC1_HUMAN - D - -
P14543 NID1 NID1_HUMAN - E - -
P98160 HSPG2 PGBM_HUMAN - D - -
Q08830 FGL1 FGL1_HUMAN - D - -
Q13093 PLA2G7 PAFA_HUMAN - E - -
P14210 HGF HGF_HUMAN - E - -
P18065 IGFBP2 IBP2_HUMAN - D - -
P01034 CST3 CYTC_HUMAN - D C C
P61769 B2M B2MG_HUMAN - C C C
P61626 LYZ LYSC_HUMAN - D B A
P36222 CHI3L1 CH3L1_HUMAN mk D C C
P01033 TIMP1 TIMP1_HUMAN mk E D D
P10451 SPP1 OSTP_HUMAN mk E D D
Q13421 MSLN MSLN_HUMAN mk E E -
P06731 CEACAM5 CEAM5_HUMAN mk E E D
P40199 CEACAM6 CEAM6_HUMAN mk E D C
P29508 SERPINB3 SPB3_HUMAN mk E E D
P48594 SERPINB4 SPB4_HUMAN - - E D
P08727 KRT19 K1C19_HUMAN mk E E D
O96009 NAPSA NAPSA_HUMAN mk - C -
P09104 ENO2 ENOG_HUMAN mk E - -
P69905 HBA1 HBA_HUMAN ery C D D
P68871 HBB HBB_HUMAN ery C D D
P02042 HBD HBD_HUMAN ery E - -
P00915 CA1 CAH1_HUMAN ery D - -
P00918 CA2 CAH2_HUMAN ery E - -
P32119 PRDX2 PRDX2_HUMAN ery E D D
P04040 CAT CATA_HUMAN ery E D D
P30043 BLVRB BLVRB_HUMAN ery E - -
P02730 SLC4A1 B3AT_HUMAN ery E - -
P02549 SPTA1 SPTA1_HUMAN ery E - -
P11277 SPTB SPTB1_HUMAN ery E - -
P16157 ANK1 ANK1_HUMAN ery E - -
P16452 EPB42 EPB42_HUMAN ery E - -
P13716 ALAD HEM2_HUMAN ery E - -
P69891;P69892 HBG1;HBG2 HBG1_HUMAN;HBG2_HUMAN ery E - -
P00441 SOD1 SODC_HUMAN ery E D D
Q06830 PRDX1 PRDX1_HUMAN ery E C C
P02776 PF4 PLF4_HUMAN plt C - -
P02775 PPBP CXCL7_HUMAN plt C - -
Q9Y490 TLN1 TLN1_HUMAN plt D E -
P35579 MYH9 MYH9_HUMAN plt D D D
P21333 FLNA FLNA_HUMAN plt D D D
P60709 ACTB ACTB_HUMAN plt C B B
P08514 ITGA2B ITA2B_HUMAN plt E - -
P05106 ITGB3 ITB3_HUMAN plt E - -
P07359 GP1BA GP1BA_HUMAN plt E - -
P18206 VCL VINC_HUMAN plt E - -
Q15942 ZYX ZYX_HUMAN plt E - -
P67936 TPM4 TPM4_HUMAN plt E D D
P23528 CFL1 COF1_HUMAN plt D C C
P07737 PFN1 PROF1_HUMAN plt C C C
P63104 YWHAZ 1433Z_HUMAN plt E D D
P37802 TAGLN2 TAGL2_HUMAN plt E D D
P12814 ACTN1 ACTN1_HUMAN plt E - -
P60660 MYL6 MYL6_HUMAN plt E D D
P24844 MYL9 MYL9_HUMAN plt E - -
Q9H4B7 TUBB1 TBB1_HUMAN plt E - -
P07996 THBS1 TSP1_HUMAN plt C E -
P09486 SPARC SPRC_HUMAN plt E - -
P16109 SELP LYAM3_HUMAN plt E - -
P04406 GAPDH G3P_HUMAN - E C C
P14618 PKM KPYM_HUMAN mk E C C
P06733 ENO1 ENOA_HUMAN mk E C C
P60174 TPI1 TPIS_HUMAN - E D D
P00338 LDHA LDHA_HUMAN - E D D
P07195 LDHB LDHB_HUMAN - E D E
P04075 ALDOA ALDOA_HUMAN - D C C
P00558 PGK1 PGK1_HUMAN - E D D
P30041 PRDX6 PRDX6_HUMAN - - C D
P09211 GSTP1 GSTP1_HUMAN - E C C
P02792 FTL FRIL_HUMAN - D B C
P02794 FTH1 FRIH_HUMAN - E D D
P02788 LTF TRFL_HUMAN - E B A
P05164 MPO PERM_HUMAN - E D B
P08246 ELANE ELNE_HUMAN - - E C
P05109 S100A8 S10A8_HUMAN mk D B A
P06702 S100A9 S10A9_HUMAN mk D B A
P80511 S100A12 S10AC_HUMAN - E D B
P59665 DEFA1 DEF1_HUMAN - E D B
P49913 CAMP CAMP_HUMAN - E E C
P80188 LCN2 NGAL_HUMAN mk E C B
P14780 MMP9 MMP9_HUMAN mk E D B
P22894 MMP8 MMP8_HUMAN - - E C
P08311 CTSG CATG_HUMAN - - E C
P20160 AZU1 CAP7_HUMAN - - E C
P24158 PRTN3 PRTN3_HUMAN - - E C
P17213 BPI BPI_HUMAN - - E D
Q6UX06 OLFM4 OLFM4_HUMAN - - - D
Q13231 CHIT1 CHIT1_HUMAN - - C D
P62805 H4C1 H4_HUMAN - - D B
P07988 SFTPB PSPB_HUMAN mk E B D
P11686 SFTPC PSPC_HUMAN - - D -
Q8IWL2 SFTPA1 SFPA1_HUMAN - - A D
Q8IWL1 SFTPA2 SFPA2_HUMAN - - A D
P35247 SFTPD SFTPD_HUMAN mk E B D
P11684 SCGB1A1 UTER_HUMAN mk E A B
Q96QR1 SCGB3A1 SG3A1_HUMAN - - C C
Q9NP55 BPIFA1 BPIA1_HUMAN - - B A
Q8TDL5 BPIFB1 BPIB1_HUMAN - - C B
P98088 MUC5AC MUC5A_HUMAN - - D B
Q9HC84 MUC5B MUC5B_HUMAN - - C S
P01833 PIGR PIGR_HUMAN - E B A
P01591 JCHAIN IGJ_HUMAN - D C B
P31025 LCN1 LCN1_HUMAN - - - C
P12273 PIP PIP_HUMAN - - - C
P03973 SLPI SLPI_HUMAN - E B B
P19957 PI3 ELAF_HUMAN - - D C
O95994 AGR2 AGR2_HUMAN - - D D
Q07654 TFF3 TFF3_HUMAN - - D D
P04083 ANXA1 ANXA1_HUMAN - - B B
P07355 ANXA2 ANXA2_HUMAN - - C C
P08758 ANXA5 ANXA5_HUMAN - E C C
P13647 KRT5 K2C5_HUMAN - - E C
P05787 KRT8 K2C8_HUMAN - - E D
P05783 KRT18 K1C18_HUMAN - - E D
Q13162 PRDX4 PRDX4_HUMAN - E E -
P17931 LGALS3 LEG3_HUMAN - E C C
P07339 CTSD CATD_HUMAN - E C D
P07858 CTSB CATB_HUMAN - - C D
P00749 PLAU UROK_HUMAN - - E -
P05121 SERPINE1 PAI1_HUMAN - E E -
P24821 TNC TENA_HUMAN - E E -
Q15063 POSTN POSTN_HUMAN - E E -
P02452 COL1A1 CO1A1_HUMAN - E E -
P08123 COL1A2 CO1A2_HUMAN - E E -
P12109 COL6A1 CO6A1_HUMAN - E E -
P08670 VIM VIME_HUMAN - E C C
P11021 HSPA5 BIP_HUMAN - - D D
P07900 HSP90AA1 HS90A_HUMAN - E D D
P04792 HSPB1 HSPB1_HUMAN - E D D
P27797 CALR CALR_HUMAN - E D D
P30101 PDIA3 PDIA3_HUMAN - - D D
P07237 P4HB PDIA1_HUMAN - E D D
P14174 MIF MIF_HUMAN - E C D
P16070 CD44 CD44_HUMAN - E E E
P12830 CDH1 CADH1_HUMAN - E E -
P33151 CDH5 CADH5_HUMAN - E - -
P05362 ICAM1 ICAM1_HUMAN - E E -
P19320 VCAM1 VCAM1_HUMAN - E - -
P16581 SELE LYAM2_HUMAN - E - -
P16284 PECAM1 PECA1_HUMAN - E - -
P02786 TFRC TFR1_HUMAN - E - -
P10645 CHGA CMGA_HUMAN - E - -
P30740 SERPINB1 ILEU_HUMAN - - D C
P05089 ARG1 ARGI1_HUMAN - E E D
O43707 ACTN4 ACTN4_HUMAN - - D D
P09493 TPM1 TPM1_HUMAN - - E E
P0DP23 CALM1 CALM1_HUMAN - E D D
P62937 PPIA PPIA_HUMAN - E C C
P13987 CD59 CD59_HUMAN - E D D
P26038 MSN MOES_HUMAN - - D C
P15311 EZR EZRI_HUMAN - - D D
P29401 TKT TKT_HUMAN - - C D
P37837 TALDO1 TALDO_HUMAN - - D D
P11413 G6PD G6PD_HUMAN - - E E
P52209 PGD 6PGD_HUMAN - - D D
P00352 ALDH1A1 AL1A1_HUMAN - - D D
P22352 GPX3 GPX3_HUMAN ref D C D
P07203 GPX1 GPX1_HUMAN - - E E
P08294 SOD3 SODE_HUMAN - E D E
P10599 TXN THIO_HUMAN - E C C
"""


def catalogue() -> pd.DataFrame:
    """The protein catalogue: protein_group, gene, entry, panel and the abundance tier per specimen."""
    rows = [line.split() for line in _CATALOGUE.strip().splitlines()]
    return pd.DataFrame(rows, columns=["protein_group", "gene", "entry", "panel", *SPECIMENS])


@dataclass(frozen=True)
class Cohort:
    """Everything the simulation drew, so tests can compare results with the truth.

    ``sheet``: one row per training run (run, sample, subject, specimen, condition, batch, age, sex,
    smoking, time, event). ``new_sheet``: the same for the new (scoring) patients.
    ``subjects``: one row per patient (index ``subject``), incl. ``hemolysed``, ``clotted``, ``subgroup``.
    ``truth``: one row per (specimen, protein): true_log2fc, changed, reference and covariate effects.
    ``abundance[specimen]``: samples × proteins, log2, complete (no missingness, no precursor noise).
    ``precursors[specimen]``: long table, one row per (run, precursor) incl. removed values:
    run, sample, protein_group, precursor_id, modified_sequence, stripped_sequence, charge,
    log2_expected, log2_intensity, status (detected | low_confidence | missing), q_value, pg_q_value.
    ``subgroups``: subject → planted subgroup label (0…k−1), or None; ``programmes``: the subgroup
    programme proteins and effects.
    """

    seed: int
    subjects: pd.DataFrame
    sheet: pd.DataFrame
    new_sheet: pd.DataFrame
    truth: pd.DataFrame
    proteins: dict
    abundance: dict
    precursors: dict
    subgroups: pd.Series | None
    programmes: pd.DataFrame


# ------------------------------------------------------------------------------------------ subjects

def _subjects(rng: np.random.Generator, n_patients: int, n_bal: int, n_sputum: int, n_subgroups: int,
              n_hemolysed: int, n_clotted: int = 1) -> pd.DataFrame:
    if n_patients < 8 or n_patients % 2:
        raise ValueError("n_patients must be an even number ≥ 8")
    half = n_patients // 2
    ids = [f"P{i + 1:03d}" for i in range(n_patients)]
    cancer = np.zeros(n_patients, dtype=bool)
    cancer[rng.permutation(n_patients)[:half]] = True
    condition = np.where(cancer, "cancer", "control")
    age = np.where(cancer, rng.normal(66, 8, n_patients), rng.normal(62, 9, n_patients))
    age = np.clip(np.round(age), 40, 85).astype(int)
    sex = np.where(rng.random(n_patients) < 0.45, "female", "male")
    smoker = rng.random(n_patients) < np.where(cancer, 0.85, 0.55)
    packs = np.where(cancer, rng.gamma(3.0, 12.0, n_patients), rng.gamma(3.0, 7.0, n_patients))
    smoking = np.round(np.where(smoker, packs, 0.0), 1)
    batch = np.empty(n_patients, dtype=object)
    for is_cancer, n_first in ((True, round(half * 17 / 30)), (False, half - round(half * 17 / 30))):
        idx = rng.permutation(np.flatnonzero(cancer == is_cancer))
        batch[idx] = "2"
        batch[idx[:n_first]] = "1"
    subgroup = np.full(n_patients, -1)
    if n_subgroups:
        for is_cancer in (True, False):
            idx = rng.permutation(np.flatnonzero(cancer == is_cancer))
            subgroup[idx] = np.arange(idx.size) % n_subgroups
    hazard = np.where(cancer, 0.025, 0.004) * np.exp(0.6 * np.maximum(subgroup, 0))
    event_time = rng.exponential(1.0 / hazard)
    censor = rng.uniform(24, 60, n_patients)
    time = np.round(np.minimum(event_time, censor), 1)
    event = (event_time <= censor).astype(int)
    in_bal = np.zeros(n_patients, dtype=bool)
    in_sputum = np.zeros(n_patients, dtype=bool)
    for flags, n in ((in_bal, n_bal), (in_sputum, n_sputum)):
        for is_cancer in (True, False):
            idx = rng.permutation(np.flatnonzero(cancer == is_cancer))
            flags[idx[: n // 2 if is_cancer else n - n // 2]] = True
    hemolysed = np.zeros(n_patients, dtype=bool)
    hemolysed[rng.permutation(n_patients)[:n_hemolysed]] = True
    clotted = np.zeros(n_patients, dtype=bool)
    if n_clotted == 1:
        clotted[rng.choice(np.flatnonzero(~hemolysed))] = True
    elif n_clotted > 1:
        clotted[rng.permutation(np.flatnonzero(~hemolysed))[:n_clotted]] = True
    return pd.DataFrame({"condition": condition, "age": age, "sex": sex, "smoking": smoking, "batch": batch,
                         "time": time, "event": event, "subgroup": subgroup, "hemolysed": hemolysed,
                         "clotted": clotted, "in_BAL": in_bal, "in_sputum": in_sputum},
                        index=pd.Index(ids, name="subject"))


def _new_subjects() -> pd.DataFrame:
    """Three new plasma patients: N001 cancer, N002 control, N003 unfit (hemolysed, low load, mostly missing)."""
    return pd.DataFrame({"condition": ["cancer", "control", "control"], "age": [67, 58, 71],
                         "sex": ["male", "female", "male"], "smoking": [45.0, 0.0, 20.0], "batch": ["3"] * 3,
                         "time": [np.nan] * 3, "event": [-1] * 3, "subgroup": [-1] * 3,
                         "hemolysed": [False, False, True], "clotted": [False] * 3, "in_BAL": [False] * 3,
                         "in_sputum": [False] * 3, "load": [0.0, 0.0, -5.0]},
                        index=pd.Index(["N001", "N002", "N003"], name="subject"))


# ------------------------------------------------------------------------------------------ proteins

_AA = np.array(list("ACDEFGHIKLMNPQRSTVWY"))
_AA_FREQ = np.array([8.3, 1.4, 5.5, 6.8, 3.9, 7.1, 2.3, 5.9, 0.1, 9.7, 2.4, 4.1, 4.7, 3.9, 0.1, 6.6, 5.4,
                     6.9, 1.1, 2.9])  # K and R only at the C terminus (tryptic)


def _peptides(rng: np.random.Generator, n: int, taken: set) -> list[str]:
    """``n`` random tryptic-like sequences (6–28 residues then K/R) not already in ``taken``."""
    out: list[str] = []
    p = _AA_FREQ / _AA_FREQ.sum()
    while len(out) < n:
        lengths = np.clip(rng.gamma(5.0, 2.4, n), 6, 28).astype(int)
        body = _AA[rng.choice(_AA.size, size=(n, 28), p=p)]
        ends = np.where(rng.random(n) < 0.55, "K", "R")
        for row, length, end in zip(body, lengths, ends, strict=True):
            seq = "".join(row[:length]) + end
            if seq not in taken and len(out) < n:
                taken.add(seq)
                out.append(seq)
    return out


def _library(rng: np.random.Generator, groups: list[str], max_prec: int = 30) -> dict:
    """Per protein group: up to ``max_prec`` precursors (sequence, modified sequence, charge, response)."""
    taken: set = set()
    lib = {}
    for g in groups:
        seqs = _peptides(rng, max_prec, taken)
        mods = []
        for s in seqs:
            m = s.replace("C", "C(UniMod:4)")
            if "M" in s and rng.random() < 0.15:  # oxidised first methionine
                m = m.replace("M", "M(UniMod:35)", 1)
            mods.append(m)
        charge = rng.choice([2, 3, 4], size=max_prec, p=[0.65, 0.3, 0.05])
        lib[g] = (seqs, mods, charge, rng.normal(0.0, 1.0, max_prec), rng.uniform(3, 115, max_prec))
    return lib


def _specimen_proteins(rng: np.random.Generator, spec: str, cat: pd.DataFrame, generic: pd.DataFrame,
                       fraction_changed: float, extra_proteins: int = 0) -> pd.DataFrame:
    real = cat[cat[spec] != "-"]
    n_gen = _N_GENERIC[spec] + extra_proteins
    prot = pd.concat([real[["protein_group", "gene", "entry", "panel"]], generic.iloc[:n_gen]], ignore_index=True)
    tiers = list(real[spec]) + list(generic["tier"].iloc[:n_gen])
    log10 = np.array([_TIER_LOG10[t] for t in tiers]) + _OFFSET_LOG10[spec]
    log10 += np.where(np.array(tiers) == "S", 0.0, rng.normal(0, 0.25, len(tiers)))
    prot["log10_abundance"] = np.round(log10, 3)
    sd = np.clip(np.exp(rng.normal(np.log(0.6), 0.35, len(prot))), 0.2, 1.5)
    sd[prot["gene"].isin(_ACUTE_PHASE).to_numpy()] = 1.0
    sd[prot["gene"].str.startswith(("IGH", "IGK", "JCHAIN")).to_numpy()] = 0.5
    panel = prot["panel"].to_numpy()
    ref = panel == "ref"
    if ref.sum() < 8:
        pool = np.flatnonzero((panel == "-") & (log10 > 7.5 + _OFFSET_LOG10[spec]))
        ref[rng.choice(pool, 8 - ref.sum(), replace=False)] = True
    sd[ref] = 0.1
    prot["sd_bio"] = np.round(sd, 3)
    prot["reference"] = ref
    contam = np.isin(panel, ["ery", "plt", "coag"])
    eligible = ~ref & ~contam
    n_changed = round(fraction_changed * len(prot))
    marker = np.flatnonzero(eligible & (panel == "mk"))
    marker = rng.permutation(marker)[: int(0.6 * n_changed)]
    rest = np.setdiff1d(np.flatnonzero(eligible), marker)
    changed = np.concatenate([marker, rng.choice(rest, n_changed - marker.size, replace=False)])
    fc = np.zeros(len(prot))
    sign = np.where(rng.random(changed.size) < np.where(panel[changed] == "mk", 0.8, 0.5), 1.0, -1.0)
    fc[changed] = np.round(sign * rng.uniform(0.5, 1.5, changed.size), 3)
    prot["true_log2fc"] = fc
    prot["changed"] = fc != 0
    free = rng.permutation(np.flatnonzero(eligible & (fc == 0)))
    for name, n, lo, hi in (("age_effect_per_decade", 4, 0.15, 0.35), ("sex_effect_female", 3, 0.4, 0.8),
                            ("smoking_effect_per_10py", 4, 0.15, 0.35)):
        eff = np.zeros(len(prot))
        idx, free = free[:n], free[n:]
        eff[idx] = np.round(rng.choice([-1.0, 1.0], n) * rng.uniform(lo, hi, n), 3)
        prot[name] = eff
    prot["batch_delta"] = rng.normal(0, 0.3, len(prot))
    prot["free"] = False
    prot.loc[free, "free"] = True
    n_prec = np.exp(rng.normal(0.75 + 0.33 * (log10 - _OFFSET_LOG10[spec] - 6.5), 0.6))
    prot["n_precursors"] = np.clip(np.round(n_prec), 1, 30).astype(int)
    return prot


def _abundance(rng: np.random.Generator, spec: str, prot: pd.DataFrame, subj: pd.DataFrame,
               prog: pd.DataFrame, batch_effects: bool = True) -> pd.DataFrame:
    """samples × proteins complete log2 abundance (see module docstring)."""
    n, p = len(subj), len(prot)
    m = prot["log10_abundance"].to_numpy() * math.log2(10)
    cancer = (subj["condition"] == "cancer").to_numpy(float)
    A = m + prot["sd_bio"].to_numpy() * rng.standard_normal((n, p))
    A += np.outer(cancer, prot["true_log2fc"].to_numpy())
    A += np.outer((subj["age"].to_numpy(float) - 60) / 10, prot["age_effect_per_decade"].to_numpy())
    A += np.outer((subj["sex"] == "female").to_numpy(float), prot["sex_effect_female"].to_numpy())
    A += np.outer(subj["smoking"].to_numpy(float) / 10, prot["smoking_effect_per_10py"].to_numpy())
    panel = prot["panel"].to_numpy()
    levels = {"ery": rng.normal(0, 0.3, n), "plt": rng.normal(0, 0.4, n), "coag": rng.normal(0, 0.15, n)}
    if spec == "plasma":
        levels["ery"] = levels["ery"] + 4.5 * subj["hemolysed"].to_numpy(float)
        levels["coag"] = levels["coag"] - 2.0 * subj["clotted"].to_numpy(float)
        for name, lv in levels.items():
            cols = panel == name
            A[:, cols] += lv[:, None] * rng.uniform(0.8, 1.2, cols.sum())[None, :]
    pos = {g: j for j, g in enumerate(prot["protein_group"])}
    for row in prog[prog["specimen"] == spec].itertuples():
        members = (subj["subgroup"] == row.subgroup).to_numpy()
        A[members, pos[row.protein_group]] += row.effect
    batch = subj["batch"].to_numpy()
    delta = prot["batch_delta"].to_numpy()
    if batch_effects:
        A += np.where(batch == "1", -0.5, 0.5)[:, None] * delta[None, :] + np.where(batch == "2", 0.4, 0.0)[:, None]
    new_batch = batch == "3"
    if new_batch.any():
        A[new_batch] += rng.normal(0, 0.2, p)[None, :] - 0.2
    load = rng.normal(0, 0.3, n) + (subj["load"].to_numpy(float) if "load" in subj else 0.0)
    A += load[:, None]
    samples = [f"{s}_{spec}" for s in subj.index]
    return pd.DataFrame(A, index=pd.Index(samples, name="sample"), columns=prot["protein_group"].tolist())


def _precursor_table(rng: np.random.Generator, spec: str, prot: pd.DataFrame, A: pd.DataFrame, runs: list[str],
                     lib: dict) -> pd.DataFrame:
    """Long table of every (run, precursor) with expected/observed log2 intensity, status and q-values."""
    reps = prot["n_precursors"].to_numpy()
    pidx = np.repeat(np.arange(len(prot)), reps)
    kidx = np.concatenate([np.arange(r) for r in reps])
    groups = prot["protein_group"].to_numpy()
    resp = np.array([lib[groups[j]][3][k] for j, k in zip(pidx, kidx, strict=True)])
    n_runs, n_prec = A.shape[0], pidx.size
    expected = A.to_numpy()[:, pidx] - np.log2(reps[pidx])[None, :] + resp[None, :]
    observed = expected + rng.normal(0, 0.2, expected.shape)
    threshold = np.quantile(expected, _MNAR_QUANTILE[spec])
    from scipy.special import ndtr
    p_miss = ndtr((threshold - expected) / 0.9)
    missing = (rng.random(expected.shape) < p_miss) | (rng.random(expected.shape) < 0.03)
    near = missing & (expected > threshold - 2.0) & (rng.random(expected.shape) < 0.2)
    status = np.where(missing, np.where(near, "low_confidence", "missing"), "detected").astype(object)
    # protein groups identified by a single precursor in a run: sometimes above 1 % protein q-value
    detected = status == "detected"
    per_protein = np.zeros((n_runs, len(prot)), dtype=int)
    for r in range(n_runs):
        per_protein[r] = np.bincount(pidx, weights=detected[r], minlength=len(prot)).astype(int)
    weak_pg = (per_protein == 1) & (rng.random(per_protein.shape) < 0.1)
    weak_rows = weak_pg[:, pidx] & detected
    status[weak_rows] = "low_confidence"
    q = np.where(status == "detected", 10 ** -rng.uniform(2.05, 5.5, expected.shape),
                 rng.uniform(0.0105, 0.05, expected.shape))
    pg_q_protein = 10 ** -rng.uniform(2.1, 5.0, per_protein.shape)
    pg_q_protein[weak_pg] = rng.uniform(0.011, 0.04, int(weak_pg.sum()))
    pg_q = pg_q_protein[:, pidx]
    lowconf_only = (status == "low_confidence") & ~weak_rows
    pg_q = np.where(lowconf_only & (per_protein[:, pidx] == 0), np.maximum(pg_q, q), pg_q)
    seqs = [lib[groups[j]][0][k] for j, k in zip(pidx, kidx, strict=True)]
    mods = [lib[groups[j]][1][k] for j, k in zip(pidx, kidx, strict=True)]
    charge = np.array([lib[groups[j]][2][k] for j, k in zip(pidx, kidx, strict=True)])
    prec_id = [f"{m}{c}" for m, c in zip(mods, charge, strict=True)]
    return pd.DataFrame({
        "run": np.repeat(np.array(runs, dtype=object), n_prec),
        "sample": np.repeat(A.index.to_numpy(dtype=object), n_prec),
        "protein_group": np.tile(groups[pidx], n_runs),
        "precursor_id": np.tile(np.array(prec_id, dtype=object), n_runs),
        "modified_sequence": np.tile(np.array(mods, dtype=object), n_runs),
        "stripped_sequence": np.tile(np.array(seqs, dtype=object), n_runs),
        "charge": np.tile(charge, n_runs),
        "log2_expected": expected.ravel(), "log2_intensity": observed.ravel(), "status": status.ravel(),
        "q_value": q.ravel(), "pg_q_value": pg_q.ravel(),
    })


# ------------------------------------------------------------------------------------------ cohort

def simulate_cohort(seed: int = DEFAULT_SEED, *, n_patients: int = 60, n_bal: int = 24, n_sputum: int = 24,
                    n_subgroups: int = 0, n_hemolysed: int = 3, n_clotted: int = 1, fraction_changed: float = 0.08,
                    batch_effects: bool = True, extra_proteins: int = 0,
                    specimens: tuple[str, ...] = SPECIMENS) -> Cohort:
    """Simulate the cohort (see the module docstring for the model). Same arguments → identical output.

    ``n_subgroups = k ≥ 2`` plants k patient subgroups with distinct protein programmes
    (``Cohort.subgroups`` holds the labels). A cohort without any group structure (for "no stable
    clustering" tests): ``fraction_changed=0, n_hemolysed=0, n_clotted=0, batch_effects=False``.
    ``extra_proteins`` adds that many generic (``SIM…``) proteins to every specimen (e.g. for
    4,000-protein benchmarks). The three new patients N001–N003 are always simulated (plasma only,
    batch 3) for the scoring demo.
    """
    if n_subgroups == 1 or n_subgroups < 0:
        raise ValueError("n_subgroups must be 0 (none) or ≥ 2")
    ss = np.random.SeedSequence(seed)
    r_subj, r_lib, r_gen, *r_spec = (np.random.default_rng(s) for s in ss.spawn(3 + 2 * len(SPECIMENS) + 1))
    r_prog = r_spec.pop()
    subj = _subjects(r_subj, n_patients, n_bal, n_sputum, n_subgroups, n_hemolysed, n_clotted)
    subj["load"] = 0.0
    new = _new_subjects()
    cat = catalogue()
    n_generic = max(_N_GENERIC.values()) + extra_proteins
    generic = pd.DataFrame({"protein_group": [f"SIM{i + 1:05d}" for i in range(n_generic)],
                            "gene": [f"SIM{i + 1:05d}" for i in range(n_generic)],
                            "entry": [f"SIM{i + 1:05d}_SIMUL" for i in range(n_generic)], "panel": "-",
                            "tier": r_gen.choice(["C", "D", "D", "E", "E", "E"], n_generic)})
    lib = _library(r_lib, list(cat["protein_group"]) + list(generic["protein_group"]))
    proteins, abundance, precursors, prog_rows = {}, {}, {}, []
    prot_rngs = dict(zip(SPECIMENS, r_spec[: len(SPECIMENS)], strict=True))
    data_rngs = dict(zip(SPECIMENS, r_spec[len(SPECIMENS):], strict=True))
    for spec in SPECIMENS:
        proteins[spec] = _specimen_proteins(prot_rngs[spec], spec, cat, generic, fraction_changed, extra_proteins)
    if n_subgroups:
        for spec in SPECIMENS:
            prot = proteins[spec]
            free = r_prog.permutation(np.flatnonzero(prot["free"].to_numpy()))
            size = max(6, round(0.05 * len(prot)))
            for g in range(n_subgroups):
                idx = free[g * size:(g + 1) * size]
                eff = np.round(r_prog.choice([-1.0, 1.0], idx.size, p=[0.3, 0.7]) * r_prog.uniform(1, 2, idx.size), 3)
                prog_rows += [(spec, prot["protein_group"].iloc[j], g, e) for j, e in zip(idx, eff, strict=True)]
    prog = pd.DataFrame(prog_rows, columns=["specimen", "protein_group", "subgroup", "effect"])
    sheet_rows = []
    for spec in specimens:
        flag = {"plasma": None, "BAL": "in_BAL", "sputum": "in_sputum"}[spec]
        s = subj if flag is None else subj[subj[flag]]
        if spec == "plasma":
            s = pd.concat([s, new])
        A = _abundance(data_rngs[spec], spec, proteins[spec], s, prog, batch_effects)
        runs = [f"{sub}_{spec}_b{b}" for sub, b in zip(s.index, s["batch"], strict=True)]
        precursors[spec] = _precursor_table(data_rngs[spec], spec, proteins[spec], A, runs, lib)
        abundance[spec] = A
        for sub, run in zip(s.index, runs, strict=True):
            sheet_rows.append({"run": f"{run}.raw", "sample": f"{sub}_{spec}", "subject": sub, "specimen": spec,
                               "condition": s.loc[sub, "condition"] if sub in subj.index else "unknown",
                               "batch": s.loc[sub, "batch"], "age": int(s.loc[sub, "age"]),
                               "sex": s.loc[sub, "sex"], "smoking": float(s.loc[sub, "smoking"]),
                               "time": s.loc[sub, "time"], "event": int(s.loc[sub, "event"])})
    sheet_all = pd.DataFrame(sheet_rows)
    is_new = sheet_all["subject"].isin(new.index)
    sheet = sheet_all[~is_new].reset_index(drop=True)
    new_sheet = sheet_all[is_new].drop(columns=["time", "event"]).reset_index(drop=True)
    truth = pd.concat([proteins[s].assign(specimen=s) for s in specimens], ignore_index=True)
    truth = truth[["protein_group", "gene", "specimen", "true_log2fc", "changed", "reference", "panel",
                   "log10_abundance", "sd_bio", "age_effect_per_decade", "sex_effect_female",
                   "smoking_effect_per_10py", "n_precursors"]]
    truth = truth.rename(columns={"panel": "contamination_panel"})
    truth["contamination_panel"] = truth["contamination_panel"].map(
        {"ery": "erythrocyte", "plt": "platelet", "coag": "coagulation"}).fillna("")
    subjects = pd.concat([subj, new])
    subgroups = subj["subgroup"].rename("subgroup") if n_subgroups else None
    return Cohort(seed=seed, subjects=subjects, sheet=sheet, new_sheet=new_sheet, truth=truth,
                  proteins=proteins, abundance=abundance, precursors=precursors, subgroups=subgroups,
                  programmes=prog)


# ------------------------------------------------------------------------------------------ writers

_DIANN_COLUMNS = ["File.Name", "Run", "Protein.Group", "Protein.Ids", "Protein.Names", "Genes", "PG.Quantity",
                  "PG.Normalised", "PG.MaxLFQ", "Modified.Sequence", "Stripped.Sequence", "Precursor.Id",
                  "Precursor.Charge", "Q.Value", "Global.Q.Value", "PG.Q.Value", "Global.PG.Q.Value", "Proteotypic",
                  "Precursor.Quantity", "Precursor.Normalised", "Lib.Q.Value", "Lib.PG.Q.Value"]


def _uniform_from(keys: pd.Series, salt: int, seed: int) -> np.ndarray:
    """A pseudo-random number in [0, 1) per distinct key (same key → same number), from numpy's PCG64
    seeded with ``[seed, salt]`` over the sorted distinct keys (independent of pandas' hashing)."""
    uniq, inverse = np.unique(keys.astype(str).to_numpy(dtype=object).astype(str), return_inverse=True)
    return np.random.default_rng([seed, salt]).random(uniq.size)[inverse.ravel()]


def diann_report_frame(cohort: Cohort, specimen: str, samples: list[str] | None = None) -> pd.DataFrame:
    """The DIA-NN 1.8-style precursor report (one row per written precursor per run) for ``samples``.

    Rows with status ``missing`` are absent; ``low_confidence`` rows are present with Q.Value or
    PG.Q.Value above 0.01. Quantities are linear. PG.* values are computed over the detected
    (q ≤ 0.01) precursors of the runs in this report only, as DIA-NN does per analysis.
    """
    prec = cohort.precursors[specimen]
    if samples is not None:
        prec = prec[prec["sample"].isin(samples)]
    df = prec[prec["status"] != "missing"].copy()
    prot = cohort.proteins[specimen].set_index("protein_group")
    ok = (df["status"] == "detected").to_numpy()
    lq = df["log2_intensity"].to_numpy()
    # DIA-NN-like run normalisation: median log2 of precursors detected in ≥ 90 % of runs
    n_runs = df["run"].nunique()
    det = df[ok]
    common = det.groupby("precursor_id")["run"].size()
    common = common[common >= 0.9 * n_runs].index
    med = det[det["precursor_id"].isin(common)].groupby("run")["log2_intensity"].median()
    log_factor = (med.mean() - med).reindex(df["run"]).to_numpy()
    ln = lq + log_factor
    df["Precursor.Quantity"] = 2.0 ** lq
    df["Precursor.Normalised"] = 2.0 ** ln
    det = df[ok].assign(ln=ln[ok])
    pg_sum = det.groupby(["run", "protein_group"])[["Precursor.Quantity", "Precursor.Normalised"]].sum()
    offset = det.groupby("precursor_id")["ln"].median()
    det["adj"] = det["ln"] - offset.reindex(det["precursor_id"]).to_numpy()
    level = det.groupby(["run", "protein_group"])["adj"].median()
    scale = np.log2((2.0 ** offset).groupby(det.drop_duplicates("precursor_id").set_index("precursor_id")
                                            ["protein_group"].reindex(offset.index)).sum())
    lfq = 2.0 ** (level + scale.reindex(level.index.get_level_values("protein_group")).to_numpy())
    key = pd.MultiIndex.from_frame(df[["run", "protein_group"]])
    own = df[["run", "protein_group", "Precursor.Quantity", "Precursor.Normalised"]].groupby(
        ["run", "protein_group"]).max()
    pgq = pg_sum["Precursor.Quantity"].reindex(key).to_numpy()
    pgn = pg_sum["Precursor.Normalised"].reindex(key).to_numpy()
    pgl = lfq.reindex(key).to_numpy()
    fallback_q = own["Precursor.Quantity"].reindex(key).to_numpy()
    fallback_n = own["Precursor.Normalised"].reindex(key).to_numpy()
    pgq = np.where(np.isnan(pgq), fallback_q, pgq)
    pgn = np.where(np.isnan(pgn), fallback_n, pgn)
    pgl = np.where(np.isnan(pgl), fallback_n, pgl)
    glob_q = 10 ** -(3 + 3 * _uniform_from(df["precursor_id"], 1, cohort.seed))   # per precursor
    glob_pg_q = 10 ** -(3 + 3 * _uniform_from(df["protein_group"], 9, cohort.seed))  # per protein group
    out = pd.DataFrame({
        "File.Name": _RAW_DIR + df["run"] + ".raw",
        "Run": df["run"].to_numpy(),
        "Protein.Group": df["protein_group"].to_numpy(), "Protein.Ids": df["protein_group"].to_numpy(),
        "Protein.Names": prot["entry"].reindex(df["protein_group"]).to_numpy(),
        "Genes": prot["gene"].reindex(df["protein_group"]).to_numpy(),
        "PG.Quantity": pgq, "PG.Normalised": pgn, "PG.MaxLFQ": pgl,
        "Modified.Sequence": df["modified_sequence"].to_numpy(), "Stripped.Sequence": df["stripped_sequence"].to_numpy(),
        "Precursor.Id": df["precursor_id"].to_numpy(), "Precursor.Charge": df["charge"].to_numpy(),
        "Q.Value": df["q_value"].to_numpy(), "Global.Q.Value": glob_q, "PG.Q.Value": df["pg_q_value"].to_numpy(),
        "Global.PG.Q.Value": glob_pg_q, "Proteotypic": 1,
        "Precursor.Quantity": df["Precursor.Quantity"].to_numpy(),
        "Precursor.Normalised": df["Precursor.Normalised"].to_numpy(),
        "Lib.Q.Value": glob_q, "Lib.PG.Q.Value": glob_pg_q,
    })
    # DIA-NN lists each precursor's rows together (precursor-major), runs in analysis order
    order = np.lexsort((pd.factorize(df["run"])[0], pd.factorize(df["precursor_id"])[0]))
    return out[_DIANN_COLUMNS].iloc[order].reset_index(drop=True)


def _format_floats(values: np.ndarray, spec: str) -> np.ndarray:
    """``format(v, spec)`` per value ('' for NaN), formatting each distinct value once."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    text = np.array([format(v, spec) for v in np.asarray(uniques, dtype=float).tolist()] + [""], dtype=object)
    return text[codes]


def _tsv_bytes(df: pd.DataFrame, float_format: str = "g") -> bytes:
    """Tab-separated text, header first; floats printed with ``format(v, float_format)`` (DIA-NN style
    ``g``: 6 significant digits), NaN as an empty field. Values never contain tabs, quotes or newlines."""
    columns = []
    for c in df.columns:
        v = df[c]
        if v.dtype.kind == "f":
            columns.append(_format_floats(v.to_numpy(), float_format))
        else:
            text = np.array(["" if x is None or x != x else str(x) for x in v.tolist()], dtype=object)
            columns.append(text)
    lines = ["\t".join(map(str, df.columns))]
    lines += ["\t".join(row) for row in zip(*columns, strict=True)]
    text = "\n".join(lines) + "\n"
    if '"' in text or "\r" in text or len(text.splitlines()) != len(df) + 1:
        raise ValueError("a simulated value holds a quote or line break")
    return text.encode("utf-8")


def _write(path: str | os.PathLike, data: bytes) -> str:
    """Write ``data`` (gzip-compressed, reproducibly, when the name ends in .gz); return sha256 of ``data``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_bytes(path, gzip.compress(data, compresslevel=6, mtime=0) if path.suffix == ".gz" else data)
    return sha256_bytes(data)


def write_diann_report(cohort: Cohort, specimen: str, path: str | os.PathLike,
                       samples: list[str] | None = None, report: pd.DataFrame | None = None) -> str:
    """Write :func:`diann_report_frame` as TSV (gzip if ``path`` ends in .gz); returns sha256 of the TSV text."""
    return _write(path, _tsv_bytes(diann_report_frame(cohort, specimen, samples) if report is None else report))


def _sig5(x: np.ndarray) -> np.ndarray:
    """Round positive values to 5 significant digits (MaxQuant prints intensities like 158240000)."""
    x = np.asarray(x, float)
    with np.errstate(divide="ignore", invalid="ignore"):
        mag = np.where(x > 0, np.floor(np.log10(np.where(x > 0, x, 1.0))) - 4, 0)
    return np.where(x > 0, np.round(x / 10 ** mag) * 10 ** mag, 0.0)


def maxquant_protein_groups_frame(cohort: Cohort, specimen: str = "plasma", samples: list[str] | None = None,
                                  report: pd.DataFrame | None = None) -> pd.DataFrame:
    """MaxQuant-style proteinGroups table (linear intensities, 0 = not quantified) from the same precursors.

    Adds 5 CON__ (common contaminant) rows, 4 REV__ (decoy) rows and marks 2 groups 'Only identified by site'.
    """
    rep = diann_report_frame(cohort, specimen, samples) if report is None else report
    rep = rep[(rep["Q.Value"] <= 0.01) & (rep["PG.Q.Value"] <= 0.01)]
    runs = list(dict.fromkeys(rep["Run"]))
    prot = cohort.proteins[specimen].set_index("protein_group")
    groups = sorted(rep["Protein.Group"].unique())
    g = rep.groupby(["Protein.Group", "Run"])
    inten = g["Precursor.Quantity"].sum().unstack("Run").reindex(index=groups, columns=runs).fillna(0.0)
    npep = g["Stripped.Sequence"].nunique().unstack("Run").reindex(index=groups, columns=runs).fillna(0).astype(int)
    lfq = g["PG.MaxLFQ"].first().unstack("Run").reindex(index=groups, columns=runs).fillna(0.0)
    total_pep = rep.groupby("Protein.Group")["Stripped.Sequence"].nunique().reindex(groups).astype(int)
    lfq[total_pep < 2] = 0.0
    u = _uniform_from(pd.Series(groups), 11, cohort.seed)
    length = np.round(np.exp(6.0 + 0.8 * u) + 50).astype(int)
    n_theor = np.maximum(3, np.round(length / 25)).astype(int)
    msms = np.round(npep.to_numpy() * (1 + _uniform_from(pd.Series(groups), 12, cohort.seed)[:, None])).astype(int)
    ids = [";".join(g.split(";")) for g in groups]
    genes = prot["gene"].reindex(groups).to_numpy()
    site = np.zeros(len(groups), dtype=bool)
    site[[i for i, g in enumerate(groups) if g.startswith("SIM")][:2]] = True
    base = pd.DataFrame({"Protein IDs": ids, "Majority protein IDs": ids,
                         "Peptide counts (all)": total_pep.astype(str).to_numpy(),
                         "Peptide counts (razor+unique)": total_pep.astype(str).to_numpy(),
                         "Peptide counts (unique)": total_pep.astype(str).to_numpy(),
                         "Gene names": genes, "Fasta headers": "",
                         "Number of proteins": [len(g.split(";")) for g in groups],
                         "Peptides": total_pep.to_numpy(), "Razor + unique peptides": total_pep.to_numpy(),
                         "Unique peptides": total_pep.to_numpy()})
    I_ = _sig5(inten.to_numpy())
    cov = np.round(np.minimum(95, 100 * total_pep.to_numpy() * 12 / length), 1)
    cols = {}
    for name, mat in (("Peptides", npep.to_numpy()), ("Razor + unique peptides", npep.to_numpy()),
                      ("Unique peptides", npep.to_numpy())):
        for j, r in enumerate(runs):
            cols[f"{name} {r}"] = mat[:, j]
    cols.update({"Sequence coverage [%]": cov, "Unique + razor sequence coverage [%]": cov,
                 "Unique sequence coverage [%]": cov, "Mol. weight [kDa]": np.round(length * 0.1105, 3),
                 "Sequence length": length, "Sequence lengths": length.astype(str), "Q-value": 0.0,
                 "Score": np.round(5 + 12.5 * total_pep.to_numpy() * (0.8 + 0.4 * u), 3),
                 "Intensity": _sig5(I_.sum(axis=1))})
    for j, r in enumerate(runs):
        cols[f"Intensity {r}"] = I_[:, j]
    ibaq = _sig5(I_ / n_theor[:, None])
    cols["iBAQ"] = _sig5(ibaq.sum(axis=1))
    for j, r in enumerate(runs):
        cols[f"iBAQ {r}"] = ibaq[:, j]
    L_ = _sig5(lfq.to_numpy())
    for j, r in enumerate(runs):
        cols[f"LFQ intensity {r}"] = L_[:, j]
    for j, r in enumerate(runs):
        cols[f"MS/MS count {r}"] = msms[:, j]
    cols["MS/MS count"] = msms.sum(axis=1)
    cols["Only identified by site"] = np.where(site, "+", "")
    cols["Reverse"] = ""
    cols["Potential contaminant"] = ""
    table = pd.concat([base, pd.DataFrame(cols)], axis=1)
    # contaminants and decoys
    extra = []
    rng = np.random.default_rng(cohort.seed + 17)
    for acc, kind in (("CON__P04264", "con"), ("CON__P35908", "con"), ("CON__P13645", "con"),
                      ("CON__P35527", "con"), ("CON__P00761", "con"), ("REV__P04114", "rev"),
                      ("REV__Q9Y490", "rev"), ("REV__P35579", "rev"), ("REV__P21333", "rev")):
        row = dict.fromkeys(table.columns, 0)
        npp = int(rng.integers(1, 6)) if kind == "con" else 1
        present = rng.random(len(runs)) < (0.6 if kind == "con" else 0.1)
        vals = _sig5(np.where(present, 2 ** rng.normal(24 if kind == "con" else 19, 1.5, len(runs)), 0.0))
        row.update({"Protein IDs": acc, "Majority protein IDs": acc, "Peptide counts (all)": str(npp),
                    "Peptide counts (razor+unique)": str(npp), "Peptide counts (unique)": str(npp),
                    "Gene names": "", "Fasta headers": "", "Number of proteins": 1, "Peptides": npp,
                    "Razor + unique peptides": npp, "Unique peptides": npp, "Sequence coverage [%]": 5.0,
                    "Unique + razor sequence coverage [%]": 5.0, "Unique sequence coverage [%]": 5.0,
                    "Mol. weight [kDa]": 60.0, "Sequence length": 550, "Sequence lengths": "550",
                    "Q-value": 0.0 if kind == "con" else 0.0089, "Score": 20.0 if kind == "con" else 3.1,
                    "Intensity": _sig5(np.array([vals.sum()]))[0], "iBAQ": _sig5(np.array([vals.sum() / 20]))[0],
                    "MS/MS count": int(present.sum()), "Only identified by site": "",
                    "Reverse": "+" if kind == "rev" else "", "Potential contaminant": "+" if kind == "con" else ""})
        for j, r in enumerate(runs):
            for name in ("Peptides", "Razor + unique peptides", "Unique peptides"):
                row[f"{name} {r}"] = npp if present[j] else 0
            row[f"Intensity {r}"] = vals[j]
            row[f"iBAQ {r}"] = _sig5(np.array([vals[j] / 20]))[0]
            row[f"LFQ intensity {r}"] = vals[j] if kind == "con" else 0.0
            row[f"MS/MS count {r}"] = int(present[j])
        extra.append(row)
    table = pd.concat([table, pd.DataFrame(extra, columns=table.columns)], ignore_index=True)
    table = table.sort_values("Protein IDs", kind="stable").reset_index(drop=True)
    table["id"] = np.arange(len(table))
    intcols = [c for c in table.columns if c.startswith(("Intensity", "LFQ intensity", "iBAQ"))]
    for c in intcols:
        table[c] = table[c].astype(float).round().astype("int64")
    return table


def write_maxquant_protein_groups(cohort: Cohort, path: str | os.PathLike, specimen: str = "plasma",
                                  samples: list[str] | None = None, report: pd.DataFrame | None = None) -> str:
    """Write :func:`maxquant_protein_groups_frame` as MaxQuant's tab-separated text; returns its sha256."""
    return _write(path, _tsv_bytes(maxquant_protein_groups_frame(cohort, specimen, samples, report), ".6g"))


def _sheet_text(sheet: pd.DataFrame) -> pd.DataFrame:
    out = sheet.copy()
    out["smoking"] = out["smoking"].map(lambda v: f"{v:.1f}")
    if "time" in out:
        out["time"] = out["time"].map(lambda v: f"{v:.1f}")
    return out


def write_sheet_csv(sheet: pd.DataFrame, path: str | os.PathLike) -> str:
    """Write a sample sheet as CSV (run, sample, subject, specimen, condition, batch, covariates)."""
    buf = io.StringIO()
    _sheet_text(sheet).to_csv(buf, index=False, lineterminator="\n")
    return _write(path, buf.getvalue().encode("utf-8"))


_SDRF_PART = {"plasma": "blood plasma", "BAL": "bronchoalveolar lavage fluid", "sputum": "sputum"}


def write_sheet_sdrf(sheet: pd.DataFrame, path: str | os.PathLike) -> str:
    """Write the same sheet in SDRF-Proteomics layout (organism part, individual, factor value[disease] …)."""
    s = _sheet_text(sheet)
    sdrf = pd.DataFrame({
        "source name": s["sample"], "characteristics[organism]": "Homo sapiens",
        "characteristics[organism part]": s["specimen"].map(_SDRF_PART),
        "characteristics[individual]": s["subject"], "characteristics[disease]": s["condition"],
        "characteristics[age]": s["age"], "characteristics[sex]": s["sex"],
        "characteristics[smoking]": s["smoking"], "characteristics[time]": s["time"],
        "characteristics[event]": s["event"], "characteristics[batch]": s["batch"],
        "characteristics[biological replicate]": 1, "assay name": [f"run {i + 1}" for i in range(len(s))],
        "technology type": "proteomic profiling by mass spectrometry",
        "comment[proteomics data acquisition method]": "NT=Data-Independent Acquisition;AC=NCIT:C161786",
        "comment[label]": "AC=MS:1002038;NT=label free sample",
        "comment[instrument]": "AC=MS:1003028;NT=Orbitrap Exploris 480",
        "comment[cleavage agent details]": "AC=MS:1001251;NT=Trypsin",
        "comment[fraction identifier]": 1, "comment[technical replicate]": 1,
        "comment[data file]": s["run"], "factor value[disease]": s["condition"]})
    buf = io.StringIO()
    sdrf.to_csv(buf, sep="\t", index=False, lineterminator="\n")
    return _write(path, buf.getvalue().encode("utf-8"))


def write_truth(cohort: Cohort, path: str | os.PathLike) -> str:
    """Write truth.tsv: per specimen and protein, the true log2 fold change (cancer − control) and roles."""
    t = cohort.truth.copy()
    for c in ("changed", "reference"):
        t[c] = t[c].map({True: "true", False: "false"})
    return _write(path, _tsv_bytes(t, ".6g"))


def write_bundle(out_dir: str | os.PathLike, seed: int = DEFAULT_SEED) -> dict[str, str]:
    """Simulate the default cohort and write every bundled file under ``out_dir``.

    Returns {relative path: sha256 of the uncompressed content}. Reports are gzip-compressed
    (``report.tsv.gz``, written with mtime 0 so reruns are byte-identical).
    """
    out = Path(out_dir)
    c = simulate_cohort(seed)
    new_samples = c.new_sheet["sample"].tolist()
    train = {spec: c.sheet.loc[c.sheet["specimen"] == spec, "sample"].tolist() for spec in SPECIMENS}
    plasma = diann_report_frame(c, "plasma", train["plasma"])
    digests = {
        "sheet.csv": write_sheet_csv(c.sheet, out / "sheet.csv"),
        "sheet.sdrf.tsv": write_sheet_sdrf(c.sheet, out / "sheet.sdrf.tsv"),
        "truth.tsv": write_truth(c, out / "truth.tsv"),
        "plasma/report.tsv.gz": write_diann_report(c, "plasma", out / "plasma" / "report.tsv.gz", report=plasma),
        "plasma/proteinGroups.txt": write_maxquant_protein_groups(c, out / "plasma" / "proteinGroups.txt",
                                                                  "plasma", report=plasma),
        "bal/report.tsv.gz": write_diann_report(c, "BAL", out / "bal" / "report.tsv.gz", train["BAL"]),
        "sputum/report.tsv.gz": write_diann_report(c, "sputum", out / "sputum" / "report.tsv.gz", train["sputum"]),
        "new_patients/report.tsv.gz": write_diann_report(c, "plasma", out / "new_patients" / "report.tsv.gz",
                                                         new_samples),
        "new_patients/sheet.csv": write_sheet_csv(c.new_sheet, out / "new_patients" / "sheet.csv"),
    }
    expected = pd.DataFrame({"sample": new_samples, "true_condition": ["cancer", "control", "control"],
                             "expected": ["scored", "scored", "refused: hemolysed and mostly missing"]})
    digests["new_patients/truth.tsv"] = _write(out / "new_patients" / "truth.tsv", _tsv_bytes(expected))
    return digests


def to_dataset(cohort: Cohort, specimen: str = "plasma", *, complete: bool = False,
               include_new: bool = False) -> Dataset:
    """A protein :class:`~proteomics.dataset.Dataset` (samples × proteins, log2, NaN = missing) of a specimen.

    ``complete=False``: log2 ``PG.MaxLFQ`` of the written DIA-NN report filtered at 1 % precursor and
    protein-group q-value (what a reader + quantifier would roughly see). ``complete=True``: the true
    abundances before missingness and precursor noise (``Cohort.abundance``). Samples carry the sheet
    columns (condition, batch, covariates) plus ``subgroup`` when subgroups were planted; proteins
    carry gene, true_log2fc, changed, reference and contamination_panel. ``include_new`` adds N001–N003.
    """
    sheet = pd.concat([cohort.sheet, cohort.new_sheet]) if include_new else cohort.sheet
    sheet = sheet[sheet["specimen"] == specimen].set_index("sample")
    if sheet.empty:
        raise ValueError(f"no {specimen} samples in this cohort")
    truth = cohort.truth[cohort.truth["specimen"] == specimen].set_index("protein_group")
    if complete:
        X = cohort.abundance[specimen].loc[sheet.index]
    else:
        rep = diann_report_frame(cohort, specimen, sheet.index.tolist())
        rep = rep[(rep["Q.Value"] <= 0.01) & (rep["PG.Q.Value"] <= 0.01)]
        X = np.log2(rep.groupby(["Run", "Protein.Group"])["PG.MaxLFQ"].first().unstack())
        X.index = [r + "_" for r in X.index]
        stems = {f"{run[:-4]}_": sample for sample, run in sheet["run"].items()}
        X = X.rename(index=stems).reindex(index=sheet.index, columns=[g for g in truth.index if g in X.columns])
    samples = sheet.copy()
    if cohort.subgroups is not None:
        samples["subgroup"] = cohort.subgroups.reindex(samples["subject"]).fillna(-1).astype(int).to_numpy()
    proteins = truth.loc[X.columns, ["gene", "true_log2fc", "changed", "reference", "contamination_panel"]]
    step = Step("simulate", {"seed": cohort.seed, "specimen": specimen, "complete": complete})
    return Dataset(X.to_numpy(float), samples, proteins, history=(step,))


# ------------------------------------------------------------------------------------------ benchmark

def write_large_diann_report(path: str | os.PathLike, *, n_runs: int, n_precursors: int, seed: int = 0,
                             fmt: str = "tsv", runs_per_chunk: int = 4, precursors_per_protein: float = 4.0) -> int:
    """Write a large seeded DIA-NN-style precursor report (``n_runs`` × ``n_precursors``) for benchmarks.

    Memory is bounded by ``runs_per_chunk × n_precursors`` rows; each run is drawn from its own seed
    (``[seed, run]``), so the output does not depend on ``runs_per_chunk``. ``fmt`` is ``tsv`` or
    ``parquet``. Proteins are generic (``SIM…``), abundances log-normal with MNAR + MCAR missingness,
    PG.* columns are per-run sums. Returns the number of rows written.
    """
    if fmt not in ("tsv", "parquet"):
        raise ValueError("fmt must be 'tsv' or 'parquet'")
    rng = np.random.default_rng([seed, 0xB16])
    n_prot = max(1, int(round(n_precursors / precursors_per_protein)))
    prot_of = np.sort(rng.integers(0, n_prot, n_precursors))
    prot_level = rng.normal(24.0, 2.5, n_prot)
    resp = rng.normal(0.0, 1.0, n_precursors)
    expected = prot_level[prot_of] + resp
    threshold = np.quantile(expected, 0.2)
    letters = np.frombuffer(b"ACDEFGHILMNPQSTVWY", dtype="S1")
    digits = (np.arange(n_precursors)[:, None] // letters.size ** np.arange(7)[None, :]) % letters.size
    codes = np.concatenate([rng.integers(0, letters.size, (n_precursors, 5)), digits], axis=1)
    body = np.ascontiguousarray(letters[codes]).view("S12").ravel().astype(str).astype(object)
    seqs = body + np.where(rng.random(n_precursors) < 0.55, "K", "R").astype(object)  # unique by construction
    charge = rng.choice([2, 3, 4], n_precursors, p=[0.65, 0.3, 0.05])
    groups = np.char.mod("SIM%07d", prot_of).astype(object)
    pid = seqs + charge.astype(str).astype(object)
    columns = ["File.Name", "Run", "Protein.Group", "Protein.Ids", "Protein.Names", "Genes", "PG.Quantity",
               "PG.Normalised", "PG.MaxLFQ", "Modified.Sequence", "Stripped.Sequence", "Precursor.Id",
               "Precursor.Charge", "Q.Value", "PG.Q.Value", "Global.Q.Value", "Lib.PG.Q.Value",
               "Precursor.Quantity", "Precursor.Normalised"]
    import pyarrow as pa
    import pyarrow.csv as pa_csv
    import pyarrow.parquet as pa_pq
    from scipy.special import ndtr

    rows = 0
    writer = None
    with atomic_path(path) as tmp:
        fh = open(tmp, "wb") if fmt == "tsv" else None
        try:
            if fh is not None:
                fh.write(("\t".join(columns) + "\n").encode())
            for start in range(0, n_runs, runs_per_chunk):
                parts = []
                for r in range(start, min(n_runs, start + runs_per_chunk)):
                    rr = np.random.default_rng([seed, r + 1])
                    x = expected + rr.normal(0, 0.3) + rr.normal(0, 0.2, n_precursors)
                    keep = (rr.random(n_precursors) >= ndtr((threshold - x) / 0.9)) & (rr.random(n_precursors) >= 0.03)
                    q = 10 ** -rr.uniform(2.05, 5.5, n_precursors)
                    flagged = ~keep & (rr.random(n_precursors) < 0.05)
                    q[flagged] = rr.uniform(0.0105, 0.05, int(flagged.sum()))
                    keep |= flagged
                    quant = 2.0 ** x
                    pg = np.bincount(prot_of, weights=np.where(keep & ~flagged, quant, 0.0), minlength=n_prot)
                    run = f"bench_run_{r + 1:05d}"
                    k = keep
                    pgq = pg[prot_of[k]]
                    parts.append(pd.DataFrame({
                        "File.Name": f"{_RAW_DIR}{run}.raw", "Run": run, "Protein.Group": groups[k],
                        "Protein.Ids": groups[k], "Protein.Names": groups[k], "Genes": groups[k],
                        "PG.Quantity": pgq, "PG.Normalised": pgq, "PG.MaxLFQ": pgq,
                        "Modified.Sequence": seqs[k], "Stripped.Sequence": seqs[k], "Precursor.Id": pid[k],
                        "Precursor.Charge": charge[k], "Q.Value": q[k], "PG.Q.Value": np.minimum(q[k], 0.009),
                        "Global.Q.Value": q[k] / 10, "Lib.PG.Q.Value": 1e-4, "Precursor.Quantity": quant[k],
                        "Precursor.Normalised": quant[k]}, columns=columns))
                chunk = pa.Table.from_pandas(pd.concat(parts, ignore_index=True), preserve_index=False)
                rows += chunk.num_rows
                if fh is not None:
                    pa_csv.write_csv(chunk, fh, pa_csv.WriteOptions(include_header=False, delimiter="\t",
                                                                     quoting_style="none"))
                else:
                    if writer is None:
                        writer = pa_pq.ParquetWriter(tmp, chunk.schema)
                    writer.write_table(chunk)
        finally:
            if fh is not None:
                fh.close()
            if writer is not None:
                writer.close()
    return rows
