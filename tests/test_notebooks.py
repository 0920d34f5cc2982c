"""Every notebook runs top to bottom on the shipped sample, and none is committed with outputs."""

from __future__ import annotations

import os

import nbformat
import pytest
from nbclient import NotebookClient

from conftest import ROOT

NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def test_there_are_numbered_notebooks():
    names = [nb.name for nb in NOTEBOOKS]
    assert len(names) >= 4, names
    assert all(name[0].isdigit() and "-" in name for name in names), names


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_committed_without_outputs(path):
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [], f"{path.name}: outputs must be stripped"
            assert cell.execution_count is None, f"{path.name}: execution counts must be stripped"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_defines_no_reusable_functions(path):
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert "def " not in cell.source and "class " not in cell.source, (
                f"{path.name}: move reusable code into the pipeline package"
            )


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs_top_to_bottom(path, tmp_path):
    nb = nbformat.read(path, as_version=4)
    env_before = os.environ.get("NOTEBOOK_SMOKE")
    os.environ["NOTEBOOK_SMOKE"] = "1"
    os.environ["NOTEBOOK_WORKDIR"] = str(tmp_path)
    try:
        NotebookClient(
            nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
        ).execute()
    finally:
        if env_before is None:
            os.environ.pop("NOTEBOOK_SMOKE", None)
        else:
            os.environ["NOTEBOOK_SMOKE"] = env_before
