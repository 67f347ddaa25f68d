"""The tutorial notebooks run from top to bottom (quick mode: small sizes)."""

from pathlib import Path

import numpy as np
import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))


def _printed(nb):
    return "".join(o.get("text", "") for cell in nb.cells if cell.cell_type == "code"
                   for o in cell.get("outputs", []) if o.output_type == "stream")


def _expected_mode():
    from brianmodes import load
    from brianmodes.analysis import mode_importance

    return int(np.argmax(mode_importance(load("context-N100-P3"))))


def test_all_six_notebooks_exist():
    assert [p.name[:2] for p in NOTEBOOKS] == ["01", "02", "03", "04", "05", "06"]


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs(path, tmp_path, monkeypatch):
    monkeypatch.setenv("BRIANMODES_QUICK", "1")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    nb = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(nb, timeout=600, kernel_name="python3",
                                     resources={"metadata": {"path": str(tmp_path)}})
    client.execute()
    errors = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.get("outputs", [])
              if o.output_type == "error"]
    assert not errors
    if path.stem == "04_circuit_experiment":  # the mode silenced is the most important one by tau
        assert f"-> silencing the neurons of mode {_expected_mode()}" in _printed(nb)
    if path.stem == "06_your_own_neuron":  # the user's model: saved and loaded identical, Brian2 spike for spike
        printed = _printed(nb)
        assert "arrays identical: True | model identical: True" in printed
        assert ", mismatches 0" in printed


def test_notebooks_are_the_generators_output(tmp_path, monkeypatch):
    """notebooks/ holds exactly what tools/make_notebooks.py writes (edit the tool, not the notebooks)."""
    import runpy

    tool = runpy.run_path(str(Path(__file__).resolve().parents[1] / "tools" / "make_notebooks.py"))
    monkeypatch.setitem(tool["main"].__globals__, "HERE", tmp_path)
    tool["main"]()
    for path in NOTEBOOKS:
        assert (tmp_path / path.name).read_text() == path.read_text(), f"{path.name}: run tools/make_notebooks.py"
