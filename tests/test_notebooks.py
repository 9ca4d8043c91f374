"""The notebooks are stored with their outputs (they read as they are on GitHub) and run top to bottom on the
bundled data (nbclient) in the tests; 04 needs the real COVID-19 files in ../shared/data."""

from pathlib import Path

import nbformat
import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("0[1-3]_*.ipynb"))
REAL_DATA_NOTEBOOK = NOTEBOOKS[0].parent / "04_real_data_covid_panel.ipynb" if NOTEBOOKS else None


def test_three_user_notebooks_exist():
    assert [p.stem for p in NOTEBOOKS] == ["01_quickstart", "02_lung_cancer_panel", "03_score_a_patient"]


@pytest.mark.parametrize("path", [*NOTEBOOKS, REAL_DATA_NOTEBOOK], ids=lambda p: p.stem)
def test_notebook_is_stored_with_outputs(path):
    nb = nbformat.read(path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code and all(c.get("execution_count") for c in code), "run the notebook and save it with its outputs"
    assert all(c.get("outputs") for c in code[-3:]), "the last cells show their results"
    stored_errors = [o for c in code for o in c.get("outputs", []) if o.output_type == "error"]
    assert not stored_errors


def _execute(path: Path):
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=1200, kernel_name="python3", record_timing=False,
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []) if o.output_type == "error"]
    assert not errors
    return nb


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs(path):
    _execute(path)


def test_real_data_notebook_runs():
    """The COVID-19 plasma panel on real data (needs ../shared/data; about a minute on two free cores)."""
    from .conftest import need_shared

    need_shared("pecora_covid_iprg", "derived", "Covid_peptides_wide.derived.tsv")
    nb = _execute(REAL_DATA_NOTEBOOK)
    text = "".join(str(o.get("data", {}).get("text/plain", "")) + str(o.get("text", ""))
                   for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []))
    assert "5 permutations, resolution" in text  # the permutation p is shown with its resolution
