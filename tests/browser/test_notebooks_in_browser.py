"""The notebooks as a reader uses them: JupyterLab in a real (headless) Chromium, sliders moved.

nbmake runs the cells headless, so a widget that renders nothing, a broken front-end extension,
or a slider whose callback raises in the kernel's comm handler would pass it. Here each notebook
is opened in JupyterLab (kernels in smoke mode), Run > Run All Cells is clicked, and the test
asserts that every cell ran without an error, moves the notebook's main slider one step from the
keyboard, and asserts that the kernel raised nothing and the figure's pixels changed. A screenshot
per notebook lands in ``runs/browser/``. The fixtures in ``fixtures/`` show the test failing
for a callback that raises and for a slider that does not change the plot.

Why Playwright and not Selenium: one wheel from the package index (``playwright``) drives
Debian's Chromium through ``executable_path``, with no chromedriver whose version must match
the browser; its locators wait for elements by themselves; element screenshots give the figure's
pixels directly; and it sees the page's websocket frames, which is the only place a widget
callback's exception shows (JupyterLab sends it to its log console, not to a cell).

``make test`` runs the 00_tour test, the fixtures, the gallery on a fixture and the ``make lab``
check (``BROWSER_QUICK`` in the Makefile); ``make browser`` runs every notebook. They carry the ``browser`` marker (off by default, like slow/gpu/net).
"""

from __future__ import annotations

import os
import re
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest
from lab_server import NOTEBOOKS, REPO, LabServer, free_port
from notebook_page import NotebookPage, changed_pixels

# Each notebook's main slider, by its description label, most preferred first: the first label
# with a slider on the page is moved. A notebook must keep at least one of its labels, and a new
# notebook needs its entry here (without one its test fails, listing the sliders it found).
SLIDERS: dict[str, tuple[str, ...]] = {
    "00_tour": ("beta_a", "n"),
    "01_repeated_sampling": ("gap_logits", "fit_max", "budget"),
    "02_sampling_knobs": ("gold_paths", "k"),
    "03_voting_and_selection": ("budget", "distractors"),
    "04_imperfect_verifiers": ("fpr", "noise", "fp_cost"),
    "05_verifiers": ("auc", "error_correlation"),
    "06_solve_or_verify": ("fpr", "kappa", "lam"),
    "07_step_search": ("prm_auc", "prm_error_correlation"),
    "08_particle_filtering": ("prm_noise", "step"),
    "09_compute_optimal": ("compute", "n_bins", "r", "gap"),
    "10_config_allocation": ("rho", "budget"),
    "11_adaptive_sampling": ("threshold", "max_samples"),
    "12_verifiers_ii": ("rho", "verifier_auc"),
    "13_tree_search": ("p_fix",),
    "14_budget_forcing": ("break_decay",),
    "15_fractured_thinking": ("commit_mean",),
    "16_training_for_search": ("n_dco",),
    "17_speculative_reasoning": ("threshold", "acceptance"),
    "18_capstone": ("k",),
}
MIN_CHANGED_PIXELS = 50  # a moved slider must change at least this many pixels of its figure
SERIES = sorted(p.stem for p in NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))


def check_in_browser(page, lab: LabServer, path: str, labels: tuple[str, ...], shots: Path) -> None:
    """Open `path`, run all cells, move its main slider; assert no error and a changed figure."""
    stem = str(Path(path).with_suffix("")).replace("/", "-")
    nb = NotebookPage(page, lab, path).open()
    try:
        started = time.monotonic()
        nb.run_all()
        print(f"{path}: Run All Cells took {time.monotonic() - started:.0f} s")
        problems = nb.problems()
        not_run = [i for i, p in enumerate(nb.prompts()) if not p[1:-2].strip().isdigit()]
        page.screenshot(path=str(shots / f"{stem}.png"))
        assert not problems, f"{path}: errors while running all cells: {problems}"
        assert not not_run, f"{path}: code cells {not_run} did not run"

        sliders = nb.sliders()
        label = next((x for x in labels if x in sliders), None)
        assert label is not None, f"{path}: no slider labelled {labels}; the page has sliders {sorted(sliders)}"
        slider = sliders[label]
        slider.scroll_into_view_if_needed()
        before = nb.figure_png(slider)
        moved = nb.move(slider)
        after = nb.figure_png(slider, expect=nb.last_image(since=moved))  # the page shows what the kernel sent
        page.screenshot(path=str(shots / f"{stem}.png"))
        (shots / f"{stem}.figure-before.png").write_bytes(before)
        (shots / f"{stem}.figure-after.png").write_bytes(after)

        problems = nb.problems(since=moved)
        assert not problems, f"{path}: moving slider {label!r} raised: {problems}"
        changed, total = changed_pixels(before, after)
        print(f"{path}: moved slider {label!r}; {changed} of {total} figure pixels changed")
        assert changed >= MIN_CHANGED_PIXELS, (
            f"{path}: moving slider {label!r} did not change the plot ({changed} of {total} pixels differ)"
        )
    finally:
        lab.shutdown_session(path)


@pytest.mark.browser
@pytest.mark.parametrize("stem", SERIES)
def test_notebook_in_browser(stem, page, lab, shots):
    check_in_browser(page, lab, f"{stem}.ipynb", SLIDERS.get(stem, ()), shots)


@pytest.mark.browser
def test_fixture_working_slider(page, lab, shots):
    check_in_browser(page, lab, "fixtures/working_slider.ipynb", ("n",), shots)


@pytest.mark.browser
def test_fixture_broken_callback_is_caught(page, lab, shots):
    with pytest.raises(
        AssertionError, match=r"moving slider 'n' raised: .*RuntimeError: deliberately broken callback"
    ) as e:
        check_in_browser(page, lab, "fixtures/broken_callback.ipynb", ("n",), shots)
    print(f"caught as it should be: {e.value}")


@pytest.mark.browser
def test_fixture_static_plot_is_caught(page, lab, shots):
    with pytest.raises(AssertionError, match=r"moving slider 'n' did not change the plot \(0 of") as e:
        check_in_browser(page, lab, "fixtures/static_plot.ipynb", ("n",), shots)
    print(f"caught as it should be: {e.value}")


URL = re.compile(r"http://127\.0\.0\.1:(\d+)/lab\?token=[0-9a-f]+")


@pytest.mark.browser
def test_make_lab_prints_a_working_url(page, tmp_path):
    """`make lab` prints a URL with its token; that URL opens JupyterLab on notebooks/."""
    port, log = free_port(), tmp_path / "make-lab.log"
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
    for sub in ("config", "data", "runtime"):
        env[f"JUPYTER_{sub.upper()}_DIR"] = str(tmp_path / sub)
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            ["make", "-s", "lab", f"LAB_PORT={port}", "LAB_ARGS=--no-browser"],
            cwd=REPO,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    try:
        deadline, url = time.monotonic() + 600, None  # `make lab` first brings .venv up to date
        while url is None and proc.poll() is None and time.monotonic() < deadline:
            found = URL.search(log.read_text(errors="replace"))
            url = found.group(0) if found else None
            time.sleep(0.5)
        assert url is not None, f"`make lab` printed no URL; it printed:\n{log.read_text(errors='replace')[-3000:]}"
        assert url.startswith(f"http://127.0.0.1:{port}/")
        with urllib.request.urlopen(url, timeout=60) as r:
            assert r.status == 200 and "JupyterLab" in r.read().decode(errors="replace")
        page.goto(url)
        page.locator(".jp-DirListing-itemText", has_text="00_tour.ipynb").wait_for()
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, 15)
        proc.wait(60)
