"""tools/gallery.py: notebook selection, widget snapshots, the claims index, one real build (a fixture)."""

from __future__ import annotations

import importlib.util
import shutil

import nbformat
import pytest
from lab_server import FIXTURES, NOTEBOOKS, REPO
from nbformat.v4 import new_code_cell, new_notebook, new_output

_spec = importlib.util.spec_from_file_location("gallery", REPO / "tools" / "gallery.py")
assert _spec is not None and _spec.loader is not None
gallery = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(gallery)


def test_select_by_number_or_name():
    assert [p.stem for p in gallery.select(["06", "04_imperfect_verifiers"])] == [
        "04_imperfect_verifiers",
        "06_solve_or_verify",
    ]
    assert gallery.select([]) == sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
    with pytest.raises(SystemExit, match="no notebook '99'"):
        gallery.select(["99"])


def _widget_notebook():
    png = {"output_type": "display_data", "metadata": {}, "data": {"image/png": "iVBORw0KGgo="}}
    state = {
        "box": {"model_name": "VBoxModel", "state": {"children": ["IPY_MODEL_s", "IPY_MODEL_o"]}},
        "s": {
            "model_name": "SelectionSliderModel",
            "state": {"description": "n", "_options_labels": ["1", "2"], "index": 1},
        },
        "o": {"model_name": "OutputModel", "state": {"outputs": [png]}},
    }
    view = {"application/vnd.jupyter.widget-view+json": {"model_id": "box", "version_major": 2}, "text/plain": "VBox()"}
    cell = new_code_cell("explorer", outputs=[new_output("display_data", data=view)])
    nb = new_notebook(cells=[cell])
    nb.metadata["widgets"] = {gallery.WIDGET_STATE: {"state": state}}
    return nb


def test_widget_snapshot_shows_the_figure_and_the_slider_setting():
    nb = _widget_notebook()
    gallery.widget_snapshots(nb)
    outs = nb.cells[0].outputs
    assert "widgets" not in nb.metadata
    assert "n = 2" in outs[0]["data"]["text/html"]
    assert outs[1]["data"]["image/png"] == "iVBORw0KGgo="
    assert not any(gallery.WIDGET_VIEW in o.get("data", {}) for o in outs)


def test_index_lists_claims_with_verdicts():
    from itslab import claims

    row = {**claims.table("00_tour", "smoke")[0], "statement": "a statement"}
    row.update(ours=0.28, se=0.01, holds=True, as_registered=True)
    ok = {
        "name": "00_tour",
        "title": "Tour",
        "error": None,
        "seconds": 3.0,
        "claims": [row],
        "fresh": True,
        "passed": True,
    }
    bad = {**ok, "name": "01_x", "error": "ValueError: boom", "claims": [], "passed": False}
    page = gallery.index_page([ok, bad], "smoke")
    assert "<a href='00_tour.html'>" in page and "a statement" in page and ">pass</td>" in page
    assert "FAIL" in page and "ValueError: boom" in page and "No claims registered" in page


@pytest.mark.browser
def test_gallery_builds_a_fixture_page(tmp_path):
    """One real run: executed with nbclient, rendered by nbconvert, the widget as a static image."""
    folder = tmp_path / "nbs"
    folder.mkdir()
    shutil.copy(FIXTURES / "working_slider.ipynb", folder / "90_working_slider.ipynb")
    entries = gallery.build(gallery.select([], folder), tmp_path / "out", "smoke", timeout=600)
    assert [(e["name"], e["error"], e["passed"]) for e in entries] == [("90_working_slider", None, True)]
    page = (tmp_path / "out" / "90_working_slider.html").read_text()
    assert "data:image/png;base64" in page and "Snapshot of n = 3" in page
    assert "90_working_slider.html" in (tmp_path / "out" / "index.html").read_text()
    assert not nbformat.read(folder / "90_working_slider.ipynb", as_version=4).cells[1].outputs  # source untouched
