"""Structure of the notebook series (docs/architecture.md, "A notebook"): every notebook sets MODE, cites its paper,
has an ipywidgets control, ends with an assertion cell printing the paper's number beside ours, and is
committed without outputs. Running them is nbmake's job (`pytest --nbmake notebooks/`)."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
PATHS = sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
ARXIV = re.compile(r"arXiv:\s?\d{4}\.\d{4,5}")
WIDGET_CALL = re.compile(
    r"\bwidgets\.(slider_plot|scaling_explorer|fit_explorer|verifier_explorer|genealogy_explorer)\("
    r"|\bipywidgets\b"
)


def _cells(path: Path, kind: str) -> list[str]:
    nb = nbformat.read(path, as_version=4)
    return [c.source for c in nb.cells if c.cell_type == kind]


def test_the_series_is_there():
    names = [p.name[:2] for p in PATHS]
    assert names[:7] == ["00", "01", "02", "03", "04", "05", "06"], names


@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.stem)
def test_mode_cell(path):
    code = _cells(path, "code")
    assert any(re.search(r"^MODE = itslab\.settings\.mode\(\)$", c, re.M) for c in code[:3]), (
        f"{path.name}: one of the first code cells must set MODE = itslab.settings.mode()"
    )


@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.stem)
def test_paper_citation(path):
    md = _cells(path, "markdown")
    assert md and md[0].lstrip().startswith("# "), f"{path.name}: must open with a markdown title cell"
    assert ARXIV.search(md[0]), f"{path.name}: the opening cell must cite its paper with an arXiv id"
    assert re.search(r"(19|20)\d\d", md[0]), f"{path.name}: the opening cell must give the paper's year"
    assert "differs" in md[0], f"{path.name}: the opening cell must say what differs in our setting"


@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.stem)
def test_widget_control(path):
    assert any(WIDGET_CALL.search(c) for c in _cells(path, "code")), (
        f"{path.name}: needs at least one ipywidgets control (an itslab.widgets builder)"
    )


@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.stem)
def test_final_assertion_cell(path):
    """The last code cell checks the notebook's registered claims: `claims.check` prints the paper's
    value beside ours and raises when a verdict differs from the registration (itslab/claims)."""
    last = _cells(path, "code")[-1]
    assert f'claims.check("{path.stem}"' in last, f"{path.name}: the last code cell must call claims.check"


@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.stem)
def test_no_committed_outputs(path):
    nb = nbformat.read(path, as_version=4)
    for i, c in enumerate(nb.cells):
        if c.cell_type == "code":
            assert not c.outputs, f"{path.name}: cell {i} has committed outputs; strip them (nbstripout)"
            assert c.execution_count is None, f"{path.name}: cell {i} has an execution count; strip it"
    assert "widgets" not in nb.metadata, f"{path.name}: widget state is committed in the notebook metadata"


def test_readme_indexes_every_notebook():
    readme = (NOTEBOOKS / "README.md").read_text()
    for p in PATHS:
        assert p.name in readme, f"notebooks/README.md does not list {p.name}"
