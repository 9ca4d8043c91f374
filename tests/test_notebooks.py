"""The notebooks run top to bottom on the bundled data (nbclient), and are stored without outputs."""

from pathlib import Path

import nbformat
import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("0[1-3]_*.ipynb"))


REAL_DATA_NOTEBOOK = NOTEBOOKS[0].parent / "04_real_data_covid_panel.ipynb" if NOTEBOOKS else None


def test_three_user_notebooks_exist():
    assert [p.stem for p in NOTEBOOKS] == ["01_quickstart", "02_lung_cancer_panel", "03_score_a_patient"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs(path):
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code"), "outputs must be stripped in git"
    NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}).execute()
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []) if o.output_type == "error"]
    assert not errors


def test_real_data_notebook_runs():
    """The COVID-19 plasma panel on real data (needs ../shared/data; takes a few minutes)."""
    from .conftest import need_shared

    need_shared("pecora_covid_iprg", "derived", "Covid_peptides_wide.derived.tsv")
    test_notebook_runs(REAL_DATA_NOTEBOOK)
