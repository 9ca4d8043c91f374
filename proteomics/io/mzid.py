"""mzIdentML 1.1 / 1.2 reader (PSI standard; parsed with ``pyteomics.mzid``, which needs lxml and psims).

Output: spectral counts per protein group per run (level ``protein``; or ``level='psm'``), see
:mod:`._psm` for the filter → inference → count steps. What is taken from the file:

- PSMs: every ``SpectrumIdentificationItem`` of rank 1 (ties at rank 1 are all kept; the same spectrum and
  peptide reported by several analyses counts once);
- run: the stem of the ``SpectraData`` location the ``SpectrumIdentificationResult`` refers to;
- proteins: the ``DBSequence`` accessions of the item's ``PeptideEvidence``; decoy when the evidence says
  ``isDecoy="true"`` or the accession starts with a decoy prefix (``DECOY_``, ``REV_``, ``rev_``, ``XXX_``);
- score: option ``score`` (a cvParam/userParam name), else the first known PSM score present
  (:data:`KNOWN_SCORES`, e.g. ``MS-GF:SpecEValue``, ``Mascot:expectation value``, ``X!Tandem:expect``,
  ``Comet:expectation value``, ``Andromeda:score``), else any parameter whose name says score/e-value;
- filter: target-decoy q-values when decoys are present and every PSM has the score; else the file's
  ``passThreshold``; else none (warned).
"""

from __future__ import annotations

import functools
import io
import re

import numpy as np
import pandas as pd

from ..errors import InputError
from ..samples.runs import run_stem
from . import _psm
from ._values import check_fdr, check_options
from .base import Peek
from .table import QuantTable

__all__ = ["read_mzid", "sniff_mzid", "KNOWN_SCORES"]

KNOWN_SCORES: dict[str, bool] = {  # name → higher is better
    "MS-GF:SpecEValue": False, "MS-GF:EValue": False, "MS-GF:QValue": False, "MS-GF:RawScore": True,
    "Mascot:expectation value": False, "Mascot:score": True,
    "X\\!Tandem:expect": False, "X!Tandem:expect": False, "X\\!Tandem:hyperscore": True,
    "Comet:expectation value": False, "Comet:xcorr": True, "SEQUEST:expectation value": False,
    "SEQUEST:xcorr": True, "OMSSA:evalue": False, "MyriMatch:MVH": True, "Andromeda:score": True,
    "MSFragger:Expectation": False, "MSFragger:Hyperscore": True, "Morpheus:Morpheus score": True,
    "PeptideShaker PSM score": True, "Percolator:score": True, "Percolator:Q value": False,
    "Sage:hyperscore": True, "Byonic:Score": True, "PEAKS:peptideScore": True,
    "ProteinScape:SequestMetaScore": True, "ProteinScape:MascotScore": True,
    "search engine specific score for PSMs": True,
}
_NOT_SCORES = {"chargeState", "calculatedMassToCharge", "experimentalMassToCharge", "passThreshold", "rank",
               "calculatedPI", "id", "name"}
_SCOREISH = re.compile(r"score|e-?value|expect|xcorr|mvh", re.IGNORECASE)
_LOW_IS_GOOD = re.compile(r"e-?value|expect|q ?value|p-?value|\bpep\b|posterior", re.IGNORECASE)


def sniff_mzid(p: Peek) -> float:
    """1.0 for XML whose root element is ``<MzIdentML>``."""
    head = p.text[:8192]
    return 1.0 if "<MzIdentML" in head or re.search(r"<\w+:MzIdentML[\s>]", head) else 0.0


def read_mzid(path, *, fdr: float = 0.01, score: str | None = None, higher_better: bool | None = None,
              level: str = "protein", decoy_prefixes=_psm.DECOY_PREFIXES, keep_contaminants: bool = False,
              **options) -> QuantTable:
    """Read an mzIdentML 1.1/1.2 file (optionally gzipped) into spectral counts (see module docstring).

    ``fdr``: PSM and picked-protein FDR when decoys are present (default 0.01). ``score``/``higher_better``
    override the automatic choice of the PSM score.
    """
    from pyteomics import mzid

    check_options(path, options)
    fdr = check_fdr(path, fdr)
    data, _ = _psm.scan_xml(path, "MzIdentML", "mzIdentML")

    cv = _psi_ms_cv()

    def open_reader():
        # no retrieve_refs / index: references are resolved from the small tables below (much faster)
        return mzid.MzIdentML(io.BytesIO(data), retrieve_refs=False, iterative=True, read_schema=False,
                              use_index=False, cv=cv)

    rows: list[tuple] = []
    with _psm.warnings_to_log(path):
        try:
            with open_reader() as reader:
                seqcol = next(iter(reader.iterfind("SequenceCollection")), None) or {}
            with open_reader() as reader:
                inputs = next(iter(reader.iterfind("Inputs")), None) or {}
            peptides = {p.get("id"): p.get("PeptideSequence") for p in seqcol.get("Peptide", [])}
            dbseq = {d.get("id"): d.get("accession") for d in seqcol.get("DBSequence", [])}
            evidence = {e.get("id"): (dbseq.get(e.get("dBSequence_ref")), bool(e.get("isDecoy", False)))
                        for e in seqcol.get("PeptideEvidence", [])}
            spectra = {d.get("id"): d.get("location") for d in inputs.get("SpectraData", [])}
            with open_reader() as reader:
                for sir in reader.iterfind("SpectrumIdentificationResult"):
                    ref = sir.get("spectraData_ref")
                    run = run_stem(spectra.get(ref) or ref or "run")
                    spec = str(sir.get("spectrumID", sir.get("id", "")))
                    for sii in sir.get("SpectrumIdentificationItem", []) or []:
                        if int(sii.get("rank", 1) or 1) != 1:
                            continue
                        seq = peptides.get(sii.get("peptide_ref"))
                        if seq is None:
                            raise InputError(f"SpectrumIdentificationItem {sii.get('id')!r} refers to an unknown "
                                             f"Peptide {sii.get('peptide_ref')!r}", path=path,
                                             hint="the SequenceCollection is incomplete; re-export the file")
                        passed = sii.get("passThreshold")
                        passed = np.nan if passed is None else float(bool(passed))
                        scores = {k: v for k, v in sii.items()
                                  if k not in _NOT_SCORES and isinstance(v, int | float) and not isinstance(v, bool)}
                        for ev in sii.get("PeptideEvidenceRef", []) or []:
                            acc, decoy = evidence.get(ev.get("peptideEvidence_ref"), (None, False))
                            rows.append((run, spec, seq, sii.get("chargeState"), acc, scores, decoy, passed))
        except InputError:
            raise
        except Exception as exc:  # pyteomics/psims raise many types on structurally wrong files
            raise InputError(f"cannot read mzIdentML ({type(exc).__name__}: {exc})", path=path,
                             hint="check the file is a complete mzIdentML 1.1/1.2 export with "
                                  "SequenceCollection and AnalysisData") from None
    if not rows:
        raise InputError("no SpectrumIdentificationItem with PeptideEvidence found", path=path,
                         hint="give an mzIdentML file with PSMs (AnalysisData/SpectrumIdentificationList)")
    key, higher = _choose_score([r[5] for r in rows], score, higher_better, path)
    psms = pd.DataFrame({
        "run": [r[0] for r in rows], "psm": [r[1] for r in rows], "sequence": [r[2] for r in rows],
        "charge": pd.to_numeric(pd.Series([r[3] for r in rows], dtype=object), errors="coerce"),
        "accession": [r[4] for r in rows],
        "score": [float(r[5].get(key, np.nan)) if key else np.nan for r in rows],
        "decoy": [r[6] for r in rows], "passed": [r[7] for r in rows]})
    return _psm.psms_to_quant(psms, path=path, fmt="mzid", fdr=fdr, higher_better=higher, score_name=key,
                              threshold_name="passThreshold", decoy_prefixes=decoy_prefixes, level=level,
                              keep_contaminants=keep_contaminants,
                              meta={"score": key, "score_higher_is_better": higher})


@functools.lru_cache(maxsize=1)
def _psi_ms_cv():
    """The PSI-MS controlled vocabulary bundled with psims (loaded once, on first use: ~1 s)."""
    from pyteomics.auxiliary.psims_util import load_psims

    return load_psims()


def _choose_score(score_dicts: list[dict], score: str | None, higher_better: bool | None, path):
    """(score name, higher is better) for the PSMs; (None, True) when there is no score at all."""
    present: dict[str, int] = {}
    for d in score_dicts:
        for k in d:
            present[k] = present.get(k, 0) + 1
    if score is not None:
        if score not in present:
            raise InputError(f"score {score!r} not found in the PSMs", path=path,
                             hint=f"choose one of {sorted(present) or 'none (the file has no scores)'}")
        key = score
    else:
        known = [k for k in KNOWN_SCORES if k in present]
        other = sorted(k for k in present if _SCOREISH.search(k) and "coverage" not in k.lower())
        cands = known + [k for k in other if k not in known]
        if not cands:
            return None, True
        best = max(present[k] for k in cands)  # most widely reported, then preference order
        key = next(k for k in cands if present[k] == best)
    if higher_better is None:
        higher_better = KNOWN_SCORES.get(key, not _LOW_IS_GOOD.search(key))
    return key, bool(higher_better)
