"""The methods paragraph says how the panel's values were rolled up and that the default panel is bagged,
as the run did it (the run quantifies with MaxLFQ, the panel with top-3; a hard cap turns bagging off)."""

from __future__ import annotations

from proteomics.config import RunConfig
from proteomics.report.methods import methods_paragraph


def _text(panel: dict, level: str = "precursor") -> tuple[str, list[str]]:
    cfg = RunConfig.model_validate({"inputs": {"data": "x.tsv", "sheet": "s.csv"},
                                    "quantify": {"method": "maxlfq"}, "panel": panel})
    return methods_paragraph(cfg.echo(), {"proteomics": "0"}, level=level, panel_done=True)


def test_the_panels_own_rollup_and_bagging_are_stated():
    text, refs = _text({"quant_method": "top3"})
    assert "rolled up to protein groups with the MaxLFQ algorithm" in text
    assert "panel's protein values were rolled up within each sample alone, with the mean of the three most " \
           "intense precursors (not with the run's maxlfq)" in text
    assert "union of the panels chosen on 25 stratified subsamples" in text  # DEFAULT_BAGS, no hard cap
    assert any(r.startswith("Breiman L. Bagging predictors") for r in refs)


def test_a_hard_cap_or_protein_input_leaves_them_out():
    capped, refs = _text({"quant_method": "top3", "max_proteins": 5}, level="protein")
    assert "bagged" not in capped and "within each sample alone" not in capped
    assert not any("Bagging" in r for r in refs)
    explicit, _ = _text({"bags": 7})
    assert "chosen on 7 stratified subsamples" in explicit
